//! A request is one transaction: a ticket create that fails at the database
//! inside its write transaction, after the ticket, article, attachment,
//! dynamic field values, search row, history entry and job are written,
//! leaves none of them behind (an implementation committing per statement
//! would). The failure is a trigger put on the server's database.

use switchboard_e2e::{base64, json, Backend, Server};

use crate::support::id_of;

/// Tables a ticket create writes to.
const TABLES: [&str; 9] = [
    "tickets",
    "articles",
    "article_attachments",
    "attachment_contents",
    "dynamic_field_values",
    "ticket_search",
    "ticket_history",
    "jobs",
    "idempotency_keys",
];

async fn row_counts(server: &Server) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push((table, server.sql_i64(&format!("SELECT COUNT(*) FROM {table}")).await));
    }
    counts
}

/// Makes every insert into `table` fail at the database.
async fn fail_inserts(server: &Server, table: &str) {
    match server.backend() {
        Backend::Sqlite => {
            server
                .sql_execute(&format!(
                    "CREATE TRIGGER sb_fail_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                ))
                .await;
        }
        Backend::Postgres(_) => {
            server
                .sql_execute("CREATE OR REPLACE FUNCTION sb_injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$")
                .await;
            server
                .sql_execute(&format!(
                    "CREATE TRIGGER sb_fail_{table} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION sb_injected_failure()"
                ))
                .await;
        }
    }
}

async fn allow_inserts(server: &Server, table: &str) {
    match server.backend() {
        Backend::Sqlite => server.sql_execute(&format!("DROP TRIGGER sb_fail_{table}")).await,
        Backend::Postgres(_) => server.sql_execute(&format!("DROP TRIGGER sb_fail_{table} ON {table}")).await,
    }
}

pub(crate) async fn failure_inside_the_write_leaves_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    server
        .admin_post(
            "/api/v1/dynamic-fields",
            &json!({"name": "Region", "object_type": "ticket", "field_type": "dropdown", "config": {"possible_values": ["EU", "US"]}}),
        )
        .await
        .expect(201);
    server.create_ticket("Before", json!({})).await;
    let body = json!({
        "title": "Half written", "queue": "Raw", "state": "pending reminder", "pending_until": "2099-01-01T00:00:00Z",
        "dynamic_fields": {"Region": "EU"},
        "article": {"body": "a platypus in the server room",
                    "attachments": [{"filename": "p.txt", "content_type": "text/plain", "content_base64": base64(b"unique platypus bytes")}]}
    });
    let post = |key: &str| {
        server.client().post(server.url("/api/v1/tickets")).bearer_auth(server.admin_token()).header("Idempotency-Key", key).json(&body)
    };

    // The idempotency key is the last write of a create; the attachment is in the middle.
    for table in ["idempotency_keys", "article_attachments"] {
        let before = row_counts(&server).await;
        fail_inserts(&server, table).await;
        let r = server.send(post(&format!("key-{table}")), "POST /api/v1/tickets (failing)").await;
        let problem = r.expect_problem(&[500]);
        assert!(!problem.to_string().contains("injected"), "database errors stay in the server log: {problem}");
        let after = row_counts(&server).await;
        assert_eq!(after, before, "a create failing at {table} left rows behind (table, rows)");
        assert!(server.list_all_tickets("q=platypus").await.is_empty(), "the failed create is searchable");
        allow_inserts(&server, table).await;
    }

    // The key was not used up: the same request now succeeds, once.
    let before = row_counts(&server).await;
    let created = server.send(post("key-idempotency_keys"), "POST /api/v1/tickets").await.expect(201);
    let again = server.send(post("key-idempotency_keys"), "POST /api/v1/tickets (replay)").await.expect_one_of(&[200, 201]);
    assert_eq!(again["id"], created["id"], "the replay returns the ticket");
    let grew: Vec<(&str, i64)> = row_counts(&server).await.iter().zip(&before).map(|((t, a), (_, b))| (*t, a - b)).collect();
    let one_each: Vec<(&str, i64)> = TABLES.iter().map(|t| (*t, 1)).collect();
    assert_eq!(grew, one_each, "a successful create writes one row to each table");
    let found: Vec<i64> = server.list_all_tickets("q=platypus").await.iter().map(id_of).collect();
    assert_eq!(found, vec![id_of(&created)]);
}
