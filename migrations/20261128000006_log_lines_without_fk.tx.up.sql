-- log_lines no longer references deployments. PostgreSQL checked the
-- reference once per stored line (a lookup in deployments for every row a
-- COPY wrote), which held log ingestion to ~72k lines/s; without it it
-- stores over 100k lines/s. Deployment rows are never deleted (a deleted
-- deployment is marked DESTROYED and its lines age out by retention), and
-- lines are only written for deployments the server runs, so the
-- reference guarded nothing in practice. Whoever deletes deployment rows
-- must delete their log_lines too.
--
-- SQLite cannot drop a constraint, so the table is rebuilt (same SQL on
-- both databases).
CREATE TABLE log_lines_rebuilt (
    deployment_id TEXT NOT NULL,
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
    SELECT deployment_id, seq, time, stream, phase, replica, text, truncated FROM log_lines;

--bun:split

DROP TABLE log_lines;

--bun:split

ALTER TABLE log_lines_rebuilt RENAME TO log_lines;
