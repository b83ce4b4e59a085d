//! End-to-end HTTP API benchmark for Switchboard: starts the real `switchboard` server binary and
//! measures ticket create / get throughput and latency, crash durability (`kill -9` under load) and
//! ticket-search latency on a large data set, for SQLite and (optionally) PostgreSQL.
//!
//! Run (release build of the server and of this bench):
//!
//! ```text
//! cargo bench -p switchboard --bench api                              # defaults
//! cargo bench -p switchboard --bench api -- --duration 3 --tickets 3000 --backend sqlite
//! SWITCHBOARD_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p switchboard --bench api -- --backend all
//! ```
//!
//! Flags (after `--`; each has an environment variable equivalent, the flag wins):
//!
//! | flag                   | env var                              | default | meaning |
//! |------------------------|--------------------------------------|---------|---------|
//! | `--backend B`          | `SWITCHBOARD_BENCH_BACKEND`          | `all`   | `sqlite`, `postgres` or `all` (= SQLite, plus PostgreSQL when a URL is set) |
//! | `--duration SECS`      | `SWITCHBOARD_BENCH_DURATION`         | `10`    | length of the create phase and of the get phase |
//! | `--creates N`          | `SWITCHBOARD_BENCH_CREATES`          | –       | run the create phase for N requests instead of `--duration` |
//! | `--gets N`             | `SWITCHBOARD_BENCH_GETS`             | –       | run the get phase for N requests instead of `--duration` |
//! | `--concurrency N`      | `SWITCHBOARD_BENCH_CONCURRENCY`      | `32`    | parallel clients for create / get / fill / durability |
//! | `--tickets N`          | `SWITCHBOARD_BENCH_TICKETS`          | `100000`| fill the database up to N tickets before the search phase (0 = no fill) |
//! | `--search-requests N`  | `SWITCHBOARD_BENCH_SEARCH_REQUESTS`  | `200`   | requests per search query and concurrency level (1 and `--concurrency`) |
//! | `--kill-after SECS`    | `SWITCHBOARD_BENCH_KILL_AFTER`       | `3`     | durability phase: seconds of create load before `kill -9` |
//! | `--fill-timeout SECS`  | `SWITCHBOARD_BENCH_FILL_TIMEOUT`     | `3600`  | upper bound on the fill phase |
//! | `--postgres-url URL`   | `SWITCHBOARD_BENCH_POSTGRES_URL`, then `SWITCHBOARD_TEST_POSTGRES_URL` | – | PostgreSQL server; a fresh database `sb_bench_<random>` is created on it and dropped at the end |
//! | `--server-bin PATH`    | `SWITCHBOARD_BENCH_SERVER_BIN`       | the `switchboard` binary cargo built for this bench | server executable to benchmark |
//!
//! Per backend it: starts `switchboard serve --listen 127.0.0.1:<free port> --data-dir <tmp>`
//! (plus `--database-url` for PostgreSQL), reads the admin token from the server's stdout, waits for
//! `/healthz`, measures the database floor (single-row durable commits/s and bare primary-key
//! selects/s on the same backend), then runs the scenarios create → get → durability (kill -9, restart, verify every
//! acknowledged ticket) → fill → search, and finally stops the server with SIGTERM. Servers are
//! killed by a drop guard on any error. Server stdout/stderr go to files in the temp directory,
//! which is kept (and printed) when a backend fails.
//!
//! Exit status is non-zero when any request of a measured phase failed, when the durability check
//! finds a missing ticket, or when a backend could not be benchmarked.

mod ctx;
mod dataset;
mod durability;
mod floor;
mod http;
mod load;
mod options;
mod report;
mod search;
mod server;
mod storage;
mod throughput;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use ctx::{setup_catalogue, Ctx};
use dataset::Dataset;
use durability::bench_durability;
use floor::bench_floor;
use http::http_client;
use options::{parse_config, Backend, Config};
use report::{fail, note, print_table, with_report, SharedReport};
use search::{bench_search, fill};
use server::ServerSpec;
use storage::{PgDatabase, TempDir};
use throughput::{bench_create, bench_get};

/// All scenarios against one already-provisioned backend.
async fn bench_backend(cfg: Config, backend: Backend, report: SharedReport, spec: ServerSpec) -> Result<()> {
    let client = http_client()?;
    let mut server = spec.spawn(1)?;
    let token = server.wait_ready(&client, true).await?.context("server ready but no admin token line")?;
    if !token.starts_with("sb_") || token.len() < 43 || !token[3..].chars().all(|c| c.is_ascii_alphanumeric()) {
        note(&report, backend, format!("admin token {token:?} does not match sb_[A-Za-z0-9]{{40,}}"));
    }
    let mut ctx = Ctx { cfg, backend, report, data: Arc::new(Dataset::default()), client, spec, token, server, starts: 1 };
    setup_catalogue(&ctx).await?;

    let header = |name: &str| println!("\n-- [{}] {name}", backend.name());
    header("database floor (same backend and disk, nothing of ours around it)");
    let floor = bench_floor(&ctx).await;
    header("ticket create");
    let creates = bench_create(&ctx).await;
    header("ticket get");
    let gets = bench_get(&ctx).await;
    match floor {
        Ok(floor) => {
            let ratios = [
                format!(
                    "[{}] creates {creates:.0}/s = {:.2}x the single-row durable commit floor ({:.0}/s; aim >= 0.6x)",
                    backend.name(),
                    creates / floor.commits_per_sec.max(1e-9),
                    floor.commits_per_sec
                ),
                format!(
                    "[{}] gets {gets:.0}/s = {:.2}x the bare primary-key select ({:.0}/s; aim >= 0.5x)",
                    backend.name(),
                    gets / floor.selects_per_sec.max(1e-9),
                    floor.selects_per_sec
                ),
            ];
            for line in &ratios {
                println!("  {line}");
            }
            with_report(&ctx.report, |r| r.ratios.extend(ratios));
        }
        Err(e) => ctx.note(format!("database floor not measured: {e:#}")),
    }
    header("durability (kill -9 during create load)");
    bench_durability(&mut ctx).await?;
    header(&format!("fill to {} tickets", ctx.cfg.tickets));
    fill(&ctx).await;
    header("search");
    bench_search(&ctx).await;

    header("shutdown (SIGTERM)");
    match ctx.server.stop_gracefully() {
        Ok(status) if status.contains("exit status: 0") => println!("  server exited: {status}"),
        Ok(status) => ctx.note(format!("SIGTERM: server exited with {status} (contract: exit code 0)")),
        Err(e) => ctx.note(format!("SIGTERM: {e:#}")),
    }
    Ok(())
}

/// Provisions (temp dir, PostgreSQL database), runs, and cleans up one backend.
async fn run_backend(cfg: &Config, backend: Backend, report: &SharedReport) {
    println!("\n==================== backend: {} ====================", backend.name());
    let mut tmp = match TempDir::new(backend.name()) {
        Ok(t) => t,
        Err(e) => return fail(report, backend, format!("{e:#}")),
    };
    let pg = match (backend, &cfg.postgres_url) {
        (Backend::Postgres, Some(url)) => match PgDatabase::create(url).await {
            Ok(db) => {
                println!("  created database {} on {}", db.name, redact(url));
                Some(db)
            }
            Err(e) => return fail(report, backend, format!("creating the database: {e:#}")),
        },
        (Backend::Postgres, None) => return fail(report, backend, "no PostgreSQL URL"),
        (Backend::Sqlite, _) => None,
    };
    println!("  data dir {}", tmp.path.join("data").display());
    let spec = ServerSpec {
        bin: cfg.server_bin.clone(),
        data_dir: tmp.path.join("data"),
        log_dir: tmp.path.clone(),
        database_url: pg.as_ref().map(|db| db.url.clone()),
    };
    let failures_before = with_report(report, |r| r.failures.len());
    // Spawned so that a panic is contained; the Server drop guard kills the process either way.
    let outcome = tokio::spawn(bench_backend(cfg.clone(), backend, report.clone(), spec)).await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => fail(report, backend, format!("aborted: {e:#}")),
        Err(e) => fail(report, backend, format!("panicked: {e}")),
    }
    if let Some(db) = pg {
        match db.drop_database().await {
            Ok(()) => println!("  dropped database {}", db.name),
            Err(e) => println!("  !! could not drop database {}: {e:#}", db.name),
        }
    }
    tmp.keep = with_report(report, |r| r.failures.len()) > failures_before;
}

/// Hides a password in a database URL for printing.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn machine_facts() {
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "machine: nproc={nproc}, cpu={model}, mem={mem}, kernel={}, os={}/{}",
        kernel.trim(),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    println!("note: the load generator runs on the same machine and competes with the server for CPU");
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    println!("Switchboard API benchmark");
    println!("command: {}", args.join(" "));
    machine_facts();
    let cfg = match parse_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    println!("server binary: {}", cfg.server_bin.display());
    println!(
        "config: backends={:?} duration={:?} creates={:?} gets={:?} concurrency={} tickets={} search-requests={} kill-after={:?} postgres-url={}",
        cfg.backends.iter().map(|b| b.name()).collect::<Vec<_>>(),
        cfg.duration,
        cfg.creates,
        cfg.gets,
        cfg.concurrency,
        cfg.tickets,
        cfg.search_requests,
        cfg.kill_after,
        cfg.postgres_url.as_deref().map(redact).unwrap_or_else(|| "(not set: PostgreSQL skipped)".into()),
    );

    let server_env: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("SWITCHBOARD_") && !k.contains("_BENCH_") && !k.contains("_TEST_"))
        .filter(|(k, _)| {
            !["SWITCHBOARD_LISTEN", "SWITCHBOARD_DATA_DIR", "SWITCHBOARD_DATABASE_URL", "SWITCHBOARD_CONFIG"].contains(&k.as_str())
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!("server environment passed through: {}", if server_env.is_empty() { "(none)".to_string() } else { server_env.join(" ") });

    let report: SharedReport = Arc::default();
    let started = Instant::now();
    for backend in cfg.backends.clone() {
        run_backend(&cfg, backend, &report).await;
    }

    let report = with_report(&report, std::mem::take);
    println!("\n==================== summary ({:.0}s) ====================", started.elapsed().as_secs_f64());
    print_table(&report.rows);
    if !report.ratios.is_empty() {
        println!("\nagainst the database floor:");
        for line in &report.ratios {
            println!("  {line}");
        }
    }
    if !report.notes.is_empty() {
        println!("\nnotes (possible server issues):");
        for n in &report.notes {
            println!("  - {n}");
        }
    }
    if report.failures.is_empty() {
        println!("\nRESULT: OK");
        ExitCode::SUCCESS
    } else {
        println!("\nRESULT: FAILED");
        for f in &report.failures {
            println!("  - {f}");
        }
        ExitCode::FAILURE
    }
}
