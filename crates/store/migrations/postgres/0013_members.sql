-- Management API members and invites (docs/design/management-api.md §1, §8).
-- A member's role is `memberships.role`, else `owner` for a root user, else `member` (no
-- backfill). "Current user" identity across organizations is the lowercased email: rather
-- than a stored `email_norm` column that every Turnkey-face user write would have to keep in
-- step, queries compare `lower(email)`, served by this expression index.
CREATE INDEX users_email_norm ON users (lower(email)) WHERE deleted_at IS NULL AND email IS NOT NULL;

CREATE TABLE memberships (
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    role            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);

CREATE TABLE invites (
    n                  BIGSERIAL PRIMARY KEY,
    id                 TEXT NOT NULL UNIQUE,
    organization_id    TEXT NOT NULL,
    email_norm         TEXT NOT NULL,
    role               TEXT NOT NULL,
    status             TEXT NOT NULL,
    invited_by_user_id TEXT NOT NULL,
    accepted_user_id   TEXT,
    expires_at         BIGINT NOT NULL,
    accepted_at        BIGINT,
    revoked_at         BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX invites_pending ON invites (organization_id, email_norm) WHERE status = 'pending';
CREATE INDEX invites_email ON invites (email_norm, status);
CREATE INDEX invites_org ON invites (organization_id, n);
