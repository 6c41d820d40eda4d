//! `/v1` use cases: wallets (docs/design/management-api.md §2). Not built yet.
