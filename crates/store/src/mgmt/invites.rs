//! Management-API storage: invites (docs/design/management-api.md §8). Not built yet.
