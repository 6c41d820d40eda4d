-- Root quorum members are looked up on every request: keep that independent of org size.
CREATE INDEX users_root ON users (organization_id) WHERE is_root = 1 AND deleted_at IS NULL;
