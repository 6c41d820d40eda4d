//! The per-organization hash chain over activity records: every write of an activity appends
//! a log entry whose hash covers the previous hash and the record's digest.

use quorate_crypto::sha256_hex;
use quorate_domain::Activity;
use serde_json::json;

/// The chain head of an organization with no activity yet.
pub fn genesis(org_id: &str) -> String {
    sha256_hex(format!("quorate-genesis:{org_id}").as_bytes())
}

/// Digest of everything an activity record holds.
pub fn digest(a: &Activity) -> String {
    let record = json!({
        "id": a.id,
        "organizationId": a.organization_id,
        "type": a.activity_type,
        "status": a.status.as_str(),
        "fingerprint": a.fingerprint,
        "intent": a.intent,
        "result": a.result,
        "failure": a.failure.as_ref().map(|f| json!({"code": f.code, "message": f.message, "reason": f.reason})),
        "userId": a.user_id,
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
    });
    sha256_hex(record.to_string().as_bytes())
}

pub fn link(prev_hash: &str, seq: i64, activity_id: &str, digest: &str) -> String {
    sha256_hex(format!("{prev_hash}\n{seq}\n{activity_id}\n{digest}").as_bytes())
}
