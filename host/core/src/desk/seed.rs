//! First start: the defaults an OTOBO user expects, the admin agent and its token.

use sqlx::Any;

use crate::db::Backend;
use crate::desk::time::now_micros;
use crate::desk::tokens::{insert_token, TokenRole};
use crate::desk::{DeskError, SystemDesk};

/// What the first start created.
#[derive(Debug)]
pub struct Bootstrap {
    /// The one-time admin token, when this start created the defaults.
    pub admin_token: Option<String>,
}

const QUEUES: [(&str, &str); 3] = [
    ("Raw", "All new tickets land here unless a filter routes them elsewhere."),
    ("Junk", "Spam and unwanted mail."),
    ("Misc", "Everything else."),
];

const STATES: [(&str, &str); 9] = [
    ("new", "new"),
    ("open", "open"),
    ("pending reminder", "pending_reminder"),
    ("pending auto close+", "pending_auto_close"),
    ("pending auto close-", "pending_auto_close"),
    ("closed successful", "closed_successful"),
    ("closed unsuccessful", "closed_unsuccessful"),
    ("merged", "merged"),
    ("removed", "removed"),
];

const PRIORITIES: [&str; 5] = ["1 very low", "2 low", "3 normal", "4 high", "5 very high"];

/// The PostgreSQL advisory lock key that first-start seeding holds ("sbseed").
const SEED_LOCK: i64 = 0x7362_7365_6564;

const TYPES: [&str; 4] = ["Unclassified", "Incident", "Problem", "Service Request"];

impl SystemDesk {
    /// Fills an empty database with defaults, the `admin` agent and a one-time
    /// admin token. Does nothing on a database that already has agents.
    pub async fn bootstrap(&self) -> Result<Bootstrap, DeskError> {
        let mut tx = self.db().begin_write().await?;
        let conn = &mut *tx.tx;
        // Nodes started together on an empty PostgreSQL database: one seeds it,
        // the others wait here and then find it seeded (on SQLite, BEGIN
        // IMMEDIATE already lets one writer in at a time).
        if self.db().backend() == Backend::Postgres {
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS seeding").bind(SEED_LOCK).execute(&mut *conn).await?;
        }
        let agents: i64 = sqlx::query_scalar::<Any, i64>("SELECT COUNT(*) FROM agents").fetch_one(&mut *conn).await?;
        if agents > 0 {
            return Ok(Bootstrap { admin_token: None });
        }
        let now = now_micros();
        for (name, comment) in QUEUES {
            sqlx::query("INSERT INTO queues (name, comment, valid, created_at, changed_at) VALUES ($1, $2, $3, $4, $4)")
                .bind(name)
                .bind(comment)
                .bind(true)
                .bind(now)
                .execute(&mut *conn)
                .await?;
        }
        for (name, state_type) in STATES {
            sqlx::query("INSERT INTO states (name, state_type, comment, valid, created_at, changed_at) VALUES ($1, $2, '', $3, $4, $4)")
                .bind(name)
                .bind(state_type)
                .bind(true)
                .bind(now)
                .execute(&mut *conn)
                .await?;
        }
        for (pending, closed) in [("pending auto close+", "closed successful"), ("pending auto close-", "closed unsuccessful")] {
            sqlx::query("UPDATE states SET next_state_id = (SELECT id FROM states WHERE name = $1) WHERE name = $2")
                .bind(closed)
                .bind(pending)
                .execute(&mut *conn)
                .await?;
        }
        for name in PRIORITIES {
            sqlx::query("INSERT INTO priorities (name, comment, valid, created_at, changed_at) VALUES ($1, '', $2, $3, $3)")
                .bind(name)
                .bind(true)
                .bind(now)
                .execute(&mut *conn)
                .await?;
        }
        for name in TYPES {
            sqlx::query("INSERT INTO ticket_types (name, comment, valid, created_at, changed_at) VALUES ($1, '', $2, $3, $3)")
                .bind(name)
                .bind(true)
                .bind(now)
                .execute(&mut *conn)
                .await?;
        }
        let admin_id: i64 = sqlx::query_scalar::<Any, i64>(
            "INSERT INTO agents (login, first_name, last_name, email, role, valid, created_at, changed_at) VALUES ('admin', 'Admin', '', '', 'admin', $1, $2, $2) RETURNING id",
        )
        .bind(true)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        let (_, secret) = insert_token(conn, "initial-admin", TokenRole::Admin, Some(admin_id), None).await?;
        self.desk().commit_catalog_change(tx).await?;
        Ok(Bootstrap { admin_token: Some(secret) })
    }
}
