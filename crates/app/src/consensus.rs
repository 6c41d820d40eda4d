//! Votes: `approve_activity` / `reject_activity` by fingerprint. A vote is recorded once per
//! user; when the root quorum is reached the activity executes in the same transaction as the
//! deciding vote, exactly once (the organization's lock serializes racing votes); a rejection
//! ends it as `REJECTED`. The answer is the activity voted on.

use crate::auth::Principal;
use crate::command::{self, CredentialEffect};
use crate::engine::{append, denial, failure_answer, key_still_live, Submitted};
use crate::error::{AppError, Result};
use crate::exec::{self, Ctx, ExecError};
use crate::App;
use quorate_domain::{
    catalog, new_id, Activity, ActivityStatus, Failure, Millis, Organization, Vote,
};
use quorate_proto::{ErrorCode, SubmitRequest};
use serde_json::{json, Value};

pub const APPROVED: &str = "VOTE_SELECTION_APPROVED";
/// How long an activity waits for consensus: after this, votes are refused and it can only
/// be submitted again (a new `timestampMs`).
pub const CONSENSUS_TTL_MS: Millis = 24 * 60 * 60 * 1000;
pub const REJECTED: &str = "VOTE_SELECTION_REJECTED";

/// `Some(true)` for `approve_activity`, `Some(false)` for `reject_activity`.
pub fn selection(path: &str) -> Option<bool> {
    match path {
        "approve_activity" => Some(true),
        "reject_activity" => Some(false),
        _ => None,
    }
}

/// The vote `principal` casts with this stamped body.
/// The scheme of votes cast through a management-API key (`/v1`).
pub const BEARER_SCHEME: &str = "SIGNATURE_SCHEME_QUORATE_BEARER";

pub(crate) fn vote(
    principal: &Principal,
    stamp: Option<&str>,
    body: &[u8],
    activity_id: &str,
    approve: bool,
    now: Millis,
) -> Vote {
    let signature = stamp
        .and_then(|h| quorate_crypto::stamp::decode_header(h).ok())
        .map(|s| s.signature)
        .unwrap_or_default();
    Vote {
        id: new_id(),
        activity_id: activity_id.to_string(),
        user_id: principal.key.user_id.clone(),
        user_name: principal.user_name.clone(),
        selection: if approve { APPROVED } else { REJECTED }.to_string(),
        message: String::from_utf8_lossy(body).into_owned(),
        public_key: principal.public_key.clone(),
        signature,
        scheme: match principal.bearer_key {
            Some(_) => BEARER_SCHEME.to_string(),
            None => principal.scheme.as_str().to_string(),
        },
        created_at: now,
    }
}

/// Whether the approvals recorded on `activity` meet `org`'s root quorum.
fn root_quorum_met(org: &Organization, activity: &Activity) -> bool {
    let approvals = activity
        .votes
        .iter()
        .filter(|v| v.selection == APPROVED && org.root_user_ids.contains(&v.user_id))
        .count();
    approvals >= org.root_quorum_threshold as usize
}

impl App {
    pub(crate) async fn vote_on(
        &self,
        envelope: &SubmitRequest,
        org_id: &str,
        principal: &Principal,
        body: &[u8],
        stamp: Option<&str>,
        approve: bool,
    ) -> Result<Submitted> {
        let expected = if approve {
            "ACTIVITY_TYPE_APPROVE_ACTIVITY"
        } else {
            "ACTIVITY_TYPE_REJECT_ACTIVITY"
        };
        if envelope.activity_type != expected {
            return Err(AppError::invalid(format!("`type` must be {expected}")));
        }
        let intent: quorate_proto::policy::VoteIntent =
            quorate_proto::decode_value("parameters", envelope.parameters.clone())
                .map_err(AppError::invalid)?;
        let fingerprint = intent.fingerprint.trim().to_string();
        if fingerprint.is_empty() || fingerprint.len() > 200 {
            return Err(AppError::invalid(
                "`parameters.fingerprint` must be an activity's fingerprint",
            ));
        }
        let vault = self.vault()?;
        let now = self.clock.now_ms();
        let mut tx = self.begin(org_id).await?;
        let Some(mut activity) = tx
            .find_activity_by_fingerprint(org_id, &fingerprint)
            .await?
        else {
            return Err(AppError::not_found(format!(
                "no activity with fingerprint `{}` in organization `{org_id}`",
                fingerprint.chars().take(80).collect::<String>()
            )));
        };
        let me = principal.key.user_id.as_str();
        // The initiator may withdraw a waiting activity (their submit was their approval).
        let withdraw = !approve
            && activity.user_id == me
            && activity.status == ActivityStatus::ConsensusNeeded;
        // Voting again (or resubmitting the vote) changes nothing.
        if !withdraw && activity.votes.iter().any(|v| v.user_id == me) {
            return Ok(Submitted {
                activity,
                error: None,
            });
        }
        if activity.status != ActivityStatus::ConsensusNeeded {
            return Err(AppError::invalid(format!(
                "activity `{}` is not awaiting consensus (status {})",
                activity.id,
                activity.status.as_str()
            )));
        }
        if now.saturating_sub(activity.created_at) > CONSENSUS_TTL_MS {
            return Err(AppError::invalid(format!(
                "activity `{}` waited for consensus longer than 24 hours; its votes have expired — submit it again",
                activity.id
            )));
        }
        key_still_live(&mut *tx, org_id, principal, now).await?;
        let org = tx
            .organization()
            .cloned()
            .ok_or_else(|| AppError::not_found(format!("organization `{org_id}` not found")))?;
        // Any user of the organization may approve (it counts where the root quorum or a
        // policy's consensus names them). Rejecting ends the activity, so only those whose
        // approval would count may: root quorum members, the initiator, and users whose
        // approval changes a policy's outcome.
        let v = vote(principal, stamp, body, &activity.id, approve, now);
        let (spec, cmd) = stored_command(&activity)?;
        if !approve
            && !withdraw
            && !org.root_user_ids.iter().any(|r| r == me)
            && !self
                .would_count(&mut *tx, &org, &activity, &cmd, &v, now)
                .await?
        {
            return Err(denial(format!(
                "user `{me}` may not reject activity `{}`: their approval would not count",
                activity.id
            )));
        }
        if !withdraw {
            tx.insert_vote(org_id, &v).await?;
            activity.votes.push(v.clone());
        }
        activity.updated_at = now;
        let mut effect = CredentialEffect::None;
        let mut error = None;
        let mut evaluation = None;
        let decided = if !approve {
            None
        } else if root_quorum_met(&org, &activity) {
            Some(crate::engine::Decision::Execute)
        } else if cmd.root_quorum_only() {
            Some(crate::engine::Decision::AwaitConsensus)
        } else {
            let votes = activity.votes.clone();
            let (d, e) = self
                .decide_by_policies(
                    &mut *tx,
                    &org,
                    &activity,
                    &cmd,
                    &votes,
                    now,
                    crate::engine::Decision::AwaitConsensus,
                )
                .await?;
            evaluation = e;
            Some(d)
        };
        if let Some(crate::engine::Decision::Deny(reason)) = &decided {
            activity.status = ActivityStatus::Failed;
            activity.failure = Some(Failure {
                code: 7,
                message: reason.clone(),
                reason: ErrorCode::RequestNotAuthorized.as_str().to_string(),
            });
        }
        if !approve {
            activity.status = ActivityStatus::Rejected;
        } else if matches!(decided, Some(crate::engine::Decision::Execute)) {
            effect = cmd.credential_effect();
            let ctx = Ctx {
                org: &org,
                now,
                vault: &vault,
            };
            match exec::execute(&mut *tx, &ctx, &cmd).await {
                Ok(result) => {
                    activity.status = ActivityStatus::Completed;
                    activity.result = json!({ spec.result_key: result });
                    if cmd.bumps_version() {
                        tx.bump_version(org_id, now).await?;
                    }
                }
                Err(ExecError::Store(e)) => return Err(e.into()),
                Err(ExecError::Failed(code, message)) => {
                    // Keep the vote and the failure, nothing the command did.
                    tx.rollback().await?;
                    tx = self.begin(org_id).await?;
                    match tx
                        .find_activity_by_fingerprint(org_id, &fingerprint)
                        .await?
                    {
                        Some(a)
                            if a.status == ActivityStatus::ConsensusNeeded
                                && !a.votes.iter().any(|x| x.user_id == me) => {}
                        Some(a) => {
                            return Ok(Submitted {
                                activity: a,
                                error: None,
                            })
                        }
                        None => return Err(AppError::not_found("the activity disappeared")),
                    }
                    tx.insert_vote(org_id, &v).await?;
                    activity.status = ActivityStatus::Failed;
                    activity.failure = Some(Failure {
                        code: code.grpc_code(),
                        message,
                        reason: code.as_str().to_string(),
                    });
                    error = failure_answer(&activity);
                }
            }
        }
        if activity.status != ActivityStatus::ConsensusNeeded {
            tx.update_activity(&activity).await?;
            append(&mut *tx, &activity).await?;
        }
        if let Some(e) = &evaluation {
            tx.insert_policy_evaluation(org_id, e).await?;
        }
        tx.commit().await?;
        match effect {
            CredentialEffect::None => {}
            CredentialEffect::Adds(keys) => self.auth.forget_keys(&keys),
            CredentialEffect::Changes => self.auth.invalidate(),
        }
        Ok(Submitted { activity, error })
    }
}

impl App {
    /// Whether `vote`, as an approval, would change how the activity's policies evaluate.
    async fn would_count(
        &self,
        tx: &mut dyn quorate_store::StoreTx,
        org: &Organization,
        activity: &Activity,
        cmd: &command::Command,
        vote: &Vote,
        now: Millis,
    ) -> Result<bool> {
        let waiting = crate::engine::Decision::AwaitConsensus;
        let (_, before) = self
            .decide_by_policies(tx, org, activity, cmd, &activity.votes, now, waiting)
            .await?;
        let mut with = activity.votes.clone();
        let mut approval = vote.clone();
        approval.selection = APPROVED.to_string();
        with.push(approval);
        let waiting = crate::engine::Decision::AwaitConsensus;
        let (after_decision, after) = self
            .decide_by_policies(tx, org, activity, cmd, &with, now, waiting)
            .await?;
        if matches!(after_decision, crate::engine::Decision::Execute) {
            return Ok(true);
        }
        Ok(before.map(|b| b.evaluations) != after.map(|a| a.evaluations))
    }
}

/// The command an activity recorded, parsed again from its stored intent.
fn stored_command(
    activity: &Activity,
) -> Result<(&'static catalog::ActivitySpec, command::Command)> {
    let spec = catalog::CATALOG
        .iter()
        .find(|s| s.activity_type == activity.activity_type)
        .ok_or_else(|| AppError::new(ErrorCode::Internal, "stored activity of an unknown type"))?;
    let params: Value = activity
        .intent
        .as_object()
        .and_then(|o| o.values().next().cloned())
        .unwrap_or(Value::Null);
    let cmd = command::parse(spec.path, spec.activity_type, params)?;
    Ok((spec, cmd))
}
