-- Policies: the expressions are stored as written (validated when written).
CREATE TABLE policies (
    n               INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    effect          TEXT NOT NULL,
    condition       TEXT NOT NULL,
    consensus       TEXT NOT NULL,
    notes           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);
CREATE INDEX policies_org ON policies (organization_id, n);
