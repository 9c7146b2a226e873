-- A deployment's secrets, sealed (AES-256-GCM, the deployment id and name
-- as additional data) by server/secrets. ciphertext is the base64 of the
-- nonce, ciphertext and tag; key_id names the key that sealed it, so a
-- rotation finds the rows to seal again. No plaintext is ever stored.
CREATE TABLE deployment_secrets (
    deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    ciphertext    TEXT NOT NULL,
    version       BIGINT NOT NULL,
    updated_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (deployment_id, name)
);
