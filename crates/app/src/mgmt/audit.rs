//! Bookkeeping off the request path (docs/design/management-api.md §7): the request audit log
//! and keys' `last_used_at`. Requests only append to in-memory buffers; a background task
//! writes them in batches (audit every 200 ms, last-used every 30 s, so ≤ 60 s late) and at
//! graceful shutdown. A crash loses at most those intervals: this log is operational, not the
//! tamper-evident activity chain.

use super::{invalid, MgmtResult, PageOut, PageReq, Target};
use crate::App;
use quorate_domain::Millis;
use quorate_store::mgmt::audit::{self as store, ApiRequest, RequestFilter};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Above this many buffered records a request waits for a flush (backpressure keeps
/// "every request" instead of dropping).
const MAX_BUFFERED: usize = 10_000;

/// How long audit records are kept (`--audit-retention-days`, 0 = forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRetention {
    pub days: u32,
}

impl Default for AuditRetention {
    fn default() -> Self {
        AuditRetention { days: 30 }
    }
}

/// Turns the audit log and last-used tracking off (benchmarks measure their cost this way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookkeepingOff;

#[derive(Default)]
pub struct Bookkeeping {
    audit: Mutex<Vec<ApiRequest>>,
    last_used: Mutex<HashMap<String, Millis>>,
    /// Serializes flushes, so records reach the store in order.
    flushing: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl App {
    /// Records one authenticated `/v1` request and its key's use.
    pub async fn v1_record_request(&self, record: ApiRequest) {
        if self.setting::<BookkeepingOff>().is_some() {
            return;
        }
        {
            let mut used = lock(&self.bookkeeping.last_used);
            let at = used
                .entry(record.key_id.clone())
                .or_insert(record.created_at);
            *at = (*at).max(record.created_at);
        }
        let full = {
            let mut buf = lock(&self.bookkeeping.audit);
            buf.push(record);
            buf.len() >= MAX_BUFFERED
        };
        if full {
            metrics::counter!("quorate_v1_audit_backpressure_total").increment(1);
            self.v1_flush_audit().await;
        }
    }

    /// This node's not yet written last-use time of a key.
    pub fn v1_pending_last_used(&self, key_id: &str) -> Option<Millis> {
        lock(&self.bookkeeping.last_used).get(key_id).copied()
    }

    /// Writes the buffered audit records (one batch transaction; retried, then dropped with an
    /// error log after 3 failures).
    pub async fn v1_flush_audit(&self) {
        let _turn = self.bookkeeping.flushing.lock().await;
        let batch = std::mem::take(&mut *lock(&self.bookkeeping.audit));
        if batch.is_empty() {
            return;
        }
        for attempt in 1..=3 {
            match self.write_audit(&batch).await {
                Ok(()) => return,
                Err(e) if attempt < 3 => {
                    tracing::warn!(error = %e, attempt, "audit batch not written; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => {
                    metrics::counter!("quorate_v1_audit_dropped_total")
                        .increment(batch.len() as u64);
                    tracing::error!(error = %e, records = batch.len(), "audit batch dropped");
                }
            }
        }
    }

    async fn write_audit(&self, batch: &[ApiRequest]) -> quorate_store::Result<()> {
        let mut tx = self.store.begin_batch().await?;
        store::insert_batch(tx.db_handle()?, batch).await?;
        tx.commit().await
    }

    /// Writes keys' last-use times (monotonic: never moves a time backwards).
    pub async fn v1_flush_last_used(&self) {
        let used: Vec<(String, Millis)> = std::mem::take(&mut *lock(&self.bookkeeping.last_used))
            .into_iter()
            .collect();
        if used.is_empty() {
            return;
        }
        let result = async {
            let mut tx = self.store.begin_batch().await?;
            quorate_store::mgmt::keys::touch(tx.db_handle()?, &used).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "last-used times not written; kept for the next flush");
            let mut map = lock(&self.bookkeeping.last_used);
            for (k, at) in used {
                let e = map.entry(k).or_insert(at);
                *e = (*e).max(at);
            }
        }
    }

    /// Everything buffered, now (graceful shutdown, and before reading the log).
    pub async fn v1_flush(&self) {
        self.v1_flush_audit().await;
        self.v1_flush_last_used().await;
    }

    /// Deletes audit records past the retention period, in chunks.
    pub async fn v1_apply_retention(&self) -> quorate_store::Result<u64> {
        let days = self.setting::<AuditRetention>().unwrap_or_default().days;
        if days == 0 {
            return Ok(0);
        }
        let before = self.clock.now_ms() - i64::from(days) * 86_400_000;
        let mut total = 0;
        loop {
            let mut tx = self.store.begin_batch().await?;
            let n = store::delete_older(tx.db_handle()?, before, 5_000).await?;
            tx.commit().await?;
            total += n;
            if n < 5_000 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// The background bookkeeping loop of a serving node; returns when `stop` fires, after a
    /// last flush.
    pub async fn run_bookkeeping(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut ticks: u64 = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            ticks += 1;
            self.v1_flush_audit().await;
            if ticks.is_multiple_of(150) {
                self.v1_flush_last_used().await;
            }
            // Every 10 minutes: audit retention; every hour: knowledge pruning by age.
            if ticks % 3_000 == 1 {
                if let Err(e) = self.v1_apply_retention().await {
                    tracing::warn!(error = %e, "audit retention failed");
                }
            }
            if ticks % 18_000 == 2 {
                if let Err(e) = self.v1_prune_knowledge_all().await {
                    tracing::warn!(error = %e.message, "knowledge pruning failed");
                }
            }
        }
        self.v1_flush().await;
    }

    /// `GET /v1/api-keys/requests` (`api_keys:read`): the organization's requests, newest
    /// first. This node's buffered records are written first, so a caller sees its own calls.
    pub async fn v1_list_requests(
        &self,
        t: &Target,
        page: &PageReq,
        filter: &RequestFilter,
    ) -> MgmtResult<PageOut<ApiRequest>> {
        self.v1_flush_audit().await;
        let mut r = self.store.reader().await?;
        let rows = store::list(
            r.db_handle()?,
            &t.org.id,
            filter,
            page.after_n()?,
            page.limit + 1,
        )
        .await?;
        Ok(PageOut::from_rows(rows, page.limit, |r| r.n.to_string()))
    }
}

/// `status` filter: an exact code (`429`) or a class (`4xx`).
pub fn status_filter(s: &str) -> MgmtResult<(i64, i64)> {
    let bad = || invalid("status", "an HTTP status like `429` or a class like `4xx`");
    if let Some(class) = s.strip_suffix("xx") {
        let c: i64 = class.parse().map_err(|_| bad())?;
        if (1..=5).contains(&c) {
            return Ok((c * 100, c * 100 + 99));
        }
        return Err(bad());
    }
    let code: i64 = s.parse().map_err(|_| bad())?;
    if (100..=599).contains(&code) {
        Ok((code, code))
    } else {
        Err(bad())
    }
}
