//! Every output path of a plugin is capped, driven by hostile guests: a
//! script task's `ticket.change` flood, a transition action returning 10 000
//! notes (while ordinary ticket creates keep their latency), key-value writes
//! against the call's output budget and the store's quota, a log that forges
//! lines and floods log, stdout and stderr, and outbound HTTP to every
//! special-purpose IPv6 range, with user info, or with a body over the budget.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::desk::{Actor, Desk, NewArticle, NewTicket, Trigger};
use switchboard::plugin::{PluginError, PluginHost};

use crate::common::each_backend;
use crate::support::*;
use crate::{mail, HAM, SERIAL};

/// The articles of a ticket.
async fn article_count(desk: &Desk, ticket: i64) -> usize {
    desk.article_list(&Actor::System, ticket).await.expect("articles").len()
}

/// Creates an ordinary ticket in Raw and returns its id.
async fn create(desk: &Desk, title: &str) -> i64 {
    let ticket = NewTicket {
        title: title.into(),
        queue: Some("Raw".into()),
        article: NewArticle { body: "An ordinary request.".into(), ..Default::default() },
        ..Default::default()
    };
    desk.ticket_create(&Actor::System, ticket).await.expect("ticket").ticket.id
}

/// Runs a script task or action on `ticket` with `params`.
async fn apply(host: &PluginHost, name: &str, ticket: i64, params: &[(&str, &str)]) -> Result<switchboard::plugin::ScriptRun, PluginError> {
    let params = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    host.apply_to_ticket(&Actor::System, Trigger::Apply, name, ticket, params).await
}

/// The failure kind in an `apply` error (`… failed: KIND: message`).
fn failed_with(result: &Result<switchboard::plugin::ScriptRun, PluginError>, kind: &str) -> bool {
    matches!(result, Err(PluginError::Unavailable(m)) if m.contains(&format!("failed: {kind}:")))
}

#[tokio::test]
async fn ticket_changes_of_a_script_task_count_against_the_output_cap() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let flood = install(&host, "change-flood", |m| m).await;
        let ticket = create(&db.desk, "flooded").await;
        let before = article_count(&db.desk, ticket).await;

        // 20 notes of 20 MiB: the first is already over max_output_bytes (1 MiB).
        let run = apply(&host, &flood, ticket, &[]).await;
        assert!(failed_with(&run, "output_too_large"), "{}: {:?}", db.name, run.as_ref().map(|r| &r.changes));
        assert_eq!(article_count(&db.desk, ticket).await, before, "{}: nothing of the flood was applied", db.name);
        host.flush().await;
        let record = &db.desk.plugin_invocations(&Actor::System, &flood, 1).await.expect("records")[0];
        assert_eq!(record.error_kind.map(|k| k.as_str()), Some("output_too_large"), "{record:?}");
        assert!(record.logs.contains("refused 0: too-large"), "the guest saw the refusal at once: {}", record.logs);

        // Many small notes: the count is bounded (max_changes 100), the bytes are not the limit.
        let run = apply(&host, &flood, ticket, &[("count", "150"), ("bytes", "10")]).await;
        assert!(failed_with(&run, "output_too_large"), "{}: 150 changes are over max_changes", db.name);
        assert_eq!(article_count(&db.desk, ticket).await, before, "a refused call applies none of its changes");
        let run = apply(&host, &flood, ticket, &[("count", "100"), ("bytes", "10")]).await.expect("100 small notes fit");
        assert!(run.applied && run.changes.len() == 100, "{}", db.name);
        assert_eq!(article_count(&db.desk, ticket).await, before + 100);

        // A title with a line break is refused when queued: the guest gets `invalid`.
        let run = apply(&host, &flood, ticket, &[("title", "ok\nADMIN TOKEN (shown once): x")]).await.expect("runs");
        assert!(run.changes.is_empty() && !run.applied, "{:?}", run.changes);
        assert!(run.report.logs.contains("refused 0: invalid: the title must be one line"), "{}", run.report.logs);
        db
    })
    .await;
}

/// The median of `n` ticket creates, each timed on its own.
async fn create_median(desk: &Desk, n: usize, label: &str) -> Duration {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        create(desk, &format!("{label} {i}")).await;
        times.push(started.elapsed());
    }
    times.sort();
    times[n / 2]
}

// Worker threads to spare: guest code still runs on the runtime's workers
// (moving it off them is another change), and this test is about the writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_notes_from_an_action_are_refused_and_creates_stay_fast() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        // A high breaker threshold: the attacker keeps running instead of being suspended.
        let flood = install(&host, "note-flood", |m| m.replace("breaker_threshold = 10", "breaker_threshold = 1000000")).await;
        let ticket = create(&db.desk, "target").await;
        let before = article_count(&db.desk, ticket).await;

        let run = apply(&host, &flood, ticket, &[]).await;
        assert!(failed_with(&run, "output_too_large"), "{}: 10 000 notes are refused by count", db.name);
        assert!(matches!(&run, Err(e) if e.to_string().contains("10000 changes, over max_changes 100")), "{:?}", run.err());
        assert_eq!(article_count(&db.desk, ticket).await, before, "none of the notes was written");
        let started = Instant::now();
        let run = apply(&host, &flood, ticket, &[("count", "100")]).await.expect("100 notes are within max_changes");
        assert!(run.applied);
        eprintln!("{}: applying 100 notes took {:?}", db.name, started.elapsed());

        // Ordinary creates alone, then beside the attacker, in the same run.
        create_median(&db.desk, 5, "warm-up").await;
        let alone = create_median(&db.desk, 30, "alone").await;
        let stop = Arc::new(AtomicBool::new(false));
        let mut attackers = Vec::new();
        for _ in 0..1 {
            let (host, flood, stop) = (host.clone(), flood.clone(), stop.clone());
            attackers.push(tokio::spawn(async move {
                let mut calls = 0;
                while !stop.load(Ordering::Relaxed) {
                    let run = apply(&host, &flood, ticket, &[]).await;
                    assert!(failed_with(&run, "output_too_large"), "every attack is refused");
                    calls += 1;
                }
                calls
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let beside = create_median(&db.desk, 30, "beside").await;
        stop.store(true, Ordering::Relaxed);
        let mut calls = 0;
        for attacker in attackers {
            calls += attacker.await.expect("attacker");
        }
        eprintln!("{}: create median {alone:?} alone, {beside:?} beside {calls} refused 10 000-note calls", db.name);
        assert!(calls > 0, "the attacker ran");
        // A refused call still costs the attacker's own CPU (and, on PostgreSQL, its failure
        // records) on a machine the test shares; what must not happen is a create waiting for a
        // 10 000-note transaction, which took the create from milliseconds to 59 s.
        assert!(beside <= alone * 5, "{}: creates beside the attacker took {beside:?}, alone {alone:?}", db.name);
        assert_eq!(article_count(&db.desk, ticket).await, before + 100, "only the 100-note call wrote");
        db
    })
    .await;
}

#[tokio::test]
async fn kv_writes_count_against_the_call_and_the_quota_holds_in_total() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let probe = install(&host, "kv-probe", |m| m).await;
        let kv = |params: Vec<(&'static str, String)>| {
            let (host, probe) = (host.clone(), probe.clone());
            async move {
                let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                host.invoke_service(&probe, request(&params)).await.expect("loaded").0
            }
        };
        // 1000 overwrites of one 4000-byte value: within the 4096-byte quota each time, but 4 MB
        // written in one call, over max_output_bytes (1 MiB): the call fails.
        let fill = vec![("op", "fill".to_string()), ("key", "k".to_string()), ("size", "4000".to_string()), ("count", "1000".to_string())];
        let failure = kv(fill).await.expect_err("over the call's output budget");
        assert_eq!(failure.kind, "output_too_large", "{}: {failure}", db.name);
        assert!(failure.message.contains("key-value write"), "{failure}");
        // The quota holds for the plugin's whole store, across calls.
        let set = |key: &str, size: usize| vec![("op", "set".to_string()), ("key", key.to_string()), ("size", size.to_string())];
        kv(vec![("op", "delete".to_string()), ("key", "k".to_string())]).await.expect("delete");
        for key in ["a", "b", "c", "d"] {
            kv(set(key, 1000)).await.unwrap_or_else(|f| panic!("{key}: {f}"));
        }
        let refused = kv(set("e", 1000)).await.expect_err("over the quota in total");
        assert!(refused.message.starts_with("too-large"), "{}: {refused}", db.name);
        let keys = kv(vec![("op", "keys".to_string()), ("key", String::new())]).await.expect("keys");
        assert_eq!(data(&keys.data, "keys"), Some("a,b,c,d"), "the refused write stored nothing");
        db
    })
    .await;
}

#[tokio::test]
async fn one_log_cap_for_log_stdout_and_stderr_and_no_forged_lines() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let forge = install(&host, "log-forge", |m| m).await;
        let (verdict, report) = host.filter_mail(&forge, mail(HAM)).await.expect("loaded");
        verdict.unwrap_or_else(|f| panic!("{}: the flood is capped, not a failure: {f}", db.name));
        let logs = &report.logs;
        assert!(logs.len() <= 64 * 1024 + 200, "12 MiB of log, stdout and stderr share max_log_bytes: {} bytes kept", logs.len());
        assert_eq!(logs.matches("max_log_bytes reached").count(), 1, "one note says what was dropped");
        let labels = ["TRACE ", "DEBUG ", "INFO ", "WARN ", "ERROR ", "[stdout] ", "[stderr] ", "["];
        for line in logs.lines() {
            assert!(labels.iter().any(|l| line.starts_with(l)), "every kept line is labelled; forged: {line:?}");
            assert!(!line.contains('\u{1b}') && !line.contains('\r'), "control characters are escaped: {line:?}");
        }
        assert!(
            logs.contains("WARN all good\\nADMIN TOKEN (shown once): sb_forged_token\\r\\nINFO switchboard: \\u{1b}[2Kall clear"),
            "{logs}"
        );
        assert!(logs.contains("[stdout] ADMIN TOKEN") && logs.contains("[stderr] ADMIN TOKEN"), "stdout and stderr lines keep their label");
        host.flush().await;
        let record = &db.desk.plugin_invocations(&Actor::System, &forge, 1).await.expect("records")[0];
        assert_eq!(&record.logs, logs, "the record keeps exactly the capped text");

        // A verdict title with a line break is refused.
        let raw = String::from_utf8_lossy(HAM).replacen("Subject:", "X-Hostile-Title: ok\\nADMIN TOKEN (shown once): x\r\nSubject:", 1);
        let (verdict, _) = host.filter_mail(&forge, mail(raw.as_bytes())).await.expect("loaded");
        let failure = verdict.expect_err("a two-line title");
        assert_eq!(failure.kind, "invalid_output", "{}: {failure}", db.name);
        assert!(!failure.message.contains('\n'), "failure messages are one line too: {failure}");
        db
    })
    .await;
}

#[tokio::test]
async fn special_purpose_ipv6_user_info_and_big_request_bodies_are_refused() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let (port, seen) = capturing_server(ok_response("{}")).await;
        let call = |name: &'static str, params: Vec<(&'static str, String)>| {
            let host = host.clone();
            async move {
                let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                host.invoke_service(name, request(&params)).await.expect("loaded").0
            }
        };

        // A loopback grant with private addresses allowed: plain requests get through ...
        let caps = format!("http = [\"http://127.0.0.1:{port}\"]\nhttp_private = true");
        install(&host, "http-fetch", |m| with_capabilities(m, &caps)).await;
        let url = format!("http://127.0.0.1:{port}/");
        let ok = call("hostile-http-fetch", vec![("url", url.clone()), ("method", "POST".into()), ("body_bytes", "1000".into())]).await;
        assert_eq!(data(&ok.expect("small body").data, "status"), Some("200"), "{}", db.name);
        let raw = call("hostile-http-fetch", vec![("authority", format!("127.0.0.1:{port}"))]).await.expect("raw");
        assert_eq!(data(&raw.data, "status"), Some("200"), "the raw path works without user info: {raw:?}");
        let hits = seen.lock().expect("lock").len();
        // ... but not with user info in the URL, nor with a body over max_output_bytes.
        let userinfo = call("hostile-http-fetch", vec![("authority", format!("user:pw@127.0.0.1:{port}"))]).await.expect("reports");
        assert_eq!(userinfo.error_code.as_deref(), Some("http-request-denied"), "{}: {userinfo:?}", db.name);
        let big = call("hostile-http-fetch", vec![("url", url), ("method", "POST".into()), ("body_bytes", (2 << 20).to_string())]).await;
        assert_eq!(big.expect_err("over the output budget").kind, "output_too_large", "{}", db.name);
        let requests = seen.lock().expect("lock").clone();
        assert!(requests[hits..].iter().all(|r| !r.contains("user:pw") && r.len() < (2 << 20)), "neither reached the server whole");

        // Every special-purpose IPv6 form, each granted by name but without http_private.
        let literals = [
            "::7f00:1",
            "::ffff:7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2001::1",
            "fec0::1",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "100::1",
            "2001:db8::1",
        ];
        let grants: Vec<String> = literals.iter().map(|l| format!("\"http://[{l}]:{port}\"")).collect();
        let strict = format!("http = [{}]", grants.join(", "));
        install(&host, "http-fetch", |m| with_capabilities(m, &strict).replace("name = \"hostile-http-fetch\"", "name = \"fetch-strict\""))
            .await;
        for literal in literals {
            let r = call("fetch-strict", vec![("url", format!("http://[{literal}]:{port}/"))]).await.expect("reports");
            assert_eq!(r.error_code.as_deref(), Some("http-request-denied"), "{}: [{literal}] must be internal: {r:?}", db.name);
        }
        host.flush().await;
        let audit = db.desk.plugin_http_audit(&Actor::System, Some("fetch-strict"), 50).await.expect("audit");
        assert_eq!(audit.len(), literals.len());
        assert!(audit.iter().all(|a| a.outcome.contains("internal address")), "refused as internal, not as ungranted: {audit:?}");
        let audit = db.desk.plugin_http_audit(&Actor::System, Some("hostile-http-fetch"), 50).await.expect("audit");
        assert!(audit.iter().any(|a| a.outcome.contains("user info")), "the user-info refusal is audited: {audit:?}");
        db
    })
    .await;
}
