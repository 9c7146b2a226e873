-- A deployment's autoscaling policy as JSON (server/autoscale.Policy);
-- NULL when its owner sets the replica count.
ALTER TABLE deployments ADD COLUMN autoscale TEXT;
