-- Management API (docs/design/management-api.md §1, §4, §8): organizations' /v1 state, the
-- rest of the key fields (rotation, rate limits, display), and projects.
ALTER TABLE organizations ADD COLUMN slug TEXT;
ALTER TABLE organizations ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE organizations ADD COLUMN operator_user_id TEXT;
ALTER TABLE organizations ADD COLUMN default_wallet_id TEXT;
CREATE UNIQUE INDEX organizations_slug ON organizations (slug) WHERE slug IS NOT NULL;

ALTER TABLE bearer_keys ADD COLUMN key_last4 TEXT NOT NULL DEFAULT '';
ALTER TABLE bearer_keys ADD COLUMN rate_limit BIGINT;
ALTER TABLE bearer_keys ADD COLUMN rate_window_ms BIGINT;
ALTER TABLE bearer_keys ADD COLUMN device_name TEXT;
ALTER TABLE bearer_keys ADD COLUMN rotated_at BIGINT;
ALTER TABLE bearer_keys ADD COLUMN replaces_key_id TEXT;
ALTER TABLE bearer_keys ADD COLUMN replaced_by_key_id TEXT;

CREATE TABLE projects (
    n               BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    deleted_at      BIGINT
);
CREATE INDEX projects_org ON projects (organization_id, n);
CREATE UNIQUE INDEX projects_name ON projects (organization_id, name) WHERE deleted_at IS NULL;
