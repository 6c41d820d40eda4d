-- quorate schema, SQLite dialect. Timestamps are milliseconds since the epoch.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    n                     INTEGER PRIMARY KEY AUTOINCREMENT,
    id                    TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    parent_id             TEXT,
    root_quorum_threshold INTEGER NOT NULL,
    features              TEXT NOT NULL DEFAULT '[]',
    version               INTEGER NOT NULL DEFAULT 0,
    chain_seq             INTEGER NOT NULL DEFAULT 0,
    chain_head            TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    deleted_at            INTEGER
);
CREATE INDEX organizations_parent ON organizations (parent_id, n);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT,
    phone_number    TEXT,
    is_root         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);
CREATE INDEX users_org ON users (organization_id, created_at);

CREATE TABLE api_keys (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    name               TEXT NOT NULL,
    public_key         TEXT NOT NULL,
    curve              TEXT NOT NULL,
    expiration_seconds INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    deleted_at         INTEGER
);
CREATE INDEX api_keys_public_key ON api_keys (public_key);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE tags (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX tags_name ON tags (organization_id, kind, name);

CREATE TABLE tag_members (
    tag_id    TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (tag_id, member_id)
);
CREATE INDEX tag_members_member ON tag_members (member_id);

CREATE TABLE activities (
    n               INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    activity_type   TEXT NOT NULL,
    status          TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    intent          TEXT NOT NULL,
    result          TEXT NOT NULL,
    failure         TEXT,
    user_id         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX activities_fingerprint ON activities (organization_id, fingerprint);
CREATE INDEX activities_org ON activities (organization_id, n);

CREATE TABLE activity_log (
    organization_id TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    activity_id     TEXT NOT NULL,
    digest          TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL,
    PRIMARY KEY (organization_id, seq)
);
