//! Management-API storage: templates (docs/design/management-api.md §8). Not built yet.
