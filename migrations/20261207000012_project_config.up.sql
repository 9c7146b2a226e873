-- A project's shared configuration, inherited by each of its deployments
-- (a deployment's own value of the same name wins): plain variables as a
-- JSON object on the project, and secrets sealed like a deployment's (the
-- additional data is "project:" and the project id, then the name).
ALTER TABLE projects ADD COLUMN env TEXT NOT NULL DEFAULT '{}';
--bun:split
CREATE TABLE project_secrets (
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    ciphertext    TEXT NOT NULL,
    version       BIGINT NOT NULL,
    updated_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, name)
);
