//! Probes and metrics: `/healthz` and `/readyz` without auth, `/readyz`
//! turning 503 while the database is unreachable and 200 again after, and
//! Prometheus request metrics with route templates as labels.

use std::time::Duration;

use switchboard_e2e::{pg_statement, wait_for, Backend, Server};

pub(crate) async fn probes_and_metrics(backend: Backend) {
    let server = Server::start(backend).await;
    let client = server.client();
    for probe in ["/healthz", "/readyz"] {
        let r = server.send(client.get(server.url(probe)), probe).await;
        assert_eq!(r.status, 200, "GET {probe} without auth: {}", r.text());
    }
    // Generate traffic, including an error.
    server.admin_get("/api/v1/queues").await.expect(200);
    server.admin_get("/api/v1/queues").await.expect(200);
    server.admin_get("/api/v1/tickets/424242").await.expect_problem(&[404]);

    let r = server.send(client.get(server.url("/metrics")), "/metrics").await;
    assert_eq!(r.status, 200, "GET /metrics: {}", r.text());
    assert!(r.content_type.starts_with("text/plain"), "metrics Content-Type must be Prometheus text, got {:?}", r.content_type);
    let text = r.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("http_requests_total{")).collect();
    assert!(!lines.is_empty(), "no http_requests_total samples:\n{text}");
    let queues_ok = lines.iter().find(|l| l.contains("method=\"GET\"") && l.contains("status=\"200\"") && l.contains("/api/v1/queues"));
    let sample = queues_ok.unwrap_or_else(|| {
        panic!("no http_requests_total sample with method=GET, route /api/v1/queues, status=200:\n{}", lines.join("\n"))
    });
    let value: f64 = sample.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("unparsable sample {sample:?}"));
    assert!(value >= 2.0, "two GET /api/v1/queues requests were made, counter says {value}");
    assert!(lines.iter().any(|l| l.contains("status=\"404\"")), "the 404 must be counted:\n{}", lines.join("\n"));
    assert!(
        !lines.iter().any(|l| l.contains("424242")),
        "route label must be the route template, not the raw path (cardinality):\n{}",
        lines.join("\n")
    );
    assert!(text.contains("http_request_duration_seconds"), "http_request_duration_seconds missing:\n{text}");
    // Unknown routes must not create one label value per raw path either.
    server.admin_get("/api/v1/no-such-thing/98765").await;
    let text = server.send(client.get(server.url("/metrics")), "/metrics").await.text();
    assert!(
        !text.lines().any(|l| l.starts_with("http_requests_total{") && l.contains("98765")),
        "unmatched paths must not become route labels:\n{text}"
    );
}

/// `GET /readyz` status, and how long it took.
async fn readyz(server: &Server) -> (u16, Duration) {
    let started = std::time::Instant::now();
    let r = server.send(server.client().get(server.url("/readyz")).timeout(Duration::from_secs(30)), "GET /readyz").await;
    (r.status, started.elapsed())
}

/// Makes the server's database unreachable for it, and back. PostgreSQL:
/// the database stops accepting connections and the server's are
/// terminated. SQLite: the database file is moved away (the server's open
/// connections keep the moved file, so only a check of the configured path
/// sees it).
async fn database_down(server: &Server, down: bool) {
    match server.backend() {
        Backend::Sqlite => {
            let path = server.sqlite_path();
            let moved = path.with_extension("db.moved");
            let (from, to) = if down { (&path, &moved) } else { (&moved, &path) };
            std::fs::rename(from, to).unwrap_or_else(|e| panic!("rename {} to {}: {e}", from.display(), to.display()));
        }
        Backend::Postgres(admin_url) => {
            let db = server.postgres_database().expect("a PostgreSQL server has its own database");
            let run = |sql: String| pg_statement(admin_url, &sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            run(format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS {}", !down));
            if down {
                run(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"));
            }
        }
    }
}

pub(crate) async fn readyz_follows_the_database(backend: Backend) {
    let server = Server::start(backend).await;
    assert_eq!(readyz(&server).await.0, 200, "ready with the database up");

    database_down(&server, true).await;
    let (status, took) = readyz(&server).await;
    assert_eq!(status, 503, "/readyz must say 503 while the database is unreachable");
    assert!(took < Duration::from_secs(10), "/readyz must answer promptly, took {took:?}");
    let r = server.send(server.client().get(server.url("/healthz")), "GET /healthz").await;
    assert_eq!(r.status, 200, "/healthz (the process lives) stays 200: {}", r.text());

    database_down(&server, false).await;
    wait_for("/readyz to say 200 again", Duration::from_secs(20), Duration::from_millis(200), || async {
        (readyz(&server).await.0 == 200).then_some(())
    })
    .await;
    server.create_ticket("After the outage", switchboard_e2e::json!({})).await;
}
