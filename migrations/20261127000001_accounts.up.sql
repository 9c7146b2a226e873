CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

--bun:split

CREATE UNIQUE INDEX users_email_key ON users (email);

--bun:split

-- One row per Login. A session token (JWT) names its row by id; Logout and
-- ChangePassword revoke rows, which the auth interceptor checks on every call.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

--bun:split

CREATE INDEX sessions_user_id_idx ON sessions (user_id);

--bun:split

-- Personal API tokens. Only a SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);

--bun:split

CREATE UNIQUE INDEX api_tokens_secret_hash_key ON api_tokens (secret_hash);

--bun:split

CREATE UNIQUE INDEX api_tokens_user_name_key ON api_tokens (user_id, name) WHERE revoked_at IS NULL;
