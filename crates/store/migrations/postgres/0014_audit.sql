-- The management API's request audit log (docs/design/management-api.md §7): one row per
-- authenticated /v1 request, written in batches off the request path. `id` (random) has no index:
-- an index on it would make every batch insert random-access, and nothing looks rows up by it.
CREATE TABLE api_requests (
    n                      BIGSERIAL PRIMARY KEY,
    id                     TEXT NOT NULL,
    request_id             TEXT NOT NULL,
    organization_id        TEXT NOT NULL,
    target_organization_id TEXT,
    key_id                 TEXT NOT NULL,
    actor_user_id          TEXT NOT NULL,
    environment            TEXT NOT NULL,
    method                 TEXT NOT NULL,
    route                  TEXT NOT NULL,
    status                 BIGINT NOT NULL,
    latency_us             BIGINT NOT NULL,
    origin                 TEXT,
    ip                     TEXT,
    created_at             BIGINT NOT NULL
);
CREATE INDEX api_requests_org ON api_requests (organization_id, n);
CREATE INDEX api_requests_key ON api_requests (organization_id, key_id, n);
CREATE INDEX api_requests_time ON api_requests (created_at);
