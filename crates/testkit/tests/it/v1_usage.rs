//! `/v1` end-to-end tests: usage (docs/design/management-api.md). Not written yet.
