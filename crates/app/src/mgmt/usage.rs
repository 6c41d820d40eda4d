//! `/v1` use cases: usage (docs/design/management-api.md §2). Not built yet.
