//! The database's own floor, measured in the same run as the API figures:
//! single-row durable commits per second and bare primary-key selects per
//! second on the same backend and disk, so creates and gets can be read as
//! a ratio to what the machine gives at all (machines of one kind differ
//! by 2–4×).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use switchboard::db::{Db, SqliteSync};

use crate::ctx::Ctx;
use crate::load::{run_load, LoadSpec};
use crate::report::Row;

/// Rows per second of each floor, for the ratio lines.
pub(crate) struct Floor {
    pub(crate) commits_per_sec: f64,
    pub(crate) selects_per_sec: f64,
}

/// Opens the backend the server uses (for SQLite a file beside the server's
/// database, with the same `synchronous=FULL` and WAL), and measures.
pub(crate) async fn bench_floor(ctx: &Ctx) -> Result<Floor> {
    let url = match &ctx.spec.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", ctx.spec.log_dir.join("floor.db").display()),
    };
    let db = Arc::new(Db::connect(&url, SqliteSync::Full).await.with_context(|| format!("opening {url} for the floor"))?);
    sqlx::query("DROP TABLE IF EXISTS bench_floor").execute(db.pool()).await?;
    sqlx::query("CREATE TABLE bench_floor (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)").execute(db.pool()).await?;

    // SQLite commits one at a time whatever the number of clients; PostgreSQL
    // commits from many at once, so give it the API bench's concurrency.
    let writers = if ctx.spec.database_url.is_some() { ctx.cfg.concurrency } else { 1 };
    let mut spec = LoadSpec::new(writers);
    spec.duration = Some(ctx.cfg.duration.min(std::time::Duration::from_secs(5)));
    let next = Arc::new(AtomicI64::new(1));
    let (d, n) = (db.clone(), next.clone());
    let commits = run_load(spec, move |_| {
        let (db, id) = (d.clone(), n.fetch_add(1, Ordering::Relaxed));
        async move {
            sqlx::query("INSERT INTO bench_floor (id, v) VALUES ($1, $1)").bind(id).execute(db.pool()).await.map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await;
    let written = next.load(Ordering::Relaxed).max(2) - 1;
    let commits_row = commits.row(ctx.backend, "floor: single-row durable commit", writers);

    let mut spec = LoadSpec::new(ctx.cfg.concurrency);
    spec.duration = Some(ctx.cfg.duration.min(std::time::Duration::from_secs(5)));
    let d = db.clone();
    let selects = run_load(spec, move |i| {
        let db = d.clone();
        let id = (i as i64 % written) + 1;
        async move {
            let found: Option<i64> = sqlx::query_scalar("SELECT v FROM bench_floor WHERE id = $1")
                .bind(id)
                .fetch_optional(db.pool())
                .await
                .map_err(|e| e.to_string())?;
            found.map(|_| ()).ok_or_else(|| format!("row {id} missing"))
        }
    })
    .await;
    let selects_row = selects.row(ctx.backend, "floor: SELECT by primary key", ctx.cfg.concurrency);
    let floor = Floor { commits_per_sec: rate(&commits_row), selects_per_sec: rate(&selects_row) };
    ctx.record(commits_row);
    ctx.record(selects_row);
    sqlx::query("DROP TABLE bench_floor").execute(db.pool()).await?;
    db.close().await;
    Ok(floor)
}

/// Requests per second of a result row.
pub(crate) fn rate(row: &Row) -> f64 {
    row.ok as f64 / row.elapsed.as_secs_f64().max(1e-9)
}
