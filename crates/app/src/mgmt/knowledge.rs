//! `/v1` use cases: knowledge (docs/design/management-api.md §2). Not built yet.
