//! `/v1` use cases: invites (docs/design/management-api.md §2). Not built yet.
