//! The activity engine: every submit becomes a durable activity. Stamp → envelope →
//! authenticate → parse → in one transaction of the organization: fingerprint dedupe, decide,
//! execute, record → respond only after commit.

use crate::auth::{Access, Principal};
use crate::chain;
use crate::command::{self, Command, CredentialEffect};
use crate::error::{AppError, Result};
use crate::exec::{self, Ctx, ExecError};
use crate::App;
use quorate_crypto::sha256_hex;
use quorate_domain::{catalog, new_id, Activity, ActivityStatus, Failure, Organization};
use quorate_proto::{ErrorCode, SubmitRequest};
use quorate_store::{LogEntry, PolicyEvaluationRecord, StoreError, StoreTx};
use serde_json::json;

/// The outcome of a submit: the activity, and the error to answer with instead of it when
/// policy denied it (403) or a vault activity failed (4xx). Either way the activity is recorded.
#[derive(Debug)]
pub struct Submitted {
    pub activity: Activity,
    pub error: Option<AppError>,
}

/// Writes `/v1`-only rows in an internal submission's transaction, after its command ran (or
/// was decided to wait): an error rolls everything back and nothing is recorded.
#[async_trait::async_trait]
pub trait PostExec: Send + Sync {
    async fn run(&self, tx: &mut dyn StoreTx, activity: &Activity) -> Result<()>;
}

/// An activity submitted by the management API (see [`App::submit_internal`]).
pub struct InternalSubmit<'a> {
    pub actor: &'a crate::mgmt::Actor,
    pub org_id: &'a str,
    /// The submit path's last segment, e.g. `create_wallet`.
    pub path: &'a str,
    /// e.g. `ACTIVITY_TYPE_CREATE_WALLET`.
    pub activity_type: &'a str,
    /// The intent's parameters, as the Turnkey face would receive them.
    pub parameters: serde_json::Value,
    /// Dedupe key: the same fingerprint returns the stored activity (see `v1_fingerprint`).
    pub fingerprint: String,
    pub post_exec: Option<&'a (dyn PostExec + 'a)>,
}

struct Submission<'a> {
    org_id: &'a str,
    principal: &'a Principal,
    path: &'a str,
    spec: &'static catalog::ActivitySpec,
    parameters: serde_json::Value,
    fingerprint: String,
    stamp: Option<&'a str>,
    body: &'a [u8],
    post_exec: Option<&'a (dyn PostExec + 'a)>,
}

pub(crate) const DENIED: &str = "No policies evaluated to outcome: Allow";

/// How the engine decided.
pub(crate) enum Decision {
    Execute,
    AwaitConsensus,
    Deny(String),
}

/// Implicit permissions (Turnkey): a user may manage their own API keys and rename themselves
/// (not their email or phone number, which identify them).
fn own_credentials(principal: &Principal, cmd: &Command) -> bool {
    let me = principal.key.user_id.as_str();
    match cmd {
        Command::CreateApiKeys { user_id, .. } | Command::DeleteApiKeys { user_id, .. } => {
            user_id == me
        }
        Command::UpdateUser {
            user_id,
            tag_ids: None,
            email: None,
            phone_number: None,
            ..
        } => user_id == me,
        _ => false,
    }
}

pub fn fingerprint(body: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(body))
}

/// The fingerprint of a `/v1` engine-backed request: one per (route, organization,
/// idempotency key), random without a key (docs/design/management-api.md §3).
pub fn v1_fingerprint(route: &str, org: &str, idempotency_key: Option<&str>) -> String {
    match idempotency_key {
        Some(k) => fingerprint(format!("quorate-v1\n{route}\n{org}\n{k}").as_bytes()),
        None => format!("sha256:{}", sha256_hex(new_id().as_bytes())),
    }
}

impl App {
    /// Handles `POST /public/v1/submit/{path}`.
    pub async fn submit(&self, path: &str, body: &[u8], stamp: Option<&str>) -> Result<Submitted> {
        let (envelope, org_id, principal) = self
            .authenticate::<SubmitRequest>(body, stamp, Access::Write, |r| &r.organization_id)
            .await?;
        if let Some(approve) = crate::consensus::selection(path) {
            return self
                .vote_on(&envelope, &org_id, &principal, body, stamp, approve)
                .await;
        }
        let fingerprint = fingerprint(body);
        let spec = catalog::spec_for(path, &envelope.activity_type).ok_or_else(|| {
            let accepted = catalog::types_for_path(path);
            AppError::invalid(format!(
                "`type` `{}` is not accepted by /public/v1/submit/{path}; expected one of {}",
                envelope.activity_type.chars().take(80).collect::<String>(),
                accepted.join(", ")
            ))
        })?;
        if envelope.timestamp_ms.trim().parse::<u64>().is_err() {
            return Err(AppError::invalid(format!(
                "`timestampMs` must be a string of milliseconds since the epoch, got `{}`",
                envelope.timestamp_ms.chars().take(40).collect::<String>()
            )));
        }
        self.run(Submission {
            org_id: &org_id,
            principal: &principal,
            path,
            spec,
            parameters: envelope.parameters.clone(),
            fingerprint,
            stamp,
            body,
            post_exec: None,
        })
        .await
    }

    /// Submits an activity on behalf of a management-API caller (`/v1`) — `path` is the submit
    /// path's last segment (`create_wallet`), `activity_type` e.g. `ACTIVITY_TYPE_CREATE_WALLET`;
    /// the intent is `parameters` as the Turnkey face would receive them. Everything after
    /// authentication is the Turnkey face's path (policies, consensus, chain, dedupe by
    /// `fingerprint`). `post_exec` writes `/v1`-only rows in the activity's transaction.
    pub async fn submit_internal(&self, s: InternalSubmit<'_>) -> Result<Submitted> {
        let InternalSubmit {
            actor,
            org_id,
            path,
            activity_type,
            parameters,
            fingerprint,
            post_exec,
        } = s;
        let spec = catalog::spec_for(path, activity_type).ok_or_else(|| {
            AppError::internal(format!("`{activity_type}` is not submitted at `{path}`"))
        })?;
        let mut reader = self.store.reader().await?;
        let org = reader
            .get_organization(org_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("organization `{org_id}` not found")))?;
        let user = reader
            .get_user(org_id, &actor.user_id)
            .await?
            .ok_or_else(|| AppError::not_found("the acting user no longer exists"))?;
        drop(reader);
        let principal = actor.principal(org, user.name);
        let body = serde_json::to_vec(&json!({
            "type": spec.activity_type,
            "organizationId": org_id,
            "parameters": &parameters,
            "timestampMs": self.clock.now_ms().to_string(),
        }))
        .map_err(|e| AppError::internal(e.to_string()))?;
        self.run(Submission {
            org_id,
            principal: &principal,
            path,
            spec,
            parameters,
            fingerprint,
            stamp: None,
            body: &body,
            post_exec,
        })
        .await
    }

    /// One submission from parsing its parameters to the committed activity.
    async fn run(&self, s: Submission<'_>) -> Result<Submitted> {
        let Submission {
            org_id,
            principal,
            path,
            spec,
            parameters,
            fingerprint,
            stamp,
            body,
            post_exec,
        } = s;
        let org_id = org_id.to_string();
        let cmd = command::parse(path, spec.activity_type, parameters.clone())?;
        let vault = self.vault()?;

        let now = self.clock.now_ms();
        let mut activity = Activity {
            id: new_id(),
            organization_id: org_id.clone(),
            activity_type: spec.activity_type.to_string(),
            status: ActivityStatus::Pending,
            fingerprint,
            intent: json!({ catalog::intent_key(spec.activity_type): parameters }),
            result: json!({}),
            failure: None,
            votes: Vec::new(),
            user_id: principal.key.user_id.clone(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.begin(&org_id).await?;
        // A resubmitted body (the Rust SDK polls this way) returns the stored activity as is.
        // Checked under the organization's lock, so two racing copies cannot both execute.
        if let Some(done) = recorded(&mut *tx, &activity).await? {
            return Ok(done);
        }
        // The credential was resolved before the lock: a revocation committed meanwhile wins.
        key_still_live(&mut *tx, &org_id, principal, now).await?;
        let org = tx
            .organization()
            .cloned()
            .ok_or_else(|| AppError::not_found(format!("organization `{org_id}` not found")))?;
        let mut answer = None;
        // The initiator's approval, built only when the decision needs it (not on the root
        // quorum's fast path), and the same vote that is stored if the activity waits.
        let initiator = || crate::consensus::vote(principal, stamp, body, &activity.id, true, now);
        let (decision, evaluation, voted) = self
            .decide(&mut *tx, &org, principal, &activity, &cmd, &initiator, now)
            .await?;
        match decision {
            Decision::Deny(reason) => {
                activity.status = ActivityStatus::Failed;
                activity.failure = Some(Failure {
                    code: 7,
                    message: reason.clone(),
                    reason: ErrorCode::RequestNotAuthorized.as_str().to_string(),
                });
                answer = Some(denial(reason));
            }
            Decision::AwaitConsensus => {
                activity.status = ActivityStatus::ConsensusNeeded;
                // Submitting is the initiator's approval.
                let vote = voted.unwrap_or_else(initiator);
                tx.insert_vote(&org_id, &vote).await?;
                activity.votes.push(vote);
            }
            Decision::Execute => {
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
                            tx.bump_version(&org_id, now).await?;
                        }
                    }
                    Err(ExecError::Store(e)) => return Err(e.into()),
                    Err(ExecError::Failed(code, message)) => {
                        // Keep nothing the command did; record only the failed activity.
                        tx.rollback().await?;
                        tx = self.begin(&org_id).await?;
                        // An identical body may have been recorded while the lock was free.
                        if let Some(done) = recorded(&mut *tx, &activity).await? {
                            return Ok(done);
                        }
                        activity.status = ActivityStatus::Failed;
                        activity.failure = Some(Failure {
                            code: code.grpc_code(),
                            message,
                            reason: code.as_str().to_string(),
                        });
                        answer = failure_answer(&activity);
                    }
                }
            }
        }
        if let Some(post) = post_exec {
            post.run(&mut *tx, &activity).await?;
        }
        record(&mut *tx, &activity).await?;
        if let Some(e) = &evaluation {
            tx.insert_policy_evaluation(&org_id, e).await?;
        }
        tx.commit().await?;
        if activity.status == ActivityStatus::Completed {
            match cmd.credential_effect() {
                CredentialEffect::None => {}
                CredentialEffect::Adds(keys) => self.auth.forget_keys(&keys),
                CredentialEffect::Changes => self.auth.invalidate(),
            }
        }
        metrics::counter!("quorate_activities_total", "type" => activity.activity_type.clone(), "status" => activity.status.as_str()).increment(1);
        Ok(Submitted {
            activity,
            error: answer,
        })
    }

    /// Turnkey's decision rule: root quorum met → allow; root-quorum-only activities need it;
    /// own credentials are implicitly allowed; otherwise the organization's policies decide
    /// (deny over allow; an allow whose consensus is not met yet waits), and where nothing
    /// allows, a root user's activity waits for the root quorum and anyone else's is denied.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn decide(
        &self,
        tx: &mut dyn StoreTx,
        org: &Organization,
        principal: &Principal,
        activity: &Activity,
        cmd: &Command,
        initiator: &(dyn Fn() -> quorate_domain::Vote + Sync),
        now: quorate_domain::Millis,
    ) -> Result<(
        Decision,
        Option<PolicyEvaluationRecord>,
        Option<quorate_domain::Vote>,
    )> {
        let is_root = org.root_user_ids.contains(&principal.key.user_id);
        if is_root && org.root_quorum_threshold <= 1 {
            return Ok((Decision::Execute, None, None));
        }
        let fallback = || {
            if is_root {
                Decision::AwaitConsensus
            } else {
                Decision::Deny(DENIED.to_string())
            }
        };
        if cmd.root_quorum_only() {
            return Ok((fallback(), None, None));
        }
        if own_credentials(principal, cmd) {
            return Ok((Decision::Execute, None, None));
        }
        let vote = initiator();
        let (decision, evaluation) = self
            .decide_by_policies(
                tx,
                org,
                activity,
                cmd,
                std::slice::from_ref(&vote),
                now,
                fallback(),
            )
            .await?;
        Ok((decision, evaluation, Some(vote)))
    }

    /// The policies' decision for `activity` with these votes; `nothing_allows` when no policy
    /// allows or waits.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn decide_by_policies(
        &self,
        tx: &mut dyn StoreTx,
        org: &Organization,
        activity: &Activity,
        cmd: &Command,
        votes: &[quorate_domain::Vote],
        now: quorate_domain::Millis,
        nothing_allows: Decision,
    ) -> Result<(Decision, Option<PolicyEvaluationRecord>)> {
        let set = self.policies.get(&mut *tx, org).await?;
        if set.is_empty() {
            return Ok((nothing_allows, None));
        }
        let mut voters = Vec::with_capacity(votes.len());
        for v in votes {
            let user = tx.get_user(&org.id, &v.user_id).await?;
            let (tags, email) = user.map(|u| (u.tag_ids, u.email)).unwrap_or_default();
            voters.push((v.clone(), tags, email));
        }
        let input = quorate_policy::Input {
            condition: crate::policy::condition_doc(
                &mut *tx,
                &org.id,
                &activity.activity_type,
                &activity.intent,
                cmd,
                now,
            )
            .await?,
            consensus: crate::policy::consensus_doc(&voters),
        };
        let decision = set.decide(&input, false, &quorate_policy::Limits::default());
        // Recorded for `get_policy_evaluations`: every policy's outcome, against the latest vote.
        let record = PolicyEvaluationRecord {
            id: new_id(),
            activity_id: activity.id.clone(),
            vote_id: votes.last().map(|v| v.id.clone()).unwrap_or_default(),
            evaluations: serde_json::Value::Array(
                decision
                    .evaluations
                    .iter()
                    .map(|e| json!({"policyId": &*e.policy_id, "outcome": e.outcome.wire()}))
                    .collect(),
            ),
            created_at: now,
        };
        let decided = match decision.outcome {
            quorate_policy::Outcome::Allow { .. } => Decision::Execute,
            quorate_policy::Outcome::ConsensusNeeded { .. } => Decision::AwaitConsensus,
            ref deny @ quorate_policy::Outcome::Deny { .. } => {
                Decision::Deny(deny.denial_detail().unwrap_or_else(|| DENIED.to_string()))
            }
            quorate_policy::Outcome::ImplicitDeny => nothing_allows,
        };
        Ok((decided, Some(record)))
    }

    pub(crate) async fn begin(&self, org: &str) -> Result<Box<dyn StoreTx>> {
        self.store.begin(org).await.map_err(|e| match e {
            StoreError::NotFound => AppError::not_found(format!("organization `{org}` not found")),
            other => other.into(),
        })
    }
}

/// Refuses a stamping key revoked or expired since it was resolved (checked under the lock).
pub(crate) async fn key_still_live(
    tx: &mut dyn StoreTx,
    org: &str,
    principal: &Principal,
    now: quorate_domain::Millis,
) -> Result<()> {
    if let Some((key_org, key_id)) = &principal.bearer_key {
        return match tx.get_bearer_key(key_org, key_id).await? {
            Some(k) if k.revoked_at.is_none() => Ok(()),
            _ => Err(AppError::new(
                ErrorCode::ApiKeyDeleted,
                "the API key of this request has been revoked",
            )),
        };
    }
    match tx.get_api_key(org, &principal.key.id).await? {
        None => Err(AppError::new(
            ErrorCode::ApiKeyDeleted,
            "the API key used to stamp this request has been deleted",
        )),
        Some(k) if k.is_expired(now) => Err(AppError::new(
            ErrorCode::ApiKeyExpired,
            "the API key used to stamp this request has expired",
        )),
        Some(_) => Ok(()),
    }
}

/// The activity already recorded for this body's fingerprint, if any.
async fn recorded(tx: &mut dyn StoreTx, activity: &Activity) -> Result<Option<Submitted>> {
    let existing = tx
        .find_activity_by_fingerprint(&activity.organization_id, &activity.fingerprint)
        .await?;
    Ok(existing.map(|activity| {
        let error = activity
            .failure
            .as_ref()
            .filter(|f| f.reason == ErrorCode::RequestNotAuthorized.as_str())
            .map(|f| denial(f.message.clone()))
            .or_else(|| failure_answer(&activity));
        Submitted { activity, error }
    }))
}

/// The error a failed vault activity is answered with (the same on every resubmission): a
/// signature or export that could not be made is an error to the caller, not a result.
pub(crate) fn failure_answer(activity: &Activity) -> Option<AppError> {
    let f = activity.failure.as_ref()?;
    let vault = catalog::CATALOG.iter().any(|s| {
        s.activity_type == activity.activity_type && crate::vault::command::PATHS.contains(&s.path)
    });
    if !vault {
        return None;
    }
    let code = ErrorCode::parse(&f.reason).unwrap_or(ErrorCode::RequestInvalid);
    Some(AppError::new(code, f.message.clone()))
}

pub(crate) fn denial(reason: String) -> AppError {
    AppError::new(
        ErrorCode::RequestNotAuthorized,
        "You don't have sufficient permissions to take this action",
    )
    .with_detail(reason)
}

/// Inserts the activity and appends it to the organization's chain.
pub(crate) async fn record(tx: &mut dyn StoreTx, activity: &Activity) -> Result<(), StoreError> {
    tx.insert_activity(activity).await?;
    append(tx, activity).await
}

pub(crate) async fn append(tx: &mut dyn StoreTx, activity: &Activity) -> Result<(), StoreError> {
    let head = tx.chain_head().clone();
    let digest = chain::digest(activity);
    let seq = head.seq + 1;
    let entry = LogEntry {
        organization_id: activity.organization_id.clone(),
        seq,
        activity_id: activity.id.clone(),
        hash: chain::link(&head.hash, seq, &activity.id, &digest),
        digest,
        prev_hash: head.hash,
    };
    tx.append_log(&entry).await
}
