//! Signals under write load: SIGTERM finishes every request in flight (each
//! one is answered) and keeps every acknowledged create; SIGKILL loses no
//! acknowledged create either.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_e2e::{json, Backend, Server, Value};

use crate::id_of;

/// What the writers saw around the signal.
#[derive(Default)]
struct Load {
    /// Ids of the acknowledged creates (201 with a readable body).
    acked: Vec<i64>,
    /// Requests that reached the server and got no complete answer.
    dropped: Vec<String>,
    /// Requests refused before they were sent (nobody listening any more).
    refused: usize,
}

/// Runs 6 writers creating tickets in a loop and sends `signal` once 20
/// creates were acknowledged. Each request goes on its own connection, so a
/// request either finds the server listening, and then must be answered,
/// or finds nobody listening (refused, never sent); a writer stops at its
/// first request that is not answered.
async fn hammer_then_signal(server: &Server, signal: &str) -> Load {
    let load = Arc::new(Mutex::new(Load::default()));
    let count = Arc::new(AtomicUsize::new(0));
    let url = server.url("/api/v1/tickets");
    let token = server.admin_token();
    let client = switchboard_e2e::reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client");
    let mut set = tokio::task::JoinSet::new();
    for w in 0..6 {
        let (client, url, token, load, count) = (client.clone(), url.clone(), token.clone(), load.clone(), count.clone());
        set.spawn(async move {
            for i in 0..10_000 {
                let req = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("writer {w} #{i}"), "queue": "Raw", "article": {"body": "load"}}));
                let answer = match req.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        resp.bytes().await.map(|body| (status, body))
                    }
                    Err(e) => Err(e),
                };
                let mut load = load.lock().expect("lock");
                match answer {
                    Err(e) if e.is_connect() => {
                        load.refused += 1;
                        return;
                    }
                    Err(e) => {
                        load.dropped.push(format!("writer {w} request #{i}: {e:?}"));
                        return;
                    }
                    Ok((201, body)) => match serde_json::from_slice::<Value>(&body) {
                        Ok(v) => {
                            load.acked.push(id_of(&v));
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            load.dropped.push(format!("writer {w} request #{i}: 201 with an unreadable body ({e})"));
                            return;
                        }
                    },
                    // Answered but refused (e.g. 503 while stopping): not acknowledged.
                    Ok(_) => {
                        drop(load);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while count.load(Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "writers did not get 20 creates acknowledged within 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.signal(signal);
    while let Some(r) = set.join_next().await {
        r.expect("writer task");
    }
    let load = std::mem::take(&mut *load.lock().expect("lock"));
    eprintln!(
        "SIG{signal} under load: {} creates acknowledged, {} unanswered, {} refused",
        load.acked.len(),
        load.dropped.len(),
        load.refused
    );
    load
}

/// Ids of `acked` the restarted server does not know.
async fn lost(server: &Server, acked: &[i64]) -> Vec<i64> {
    let mut lost = Vec::new();
    for id in acked {
        if server.admin_get(&format!("/api/v1/tickets/{id}")).await.status != 200 {
            lost.push(*id);
        }
    }
    lost
}

pub(crate) async fn acknowledged_writes_survive_signals(backend: Backend) {
    let mut server = Server::start(backend).await;

    // Graceful: SIGTERM under write load answers every request in flight,
    // exits 0 and keeps every acknowledged create.
    let term = hammer_then_signal(&server, "TERM").await;
    let status = server.wait_exit().await;
    assert!(
        term.dropped.is_empty(),
        "SIGTERM dropped {} request(s) in flight instead of answering them:\n{}",
        term.dropped.len(),
        term.dropped.join("\n")
    );
    assert_eq!(term.refused, 6, "after SIGTERM every writer finds the server gone");
    assert!(status.success(), "SIGTERM under load must exit 0, got {status}\n{}", server.logs());
    server.restart().await;
    let gone = lost(&server, &term.acked).await;
    assert!(gone.is_empty(), "{} of {} acknowledged creates lost after SIGTERM: {gone:?}", gone.len(), term.acked.len());

    // Crash: SIGKILL under write load (requests in flight are cut off) keeps every acknowledged create.
    let kill = hammer_then_signal(&server, "KILL").await;
    let _ = server.wait_exit().await;
    server.restart().await;
    let gone = lost(&server, &kill.acked).await;
    assert!(gone.is_empty(), "{} of {} acknowledged creates lost after kill -9: {gone:?}", gone.len(), kill.acked.len());
    // Numbers stay unique across the crash.
    let all = server.list_all_tickets("").await;
    let numbers: BTreeSet<&str> = all.iter().filter_map(|t| t["number"].as_str()).collect();
    assert_eq!(numbers.len(), all.len(), "duplicate ticket numbers after restarts");
}
