//! Times outside the years 0000-9999 (UTC): RFC 3339 cannot write them, so
//! every datetime input refuses them naming the field; the edges still work.

use switchboard_e2e::{encode_query, json, Backend, Server};

use crate::support::id_of;

/// Valid RFC 3339 (or nearly) whose UTC instant is outside 0000-9999.
const OUT_OF_RANGE: [&str; 4] =
    ["9999-12-31T23:30:00-01:00", "0000-01-01T00:30:00+01:00", "+10000-01-01T00:00:00Z", "-0001-12-31T00:00:00Z"];

pub(crate) async fn times_outside_four_digit_years(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    for f in [
        json!({"name": "Due", "object_type": "ticket", "field_type": "date"}),
        json!({"name": "Seen", "object_type": "ticket", "field_type": "datetime"}),
    ] {
        server.admin_post("/api/v1/dynamic-fields", &f).await.expect(201);
    }
    let ticket = server.create_ticket("Time target", json!({})).await;
    let t = format!("/api/v1/tickets/{}", id_of(&ticket));
    let before = server.ticket_count().await;
    let mut failures = Vec::new();

    for time in OUT_OF_RANGE {
        let body = json!({"title": "far", "queue": "Raw", "state": "pending reminder", "pending_until": time, "article": {"body": "x"}});
        let r = server.admin_post("/api/v1/tickets", &body).await;
        if let Err(why) = r.check_problem(&[422], Some("pending_until")) {
            failures.push(format!("POST /api/v1/tickets pending_until {time}: {why}"));
        }
        let r = server.admin_patch(&t, &json!({"state": "pending reminder", "pending_until": time})).await;
        if let Err(why) = r.check_problem(&[422], Some("pending_until")) {
            failures.push(format!("PATCH {t} pending_until {time}: {why}"));
        }
        let r = server.admin_patch(&t, &json!({"dynamic_fields": {"Seen": time}})).await;
        if let Err(why) = r.check_problem(&[422], Some("dynamic_fields.Seen")) {
            failures.push(format!("PATCH {t} datetime field {time}: {why}"));
        }
        for param in ["created_after", "created_before", "changed_after", "changed_before"] {
            let r = server.admin_get(&format!("/api/v1/tickets?{param}={}", encode_query(time))).await;
            if let Err(why) = r.check_problem(&[422], Some(param)) {
                failures.push(format!("GET /api/v1/tickets?{param}={time}: {why}"));
            }
        }
    }
    for date in ["+10000-01-01", "-0001-12-31", "10000-01-01"] {
        let r = server.admin_patch(&t, &json!({"dynamic_fields": {"Due": date}})).await;
        if let Err(why) = r.check_problem(&[422], Some("dynamic_fields.Due")) {
            failures.push(format!("PATCH {t} date field {date}: {why}"));
        }
    }
    let after = server.admin_get(&t).await.expect(200);
    if after["state"] != ticket["state"]
        || after["pending_until"] != ticket["pending_until"]
        || after["dynamic_fields"] != ticket["dynamic_fields"]
    {
        failures.push(format!("refused PATCHes changed the ticket: {after}"));
    }
    if server.ticket_count().await != before {
        failures.push("a refused create stored a ticket".to_string());
    }

    // The edges are accepted and come back as RFC 3339.
    let r = server
        .admin_patch(
            &t,
            &json!({"state": "pending reminder", "pending_until": "9999-12-31T23:59:59Z",
                    "dynamic_fields": {"Due": "9999-12-31", "Seen": "0000-01-01T00:00:00Z"}}),
        )
        .await;
    let v = r.expect(200);
    for (got, want) in [
        (&v["pending_until"], "9999-12-31T23:59:59Z"),
        (&v["dynamic_fields"]["Due"], "9999-12-31"),
        (&v["dynamic_fields"]["Seen"], "0000-01-01T00:00:00Z"),
    ] {
        if got != want {
            failures.push(format!("edge time: expected {want}, got {got}"));
        }
    }
    let r = server.admin_get(&format!("/api/v1/tickets?created_after={}", encode_query("0000-01-01T00:00:00Z"))).await;
    if r.status != 200 {
        failures.push(format!("created_after at year 0000: expected 200, got {} {}", r.status, r.text()));
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
