//! Which backends the tests run against, and [`backend_tests!`], one test per backend.

use std::fmt;
use std::future::Future;
use std::io::Write as _;

/// Environment variable naming a PostgreSQL URL; when set, every test also runs
/// against PostgreSQL (each server gets its own freshly created database).
pub const POSTGRES_URL_ENV: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

/// Where the server stores its data.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite inside the data directory (no `--database-url`).
    Sqlite,
    /// PostgreSQL; the URL points at a server where the harness may create
    /// databases (each [`Server`](crate::Server) gets its own database).
    Postgres(String),
}

impl Backend {
    /// Short name used in messages: `sqlite` or `postgres`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The PostgreSQL backend if [`POSTGRES_URL_ENV`] is set and non-empty.
    pub fn postgres_from_env() -> Option<Backend> {
        match std::env::var(POSTGRES_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => Some(Backend::Postgres(url.trim().to_string())),
            _ => None,
        }
    }

    /// The PostgreSQL backend for a `::postgres` test: `None` after printing a
    /// loud SKIPPED line when [`POSTGRES_URL_ENV`] is unset, but a panic (a
    /// failed test) when `CI` or [`REQUIRE_POSTGRES_ENV`]`=1` is set.
    pub fn postgres_or_skip(test: &str) -> Option<Backend> {
        let backend = Backend::postgres_from_env();
        if backend.is_none() {
            if postgres_required() {
                panic!("{test}: {POSTGRES_URL_ENV} is not set, but CI or {REQUIRE_POSTGRES_ENV}=1 requires the PostgreSQL tests to run");
            }
            // Straight to stderr, past the test harness's capture: a skip must be seen.
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: it did not run against PostgreSQL; set {POSTGRES_URL_ENV} to run it");
        }
        backend
    }
}

/// Environment variable that, set to `1`, makes a missing [`POSTGRES_URL_ENV`]
/// fail every PostgreSQL test instead of skipping it (as `CI` does).
pub const REQUIRE_POSTGRES_ENV: &str = "SWITCHBOARD_REQUIRE_POSTGRES";

/// Whether a missing PostgreSQL URL fails the tests (`CI` or [`REQUIRE_POSTGRES_ENV`] set).
fn postgres_required() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
    set("CI") || set(REQUIRE_POSTGRES_ENV)
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print credentials that might be part of the URL.
        f.write_str(self.name())
    }
}

/// All backends to test: SQLite always, PostgreSQL when [`POSTGRES_URL_ENV`]
/// is set (else as [`Backend::postgres_or_skip`]: a SKIPPED line, or a failure under CI).
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    v.extend(Backend::postgres_or_skip("backends()"));
    v
}

/// Runs `f` once for every backend from [`backends()`], in sequence, printing
/// which backend is being exercised (the panic message of a failure is preceded
/// by that line in the captured output).
pub async fn for_each_backend<F, Fut>(mut f: F)
where
    F: FnMut(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        eprintln!("=== backend: {}", backend.name());
        f(backend).await;
    }
}

/// Generates, for each listed `async fn name(backend: Backend)`, a module
/// `name` with one test per backend: `name::sqlite` and `name::postgres`.
/// Without [`POSTGRES_URL_ENV`] the PostgreSQL variant prints a SKIPPED line
/// and passes, or fails when `CI` or [`REQUIRE_POSTGRES_ENV`] is set (see
/// [`Backend::postgres_or_skip`]).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await;
                }

                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = $crate::Backend::postgres_or_skip(concat!(module_path!(), "::postgres")) {
                        super::$name(backend).await;
                    }
                }
            }
        )+
    };
}
