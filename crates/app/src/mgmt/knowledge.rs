//! `/v1` knowledge entries: list, create (with auto-pruning in the same transaction), pin,
//! bulk delete, and the periodic pruning pass (docs/design/management-api.md §2, §2.2, §7).

use super::{invalid, BearerPrincipal, MgmtError, MgmtResult, PageOut, PageReq, Target};
use crate::App;
use quorate_store::mgmt::knowledge::{self as store, Entry, Filter, NewEntry};
use quorate_store::mgmt::settings::{self, KnowledgeSettings};
use quorate_store::{StoreError, StoreTx};
use std::collections::HashMap;

/// Largest `content` of an entry, in bytes of UTF-8.
pub const KNOWLEDGE_CONTENT_MAX: usize = 64 * 1024;
/// Most ids one bulk delete may name.
pub const KNOWLEDGE_BULK_IDS_MAX: usize = 1000;
const DAY_MS: i64 = 86_400_000;

/// `^[a-z0-9_]{1,32}$`.
fn source_type(field: &str, s: &str) -> MgmtResult<()> {
    let ok = (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be 1 to 32 characters of a-z, 0-9 and _",
        ))
    }
}

fn no_nul(field: &str, s: &str) -> MgmtResult<()> {
    if s.contains('\0') {
        Err(invalid(field, "must not contain NUL characters"))
    } else {
        Ok(())
    }
}

fn entry_not_found() -> MgmtError {
    MgmtError::new("not_found", "no such knowledge entry")
}

/// The project a key is confined to, if any.
fn key_project(p: &BearerPrincipal) -> Option<String> {
    p.key.project_id.clone()
}

impl App {
    /// `GET O/knowledge` (`knowledge:read`): entries newest first, optionally of one
    /// `source_type` and/or `pinned` state; a project-scoped key sees its project's only.
    /// Returns the page size and the page.
    pub async fn v1_list_knowledge(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        q: &HashMap<String, String>,
    ) -> MgmtResult<(u32, PageOut<Entry>)> {
        let page = PageReq::from_query(q)?;
        let before = page.after_n()?;
        if let Some(s) = q.get("source_type") {
            source_type("source_type", s)?;
        }
        let pinned = match q.get("pinned").map(String::as_str) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(invalid("pinned", "must be `true` or `false`")),
        };
        let filter = Filter {
            project_id: key_project(p),
            source_type: q.get("source_type").cloned(),
            pinned,
        };
        let mut reader = self.store.reader().await?;
        let rows = store::list(
            reader.db_handle()?,
            &t.org.id,
            &filter,
            before,
            page.limit + 1,
        )
        .await?;
        Ok((
            page.limit,
            PageOut::from_rows(rows, page.limit, |e| e.n.to_string()),
        ))
    }

    /// `POST O/knowledge` (`knowledge:manage`): a new entry. A project-scoped key creates in
    /// its project only. When the organization's knowledge settings enable pruning, the same
    /// transaction then deletes unpinned entries older than `max_age_days` and the oldest
    /// unpinned ones beyond `max_entries`.
    pub async fn v1_create_knowledge(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        mut new: NewEntry,
    ) -> MgmtResult<Entry> {
        source_type("source_type", &new.source_type)?;
        if new.content.is_empty() {
            return Err(invalid("content", "must not be empty"));
        }
        if new.content.len() > KNOWLEDGE_CONTENT_MAX {
            return Err(invalid(
                "content",
                format!("must be at most {KNOWLEDGE_CONTENT_MAX} bytes"),
            ));
        }
        no_nul("content", &new.content)?;
        if let Some(title) = &new.title {
            if title.chars().count() > 256 || title.chars().any(char::is_control) {
                return Err(invalid("title", "must be at most 256 printable characters"));
            }
        }
        match (key_project(p), &new.project_id) {
            (Some(own), None) => new.project_id = Some(own),
            (Some(own), Some(asked)) if own != *asked => {
                return Err(MgmtError::new(
                    "project_scope",
                    "`project_id`: a project-scoped key creates entries in its own project only",
                ))
            }
            _ => {}
        }
        let now = self.clock.now_ms();
        let id = quorate_domain::id::prefixed_id("kn");
        let org = &t.org.id;
        let mut tx = self.store.begin(org).await?;
        if let Some(project) = &new.project_id {
            if !store::project_exists(tx.db_handle()?, org, project).await? {
                return Err(invalid(
                    "project_id",
                    "no such project in this organization",
                ));
            }
        }
        let entry = store::insert(tx.db_handle()?, org, &id, &new, now).await?;
        let stored = settings::get(tx.db_handle()?, org, KnowledgeSettings::NAME).await?;
        if let Some(s) = stored {
            let s = KnowledgeSettings::from_json(&s.value)?;
            prune(tx.as_mut(), org, &s, now).await?;
            // The new entry is the newest and not old, so pruning never removes it.
        }
        tx.commit().await?;
        Ok(entry)
    }

    /// `PATCH O/knowledge/{id}/pin` (`knowledge:manage`): pins or unpins an entry.
    pub async fn v1_pin_knowledge(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        id: &str,
        pinned: bool,
    ) -> MgmtResult<Entry> {
        let project = key_project(p);
        let org = &t.org.id;
        let mut tx = self.store.begin(org).await?;
        let entry = store::set_pinned(
            tx.db_handle()?,
            org,
            project.as_deref(),
            id,
            pinned,
            self.clock.now_ms(),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => entry_not_found(),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(entry)
    }

    /// `DELETE O/knowledge/bulk` (`knowledge:manage`): deletes every entry of one
    /// `source_type`, or the entries named by `ids` (exactly one of the two); pinned entries
    /// go too (this is an explicit request). Returns how many were deleted.
    pub async fn v1_bulk_delete_knowledge(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        source: Option<String>,
        ids: Option<Vec<String>>,
    ) -> MgmtResult<u64> {
        let project = key_project(p);
        let org = &t.org.id;
        match (source, ids) {
            (Some(_), Some(_)) | (None, None) => Err(invalid(
                "source_type",
                "give exactly one of `source_type` and `ids`",
            )),
            (Some(s), None) => {
                source_type("source_type", &s)?;
                let filter = Filter {
                    project_id: project,
                    source_type: Some(s),
                    pinned: None,
                };
                let mut tx = self.store.begin(org).await?;
                let n = store::delete_matching(tx.db_handle()?, org, &filter).await?;
                tx.commit().await?;
                Ok(n)
            }
            (None, Some(ids)) => {
                if ids.is_empty() || ids.len() > KNOWLEDGE_BULK_IDS_MAX {
                    return Err(invalid(
                        "ids",
                        format!("must list 1 to {KNOWLEDGE_BULK_IDS_MAX} ids"),
                    ));
                }
                for (i, id) in ids.iter().enumerate() {
                    if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
                        return Err(invalid(&format!("ids[{i}]"), "not an entry id"));
                    }
                }
                let mut ids = ids;
                ids.sort();
                ids.dedup();
                let filter = Filter {
                    project_id: project,
                    ..Filter::default()
                };
                let mut tx = self.store.begin(org).await?;
                let n = store::delete_ids(tx.db_handle()?, org, &filter, &ids).await?;
                tx.commit().await?;
                Ok(n)
            }
        }
    }

    /// The periodic pruning pass (docs/design/management-api.md §7, hourly from the
    /// housekeeper): for every organization whose knowledge settings enable pruning, deletes
    /// unpinned entries older than `max_age_days`, then the oldest unpinned beyond
    /// `max_entries` (one organization transaction each). Returns how many entries went.
    pub async fn v1_prune_knowledge_all(&self) -> MgmtResult<u64> {
        let all = {
            let mut reader = self.store.reader().await?;
            let all = settings::list_by_name(reader.db_handle()?, KnowledgeSettings::NAME).await?;
            all
        };
        let mut deleted = 0;
        for stored in all {
            let org = &stored.organization_id;
            match self.prune_org(org, &stored.value).await {
                Ok(n) => deleted += n,
                // One organization's failure does not stop the others' pruning.
                Err(e) => {
                    tracing::warn!(org = %org, error = %e.message, "knowledge pruning failed")
                }
            }
        }
        Ok(deleted)
    }

    async fn prune_org(&self, org: &str, settings_json: &str) -> MgmtResult<u64> {
        let s = KnowledgeSettings::from_json(settings_json)?;
        if !s.enabled || (s.max_age_days.is_none() && s.max_entries.is_none()) {
            return Ok(0);
        }
        let mut tx = self.store.begin(org).await?;
        if s.max_entries.is_some() {
            // Heals the running count should it ever drift.
            store::recount(tx.db_handle()?, org).await?;
        }
        let n = prune(tx.as_mut(), org, &s, self.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// Applies `s` to the organization's entries (nothing when pruning is off): unpinned entries
/// older than `max_age_days` go, then the oldest unpinned beyond `max_entries`.
async fn prune(
    tx: &mut (dyn StoreTx + '_),
    org: &str,
    s: &KnowledgeSettings,
    now: i64,
) -> MgmtResult<u64> {
    if !s.enabled {
        return Ok(0);
    }
    let mut n = 0;
    if let Some(days) = s.max_age_days {
        let before = now.saturating_sub(days.saturating_mul(DAY_MS));
        n += store::prune_older_than(tx.db_handle()?, org, before).await?;
    }
    if let Some(max) = s.max_entries {
        n += store::prune_beyond(tx.db_handle()?, org, max).await?;
    }
    Ok(n)
}
