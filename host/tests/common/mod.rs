//! Test support: a fresh core on every backend under test.
//!
//! SQLite always; PostgreSQL too when `SWITCHBOARD_TEST_POSTGRES_URL` is set
//! (each test gets its own database, dropped afterwards).

use std::future::Future;

use rand::Rng;
use sqlx::Connection;
use switchboard::db::{Db, SqliteSync};
use switchboard::desk::{Desk, DeskSettings};

/// A database the test owns.
pub(crate) struct TestDb {
    /// Backend name for messages.
    pub(crate) name: &'static str,
    /// The core over it.
    pub(crate) desk: Desk,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// Drops the PostgreSQL database, if any.
    pub(crate) async fn cleanup(self) {
        self.desk.db().close().await;
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
    let desk = Desk::new(db, DeskSettings { secrets: Some(switchboard::desk::SecretBox::new(&[7; 32])), ..Default::default() });
    desk.bootstrap().await.expect("bootstrap");
    TestDb { name: "sqlite", desk, _dir: Some(dir), pg: None }
}

async fn postgres(admin_url: &str) -> TestDb {
    let name = format!("sb_host_{}", rand::thread_rng().gen::<u64>());
    let mut conn = sqlx::PgConnection::connect(admin_url).await.expect("connect to SWITCHBOARD_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin_url);
    let url = format!("{base}/{name}");
    let db = Db::connect(&url, SqliteSync::Full).await.expect("open postgres");
    db.migrate().await.expect("migrate postgres");
    let desk = Desk::new(db, DeskSettings { secrets: Some(switchboard::desk::SecretBox::new(&[7; 32])), ..Default::default() });
    desk.bootstrap().await.expect("bootstrap");
    TestDb { name: "postgres", desk, _dir: None, pg: Some((admin_url.to_string(), name)) }
}

/// Runs `test` on SQLite only (tests of the sandbox, not of storage).
#[allow(dead_code)]
pub(crate) async fn sqlite_only<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    test(sqlite().await).await.cleanup().await;
}

/// Runs `test` once per backend under test.
pub(crate) async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    let db = test(sqlite().await).await;
    db.cleanup().await;
    if let Ok(url) = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
        let db = test(postgres(&url).await).await;
        db.cleanup().await;
    }
}
