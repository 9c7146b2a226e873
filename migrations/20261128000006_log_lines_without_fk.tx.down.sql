-- Restores the reference to deployments (lines of deployments that no
-- longer exist are dropped, since the reference would refuse them).
CREATE TABLE log_lines_rebuilt (
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

--bun:split

INSERT INTO log_lines_rebuilt (deployment_id, seq, time, stream, phase, replica, text, truncated)
    SELECT deployment_id, seq, time, stream, phase, replica, text, truncated FROM log_lines
    WHERE deployment_id IN (SELECT id FROM deployments);

--bun:split

DROP TABLE log_lines;

--bun:split

ALTER TABLE log_lines_rebuilt RENAME TO log_lines;
