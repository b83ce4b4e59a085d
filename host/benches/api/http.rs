//! The authenticated HTTP client the scenarios talk to the server with.

use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::StatusCode;
use serde_json::Value;

/// Authenticated API client for one server instance.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: String,
}

pub(crate) fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s: String = s.chars().take(300).collect();
    s.replace('\n', " ")
}

impl Api {
    pub(crate) async fn get(&self, path: &str) -> Result<(StatusCode, Vec<u8>), String> {
        let resp = self
            .client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("GET {path}: reading body: {e}"))?;
        Ok((status, body.to_vec()))
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<(StatusCode, Vec<u8>), String> {
        let resp = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("POST {path}: reading body: {e}"))?;
        Ok((status, body.to_vec()))
    }

    /// GET expecting 200 and a JSON body.
    pub(crate) async fn get_json(&self, path: &str) -> Result<Value, String> {
        let (status, body) = self.get(path).await?;
        if status != StatusCode::OK {
            return Err(format!("GET {path}: expected 200, got {status}: {}", snippet(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {path}: invalid JSON ({e}): {}", snippet(&body)))
    }
}

pub(crate) fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()
        .context("building the HTTP client")
}
