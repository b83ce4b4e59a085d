//! The last valid admin cannot be demoted, invalidated or deleted (also under
//! concurrency), and `agent_promote` restores an admin when SQL removed them all.

use switchboard::desk::{Actor, AgentInput, AgentRole, AgentUpdate, Desk, DeskError};

use crate::common::each_backend;

async fn admin_id(desk: &Desk, login: &str) -> i64 {
    desk.agent_list(&Actor::System).await.expect("agents").into_iter().find(|a| a.login == login).expect("agent").id
}

async fn valid_admins(desk: &Desk) -> i64 {
    desk.agent_list(&Actor::System).await.expect("agents").iter().filter(|a| a.role == AgentRole::Admin && a.valid).count() as i64
}

async fn create_admin(desk: &Desk, login: &str) -> i64 {
    let input = AgentInput { login: login.into(), role: "admin".into(), ..Default::default() };
    desk.agent_create(&Actor::System, input).await.expect("admin").id
}

fn demote() -> AgentUpdate {
    AgentUpdate { role: Some("agent".into()), ..Default::default() }
}

fn invalidate() -> AgentUpdate {
    AgentUpdate { valid: Some(false), ..Default::default() }
}

fn is_conflict<T: std::fmt::Debug>(backend: &str, what: &str, result: Result<T, DeskError>) {
    match result {
        Err(DeskError::Conflict(message)) => assert!(message.contains("no valid admin"), "{backend}: {what}: {message}"),
        other => panic!("{backend}: {what}: expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn the_last_valid_admin_stays() {
    each_backend(|db| async move {
        let desk = &db.desk;
        let admin = admin_id(desk, "admin").await;
        let actor = Actor::Agent(desk.agent_actor(admin).await.expect("load").expect("valid admin"));
        is_conflict(db.name, "demoting the last admin", desk.agent_update(&actor, admin, demote()).await);
        is_conflict(db.name, "invalidating the last admin", desk.agent_update(&actor, admin, invalidate()).await);
        assert!(desk.agent_actor(admin).await.expect("load").is_some_and(|a| a.admin), "{}: still a valid admin", db.name);

        // With a second admin, one may go; then the other is the last.
        let boss = create_admin(desk, "boss").await;
        desk.agent_update(&actor, admin, demote()).await.expect("demote one of two admins");
        is_conflict(db.name, "demoting the new last admin", desk.agent_update(&Actor::System, boss, demote()).await);
        is_conflict(db.name, "invalidating the new last admin", desk.agent_update(&Actor::System, boss, invalidate()).await);
        is_conflict(db.name, "deleting the last admin", desk.agent_delete(&Actor::System, boss).await);
        // An invalid admin does not count: promoting agent 'admin' back but invalid leaves boss the last.
        desk.agent_update(&Actor::System, admin, AgentUpdate { role: Some("admin".into()), valid: Some(false), ..Default::default() })
            .await
            .expect("an invalid admin");
        is_conflict(db.name, "demoting the last valid admin", desk.agent_update(&Actor::System, boss, demote()).await);
        assert_eq!(valid_admins(desk).await, 1, "{}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn two_concurrent_demotions_leave_one_admin() {
    each_backend(|db| async move {
        let desk = &db.desk;
        let mut last = admin_id(desk, "admin").await;
        for round in 0..5 {
            let a = create_admin(desk, &format!("a{round}")).await;
            let b = create_admin(desk, &format!("b{round}")).await;
            desk.agent_update(&Actor::System, last, demote()).await.expect("demote the previous admin: a and b remain");
            let (ra, rb) = tokio::join!(desk.agent_update(&Actor::System, a, demote()), desk.agent_update(&Actor::System, b, demote()));
            assert!(ra.is_ok() != rb.is_ok(), "{}: exactly one of two concurrent demotions wins: {ra:?} / {rb:?}", db.name);
            assert_eq!(valid_admins(desk).await, 1, "{}: one admin left", db.name);
            last = if ra.is_ok() { b } else { a };
        }
        db
    })
    .await;
}

#[tokio::test]
async fn promote_restores_an_admin() {
    each_backend(|db| async move {
        let desk = &db.desk;
        sqlx::query("UPDATE agents SET role = 'agent', valid = $1 WHERE login = 'admin'")
            .bind(false)
            .execute(db.system.db().pool())
            .await
            .expect("break the last admin with SQL");
        assert_eq!(valid_admins(desk).await, 0, "{}", db.name);
        let done = desk.agent_promote(&Actor::System, "admin").await.expect("promote");
        assert_eq!((done.was_role, done.was_valid), (Some(AgentRole::Agent), false), "{}: says what it was", db.name);
        assert_eq!((done.agent.role, done.agent.valid), (AgentRole::Admin, true), "{}", db.name);
        let admin = admin_id(desk, "admin").await;
        assert!(desk.agent_actor(admin).await.expect("load").is_some_and(|a| a.admin), "{}: an admin again", db.name);
        let again = desk.agent_promote(&Actor::System, "admin").await.expect("promote twice");
        assert_eq!((again.was_role, again.was_valid), (Some(AgentRole::Admin), true), "{}: nothing to do", db.name);
        assert!(matches!(desk.agent_promote(&Actor::System, "nobody").await, Err(DeskError::NotFound { .. })), "{}", db.name);
        let customer = Actor::Customer { login: "jane@example.com".into() };
        assert!(matches!(desk.agent_promote(&customer, "admin").await, Err(DeskError::Forbidden(_))), "{}", db.name);
        db
    })
    .await;
}
