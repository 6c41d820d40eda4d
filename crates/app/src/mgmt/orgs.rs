//! `/v1` organizations: read, create, list, update, suspend (docs/design/management-api.md §1–2).

use super::{Access, BearerPrincipal, MgmtResult};
use crate::App;
use quorate_domain::Organization;

impl App {
    /// `GET /v1/organizations/{orgId}` (`organizations:read`): the caller's own organization or
    /// one of its sub-organizations; anything else reads as not found.
    pub async fn v1_organization(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
    ) -> MgmtResult<Organization> {
        Ok(self.v1_reach(p, org_id, Access::Read).await?.org)
    }
}
