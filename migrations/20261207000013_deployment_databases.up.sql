-- A deployment's databases (server/appdb): one per engine, on the server
-- CodeRunner manages. The role's password is sealed like a secret
-- (additional data "database:" and the deployment id, then the engine).
CREATE TABLE deployment_databases (
    deployment_id    TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    engine           TEXT NOT NULL,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL,
    key_id           TEXT NOT NULL,
    ciphertext       TEXT NOT NULL,
    connection_limit INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (deployment_id, engine)
);
