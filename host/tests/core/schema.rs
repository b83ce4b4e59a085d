//! The two migration trees (`host/core/migrations/{sqlite,postgres}`) define the
//! same tables with the same columns and the same NOT NULL rules, so a migration
//! added to one tree only fails here rather than on a user's PostgreSQL.

use std::collections::BTreeMap;

use sqlx::Row;
use switchboard::db::Backend;

use crate::common::each_backend;

/// Table → column → nullable.
type Schema = BTreeMap<String, BTreeMap<String, bool>>;

/// The full-text table differs by design (an FTS5 virtual table on SQLite,
/// tsvector columns on PostgreSQL): only its existence is compared.
const FULL_TEXT: &str = "ticket_search";

async fn schema(desk: &switchboard::desk::SystemDesk) -> Schema {
    let pool = desk.db().pool();
    let mut schema = Schema::new();
    match desk.db().backend() {
        Backend::Sqlite => {
            let tables = sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' \
                 AND name NOT LIKE 'ticket_search_%' ORDER BY name",
            )
            .fetch_all(pool)
            .await
            .expect("tables");
            for table in tables {
                let table: String = table.get(0);
                let columns = sqlx::query(&format!("SELECT name, \"notnull\", pk FROM pragma_table_info('{table}')"))
                    .fetch_all(pool)
                    .await
                    .expect("columns");
                let entry = schema.entry(table).or_default();
                for c in columns {
                    // A primary key is never NULL, whether or not SQLite says NOT NULL.
                    let nullable = c.get::<i64, _>(1) == 0 && c.get::<i64, _>(2) == 0;
                    entry.insert(c.get(0), nullable);
                }
            }
        }
        Backend::Postgres => {
            let columns = sqlx::query(
                "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' ORDER BY table_name, ordinal_position",
            )
            .fetch_all(pool)
            .await
            .expect("columns");
            for c in columns {
                let nullable: String = c.get(2);
                schema.entry(c.get(0)).or_default().insert(c.get(1), nullable == "YES");
            }
        }
    }
    if let Some(full_text) = schema.get_mut(FULL_TEXT) {
        full_text.clear();
    }
    schema
}

#[tokio::test]
async fn both_migration_trees_define_the_same_tables_and_columns() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(&'static str, Schema)>::new()));
    each_backend(|db| {
        let seen = seen.clone();
        async move {
            let found = schema(&db.system).await;
            assert!(found.contains_key("tickets") && found.contains_key(FULL_TEXT), "{}: {found:?}", db.name);
            seen.lock().expect("lock").push((db.name, found));
            db
        }
    })
    .await;
    let seen = seen.lock().expect("lock");
    let Some(((_, sqlite), (_, postgres))) = seen.first().zip(seen.get(1)) else {
        return; // PostgreSQL not under test: said loudly by each_backend (or failed under CI).
    };
    let mut differences = Vec::new();
    for table in sqlite.keys().chain(postgres.keys()).collect::<std::collections::BTreeSet<_>>() {
        match (sqlite.get(table), postgres.get(table)) {
            (Some(s), Some(p)) => {
                for column in s.keys().chain(p.keys()).collect::<std::collections::BTreeSet<_>>() {
                    match (s.get(column), p.get(column)) {
                        (Some(a), Some(b)) if a == b => {}
                        (Some(a), Some(b)) => differences.push(format!("{table}.{column}: nullable on SQLite {a}, on PostgreSQL {b}")),
                        (a, _) => {
                            differences.push(format!("{table}.{column}: only on {}", if a.is_some() { "SQLite" } else { "PostgreSQL" }))
                        }
                    }
                }
            }
            (s, _) => differences.push(format!("table {table}: only on {}", if s.is_some() { "SQLite" } else { "PostgreSQL" })),
        }
    }
    assert!(differences.is_empty(), "the migration trees differ:\n{}", differences.join("\n"));
}
