-- The key vault. Secret columns (`sealed_*`, `wrapped`) hold AES-256-GCM ciphertexts
-- (base64): data keys wrapped by the master key, secrets sealed by their organization's
-- data key, each bound to its row by the associated data. Nothing here is plaintext key
-- material.
CREATE TABLE data_keys (
    organization_id TEXT PRIMARY KEY,
    wrapped         TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE wallets (
    n               BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    sealed_mnemonic TEXT NOT NULL,
    sealed_seed     TEXT NOT NULL,
    exported        BIGINT NOT NULL DEFAULT 0,
    imported        BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT
);
CREATE INDEX wallets_org ON wallets (organization_id, n);
CREATE UNIQUE INDEX wallets_name ON wallets (organization_id, name) WHERE deleted_at IS NULL;

CREATE TABLE wallet_accounts (
    n               BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    wallet_id       TEXT NOT NULL,
    curve           TEXT NOT NULL,
    path_format     TEXT NOT NULL,
    path            TEXT NOT NULL,
    address_format  TEXT NOT NULL,
    address         TEXT NOT NULL,
    public_key      TEXT NOT NULL,
    sealed_key      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT
);
CREATE INDEX wallet_accounts_wallet ON wallet_accounts (wallet_id, n);
CREATE INDEX wallet_accounts_org ON wallet_accounts (organization_id, n);
CREATE INDEX wallet_accounts_address ON wallet_accounts (organization_id, address);
CREATE UNIQUE INDEX wallet_accounts_path ON wallet_accounts (wallet_id, path, address_format) WHERE deleted_at IS NULL;

CREATE TABLE private_keys (
    n               BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    curve           TEXT NOT NULL,
    public_key      TEXT NOT NULL,
    addresses       TEXT NOT NULL,
    sealed_key      TEXT NOT NULL,
    exported        BIGINT NOT NULL DEFAULT 0,
    imported        BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT
);
CREATE INDEX private_keys_org ON private_keys (organization_id, n);
CREATE UNIQUE INDEX private_keys_name ON private_keys (organization_id, name) WHERE deleted_at IS NULL;

-- Addresses of private keys, for `signWith` by address.
CREATE TABLE private_key_addresses (
    organization_id TEXT NOT NULL,
    address         TEXT NOT NULL,
    private_key_id  TEXT NOT NULL,
    PRIMARY KEY (organization_id, address, private_key_id)
);

-- The pending import target of a user (init_import_* → import_*): an HPKE private key.
CREATE TABLE import_keys (
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    sealed_key      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
