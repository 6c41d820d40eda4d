-- Root quorum members are read on every activity: an index that serves both the filter and
-- the order, so the cost does not grow with the organization's users.
CREATE INDEX users_root ON users (organization_id, created_at, id) WHERE is_root = 1 AND deleted_at IS NULL;
