//! Management-API storage: knowledge (docs/design/management-api.md §8). Not built yet.
