-- An account's optional display name (v1WalletAccount.name).
ALTER TABLE wallet_accounts ADD COLUMN name TEXT;
