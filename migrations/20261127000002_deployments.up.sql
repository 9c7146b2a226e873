-- Deployments. The engine fills and drives these rows; the schema is here
-- from the start so both databases agree on it.
CREATE TABLE deployments (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    slug           TEXT NOT NULL,
    runtime        TEXT NOT NULL,
    status         TEXT NOT NULL,
    status_reason  TEXT NOT NULL DEFAULT '',
    env            TEXT NOT NULL DEFAULT '{}',
    replicas       INTEGER NOT NULL DEFAULT 1,
    cpu_millicores INTEGER NOT NULL DEFAULT 0,
    memory_bytes   BIGINT NOT NULL DEFAULT 0,
    source_digest  TEXT NOT NULL DEFAULT '',
    revision       BIGINT NOT NULL DEFAULT 0,
    restart_count  INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    started_at     TIMESTAMP
);

--bun:split

CREATE UNIQUE INDEX deployments_slug_key ON deployments (slug);

--bun:split

CREATE UNIQUE INDEX deployments_owner_name_key ON deployments (owner_id, name) WHERE status <> 'destroyed';

--bun:split

CREATE INDEX deployments_owner_created_idx ON deployments (owner_id, created_at);
