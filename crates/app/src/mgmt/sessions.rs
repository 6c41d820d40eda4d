//! `/v1` use cases: sessions (docs/design/management-api.md §2). Not built yet.
