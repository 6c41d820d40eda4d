//! A small client for the management API (`/v1`) in tests: every call returns the status and
//! the parsed JSON body, and checks the answer is JSON.

// A test helper: a transport failure or a non-JSON answer fails the test on the spot.
#![allow(clippy::panic)]

use serde_json::Value;

/// An answer: status, headers and body.
#[derive(Debug)]
pub struct V1Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl V1Answer {
    /// `body.data`.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `body.error.code` (empty when the answer is not an error).
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// `/v1` calls with a bearer key (or none).
#[derive(Clone)]
pub struct V1 {
    base_url: String,
    http: reqwest::Client,
    key: Option<String>,
}

impl V1 {
    pub fn new(base_url: &str, key: Option<&str>) -> V1 {
        V1 {
            base_url: base_url.to_string(),
            http: reqwest::Client::new(),
            key: key.map(str::to_string),
        }
    }

    /// The same client with another key.
    pub fn with_key(&self, key: &str) -> V1 {
        V1 {
            key: Some(key.to_string()),
            ..self.clone()
        }
    }

    pub async fn get(&self, path: &str) -> V1Answer {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> V1Answer {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> V1Answer {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> V1Answer {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> V1Answer {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// Any call; `body` is sent as JSON.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> V1Answer {
        self.request(method, path, body, &[]).await
    }

    /// Any call with extra headers (e.g. `origin`).
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> V1Answer {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(k) = &self.key {
            r = r.header("authorization", format!("Bearer {k}"));
        }
        for (name, value) in headers {
            r = r.header(*name, *value);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = match r.send().await {
            Ok(resp) => resp,
            Err(e) => panic!("{path}: {e}"),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{path}: {status} answered non-JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        V1Answer {
            status,
            headers,
            body,
        }
    }
}

impl crate::TestServer {
    /// A `/v1` client with the root organization's secret key (every scope).
    pub fn v1(&self) -> V1 {
        V1::new(&self.base_url, Some(&self.root.secret_key))
    }
}
