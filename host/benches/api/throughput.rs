//! Scenarios 1 and 2: ticket create and ticket get throughput and latency.

use std::sync::Arc;

use rand::Rng;

use crate::ctx::Ctx;
use crate::dataset::create_ticket;
use crate::floor::rate;
use crate::load::{run_load, LoadSpec};

/// Scenario 1: ticket create with a ~1 KB first article, at the configured concurrency.
/// Returns creates per second.
pub(crate) async fn bench_create(ctx: &Ctx) -> f64 {
    let conc = ctx.cfg.concurrency;
    let mut spec = LoadSpec::new(conc);
    match ctx.cfg.creates {
        Some(n) => spec.count = Some(n),
        None => spec.duration = Some(ctx.cfg.duration),
    }
    let (api, data) = (ctx.api(), ctx.data.clone());
    let result = run_load(spec, move |_| {
        let (api, data) = (api.clone(), data.clone());
        async move { create_ticket(&api, &data).await.map(|_| ()) }
    })
    .await;
    let row = result.row(ctx.backend, "ticket create (1 KB article)", conc);
    let per_sec = rate(&row);
    ctx.record(row);
    result.print_errors();
    if result.errors > 0 {
        ctx.fail(format!("ticket create: {} request(s) failed", result.errors));
    }
    per_sec
}

/// Scenario 2: GET /api/v1/tickets/{id} on random acknowledged ids.
/// Returns gets per second (0 when nothing could be fetched).
pub(crate) async fn bench_get(ctx: &Ctx) -> f64 {
    let ids = Arc::new(ctx.data.ids_snapshot());
    if ids.is_empty() {
        ctx.fail("ticket get: no tickets were created, nothing to get");
        return 0.0;
    }
    let conc = ctx.cfg.concurrency;
    let mut spec = LoadSpec::new(conc);
    match ctx.cfg.gets {
        Some(n) => spec.count = Some(n),
        None => spec.duration = Some(ctx.cfg.duration),
    }
    let api = ctx.api();
    let result = run_load(spec, move |_| {
        let api = api.clone();
        let id = ids[rand::thread_rng().gen_range(0..ids.len())];
        async move {
            let path = format!("/api/v1/tickets/{id}");
            let ticket = api.get_json(&path).await?;
            if ticket["id"].as_i64() != Some(id) {
                return Err(format!("GET {path}: response has id {}", ticket["id"]));
            }
            Ok(())
        }
    })
    .await;
    let row = result.row(ctx.backend, "ticket get by id", conc);
    let per_sec = rate(&row);
    ctx.record(row);
    result.print_errors();
    if result.errors > 0 {
        ctx.fail(format!("ticket get: {} request(s) failed", result.errors));
    }
    per_sec
}
