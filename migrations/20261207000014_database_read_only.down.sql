ALTER TABLE deployment_databases DROP COLUMN read_only;
