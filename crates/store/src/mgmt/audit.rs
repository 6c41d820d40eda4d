//! The request audit log of the management API: batched inserts, filtered keyset listing
//! (newest first), retention.

use crate::exec::{args, Arg, Row};
use crate::{Db, Result};
use quorate_domain::Millis;

/// One authenticated `/v1` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    pub n: i64,
    /// `req_…`.
    pub id: String,
    pub request_id: String,
    /// The key's organization.
    pub organization_id: String,
    /// The organization the path named, when it named one.
    pub target_organization_id: Option<String>,
    pub key_id: String,
    pub actor_user_id: String,
    pub environment: String,
    pub method: String,
    /// The route template (`/v1/organizations/{org_id}/api-keys`).
    pub route: String,
    pub status: i64,
    pub latency_us: i64,
    pub origin: Option<String>,
    pub ip: Option<String>,
    pub created_at: Millis,
}

/// Filters of `GET /v1/api-keys/requests`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    pub key_id: Option<String>,
    /// An exact status, or a class: `(400, 499)`.
    pub status: Option<(i64, i64)>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

const COLS: &str = "n, id, request_id, organization_id, target_organization_id, key_id, actor_user_id, environment, method, route, status, latency_us, origin, ip, created_at";
/// Rows per INSERT: 14 parameters each stays under both backends' parameter limits.
const CHUNK: usize = 500;

fn request(r: &Row) -> Result<ApiRequest> {
    Ok(ApiRequest {
        n: r.int("n")?,
        id: r.text("id")?,
        request_id: r.text("request_id")?,
        organization_id: r.text("organization_id")?,
        target_organization_id: r.opt_text("target_organization_id")?,
        key_id: r.text("key_id")?,
        actor_user_id: r.text("actor_user_id")?,
        environment: r.text("environment")?,
        method: r.text("method")?,
        route: r.text("route")?,
        status: r.int("status")?,
        latency_us: r.int("latency_us")?,
        origin: r.opt_text("origin")?,
        ip: r.opt_text("ip")?,
        created_at: r.int("created_at")?,
    })
}

/// Writes records with multi-row INSERTs.
pub async fn insert_batch(db: Db<'_>, records: &[ApiRequest]) -> Result<()> {
    let mut db = db.0;
    for chunk in records.chunks(CHUNK) {
        let mut sql = String::from("INSERT INTO api_requests (id, request_id, organization_id, target_organization_id, key_id, actor_user_id, environment, method, route, status, latency_us, origin, ip, created_at) VALUES ");
        let mut a: Vec<Arg> = Vec::with_capacity(chunk.len() * 14);
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let base = a.len();
            let ph: Vec<String> = (1..=14).map(|k| format!("${}", base + k)).collect();
            sql.push_str(&format!("({})", ph.join(", ")));
            a.extend(args![
                &r.id,
                &r.request_id,
                &r.organization_id,
                r.target_organization_id.clone(),
                &r.key_id,
                &r.actor_user_id,
                &r.environment,
                &r.method,
                &r.route,
                r.status,
                r.latency_us,
                r.origin.clone(),
                r.ip.clone(),
                r.created_at
            ]);
        }
        db.run(&sql, a).await?;
    }
    Ok(())
}

/// The organization's requests (by its keys, or naming it) matching `filter`, newest first,
/// before row `before_n`; at most `limit`.
pub async fn list(
    db: Db<'_>,
    org: &str,
    filter: &RequestFilter,
    before_n: Option<i64>,
    limit: u32,
) -> Result<Vec<ApiRequest>> {
    let mut db = db.0;
    let mut sql = format!("SELECT {COLS} FROM api_requests WHERE organization_id = $1");
    let mut a: Vec<Arg> = args![org];
    let cond = |a: &mut Vec<Arg>, sql: &mut String, v: Arg, c: &str| {
        a.push(v);
        sql.push_str(&format!(" AND {c} ${}", a.len()));
    };
    if let Some(n) = before_n {
        cond(&mut a, &mut sql, Arg::from(n), "n <");
    }
    if let Some(k) = &filter.key_id {
        cond(&mut a, &mut sql, Arg::from(k), "key_id =");
    }
    if let Some((lo, hi)) = filter.status {
        cond(&mut a, &mut sql, Arg::from(lo), "status >=");
        cond(&mut a, &mut sql, Arg::from(hi), "status <=");
    }
    if let Some(from) = filter.from {
        cond(&mut a, &mut sql, Arg::from(from), "created_at >=");
    }
    if let Some(to) = filter.to {
        cond(&mut a, &mut sql, Arg::from(to), "created_at <");
    }
    sql.push_str(&format!(" ORDER BY n DESC LIMIT {limit}"));
    db.rows(&sql, a).await?.iter().map(request).collect()
}

/// Deletes up to `chunk` records older than `before`; returns how many went.
pub async fn delete_older(db: Db<'_>, before: Millis, chunk: u32) -> Result<u64> {
    let mut db = db.0;
    db.run(
        &format!("DELETE FROM api_requests WHERE n IN (SELECT n FROM api_requests WHERE created_at < $1 ORDER BY n LIMIT {chunk})"),
        args![before],
    )
    .await
}
