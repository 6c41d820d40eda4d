//! Management-API storage: sessions (docs/design/management-api.md §8). Not built yet.
