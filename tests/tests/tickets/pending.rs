//! Pending states and the background jobs that act on them.

use std::time::Duration;

use switchboard_e2e::{json, rfc3339_from_now, wait_for, Backend, Server};

use crate::support::{history_has, id_of};

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
    server
        .admin_patch(&format!("/api/v1/tickets/{later}"), &json!({"state": "pending auto close+", "pending_until": rfc3339_from_now(3600)}))
        .await
        .expect(200);
    let remind_history_len = server.admin_get(&format!("/api/v1/tickets/{remind}/history")).await.items().len();

    let closed =
        wait_for("pending auto close+ ticket to become closed successful", Duration::from_secs(15), Duration::from_millis(200), || async {
            let t = server.admin_get(&format!("/api/v1/tickets/{close}")).await.expect(200);
            (t["state"] == "closed successful").then_some(t)
        })
        .await;
    assert_eq!(closed["state_type"], "closed_successful");
    let history = server.admin_get(&format!("/api/v1/tickets/{close}/history")).await.items();
    assert!(
        history_has(&history, "state", "pending auto close+", "closed successful"),
        "history must record the automatic close: {history:?}"
    );

    let new_entries = wait_for("pending reminder to add a history entry", Duration::from_secs(15), Duration::from_millis(200), || async {
        let h = server.admin_get(&format!("/api/v1/tickets/{remind}/history")).await.items();
        (h.len() > remind_history_len).then(|| h[remind_history_len..].to_vec())
    })
    .await;
    assert!(!new_entries.is_empty());

    // The far-future ticket is untouched.
    let l = server.admin_get(&format!("/api/v1/tickets/{later}")).await.expect(200);
    assert_eq!(l["state"], "pending auto close+", "a ticket pending for an hour was closed");

    // No job failed; status filter works.
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
    assert!(all.len() >= seen, "unfiltered job list shorter than the filtered ones");
    assert!(!all.is_empty(), "the pending tickets must have produced jobs");
}
