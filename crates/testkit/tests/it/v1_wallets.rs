//! `/v1` end-to-end tests: wallets (docs/design/management-api.md). Not written yet.
