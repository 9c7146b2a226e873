ALTER TABLE deployments DROP COLUMN node;
