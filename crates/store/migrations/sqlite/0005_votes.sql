-- Votes on activities (approvals and rejections), one per user and activity.
CREATE TABLE votes (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    activity_id     TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    selection       TEXT NOT NULL,
    message         TEXT NOT NULL,
    public_key      TEXT NOT NULL,
    signature       TEXT NOT NULL,
    scheme          TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX votes_user ON votes (activity_id, user_id);
