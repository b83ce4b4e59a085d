//! Pending states and the background jobs that act on them.

use std::time::Duration;

use switchboard_e2e::{json, rfc3339_from_now, wait_for, Backend, Server, ServerOptions, Value};

use crate::support::{id_of, parse_time};

/// The `ticket.pending_due` job of ticket `id`, once it has status `done`.
async fn job_done(server: &Server, id: i64) -> Value {
    wait_for(&format!("the pending job of ticket {id} to be done"), Duration::from_secs(15), Duration::from_millis(200), || async {
        let jobs = server.admin_get("/api/v1/jobs").await.items();
        jobs.into_iter().find(|j| j["kind"] == "ticket.pending_due" && j["payload"]["ticket_id"] == id && j["status"] == "done")
    })
    .await
}

pub(crate) async fn pending_jobs(backend: Backend) {
    let server = Server::start(backend).await;
    let close = id_of(&server.create_ticket("Auto close me", json!({})).await);
    let remind = id_of(&server.create_ticket("Remind me", json!({})).await);
    let later = id_of(&server.create_ticket("Not yet", json!({})).await);

    let p = server
        .admin_patch(&format!("/api/v1/tickets/{close}"), &json!({"state": "pending auto close+", "pending_until": rfc3339_from_now(1)}))
        .await
        .expect(200);
    assert_eq!(p["state"], "pending auto close+");
    assert_eq!(p["state_type"], "pending_auto_close");
    assert!(p["pending_until"].is_string(), "pending_until must be set: {p}");
    let r = server
        .admin_patch(&format!("/api/v1/tickets/{remind}"), &json!({"state": "pending reminder", "pending_until": rfc3339_from_now(1)}))
        .await
        .expect(200);
    assert_eq!(r["state_type"], "pending_reminder");
    let remind_due = parse_time(&r["pending_until"]);
    server
        .admin_patch(&format!("/api/v1/tickets/{later}"), &json!({"state": "pending auto close+", "pending_until": rfc3339_from_now(3600)}))
        .await
        .expect(200);
    // The jobs may run before the next request: what they wrote is told by its actor.
    let by_system = |history: Vec<Value>| -> Vec<Value> {
        history.into_iter().filter(|h| h["actor"].as_str().is_some_and(|a| a.starts_with("system:"))).collect()
    };

    // Auto close: exactly one entry, the state change, by the pending job.
    let closed =
        wait_for("pending auto close+ ticket to become closed successful", Duration::from_secs(15), Duration::from_millis(200), || async {
            let t = server.admin_get(&format!("/api/v1/tickets/{close}")).await.expect(200);
            (t["state"] == "closed successful").then_some(t)
        })
        .await;
    assert_eq!(closed["state_type"], "closed_successful");
    assert!(closed["pending_until"].is_null(), "a closed ticket has no pending time: {closed}");
    job_done(&server, close).await;
    let history = by_system(server.admin_get(&format!("/api/v1/tickets/{close}/history")).await.items());
    let new: Vec<(Value, Value, Value, Value, Value)> = history
        .iter()
        .map(|h| (h["event"].clone(), h["field"].clone(), h["old_value"].clone(), h["new_value"].clone(), h["actor"].clone()))
        .collect();
    assert_eq!(
        new,
        vec![(
            json!("field_changed"),
            json!("state"),
            json!("pending auto close+"),
            json!("closed successful"),
            json!("system:pending-auto-close")
        )],
        "the automatic close must be recorded once, by the pending job: {history:?}"
    );

    // Reminder: exactly one `reminder` entry by the pending job, naming the pending time.
    job_done(&server, remind).await;
    let history = by_system(server.admin_get(&format!("/api/v1/tickets/{remind}/history")).await.items());
    let new = &history[..];
    assert_eq!(new.len(), 1, "the reminder must add exactly one history entry: {new:?}");
    assert_eq!(
        (&new[0]["event"], &new[0]["field"], &new[0]["actor"]),
        (&json!("reminder"), &json!("pending_until"), &json!("system:pending-reminder")),
        "{new:?}"
    );
    assert_eq!(parse_time(&new[0]["new_value"]), remind_due, "the reminder names the pending time it is for: {new:?}");
    let reminded = server.admin_get(&format!("/api/v1/tickets/{remind}")).await.expect(200);
    assert_eq!(reminded["state"], "pending reminder", "a reminder leaves the state alone: {reminded}");

    // The far-future ticket is untouched, its job still queued.
    let l = server.admin_get(&format!("/api/v1/tickets/{later}")).await.expect(200);
    assert_eq!(l["state"], "pending auto close+", "a ticket pending for an hour was closed");
    let queued = server.admin_get("/api/v1/jobs?status=queued").await.items();
    assert!(queued.iter().any(|j| j["payload"]["ticket_id"] == later), "the far-future job must still be queued: {queued:?}");

    // No job failed; the status filter returns only its status.
    let failed = server.admin_get("/api/v1/jobs?status=failed").await.items();
    assert!(failed.is_empty(), "failed jobs: {failed:?}");
    let mut seen = 0;
    for status in ["queued", "running", "done"] {
        for j in server.admin_get(&format!("/api/v1/jobs?status={status}")).await.items() {
            seen += 1;
            assert_eq!(j["status"], status, "jobs?status={status} returned {j}");
            for key in ["id", "kind", "status", "attempts", "max_attempts", "run_at", "last_error"] {
                assert!(j.get(key).is_some(), "job without {key}: {j}");
            }
        }
    }
    let all = server.admin_get("/api/v1/jobs").await.items();
    assert_eq!(all.len(), seen, "the unfiltered job list is the union of the filtered ones");
    assert!(all.len() >= 3, "the three pending tickets must have produced jobs: {all:?}");
}

/// A worker that polls only once a minute still runs a pending job when it
/// is due: the write that scheduled it woke the worker, which sleeps until
/// the earliest due time. `/metrics` shows the queue and the runs by kind,
/// and the jobs list filters by kind.
pub(crate) async fn jobs_wake_without_the_poll(backend: Backend) {
    let server = Server::start_with(backend, ServerOptions::default().args(&["--job-poll-interval-ms", "60000"])).await;
    let close = id_of(&server.create_ticket("Close me soon", json!({})).await);
    let later = id_of(&server.create_ticket("Close me in an hour", json!({})).await);
    for (id, secs) in [(close, 1), (later, 3600)] {
        let body = json!({"state": "pending auto close+", "pending_until": rfc3339_from_now(secs)});
        server.admin_patch(&format!("/api/v1/tickets/{id}"), &body).await.expect(200);
    }
    // Well under the one-minute poll: only a wake-up gets it done this soon.
    wait_for("the ticket to close without waiting for the poll", Duration::from_secs(20), Duration::from_millis(100), || async {
        let t = server.admin_get(&format!("/api/v1/tickets/{close}")).await.expect(200);
        (t["state"] == "closed successful").then_some(())
    })
    .await;

    let by_kind = server.admin_get("/api/v1/jobs?kind=ticket.pending_due").await.items();
    assert_eq!(by_kind.len(), 2, "{by_kind:?}");
    assert!(by_kind.iter().all(|j| j["kind"] == "ticket.pending_due" && j.get("dedup_key").is_some()), "{by_kind:?}");
    assert!(server.admin_get("/api/v1/jobs?kind=mail.fetch").await.items().is_empty());
    server.admin_get("/api/v1/jobs?kind=").await.expect(422);

    let metrics = wait_for("the job metrics", Duration::from_secs(20), Duration::from_millis(250), || async {
        let text = server.client().get(server.url("/metrics")).send().await.ok()?.text().await.ok()?;
        text.contains(r#"switchboard_jobs{kind="ticket.pending_due",status="queued"} 1"#).then_some(text)
    })
    .await;
    for line in [
        r#"switchboard_job_runs_total{kind="ticket.pending_due",outcome="done"} 1"#,
        r#"switchboard_job_start_delay_seconds_count{kind="ticket.pending_due"} 1"#,
        r#"switchboard_jobs_oldest_queued_seconds"#,
    ] {
        assert!(metrics.contains(line), "/metrics lacks {line}:\n{metrics}");
    }
}
