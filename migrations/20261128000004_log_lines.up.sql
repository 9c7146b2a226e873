-- Every line a deployment wrote (build and run, stdout and stderr, every
-- replica) and the platform's own lines about it. seq is per deployment and
-- increases by one per line; retention trims the oldest.
CREATE TABLE log_lines (
    deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    time          TIMESTAMP NOT NULL,
    stream        SMALLINT NOT NULL,
    phase         SMALLINT NOT NULL,
    replica       INTEGER NOT NULL DEFAULT 0,
    text          TEXT NOT NULL,
    truncated     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (deployment_id, seq)
);
