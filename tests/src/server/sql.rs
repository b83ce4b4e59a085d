//! Direct SQL on a server's database, for what the API does not show (how
//! rows are stored) and for breaking the database on purpose.

use std::time::Duration;

use sqlx::Connection;

use super::Server;
use crate::backend::Backend;

impl Server {
    /// Runs a query returning one integer (e.g. `SELECT COUNT(*) FROM …`) on
    /// this server's database, next to the running server.
    pub async fn sql_i64(&self, sql: &str) -> i64 {
        match self.backend() {
            Backend::Sqlite => {
                let mut conn = self.sqlite_conn().await;
                sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Backend::Postgres(_) => {
                let mut conn = self.pg_conn().await;
                sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        }
    }

    /// Runs one statement (no result) on this server's database.
    pub async fn sql_execute(&self, sql: &str) {
        use sqlx::Executor;
        match self.backend() {
            Backend::Sqlite => {
                let mut conn = self.sqlite_conn().await;
                conn.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Backend::Postgres(_) => {
                let mut conn = self.pg_conn().await;
                conn.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    async fn sqlite_conn(&self) -> sqlx::SqliteConnection {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.sqlite_path())
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(20));
        sqlx::SqliteConnection::connect_with(&options).await.unwrap_or_else(|e| panic!("open {}: {e}", self.sqlite_path().display()))
    }

    async fn pg_conn(&self) -> sqlx::PgConnection {
        let url = self.database_url().expect("a PostgreSQL server has a database URL");
        sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| panic!("connect to the test database: {e}"))
    }
}
