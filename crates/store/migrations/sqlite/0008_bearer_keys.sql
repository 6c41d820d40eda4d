-- Management API keys (docs/design/management-api.md §4, §8). Only the SHA-256 of a key is
-- stored; `key_prefix` is the shown part (`sk_live_AbCd`).
CREATE TABLE bearer_keys (
    n                  INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT NOT NULL UNIQUE,
    organization_id    TEXT NOT NULL,
    project_id         TEXT,
    type               TEXT NOT NULL,
    environment        TEXT NOT NULL,
    name               TEXT NOT NULL,
    key_prefix         TEXT NOT NULL,
    secret_hash        TEXT NOT NULL UNIQUE,
    allowed_origins    TEXT NOT NULL DEFAULT '[]',
    scopes             TEXT NOT NULL DEFAULT '[]',
    source             TEXT NOT NULL,
    created_by_user_id TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_used_at       INTEGER,
    expires_at         INTEGER,
    grace_expires_at   INTEGER,
    revoked_at         INTEGER
);
CREATE INDEX bearer_keys_org ON bearer_keys (organization_id, n);
CREATE INDEX bearer_keys_user ON bearer_keys (created_by_user_id);
