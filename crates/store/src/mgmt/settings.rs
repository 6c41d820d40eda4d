//! Management-API storage: settings (docs/design/management-api.md §8). Not built yet.
