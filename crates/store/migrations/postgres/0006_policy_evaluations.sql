-- What the policy engine concluded each time it evaluated an activity (submit and votes):
-- one row per evaluation, the per-policy outcomes as JSON.
CREATE TABLE policy_evaluations (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    activity_id     TEXT NOT NULL,
    vote_id         TEXT NOT NULL,
    evaluations     TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX policy_evaluations_activity ON policy_evaluations (organization_id, activity_id, created_at);
