-- Every status change of a deployment, for WatchDeployment replay and the
-- Events tab. Ids are UUIDv7, so ordering by id is ordering by time.
CREATE TABLE deployment_events (
    id              TEXT PRIMARY KEY,
    deployment_id   TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    previous_status TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL
);

--bun:split

CREATE INDEX deployment_events_deployment_idx ON deployment_events (deployment_id, id);

--bun:split

-- A destroyed deployment frees its slug for reuse.
DROP INDEX deployments_slug_key;

--bun:split

CREATE UNIQUE INDEX deployments_slug_key ON deployments (slug) WHERE status <> 'destroyed';
