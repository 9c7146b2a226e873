ALTER TABLE deployments DROP COLUMN autoscale;
