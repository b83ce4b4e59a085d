//! The sandbox under load: API get latency and a well-behaved plugin call's
//! latency on the real server, first quiet, then while 100 clients keep
//! long-running plugin calls (busy loops of 1.9 s, under their limit) in
//! flight, in the same run. The aim: the get p99 under attack stays within
//! 3× of the quiet p99.
//!
//! ```text
//! cargo bench -p switchboard --bench sandbox                 # 5 s per phase
//! cargo bench -p switchboard --bench sandbox -- --duration 10 --attackers 100 --concurrency 32
//! ```
//!
//! The server runs on embedded SQLite in a temporary directory, with its
//! default plugin execution settings.

#[path = "api/http.rs"]
mod http;
#[path = "api/server.rs"]
#[allow(dead_code)] // kill_hard is for the api bench's durability phase
mod server;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;

use http::{http_client, Api};
use server::ServerSpec;

/// Flags: `--duration SECS` (per phase), `--attackers N`, `--concurrency N` (get clients).
struct Options {
    duration: Duration,
    attackers: usize,
    concurrency: usize,
}

fn options() -> Result<Options> {
    let mut o = Options { duration: Duration::from_secs(5), attackers: 100, concurrency: 32 };
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let n: u64 = value.parse().with_context(|| format!("{flag}: '{value}' is not a number"))?;
        match flag.as_str() {
            "--duration" => o.duration = Duration::from_secs(n.max(1)),
            "--attackers" => o.attackers = n as usize,
            "--concurrency" => o.concurrency = (n as usize).max(1),
            other => bail!("unknown flag {other}; use --duration SECS, --attackers N, --concurrency N"),
        }
    }
    Ok(o)
}

/// Latencies of one phase.
struct Phase {
    gets: Vec<Duration>,
    plugin_calls: Vec<Duration>,
    errors: usize,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `concurrency` clients get the ticket, one client calls keyword-router (test mode), for `duration`.
async fn measure(api: &Api, ticket: i64, concurrency: usize, duration: Duration) -> Phase {
    let deadline = Instant::now() + duration;
    let errors = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (api, errors) = (api.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                match api.get(&format!("/api/v1/tickets/{ticket}")).await {
                    Ok((status, _)) if status.is_success() => samples.push(started.elapsed()),
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            samples
        }));
    }
    let mut plugin_calls = Vec::new();
    while Instant::now() < deadline {
        let started = Instant::now();
        match api.post("/api/v1/plugins/keyword-router/apply", &json!({"ticket": ticket, "test": true})).await {
            Ok((status, _)) if status.is_success() => plugin_calls.push(started.elapsed()),
            _ => {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut gets = Vec::new();
    for task in tasks {
        gets.extend(task.await.unwrap_or_default());
    }
    gets.sort();
    plugin_calls.sort();
    Phase { gets, plugin_calls, errors: errors.load(Ordering::Relaxed) }
}

fn print(name: &str, phase: &Phase, duration: Duration) {
    println!(
        "  {name:<9} gets {:>7.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms | plugin call p50 {:>7.2} ms  p99 {:>7.2} ms ({} calls) | errors {}",
        phase.gets.len() as f64 / duration.as_secs_f64(),
        ms(pct(&phase.gets, 0.50)),
        ms(pct(&phase.gets, 0.99)),
        ms(pct(&phase.plugin_calls, 0.50)),
        ms(pct(&phase.plugin_calls, 0.99)),
        phase.plugin_calls.len(),
        phase.errors
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = options()?;
    let dir = tempfile::tempdir().context("temp dir")?;
    let spec = ServerSpec {
        bin: env!("CARGO_BIN_EXE_switchboard").into(),
        data_dir: dir.path().join("data"),
        log_dir: dir.path().to_path_buf(),
        database_url: None,
    };
    let client = http_client()?;
    let mut server = spec.spawn(1)?;
    let token = server.wait_ready(&client, true).await?.context("no admin token")?;
    let api = Api { client: client.clone(), base: server.base.clone(), token };

    let (_, wasm, manifest) =
        switchboard::plugin::built::BUILT.iter().find(|(n, _, _)| *n == "load-hog").context("the load-hog test plugin was not built")?;
    let manifest = std::fs::read_to_string(manifest)?.replace("memory_mib = 128", "memory_mib = 32");
    let form = reqwest::multipart::Form::new()
        .part("component", reqwest::multipart::Part::bytes(std::fs::read(wasm)?).file_name("p.wasm"))
        .text("manifest", manifest);
    let resp = client.post(format!("{}/api/v1/plugins", api.base)).bearer_auth(&api.token).multipart(form).send().await?;
    if !resp.status().is_success() {
        bail!("installing load-hog: {} {}", resp.status(), resp.text().await.unwrap_or_default());
    }
    for q in ["Hardware", "Billing"] {
        api.post("/api/v1/queues", &json!({"name": q})).await.map_err(anyhow::Error::msg)?;
    }
    let (_, body) = api
        .post(
            "/api/v1/tickets",
            &json!({"title": "Printer out of toner", "queue": "Raw", "article": {"subject": "toner", "body": "printer"}}),
        )
        .await
        .map_err(anyhow::Error::msg)?;
    let ticket = serde_json::from_slice::<serde_json::Value>(&body)?["id"].as_i64().context("ticket id")?;

    println!(
        "sandbox load: {} get clients, {} attackers (load-hog spin_ms=1900 in a loop), {} s per phase",
        o.concurrency,
        o.attackers,
        o.duration.as_secs()
    );
    measure(&api, ticket, o.concurrency, Duration::from_secs(1)).await; // warm-up
    let quiet = measure(&api, ticket, o.concurrency, o.duration).await;
    print("quiet", &quiet, o.duration);

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)]);
    let mut attackers = Vec::new();
    for _ in 0..o.attackers {
        let (api, stop, outcomes) = (api.clone(), stop.clone(), outcomes.clone());
        attackers.push(tokio::spawn(async move {
            let body = json!({"ticket": ticket, "test": true, "params": {"spin_ms": "1900"}});
            while !stop.load(Ordering::Relaxed) {
                let slot = match api.post("/api/v1/plugins/hostile-load-hog/apply", &body).await {
                    Ok((status, _)) if status.is_success() => 0,
                    Ok((status, _)) if status.as_u16() == 503 => 1,
                    _ => 2,
                };
                outcomes[slot].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let attacked = measure(&api, ticket, o.concurrency, o.duration).await;
    stop.store(true, Ordering::Relaxed);
    print("attacked", &attacked, o.duration);
    for task in attackers {
        let _ = task.await;
    }
    let [ok, busy, other] = &*outcomes;
    println!(
        "  attacker calls: {} ran, {} refused busy (503), {} other",
        ok.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed)
    );
    let ratio = ms(pct(&attacked.gets, 0.99)) / ms(pct(&quiet.gets, 0.99)).max(0.001);
    println!("  get p99 under attack / quiet: {ratio:.2}x (aim: within 3x)");
    let plugins: serde_json::Value = api.get_json("/api/v1/plugins/keyword-router").await.map_err(anyhow::Error::msg)?;
    println!("  keyword-router after the attack: enabled {}, consecutive failures {}", plugins["enabled"], plugins["consecutive_failures"]);
    server.stop_gracefully()?;
    Ok(())
}
