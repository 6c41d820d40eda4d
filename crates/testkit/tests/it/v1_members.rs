//! `/v1` end-to-end tests: members (docs/design/management-api.md). Not written yet.
