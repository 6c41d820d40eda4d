//! `/v1` end-to-end tests: orgs (docs/design/management-api.md). Not written yet.
