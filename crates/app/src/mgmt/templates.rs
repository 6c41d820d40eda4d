//! `/v1` templates: an organization's named JSON documents, listed in full with a key and, once
//! published, publicly (docs/design/management-api.md §2).

use super::{
    display_name, invalid, BearerPrincipal, MgmtError, MgmtResult, PageOut, PageReq, Target,
};
use crate::App;
use quorate_store::mgmt::templates::{self as store, Template};
use quorate_store::StoreError;
use std::collections::HashMap;

/// Largest `content` of a template: its compact JSON text, in bytes.
pub const TEMPLATE_CONTENT_MAX: usize = 256 * 1024;
const DESCRIPTION_MAX: usize = 4096;

fn description(d: &str) -> MgmtResult<()> {
    if d.chars().count() > DESCRIPTION_MAX || d.contains('\0') {
        return Err(invalid(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters, without NUL"),
        ));
    }
    Ok(())
}

/// A JSON object of at most [`TEMPLATE_CONTENT_MAX`] bytes, as compact text.
fn content(c: &serde_json::Value) -> MgmtResult<String> {
    if !c.is_object() {
        return Err(invalid("content", "must be a JSON object"));
    }
    let text = c.to_string();
    if text.len() > TEMPLATE_CONTENT_MAX {
        return Err(invalid(
            "content",
            format!("must be at most {TEMPLATE_CONTENT_MAX} bytes of JSON"),
        ));
    }
    Ok(text)
}

fn not_found() -> MgmtError {
    MgmtError::new("not_found", "no such template")
}

impl App {
    /// `GET O/templates` (`templates:read`): every template, newest first. Returns the page
    /// size and the page.
    pub async fn v1_list_templates(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        q: &HashMap<String, String>,
    ) -> MgmtResult<(u32, PageOut<Template>)> {
        p.org_level()?;
        self.templates_page(&t.org.id, false, q).await
    }

    /// `GET O/templates/public` (no key): the published templates of an organization that
    /// exists and is not suspended, nor its parent (else 404, like a random id).
    pub async fn v1_public_templates(
        &self,
        org_id: &str,
        q: &HashMap<String, String>,
    ) -> MgmtResult<(u32, PageOut<Template>)> {
        let not_found = || MgmtError::new("not_found", "no such organization");
        let org = self
            .organization_public(org_id)
            .await
            .map_err(|_| not_found())?;
        let parent_suspended = match &org.parent_id {
            None => false,
            Some(parent) => self
                .store
                .reader()
                .await?
                .get_organization(parent)
                .await?
                .is_some_and(|p| p.v1.suspended),
        };
        if org.v1.suspended || parent_suspended {
            return Err(not_found());
        }
        self.templates_page(&org.id, true, q).await
    }

    async fn templates_page(
        &self,
        org: &str,
        published_only: bool,
        q: &HashMap<String, String>,
    ) -> MgmtResult<(u32, PageOut<Template>)> {
        let page = PageReq::from_query(q)?;
        let before = page.after_n()?;
        let mut reader = self.store.reader().await?;
        let rows = store::list(
            reader.db_handle()?,
            org,
            published_only,
            before,
            page.limit + 1,
        )
        .await?;
        Ok((
            page.limit,
            PageOut::from_rows(rows, page.limit, |t| t.n.to_string()),
        ))
    }

    /// `POST O/templates` (`templates:manage`): a new template (unpublished unless asked).
    pub async fn v1_create_template(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        template_name: &str,
        template_description: Option<String>,
        template_content: &serde_json::Value,
        published: bool,
    ) -> MgmtResult<Template> {
        p.org_level()?;
        let template_name = display_name("name", template_name)?;
        if let Some(d) = &template_description {
            description(d)?;
        }
        let text = content(template_content)?;
        let now = self.clock.now_ms();
        let row = Template {
            n: 0,
            id: quorate_domain::id::prefixed_id("tpl"),
            organization_id: t.org.id.clone(),
            name: template_name,
            description: template_description,
            content: text,
            published,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin(&t.org.id).await?;
        let stored = store::insert(tx.db_handle()?, &row).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// `PATCH O/templates/{templateId}` (`templates:manage`): changes the given fields
    /// (`description: null` clears it; `published: true` publishes, `false` withdraws).
    #[allow(clippy::too_many_arguments)]
    pub async fn v1_update_template(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        id: &str,
        new_name: Option<&str>,
        new_description: Option<Option<String>>,
        new_content: Option<&serde_json::Value>,
        published: Option<bool>,
    ) -> MgmtResult<Template> {
        p.org_level()?;
        let new_name = new_name.map(|n| display_name("name", n)).transpose()?;
        if let Some(Some(d)) = &new_description {
            description(d)?;
        }
        let new_content = new_content.map(content).transpose()?;
        let org = &t.org.id;
        let mut tx = self.store.begin(org).await?;
        let mut row = store::get(tx.db_handle()?, org, id)
            .await?
            .ok_or_else(not_found)?;
        if let Some(n) = new_name {
            row.name = n;
        }
        if let Some(d) = new_description {
            row.description = d;
        }
        if let Some(c) = new_content {
            row.content = c;
        }
        if let Some(p) = published {
            row.published = p;
        }
        row.updated_at = self.clock.now_ms();
        let stored = store::update(tx.db_handle()?, &row)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => not_found(),
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(stored)
    }
}
