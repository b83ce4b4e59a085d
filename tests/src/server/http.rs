//! HTTP requests to the server: raw and JSON requests, admin shortcuts and ticket helpers.

use serde_json::{json, Value};

use super::Server;
use crate::helpers::{encode_query, merge_json};
use crate::response::Resp;

impl Server {
    /// The shared HTTP client.
    pub fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// Absolute URL for `path` (e.g. `/api/v1/tickets`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Sends a request with optional bearer token and optional JSON body.
    pub async fn request(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(req, &format!("{method} {path}")).await
    }

    /// Sends a prepared request builder and reads the whole response.
    pub async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Resp {
        let resp = req.send().await.unwrap_or_else(|e| panic!("{what}: request failed: {e}\n{}", self.logs()));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let bytes = resp.bytes().await.unwrap_or_else(|e| panic!("{what}: reading body failed: {e}")).to_vec();
        if status >= 500 {
            eprintln!("note: {what} returned HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Resp { status, content_type, headers, bytes }
    }

    /// Sends a raw body with the given content type.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let mut req = self.client.request(method.clone(), self.url(path)).header(reqwest::header::CONTENT_TYPE, content_type).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req, &format!("{method} {path}")).await
    }

    /// `GET path` with `token`.
    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.request(reqwest::Method::GET, path, Some(token), None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.request(reqwest::Method::POST, path, Some(token), Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.request(reqwest::Method::PATCH, path, Some(token), Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.request(reqwest::Method::DELETE, path, Some(token), None).await
    }

    /// Admin `GET`.
    pub async fn admin_get(&self, path: &str) -> Resp {
        self.get(path, &self.admin_token()).await
    }

    /// Admin `POST` with a JSON body.
    pub async fn admin_post(&self, path: &str, body: &Value) -> Resp {
        self.post(path, &self.admin_token(), body).await
    }

    /// Admin `PATCH` with a JSON body.
    pub async fn admin_patch(&self, path: &str, body: &Value) -> Resp {
        self.patch(path, &self.admin_token(), body).await
    }

    /// Admin `DELETE`.
    pub async fn admin_delete(&self, path: &str) -> Resp {
        self.delete(path, &self.admin_token()).await
    }

    /// Creates a ticket as admin (minimal body plus `extra` merged in) and
    /// returns its JSON; panics unless the server answers 201.
    pub async fn create_ticket(&self, title: &str, extra: Value) -> Value {
        let mut body = json!({
            "title": title,
            "queue": "Raw",
            "article": {"subject": title, "body": format!("Body of {title}")}
        });
        merge_json(&mut body, extra);
        self.admin_post("/api/v1/tickets", &body).await.expect(201)
    }

    /// Number of tickets visible to the admin (walks all pages).
    pub async fn ticket_count(&self) -> usize {
        self.list_all_tickets("").await.len()
    }

    /// All tickets matching `query` (e.g. `queue=Raw&sort=id`) as admin,
    /// following `next_cursor` until exhausted.
    pub async fn list_all_tickets(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let mut path = String::from("/api/v1/tickets?limit=500");
            if !query.is_empty() {
                path.push('&');
                path.push_str(query);
            }
            if let Some(c) = &cursor {
                path.push_str("&cursor=");
                path.push_str(&encode_query(c));
            }
            let page = self.admin_get(&path).await.expect(200);
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
                _ => return out,
            }
        }
        panic!("ticket pagination never ended for query {query:?}");
    }
}
