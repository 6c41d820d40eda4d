-- Management API (docs/design/management-api.md §2, §8): archived wallets, withdrawals and
-- wallet sessions. Amounts are u256 in decimal text; times are ms since the epoch.
ALTER TABLE wallets ADD COLUMN archived_at BIGINT;

CREATE TABLE withdrawals (
    n               BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    wallet_id       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    session_id      TEXT,
    activity_id     TEXT NOT NULL,
    chain_id        BIGINT NOT NULL,
    from_address    TEXT NOT NULL,
    to_address      TEXT NOT NULL,
    asset           TEXT NOT NULL,
    amount          TEXT NOT NULL,
    nonce           BIGINT NOT NULL,
    signed_tx       TEXT,
    tx_hash         TEXT,
    status          TEXT NOT NULL,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX withdrawals_key ON withdrawals (organization_id, idempotency_key);

CREATE TABLE wallet_sessions (
    n                   BIGSERIAL PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    organization_id     TEXT NOT NULL,
    wallet_id           TEXT NOT NULL,
    chain_id            BIGINT NOT NULL,
    asset               TEXT NOT NULL,
    secret_hash         TEXT NOT NULL UNIQUE,
    key_prefix          TEXT NOT NULL,
    key_last4           TEXT NOT NULL,
    max_amount_per_tx   TEXT,
    max_total_amount    TEXT,
    max_transactions    BIGINT,
    allowed_recipients  TEXT NOT NULL,
    spent_amount        TEXT NOT NULL,
    tx_count            BIGINT NOT NULL,
    created_by_user_id  TEXT NOT NULL,
    created_by_key_id   TEXT NOT NULL,
    created_by_key_organization_id TEXT NOT NULL,
    expires_at          BIGINT NOT NULL,
    revoked_at          BIGINT,
    created_at          BIGINT NOT NULL
);
CREATE INDEX wallet_sessions_org ON wallet_sessions (organization_id, n);
