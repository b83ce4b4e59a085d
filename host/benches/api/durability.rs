//! Scenario 3: `kill -9` under create load, restart, and check every acknowledged ticket survived.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::StatusCode;
use serde_json::Value;

use crate::ctx::Ctx;
use crate::dataset::create_ticket;
use crate::http::snippet;
use crate::load::{run_load, LoadSpec};

/// Scenario 3: create load, `kill -9` the server, restart it on the same data, and check that
/// every ticket acknowledged with 201 before the kill is there.
pub(crate) async fn bench_durability(ctx: &mut Ctx) -> Result<()> {
    let conc = ctx.cfg.concurrency;
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let killed = Arc::new(AtomicBool::new(false));
    let pre_kill_errors = Arc::new(AtomicU64::new(0));
    let mut spec = LoadSpec::new(conc);
    spec.duration = Some(ctx.cfg.kill_after + Duration::from_secs(30)); // bound only; we stop it
    spec.max_errors = u64::MAX;
    let stop = spec.stop.clone();
    let load = {
        let (api, data) = (ctx.api(), ctx.data.clone());
        let (acked, killed, pre_kill_errors) = (acked.clone(), killed.clone(), pre_kill_errors.clone());
        tokio::spawn(run_load(spec, move |_| {
            let (api, data) = (api.clone(), data.clone());
            let (acked, killed, pre_kill_errors) = (acked.clone(), killed.clone(), pre_kill_errors.clone());
            async move {
                match create_ticket(&api, &data).await {
                    Ok(ticket) => {
                        acked.lock().unwrap_or_else(|p| p.into_inner()).push(ticket);
                        Ok(())
                    }
                    Err(e) => {
                        if !killed.load(Ordering::SeqCst) {
                            pre_kill_errors.fetch_add(1, Ordering::Relaxed);
                            Err(format!("before kill: {e}"))
                        } else {
                            Err(e)
                        }
                    }
                }
            }
        }))
    };

    tokio::time::sleep(ctx.cfg.kill_after).await;
    killed.store(true, Ordering::SeqCst);
    let pid = ctx.server.pid().unwrap_or(0);
    ctx.server.kill_hard().context("kill -9 of the server")?;
    let acked_at_kill = acked.lock().unwrap_or_else(|p| p.into_inner()).len();
    // No new requests; the in-flight ones fail (connection reset) and end the workers.
    stop.store(true, Ordering::Relaxed);
    println!(
        "  kill -9 of server pid {pid} after {:.1}s of create load ({acked_at_kill} acknowledged so far)",
        ctx.cfg.kill_after.as_secs_f64()
    );
    let result = load.await.context("durability load task panicked")?;
    let pre = pre_kill_errors.load(Ordering::Relaxed);
    if pre > 0 {
        result.print_errors();
        ctx.fail(format!("durability: {pre} create(s) failed before the kill"));
    }
    let acked = Arc::new(std::mem::take(&mut *acked.lock().unwrap_or_else(|p| p.into_inner())));
    println!(
        "  {} create(s) acknowledged with 201 before the kill, {} failed around the kill (expected)",
        acked.len(),
        result.errors - pre
    );

    // Restart on the same data dir / database.
    ctx.starts += 1;
    let mut server = ctx.spec.spawn(ctx.starts)?;
    let restart_begin = Instant::now();
    let token = server.wait_ready(&ctx.client, false).await.context("restart after kill -9")?;
    ctx.server = server;
    if token.is_some() {
        ctx.note("restart on an existing database printed a new ADMIN TOKEN line (contract: only on first start on an empty database)");
    }
    println!("  restarted in {:.2}s; verifying {} acknowledged tickets", restart_begin.elapsed().as_secs_f64(), acked.len());

    // Verify every acknowledged ticket: GET by id → 200 with the same title.
    let missing = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut spec = LoadSpec::new(conc);
    spec.count = Some(acked.len() as u64);
    spec.max_errors = u64::MAX;
    let verify = {
        let (api, acked, missing) = (ctx.api(), acked.clone(), missing.clone());
        run_load(spec, move |i| {
            let (api, acked, missing) = (api.clone(), acked.clone(), missing.clone());
            async move {
                let (id, title) = &acked[i as usize];
                let path = format!("/api/v1/tickets/{id}");
                let mut last = String::new();
                for _attempt in 0..3 {
                    match api.get(&path).await {
                        Ok((StatusCode::OK, body)) => {
                            let t: Value = serde_json::from_slice(&body).map_err(|e| format!("GET {path}: invalid JSON ({e})"))?;
                            if t["title"].as_str() != Some(title.as_str()) {
                                return Err(format!("GET {path}: title {} != {title:?}", t["title"]));
                            }
                            return Ok(());
                        }
                        Ok((StatusCode::NOT_FOUND, _)) => {
                            missing.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{id}"));
                            return Ok(());
                        }
                        Ok((status, body)) => last = format!("GET {path}: {status}: {}", snippet(&body)),
                        Err(e) => last = e,
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(last)
            }
        })
        .await
    };
    let missing = missing.lock().unwrap_or_else(|p| p.into_inner()).clone();
    println!(
        "  DURABILITY [{}]: acknowledged {}, missing {}{}",
        ctx.backend.name(),
        acked.len(),
        missing.len(),
        if verify.errors > 0 { format!(", unverifiable {}", verify.errors) } else { String::new() }
    );
    ctx.record(verify.row(ctx.backend, "durability verify GET after restart", conc));
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(20).map(String::as_str).collect();
        ctx.fail(format!(
            "durability: {} acknowledged ticket(s) missing after kill -9 + restart (ids {})",
            missing.len(),
            shown.join(", ")
        ));
    }
    if verify.errors > 0 {
        verify.print_errors();
        ctx.fail(format!("durability: {} acknowledged ticket(s) could not be verified", verify.errors));
    }
    if acked.is_empty() {
        ctx.fail("durability: no create was acknowledged before the kill; nothing verified");
    }
    Ok(())
}
