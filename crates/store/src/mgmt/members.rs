//! Management-API storage: members (docs/design/management-api.md §8). Not built yet.
