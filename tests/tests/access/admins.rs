//! The last valid admin cannot be demoted or invalidated over the API, and
//! `switchboard agent promote` restores access when SQL removed every admin.

use switchboard_e2e::{json, Backend, Server};

/// An admin-only route: 200 while the token acts as an admin.
async fn admin_status(server: &Server, token: &str) -> u16 {
    server.get("/api/v1/tokens", token).await.status
}

pub(crate) async fn last_admin_stays(backend: Backend) {
    let server = Server::start(backend).await;
    let admin = server.admin_token();
    let me = server.admin_get("/api/v1/agents").await.items();
    let id = me.iter().find(|x| x["login"] == "admin").and_then(|x| x["id"].as_i64()).expect("agent admin");
    for body in [json!({"role": "agent"}), json!({"valid": false})] {
        let r = server.patch(&format!("/api/v1/agents/{id}"), &admin, &body).await;
        let problem = r.expect_problem(&[409]);
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("no valid admin")), "409 says why: {problem}");
        assert_eq!(admin_status(&server, &admin).await, 200, "after a refused {body}, the admin token still works");
    }
    let agent = server.admin_get(&format!("/api/v1/agents/{id}")).await.expect(200);
    assert_eq!((&agent["role"], &agent["valid"]), (&json!("admin"), &json!(true)), "nothing changed: {agent}");

    // With a second admin the first may step down; the second is then the last.
    let boss = server.admin_post("/api/v1/agents", &json!({"login": "boss", "role": "admin"})).await.expect(201);
    let boss_token = server.create_token("t_boss", "admin", Some("boss"));
    server.patch(&format!("/api/v1/agents/{id}"), &admin, &json!({"role": "agent"})).await.expect(200);
    let boss_id = boss["id"].as_i64().expect("id");
    server.patch(&format!("/api/v1/agents/{boss_id}"), &boss_token, &json!({"valid": false})).await.expect_problem(&[409]);
    assert_eq!(admin_status(&server, &boss_token).await, 200, "the last admin's token still works");
}

pub(crate) async fn promote_restores_admin_tokens(backend: Backend) {
    let server = Server::start(backend).await;
    let admin = server.admin_token();
    server.sql_execute("UPDATE agents SET role = 'agent' WHERE login = 'admin'").await;
    assert_eq!(admin_status(&server, &admin).await, 403, "with no admin left the admin token lost its rights");
    let out = server.run_cli_ok(&["agent", "promote", "admin"]);
    assert!(out.contains("promoted agent 'admin'") && out.contains("was: role agent"), "promote says what it did: {out}");
    assert_eq!(admin_status(&server, &admin).await, 200, "after `agent promote` the admin token works again");

    // An invalid last admin is made valid as well.
    server.sql_execute("UPDATE agents SET valid = FALSE WHERE login = 'admin'").await;
    assert_eq!(admin_status(&server, &admin).await, 401, "an invalid agent's token does not authenticate");
    let out = server.run_cli_ok(&["agent", "promote", "admin"]);
    assert!(out.contains("invalid"), "{out}");
    assert_eq!(admin_status(&server, &admin).await, 200);
    let out = server.run_cli(&["agent", "promote", "nobody"]);
    assert!(!out.status.success(), "promoting an unknown login fails");
}
