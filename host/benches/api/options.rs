//! Command-line flags and environment variables: which backends to run and how hard.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Path of the server binary built by cargo for this bench (release profile under `cargo bench`).
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_switchboard");

const HELP: &str = "\
Switchboard API benchmark (see the //! header of host/benches/api/main.rs).

cargo bench -p switchboard --bench api -- [flags]
  --backend sqlite|postgres|all   (SWITCHBOARD_BENCH_BACKEND, default all)
  --duration SECS                 (SWITCHBOARD_BENCH_DURATION, default 10)
  --creates N                     (SWITCHBOARD_BENCH_CREATES, count instead of duration)
  --gets N                        (SWITCHBOARD_BENCH_GETS, count instead of duration)
  --concurrency N                 (SWITCHBOARD_BENCH_CONCURRENCY, default 32)
  --tickets N                     (SWITCHBOARD_BENCH_TICKETS, default 100000)
  --search-requests N             (SWITCHBOARD_BENCH_SEARCH_REQUESTS, default 200)
  --kill-after SECS               (SWITCHBOARD_BENCH_KILL_AFTER, default 3)
  --fill-timeout SECS             (SWITCHBOARD_BENCH_FILL_TIMEOUT, default 3600)
  --postgres-url URL              (SWITCHBOARD_BENCH_POSTGRES_URL / SWITCHBOARD_TEST_POSTGRES_URL)
  --server-bin PATH               (SWITCHBOARD_BENCH_SERVER_BIN, default: the binary cargo built)
";

/// Flags and the environment variables that provide their defaults.
const FLAGS: [(&str, &[&str]); 11] = [
    ("backend", &["SWITCHBOARD_BENCH_BACKEND"]),
    ("duration", &["SWITCHBOARD_BENCH_DURATION"]),
    ("creates", &["SWITCHBOARD_BENCH_CREATES"]),
    ("gets", &["SWITCHBOARD_BENCH_GETS"]),
    ("concurrency", &["SWITCHBOARD_BENCH_CONCURRENCY"]),
    ("tickets", &["SWITCHBOARD_BENCH_TICKETS"]),
    ("search-requests", &["SWITCHBOARD_BENCH_SEARCH_REQUESTS"]),
    ("kill-after", &["SWITCHBOARD_BENCH_KILL_AFTER"]),
    ("fill-timeout", &["SWITCHBOARD_BENCH_FILL_TIMEOUT"]),
    ("server-bin", &["SWITCHBOARD_BENCH_SERVER_BIN"]),
    ("postgres-url", &["SWITCHBOARD_BENCH_POSTGRES_URL", "SWITCHBOARD_TEST_POSTGRES_URL"]),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) backends: Vec<Backend>,
    pub(crate) duration: Duration,
    pub(crate) creates: Option<u64>,
    pub(crate) gets: Option<u64>,
    pub(crate) concurrency: usize,
    pub(crate) tickets: u64,
    pub(crate) search_requests: u64,
    pub(crate) kill_after: Duration,
    pub(crate) fill_timeout: Duration,
    pub(crate) postgres_url: Option<String>,
    pub(crate) server_bin: PathBuf,
}

pub(crate) fn parse_config() -> Result<Config> {
    let mut opts: BTreeMap<String, String> = BTreeMap::new();
    for (flag, vars) in FLAGS {
        if let Some(v) = vars.iter().find_map(|var| std::env::var(var).ok()) {
            if !v.trim().is_empty() {
                opts.insert(flag.to_string(), v);
            }
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--bench" {
            continue; // `cargo bench` passes this to every bench binary
        }
        if arg == "-h" || arg == "--help" {
            print!("{HELP}");
            std::process::exit(0);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            eprintln!("note: ignoring positional argument {arg:?} (filters are not supported)");
            continue;
        };
        let (key, value) = match flag.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (flag.to_string(), args.next().with_context(|| format!("--{flag} needs a value"))?),
        };
        if !FLAGS.iter().any(|(f, _)| *f == key) {
            bail!("unknown flag --{key}\n{HELP}");
        }
        opts.insert(key, value);
    }

    fn num(opts: &BTreeMap<String, String>, key: &str) -> Result<Option<u64>> {
        opts.get(key).map(|v| v.trim().parse::<u64>().with_context(|| format!("--{key}: not a number: {v:?}"))).transpose()
    }
    fn secs(opts: &BTreeMap<String, String>, key: &str, default: f64) -> Result<Duration> {
        let v = match opts.get(key) {
            Some(v) => v.trim().parse::<f64>().with_context(|| format!("--{key}: not a number: {v:?}"))?,
            None => default,
        };
        if !(v.is_finite() && v >= 0.0) {
            bail!("--{key} must be a non-negative number of seconds");
        }
        Ok(Duration::from_secs_f64(v))
    }

    let postgres_url = opts.get("postgres-url").cloned();
    let backends = match opts.get("backend").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("all") => {
            let mut b = vec![Backend::Sqlite];
            if postgres_url.is_some() {
                b.push(Backend::Postgres);
            }
            b
        }
        Some("sqlite") => vec![Backend::Sqlite],
        Some("postgres") | Some("postgresql") | Some("pg") => {
            if postgres_url.is_none() {
                bail!("--backend postgres needs --postgres-url or SWITCHBOARD_BENCH_POSTGRES_URL / SWITCHBOARD_TEST_POSTGRES_URL");
            }
            vec![Backend::Postgres]
        }
        Some(other) => bail!("--backend: expected sqlite, postgres or all, got {other:?}"),
    };
    let concurrency = num(&opts, "concurrency")?.unwrap_or(32).clamp(1, 1024) as usize;
    Ok(Config {
        backends,
        duration: secs(&opts, "duration", 10.0)?,
        creates: num(&opts, "creates")?,
        gets: num(&opts, "gets")?,
        concurrency,
        tickets: num(&opts, "tickets")?.unwrap_or(100_000),
        search_requests: num(&opts, "search-requests")?.unwrap_or(200).max(1),
        kill_after: secs(&opts, "kill-after", 3.0)?.max(Duration::from_millis(200)),
        fill_timeout: secs(&opts, "fill-timeout", 3600.0)?,
        postgres_url,
        server_bin: opts.get("server-bin").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(SERVER_BIN)),
    })
}
