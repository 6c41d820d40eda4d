-- Management API usage metering and plans (docs/design/management-api.md §8 "CU at 1 M runs
-- per org"): raw runs (idempotent on run id), a daily rollup per (day, project, workflow)
-- that every aggregation reads, workflow names, top-ups and the organization's plan.
-- SQLite only: the two keyed tables are WITHOUT ROWID, so range scans of the rollup read the
-- primary-key B-tree alone (PostgreSQL has no such clause).
CREATE TABLE cu_runs (
    n               INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    project_id      TEXT NOT NULL DEFAULT '',
    workflow_id     TEXT NOT NULL,
    workflow_name   TEXT,
    cu              INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER NOT NULL,
    day             INTEGER NOT NULL,
    key_id          TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX cu_runs_run ON cu_runs (organization_id, run_id);
CREATE INDEX cu_runs_finished ON cu_runs (organization_id, finished_at, n);
CREATE INDEX cu_runs_workflow ON cu_runs (organization_id, workflow_id, finished_at, n);
CREATE INDEX cu_runs_project ON cu_runs (organization_id, project_id, finished_at, n);

CREATE TABLE cu_daily (
    organization_id TEXT NOT NULL,
    day             INTEGER NOT NULL,
    project_id      TEXT NOT NULL,
    workflow_id     TEXT NOT NULL,
    cu              INTEGER NOT NULL,
    runs            INTEGER NOT NULL,
    PRIMARY KEY (organization_id, day, project_id, workflow_id)
) WITHOUT ROWID;

CREATE TABLE cu_workflows (
    organization_id TEXT NOT NULL,
    workflow_id     TEXT NOT NULL,
    workflow_name   TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (organization_id, workflow_id)
) WITHOUT ROWID;

CREATE TABLE cu_top_ups (
    n               INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    reference       TEXT NOT NULL,
    cu              INTEGER NOT NULL,
    note            TEXT,
    key_id          TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX cu_top_ups_reference ON cu_top_ups (organization_id, reference);
CREATE INDEX cu_top_ups_created ON cu_top_ups (organization_id, created_at);

-- tier_id NULL = the deployment's default (first) tier; period_allotment is the CU allotment
-- of the period starting at period_start after prorated plan changes in it.
CREATE TABLE org_plans (
    organization_id  TEXT PRIMARY KEY NOT NULL,
    tier_id          TEXT,
    pending_tier_id  TEXT,
    period_start     INTEGER NOT NULL,
    period_allotment INTEGER,
    charged_minor    INTEGER,
    alert_threshold  INTEGER,
    updated_at       INTEGER NOT NULL
);
