//! Job queue benchmark: trivial jobs end to end through the real worker on
//! SQLite (synchronous=FULL) and PostgreSQL — jobs/s from enqueue to done, and
//! enqueue → start latency (the job's `started_at` minus its `created_at`;
//! `started_at` is when a worker claimed it, and a claimed job may then wait
//! for a free slot in its lane, as the worker claims ahead),
//! at a light trickle and under load — next to the backend's single-row
//! durable commit rate measured in the same run (the floor the queue is built on).
//!
//! A trivial job is a `ticket.pending_due` job for a ticket that is not
//! pending: its handler reads one row and writes nothing, and the worker marks
//! such jobs done in batches.
//!
//! Run: `cargo bench -p switchboard --bench jobs` (release build). Options
//! (after `--`): `--jobs N` (load phase, default 20000), `--backend sqlite|postgres|all`
//! (default all: PostgreSQL when `SWITCHBOARD_BENCH_POSTGRES_URL` or
//! `SWITCHBOARD_TEST_POSTGRES_URL` is set; a scratch database is created and dropped).

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use switchboard::db::{Db, SqliteSync};
use switchboard::desk::{Actor, DeskSettings, JobQuery, JobStatus, JobTask, NewJob, SystemDesk};
use switchboard::worker::{self, JobMetrics, WorkerSettings};

/// Jobs per enqueue transaction in the load phase (a mail fetch storing a batch).
const BATCH: usize = 100;
/// Concurrent producers in the load phase.
const PRODUCERS: usize = 4;

fn trivial(i: usize) -> NewJob {
    NewJob::new(JobTask::PendingDue { ticket_id: 1_000_000_000 + i as i64, pending_until: 1 })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Enqueue → start waits of every job, in milliseconds, sorted.
async fn start_waits(system: &SystemDesk) -> Result<Vec<f64>> {
    let done = JobQuery { status: Some(JobStatus::Done), ..Default::default() };
    let jobs = system.desk().job_list(&Actor::System, done, 1000).await?;
    let mut waits: Vec<f64> =
        jobs.iter().filter_map(|j| j.started_at.map(|s| (s - j.created_at).num_microseconds().unwrap_or(0) as f64 / 1000.0)).collect();
    waits.sort_by(f64::total_cmp);
    Ok(waits)
}

async fn done_count(db: &Db) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'done'").fetch_one(db.pool()).await?)
}

async fn wait_done(db: &Db, total: i64, limit: Duration) -> Result<Instant> {
    let start = Instant::now();
    loop {
        if done_count(db).await? >= total {
            return Ok(Instant::now());
        }
        if start.elapsed() > limit {
            bail!("only {} of {total} jobs done after {limit:?}", done_count(db).await?);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Single-row durable commits per second on this backend for about a second.
async fn commit_floor(db: &Db) -> Result<f64> {
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_floor (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)").execute(db.pool()).await?;
    let start = Instant::now();
    let mut n = 0i64;
    while start.elapsed() < Duration::from_secs(1) {
        // Straight on the pool (autocommit), not through `begin_write`: the
        // floor is the database's, with nothing of ours (group commit) around it.
        sqlx::query("INSERT INTO bench_floor (id, v) VALUES ($1, $1)").bind(n).execute(db.pool()).await?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

async fn bench(url: &str, jobs: usize) -> Result<()> {
    let db = Db::connect(url, SqliteSync::Full).await.context("connect")?;
    db.migrate().await.context("migrate")?;
    let system = SystemDesk::new(db.clone(), DeskSettings::default());
    let floor = commit_floor(&db).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = WorkerSettings::new(Duration::from_secs(1), Duration::from_secs(300));
    let running = tokio::spawn(worker::run(system.clone(), settings, JobMetrics::new(), stopped));

    // Trickle: one job at a time, 2 ms apart.
    const TRICKLE: usize = 500;
    for i in 0..TRICKLE {
        system.job_enqueue(trivial(i)).await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    wait_done(&db, TRICKLE as i64, Duration::from_secs(60)).await?;
    let trickle = start_waits(&system).await?;

    // Load: producers enqueue in batches while the worker drains.
    let before = done_count(&db).await?;
    let start = Instant::now();
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let system = system.clone();
        producers.push(tokio::spawn(async move {
            let mine: Vec<usize> = (0..jobs).filter(|i| i % PRODUCERS == p).collect();
            for chunk in mine.chunks(BATCH) {
                let batch: Vec<NewJob> = chunk.iter().map(|i| trivial(TRICKLE + i)).collect();
                system.job_enqueue_many(&batch).await?;
            }
            anyhow::Ok(())
        }));
    }
    for p in producers {
        p.await??;
    }
    let enqueued = start.elapsed();
    let end = wait_done(&db, before + jobs as i64, Duration::from_secs(600)).await?;
    let elapsed = end - start;
    let loaded = start_waits(&system).await?;
    let _ = stop.send(true);
    let _ = running.await;

    let rate = jobs as f64 / elapsed.as_secs_f64();
    println!("  single-row durable commits/s (floor): {floor:>9.0}");
    println!(
        "  trickle ({TRICKLE} jobs, 2 ms apart): enqueue -> start p50 {:.2} ms, p99 {:.2} ms",
        percentile(&trickle, 0.5),
        percentile(&trickle, 0.99)
    );
    println!(
        "  load ({jobs} jobs, {PRODUCERS} producers x batches of {BATCH}): {rate:>7.0} jobs/s end to end ({:.2}x the commit floor); enqueued in {:.2} s, all done after {:.2} s",
        rate / floor,
        enqueued.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!("  load, last 1000 jobs: enqueue -> start p50 {:.1} ms, p99 {:.1} ms", percentile(&loaded, 0.5), percentile(&loaded, 0.99));
    db.close().await;
    Ok(())
}

/// A scratch PostgreSQL database on the server of `base`, dropped by the caller.
async fn scratch_postgres(base: &str) -> Result<(String, String)> {
    use sqlx::Connection;
    let name = format!("sb_jobs_bench_{:08x}", rand_suffix());
    let mut admin = sqlx::PgConnection::connect(base).await.context("connect to PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    // postgres://user@host:port/db → the same server, database `name`.
    let Some(slash) = base.rfind('/').filter(|&i| i > "postgres://".len()) else {
        bail!("cannot derive a database URL from {base}: expected postgres://USER@HOST:PORT/DATABASE");
    };
    Ok((format!("{}/{name}", &base[..slash]), name))
}

async fn drop_postgres(base: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut admin) = sqlx::PgConnection::connect(base).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
    }
}

fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    nanos ^ std::process::id().rotate_left(16)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let jobs: usize = value("--jobs").map(|v| v.parse()).transpose().context("--jobs")?.unwrap_or(20_000);
    let backend = value("--backend").unwrap_or_else(|| "all".into());
    let pg = std::env::var("SWITCHBOARD_BENCH_POSTGRES_URL").or_else(|_| std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")).ok();
    if matches!(backend.as_str(), "sqlite" | "all") {
        println!("\n-- [sqlite, synchronous=FULL] job queue");
        let dir = tempfile::tempdir()?;
        bench(&format!("sqlite://{}", dir.path().join("jobs.db").display()), jobs).await?;
    }
    if matches!(backend.as_str(), "postgres" | "all") {
        match pg {
            Some(base) => {
                println!("\n-- [postgres] job queue");
                let (url, name) = scratch_postgres(&base).await?;
                let result = bench(&url, jobs).await;
                drop_postgres(&base, &name).await;
                result?;
            }
            None if backend == "postgres" => bail!("set SWITCHBOARD_BENCH_POSTGRES_URL"),
            None => println!("\n(PostgreSQL skipped: set SWITCHBOARD_BENCH_POSTGRES_URL)"),
        }
    }
    Ok(())
}
