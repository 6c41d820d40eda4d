//! Management-API storage: audit (docs/design/management-api.md §8). Not built yet.
