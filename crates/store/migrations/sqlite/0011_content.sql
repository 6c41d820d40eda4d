-- Management API content (docs/design/management-api.md §2, §8): knowledge entries,
-- per-organization settings (knowledge pruning, auto-swap) and templates.
CREATE TABLE knowledge_entries (
    n               INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    project_id      TEXT,
    source_type     TEXT NOT NULL,
    title           TEXT,
    content         TEXT NOT NULL,
    pinned          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX knowledge_entries_org ON knowledge_entries (organization_id, n);
CREATE INDEX knowledge_entries_source ON knowledge_entries (organization_id, source_type, n);
CREATE INDEX knowledge_entries_pinned ON knowledge_entries (organization_id, pinned, n);
-- Age pruning (hourly and on insert) reads a range of this one.
CREATE INDEX knowledge_entries_age ON knowledge_entries (organization_id, pinned, created_at);

-- Each organization's number of unpinned entries, kept exact in the transactions that change
-- them, so pruning to `max_entries` costs the rows it deletes, not a count of those it keeps.
CREATE TABLE knowledge_counts (
    organization_id TEXT PRIMARY KEY,
    unpinned        INTEGER NOT NULL
);

CREATE TABLE org_settings (
    organization_id    TEXT NOT NULL,
    name               TEXT NOT NULL,
    value              TEXT NOT NULL,
    updated_by_user_id TEXT NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (organization_id, name)
);

CREATE TABLE templates (
    n               INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT,
    content         TEXT NOT NULL,
    published       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX templates_org ON templates (organization_id, n);
CREATE INDEX templates_published ON templates (organization_id, published, n);
