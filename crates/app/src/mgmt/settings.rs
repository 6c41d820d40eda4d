//! `/v1` use cases: settings (docs/design/management-api.md §2). Not built yet.
