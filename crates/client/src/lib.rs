//! quorate-client: a typed Rust client for the Turnkey-compatible face. It stamps every
//! request body with an API key and decodes the wire types; the CLI and the tests use it.

use quorate_crypto::keys::ApiKeyPair;
use quorate_proto::{self as wire, ErrorBody};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error body.
    #[error("HTTP {status}: {} ({})", body.message, body.turnkey_error_code().unwrap_or("-"))]
    Api { status: u16, body: ErrorBody },
    #[error("transport error: {0}")]
    Transport(String),
    #[error("cannot decode response (HTTP {status}): {message}")]
    Decode { status: u16, message: String },
}

impl ClientError {
    /// The `turnkeyErrorCode` of an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => body.turnkey_error_code(),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Decode { status, .. } => Some(*status),
            ClientError::Transport(_) => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A raw HTTP answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub request_id: Option<String>,
    pub body: Vec<u8>,
}

pub struct Client {
    http: reqwest::Client,
    base_url: String,
    key: ApiKeyPair,
}

fn now_ms() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string()
}

impl Client {
    pub fn new(base_url: &str, key: ApiKeyPair) -> Self {
        Client {
            http: reqwest::Client::new(),
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
        }
    }

    pub fn key(&self) -> &ApiKeyPair {
        &self.key
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// POSTs `body` to `path` with the given stamp header (or none), exactly as given.
    pub async fn post_with_stamp(
        &self,
        path: &str,
        body: Vec<u8>,
        stamp: Option<String>,
    ) -> Result<RawResponse> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = stamp {
            req = req.header("X-Stamp", s);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type");
        let request_id = header("x-request-id");
        let body = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?
            .to_vec();
        Ok(RawResponse {
            status,
            content_type,
            request_id,
            body,
        })
    }

    /// Stamps `body` with this client's key and POSTs it to `path`.
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Result<RawResponse> {
        let stamp = self.key.stamp_header(&body);
        self.post_with_stamp(path, body, Some(stamp)).await
    }

    /// Decodes a raw answer: `T` on 2xx, the error body otherwise.
    pub fn decode<T: DeserializeOwned>(raw: &RawResponse) -> Result<T> {
        if (200..300).contains(&raw.status) {
            serde_json::from_slice(&raw.body).map_err(|e| ClientError::Decode {
                status: raw.status,
                message: e.to_string(),
            })
        } else {
            match serde_json::from_slice::<ErrorBody>(&raw.body) {
                Ok(body) => Err(ClientError::Api {
                    status: raw.status,
                    body,
                }),
                Err(e) => Err(ClientError::Decode {
                    status: raw.status,
                    message: e.to_string(),
                }),
            }
        }
    }

    pub async fn query<T: DeserializeOwned>(
        &self,
        name: &str,
        request: &impl Serialize,
    ) -> Result<T> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Decode {
            status: 0,
            message: e.to_string(),
        })?;
        let raw = self
            .post_raw(&format!("/public/v1/query/{name}"), body)
            .await?;
        Self::decode(&raw)
    }

    /// The submit body for an activity, stamped as of now.
    pub fn activity_body(activity_type: &str, organization_id: &str, parameters: Value) -> Vec<u8> {
        json!({"type": activity_type, "timestampMs": now_ms(), "organizationId": organization_id, "parameters": parameters}).to_string().into_bytes()
    }

    /// Submits an activity and returns it (whatever its status).
    pub async fn submit(
        &self,
        name: &str,
        activity_type: &str,
        organization_id: &str,
        parameters: Value,
    ) -> Result<wire::Activity> {
        let body = Self::activity_body(activity_type, organization_id, parameters);
        self.submit_body(name, body).await
    }

    /// Submits a prepared body (resubmitting the same bytes returns the same activity).
    pub async fn submit_body(&self, name: &str, body: Vec<u8>) -> Result<wire::Activity> {
        let raw = self
            .post_raw(&format!("/public/v1/submit/{name}"), body)
            .await?;
        Self::decode::<wire::ActivityResponse>(&raw).map(|r| r.activity)
    }

    pub async fn whoami(&self, organization_id: &str) -> Result<wire::WhoamiResponse> {
        self.query("whoami", &json!({ "organizationId": organization_id }))
            .await
    }

    pub async fn get_activity(
        &self,
        organization_id: &str,
        activity_id: &str,
    ) -> Result<wire::Activity> {
        self.query::<wire::ActivityResponse>(
            "get_activity",
            &json!({"organizationId": organization_id, "activityId": activity_id}),
        )
        .await
        .map(|r| r.activity)
    }

    pub async fn list_users(&self, organization_id: &str) -> Result<Vec<wire::User>> {
        self.query::<wire::GetUsersResponse>(
            "list_users",
            &json!({ "organizationId": organization_id }),
        )
        .await
        .map(|r| r.users)
    }

    /// Creates one user with the given API public key (P-256); returns the user id.
    pub async fn create_user(
        &self,
        organization_id: &str,
        user_name: &str,
        api_public_key: Option<&str>,
    ) -> Result<(wire::Activity, Option<String>)> {
        let api_keys: Vec<Value> = api_public_key
            .map(|pk| json!({"apiKeyName": format!("{user_name}-key"), "publicKey": pk, "curveType": "API_KEY_CURVE_P256"}))
            .into_iter()
            .collect();
        let activity = self
            .submit(
                "create_users",
                "ACTIVITY_TYPE_CREATE_USERS_V4",
                organization_id,
                json!({"users": [{"userName": user_name, "apiKeys": api_keys, "authenticators": [], "oauthProviders": [], "userTags": []}]}),
            )
            .await?;
        let id = activity.result["createUsersResult"]["userIds"][0]
            .as_str()
            .map(str::to_string);
        Ok((activity, id))
    }

    /// Creates a sub-organization whose single root user holds `root_public_key`.
    pub async fn create_sub_organization(
        &self,
        organization_id: &str,
        name: &str,
        root_public_key: &str,
    ) -> Result<wire::Activity> {
        self.submit(
            "create_sub_organization",
            "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8",
            organization_id,
            json!({
                "subOrganizationName": name,
                "rootQuorumThreshold": 1,
                "rootUsers": [{"userName": "root", "apiKeys": [{"apiKeyName": "root", "publicKey": root_public_key, "curveType": "API_KEY_CURVE_P256"}], "authenticators": [], "oauthProviders": []}]
            }),
        )
        .await
    }
}
