//! Test support: a fresh core on every backend under test.
//!
//! SQLite always; PostgreSQL too when `SWITCHBOARD_TEST_POSTGRES_URL` is set
//! (each test gets its own database, dropped afterwards). Without it the
//! PostgreSQL half is skipped with a loud line, or fails the test when `CI`
//! or `SWITCHBOARD_REQUIRE_POSTGRES=1` is set.

use std::future::Future;
use std::io::Write as _;

use rand::Rng;
use sqlx::Connection;
use switchboard::db::{Db, SqliteSync};
use switchboard::desk::{Desk, DeskSettings, SystemDesk};

/// A database the test owns.
pub(crate) struct TestDb {
    /// Backend name for messages.
    pub(crate) name: &'static str,
    /// The core over it (actor-checked).
    pub(crate) desk: Desk,
    /// The system's handle on the same core (jobs, plugin records, kv).
    pub(crate) system: SystemDesk,
    /// Where the database is, for a second node on it.
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A second node on the same database: its own pool, catalogue snapshot
    /// and (on SQLite) its own group-commit batches.
    #[allow(dead_code, reason = "the core tests use it, the plugin tests share this module")]
    pub(crate) async fn second_node(&self) -> SystemDesk {
        let db = Db::connect(&self.url, SqliteSync::Normal).await.expect("open the database again");
        SystemDesk::new(db, DeskSettings { secrets: Some(switchboard::desk::SecretBox::new(&[7; 32])), ..Default::default() })
    }

    /// Drops the PostgreSQL database, if any.
    pub(crate) async fn cleanup(self) {
        self.desk.close().await;
        if let Some((admin_url, name)) = self.pg {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
            }
        }
    }
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Db::connect(&url, SqliteSync::Normal).await.expect("open sqlite");
    db.migrate().await.expect("migrate sqlite");
    let system = SystemDesk::new(db, DeskSettings { secrets: Some(switchboard::desk::SecretBox::new(&[7; 32])), ..Default::default() });
    system.bootstrap().await.expect("bootstrap");
    TestDb { name: "sqlite", desk: system.desk().clone(), system, url, _dir: Some(dir), pg: None }
}

async fn postgres(admin_url: &str) -> TestDb {
    let name = format!("sb_host_{}", rand::thread_rng().gen::<u64>());
    let mut conn = sqlx::PgConnection::connect(admin_url).await.expect("connect to SWITCHBOARD_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
    let url = with_database(admin_url, &name);
    let db = Db::connect(&url, SqliteSync::Full).await.expect("open postgres");
    db.migrate().await.expect("migrate postgres");
    let system = SystemDesk::new(db, DeskSettings { secrets: Some(switchboard::desk::SecretBox::new(&[7; 32])), ..Default::default() });
    system.bootstrap().await.expect("bootstrap");
    TestDb { name: "postgres", desk: system.desk().clone(), system, url, _dir: None, pg: Some((admin_url.to_string(), name)) }
}

/// `url` (`postgres://user@host:port/db?params`) naming database `db` instead,
/// query parameters such as `sslmode` kept.
pub(crate) fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{db}?{q}"),
        None => format!("{server}/{db}"),
    }
}

/// The PostgreSQL server to test against, or `None` after saying loudly that
/// the PostgreSQL half is skipped; panics instead when `CI` or
/// `SWITCHBOARD_REQUIRE_POSTGRES=1` says PostgreSQL must be tested.
pub(crate) fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_string()),
        _ if postgres_required() => {
            panic!("{POSTGRES_URL_ENV} is not set, but CI or SWITCHBOARD_REQUIRE_POSTGRES=1 requires the PostgreSQL tests to run")
        }
        _ => {
            // Straight to stderr, past the test harness's capture: a skip must be seen.
            let test = std::thread::current().name().unwrap_or("a test").to_string();
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: its PostgreSQL half did not run; set {POSTGRES_URL_ENV} to run it");
            None
        }
    }
}

/// Whether a missing PostgreSQL URL must fail the tests.
fn postgres_required() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
    set("CI") || set("SWITCHBOARD_REQUIRE_POSTGRES")
}

/// Where the PostgreSQL server to test against is named.
const POSTGRES_URL_ENV: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

/// Runs `test` once per backend under test.
pub(crate) async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    let db = test(sqlite().await).await;
    db.cleanup().await;
    if let Some(url) = postgres_url() {
        let db = test(postgres(&url).await).await;
        db.cleanup().await;
    }
}
