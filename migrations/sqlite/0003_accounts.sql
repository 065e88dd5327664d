-- Accounts, sessions, API tokens and the audit log (docs/api.md, "Accounts
-- and roles"). Times are Unix milliseconds.
CREATE TABLE accounts (
    -- AUTOINCREMENT: an id is never handed out again, so nothing left
    -- naming a removed account can name a later one.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    -- argon2id, in the PHC string format
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    audit_log_viewer BOOLEAN NOT NULL,
    created_at_ms INTEGER NOT NULL
);

-- Keyed by the SHA-256 of the session id, so the table alone signs no one in.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    -- Whose (none before sign-in): removing an account or changing its
    -- password ends its sessions.
    account_id INTEGER,
    expires_at_ms INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);
CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- SHA-256 of the token, hex
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    audit_log_viewer BOOLEAN NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER,
    last_used_at_ms INTEGER
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    client TEXT NOT NULL
);
