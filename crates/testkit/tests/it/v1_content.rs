//! `/v1` end-to-end tests: content (docs/design/management-api.md). Not written yet.
