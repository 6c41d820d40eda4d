//! `/v1` use cases: members (docs/design/management-api.md §2). Not built yet.
