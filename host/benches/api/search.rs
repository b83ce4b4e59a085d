//! Scenario 4: fill the database to `--tickets` tickets, then measure list-filter and full-text search.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::ctx::Ctx;
use crate::dataset::{create_ticket, COMMON_WORD, RARE_WORD};
use crate::http::Api;
use crate::load::{run_load, LoadSpec};

/// Highest ticket id (≈ number of tickets, ids are sequential), via the list endpoint.
async fn max_ticket_id(api: &Api) -> Result<i64, String> {
    let list = api.get_json("/api/v1/tickets?sort=-id&limit=1").await?;
    let items = list["items"].as_array().ok_or("GET /api/v1/tickets: no items array")?;
    Ok(items.first().and_then(|t| t["id"].as_i64()).unwrap_or(0))
}

/// Scenario 4a: fill the database up to `--tickets` tickets through the API.
pub(crate) async fn fill(ctx: &Ctx) {
    let target = ctx.cfg.tickets;
    let api = ctx.api();
    let known = ctx.data.ids.lock().unwrap_or_else(|p| p.into_inner()).len() as u64;
    let current = match max_ticket_id(&api).await {
        Ok(max) => (max.max(0) as u64).max(known),
        Err(e) => {
            ctx.note(format!("could not read the highest ticket id ({e}); using the bench's own count"));
            known
        }
    };
    if current >= target {
        println!("  fill: database already has ~{current} tickets (target {target})");
        return;
    }
    let need = target - current;
    println!("  fill: ~{current} tickets present, creating {need} more (target {target}) at concurrency {}", ctx.cfg.concurrency);
    let mut spec = LoadSpec::new(ctx.cfg.concurrency);
    spec.count = Some(need);
    spec.duration = Some(ctx.cfg.fill_timeout);
    spec.progress = Some((format!("[{}] fill", ctx.backend.name()), 10_000));
    let data = ctx.data.clone();
    let result = run_load(spec, move |_| {
        let (api, data) = (api.clone(), data.clone());
        async move { create_ticket(&api, &data).await.map(|_| ()) }
    })
    .await;
    ctx.record(result.row(ctx.backend, "fill: ticket create", ctx.cfg.concurrency));
    result.print_errors();
    if result.errors > 0 {
        ctx.fail(format!("fill: {} create(s) failed", result.errors));
    }
    if (result.latencies.len() as u64) < need {
        ctx.fail(format!(
            "fill: only {} of {need} tickets created (timeout {:?} or too many errors)",
            result.latencies.len(),
            ctx.cfg.fill_timeout
        ));
    }
}

/// One search query and how to check a response.
struct SearchQuery {
    name: String,
    path: String,
    /// Every returned ticket must have this (queue, state).
    queue_state: Option<(&'static str, &'static str)>,
    /// At least this many items expected (min(known matches, limit)).
    min_items: u64,
}

/// Scenario 4b: search latency (list filter, rare word, common word) at concurrency 1 and N.
pub(crate) async fn bench_search(ctx: &Ctx) {
    let limit = 50u64;
    let d = &ctx.data;
    let (misc_open, rare, common) = (d.misc_open.load(Ordering::Relaxed), d.rare.load(Ordering::Relaxed), d.common.load(Ordering::Relaxed));
    println!(
        "  search: data set known to the bench: {} tickets, {misc_open} in Misc/open, {rare} with {RARE_WORD:?} (in the article body), {common} with {COMMON_WORD:?}",
        d.ids.lock().unwrap_or_else(|p| p.into_inner()).len()
    );
    let queries = [
        SearchQuery {
            name: "list queue=Misc&state=open".into(),
            path: format!("/api/v1/tickets?queue=Misc&state=open&limit={limit}"),
            queue_state: Some(("Misc", "open")),
            min_items: misc_open.min(limit),
        },
        SearchQuery {
            name: format!("fulltext rare q={RARE_WORD}"),
            path: format!("/api/v1/tickets?q={RARE_WORD}&limit={limit}"),
            queue_state: None,
            min_items: rare.min(limit),
        },
        SearchQuery {
            name: format!("fulltext common q={COMMON_WORD}"),
            path: format!("/api/v1/tickets?q={COMMON_WORD}&limit={limit}"),
            queue_state: None,
            min_items: common.min(limit),
        },
    ];
    for query in queries {
        let query = Arc::new(query);
        let items_seen = Arc::new(AtomicU64::new(u64::MAX));
        for conc in [1, ctx.cfg.concurrency] {
            let mut spec = LoadSpec::new(conc);
            spec.count = Some(ctx.cfg.search_requests);
            spec.duration = Some(Duration::from_secs(600));
            let (api, q, seen) = (ctx.api(), query.clone(), items_seen.clone());
            let result = run_load(spec, move |_| {
                let (api, q, seen) = (api.clone(), q.clone(), seen.clone());
                async move {
                    let list = api.get_json(&q.path).await?;
                    let items = list["items"].as_array().ok_or_else(|| format!("GET {}: no items array", q.path))?;
                    seen.store(items.len() as u64, Ordering::Relaxed);
                    if let Some((queue, state)) = q.queue_state {
                        if let Some(bad) = items.iter().find(|t| t["queue"] != queue || t["state"] != state) {
                            return Err(format!("GET {}: item {} has queue {} state {}", q.path, bad["id"], bad["queue"], bad["state"]));
                        }
                    }
                    Ok(())
                }
            })
            .await;
            ctx.record(result.row(ctx.backend, format!("search {}", query.name), conc));
            result.print_errors();
            if result.errors > 0 {
                ctx.fail(format!("search {}: {} request(s) failed", query.name, result.errors));
            }
        }
        let seen = items_seen.load(Ordering::Relaxed);
        if seen != u64::MAX {
            println!("    -> {} returned {seen} item(s) (at least {} expected)", query.path, query.min_items);
            if seen < query.min_items {
                ctx.note(format!(
                    "GET {} returned {seen} items, expected at least {} (the bench created that many matching tickets)",
                    query.path, query.min_items
                ));
            }
        }
    }
}
