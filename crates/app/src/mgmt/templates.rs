//! `/v1` use cases: templates (docs/design/management-api.md §2). Not built yet.
