//! Which backends the tests run against, and [`backend_tests!`], one test per backend.

use std::fmt;
use std::future::Future;

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
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print credentials that might be part of the URL.
        f.write_str(self.name())
    }
}

/// All backends to test: SQLite always, PostgreSQL when [`POSTGRES_URL_ENV`] is set.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    v.extend(Backend::postgres_from_env());
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
/// The PostgreSQL variant passes trivially (with a note on stderr) when
/// [`POSTGRES_URL_ENV`] is not set.
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
                    match $crate::Backend::postgres_from_env() {
                        Some(backend) => super::$name(backend).await,
                        None => eprintln!(
                            "skipped: set {} to run this test against PostgreSQL",
                            $crate::POSTGRES_URL_ENV
                        ),
                    }
                }
            }
        )+
    };
}
