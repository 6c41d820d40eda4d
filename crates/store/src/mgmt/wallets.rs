//! Management-API storage: wallets (docs/design/management-api.md §8). Not built yet.
