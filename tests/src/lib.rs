//! Harness for end-to-end tests: starts the real `switchboard` binary against a
//! throw-away data directory (SQLite) or a throw-away PostgreSQL database and
//! talks to it over HTTP.
//!
//! Every test runs once per backend; use [`backend_tests!`] to generate one
//! `#[tokio::test]` per backend so a failing test name says which backend broke
//! (`tickets::readme_flow::postgres`).

mod actors;
mod backend;
mod helpers;
mod pg;
mod response;
mod server;
mod system;

pub use reqwest;
pub use serde_json;
pub use serde_json::{json, Value};

pub use actors::Actors;
pub use backend::{backends, for_each_backend, Backend, POSTGRES_URL_ENV, REQUIRE_POSTGRES_ENV};
pub use helpers::{base64, encode_query, merge_json, rfc3339_from_now, sha256_hex, wait_for};
pub use pg::pg_statement;
pub use response::Resp;
pub use server::{Server, ServerOptions};
pub use system::{binary_path, free_port, parse_admin_token, unique_suffix};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::with_database;

    #[test]
    fn parses_admin_token() {
        let tok = format!("sb_{}", "a1".repeat(20));
        let out = format!("starting\nADMIN TOKEN (shown once): {tok}\nswitchboard listening on http://x\n");
        assert_eq!(parse_admin_token(&out), Some(tok));
        assert_eq!(parse_admin_token("ADMIN TOKEN (shown once): sb_short"), None);
        assert_eq!(parse_admin_token("nothing"), None);
    }

    #[test]
    fn replaces_database_in_url() {
        assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/x", "y"), "postgres://postgres@127.0.0.1:5432/y");
        assert_eq!(with_database("postgres://u:p@h/x?sslmode=disable", "y"), "postgres://u:p@h/y?sslmode=disable");
        assert_eq!(with_database("postgres://h:1", "y"), "postgres://h:1/y");
    }

    #[test]
    fn merges_json() {
        let mut a = json!({"a": 1, "o": {"x": 1, "y": 2}});
        merge_json(&mut a, json!({"b": 2, "o": {"y": 3}}));
        assert_eq!(a, json!({"a": 1, "b": 2, "o": {"x": 1, "y": 3}}));
    }
}
