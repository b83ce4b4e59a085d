//! Where a backend keeps its data: a temp directory (SQLite, logs) and a throw-away PostgreSQL database.

use std::path::PathBuf;

use anyhow::{Context, Result};

/// A temp directory removed on drop unless `keep` is set.
pub(crate) struct TempDir {
    pub(crate) path: PathBuf,
    pub(crate) keep: bool,
}

impl TempDir {
    pub(crate) fn new(tag: &str) -> Result<TempDir> {
        let path = std::env::temp_dir().join(format!("sb-bench-{tag}-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(path.join("data")).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir { path, keep: false })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep {
            println!("  (kept temp dir with server logs: {})", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A throw-away PostgreSQL database on the server given by the admin URL.
pub(crate) struct PgDatabase {
    admin_url: String,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl PgDatabase {
    pub(crate) async fn create(admin_url: &str) -> Result<PgDatabase> {
        use sqlx::Connection;
        let name = format!("sb_bench_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(admin_url).await.with_context(|| format!("connecting to {admin_url}"))?;
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        let _ = conn.close().await;
        let mut url = reqwest::Url::parse(admin_url).context("parsing the PostgreSQL URL")?;
        url.set_path(&format!("/{name}"));
        Ok(PgDatabase { admin_url: admin_url.to_string(), name, url: url.to_string() })
    }

    pub(crate) async fn drop_database(&self) -> Result<()> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await.with_context(|| format!("connecting to {}", self.admin_url))?;
        let forced = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).execute(&mut conn).await;
        if forced.is_err() {
            // PostgreSQL < 13 has no WITH (FORCE).
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{}\"", self.name))
                .execute(&mut conn)
                .await
                .with_context(|| format!("DROP DATABASE {}", self.name))?;
        }
        let _ = conn.close().await;
        Ok(())
    }
}
