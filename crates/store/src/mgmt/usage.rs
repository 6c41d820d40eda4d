//! Management-API storage: usage (docs/design/management-api.md §8). Not built yet.
