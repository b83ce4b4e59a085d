//! What every scenario works with (config, server, client, data set, report), and the catalogue setup.

use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::dataset::{Dataset, CUSTOMERS, EXTRA_QUEUES};
use crate::http::{snippet, Api};
use crate::options::{Backend, Config};
use crate::report::{fail, note, print_row, with_report, Row, SharedReport};
use crate::server::{Server, ServerSpec};

/// Everything a scenario needs.
pub(crate) struct Ctx {
    pub(crate) cfg: Config,
    pub(crate) backend: Backend,
    pub(crate) report: SharedReport,
    pub(crate) data: Arc<Dataset>,
    pub(crate) client: reqwest::Client,
    pub(crate) spec: ServerSpec,
    pub(crate) token: String,
    pub(crate) server: Server,
    pub(crate) starts: u32,
}

impl Ctx {
    pub(crate) fn api(&self) -> Api {
        Api { client: self.client.clone(), base: self.server.base.clone(), token: self.token.clone() }
    }

    pub(crate) fn record(&self, row: Row) {
        print_row(&row);
        with_report(&self.report, |r| r.rows.push(row));
    }

    pub(crate) fn fail(&self, msg: impl Into<String>) {
        fail(&self.report, self.backend, msg);
    }

    pub(crate) fn note(&self, msg: impl Into<String>) {
        note(&self.report, self.backend, msg);
    }
}

/// Creates the extra queues and customer users the data set uses (409 = already there).
pub(crate) async fn setup_catalogue(ctx: &Ctx) -> Result<()> {
    let api = ctx.api();
    let mut posts: Vec<(&str, Value)> =
        EXTRA_QUEUES.iter().map(|q| ("/api/v1/queues", json!({"name": q, "comment": "benchmark queue"}))).collect();
    for login in CUSTOMERS {
        let first = login.split('@').next().unwrap_or(login);
        posts.push(("/api/v1/customer-users", json!({"login": login, "email": login, "first_name": first, "last_name": "Bench"})));
    }
    for (path, body) in posts {
        let (status, resp) = api.post(path, &body).await.map_err(|e| anyhow!(e))?;
        if status != StatusCode::CREATED && status != StatusCode::CONFLICT {
            bail!("setup: POST {path} {body}: expected 201, got {status}: {}", snippet(&resp));
        }
    }
    println!("  setup: queues {:?} and customer users {:?} created", EXTRA_QUEUES, CUSTOMERS);
    Ok(())
}
