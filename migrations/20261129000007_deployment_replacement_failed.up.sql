-- Set while a deployment serves a revision whose replacement (a redeploy,
-- restart or configuration change) failed before it served: the previous
-- revision serves on, and status_reason says what failed.
ALTER TABLE deployments ADD COLUMN replacement_failed BOOLEAN NOT NULL DEFAULT FALSE;
