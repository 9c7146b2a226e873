ALTER TABLE deployments DROP COLUMN replacement_failed;
