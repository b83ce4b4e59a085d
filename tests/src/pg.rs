//! A throw-away PostgreSQL database per server, created and dropped over a plain connection.

use crate::system::unique_suffix;

/// A PostgreSQL database created for one server and dropped afterwards.
pub(crate) struct PgDatabase {
    admin_url: String,
    pub(crate) name: String,
    pub(crate) url: String,
}

/// Replaces the database name in a `postgres://` URL.
pub(crate) fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// Runs one SQL statement on `url` on a dedicated thread with its own runtime
/// (usable from `Drop` and from inside any async context).
pub fn pg_statement(url: &str, sql: &str) -> Result<(), String> {
    let url = url.to_string();
    let sql = sql.to_string();
    std::thread::spawn(move || -> Result<(), String> {
        use sqlx::{Connection, Executor};
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url).await.map_err(|e| format!("connect to PostgreSQL: {e}"))?;
            conn.execute(sql.as_str()).await.map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())?;
            Ok(())
        })
    })
    .join()
    .map_err(|_| "PostgreSQL helper thread panicked".to_string())?
}

impl PgDatabase {
    pub(crate) fn create(admin_url: &str) -> PgDatabase {
        let name = format!("sb_e2e_{}", unique_suffix());
        pg_statement(admin_url, &format!("CREATE DATABASE \"{name}\""))
            .unwrap_or_else(|e| panic!("could not create test database {name}: {e}"));
        PgDatabase { admin_url: admin_url.to_string(), url: with_database(admin_url, &name), name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = pg_statement(&self.admin_url, &sql) {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}
