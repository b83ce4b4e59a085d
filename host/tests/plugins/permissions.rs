//! A plugin never has more rights than whoever set it off: the real
//! keyword-router applied by agents with too few rights is refused before
//! anything is written, naming what was refused, and history names the
//! plugin, its version, the caller and the trigger.

use crate::common::{each_backend, TestDb};
use crate::support::*;
use crate::SERIAL;
use switchboard::desk::{Actor, AgentInput, AgentUpdate, DeskError, HistoryEvent, Ticket, Trigger};
use switchboard::plugin::{PluginError, PluginHost};

/// An agent with these queue permissions, as the core authorises it.
async fn agent(db: &TestDb, login: &str, permissions: &[(&str, &str)]) -> (i64, Actor) {
    let created = db
        .desk
        .agent_create(
            &Actor::System,
            AgentInput {
                login: login.into(),
                role: "agent".into(),
                permissions: Some(permissions.iter().map(|(q, p)| (q.to_string(), p.to_string())).collect()),
                ..Default::default()
            },
        )
        .await
        .expect("agent");
    let actor = db.desk.agent_actor(created.id).await.expect("actor").expect("valid agent");
    (created.id, Actor::Agent(actor))
}

/// What a refused run must leave alone: the ticket, its history and its articles.
async fn snapshot(db: &TestDb, id: i64) -> (Ticket, usize, usize) {
    let ticket = db.desk.ticket_get(&Actor::System, id).await.expect("ticket");
    let history = db.desk.history_list(&Actor::System, id).await.expect("history").len();
    let articles = db.desk.article_list(&Actor::System, id).await.expect("articles").len();
    (ticket, history, articles)
}

fn unchanged(before: &(Ticket, usize, usize), after: &(Ticket, usize, usize), what: &str) {
    let (b, a) = (&before.0, &after.0);
    assert_eq!(
        (&a.queue, a.priority_id, &a.title, a.changed_at, after.1, after.2),
        (&b.queue, b.priority_id, &b.title, b.changed_at, before.1, before.2),
        "{what} changed the ticket, its history or its articles"
    );
}

/// Expects a 403-kind refusal whose message names `needle`.
fn refused(result: Result<switchboard::plugin::ScriptRun, PluginError>, needle: &str, what: &str) {
    match result {
        Err(PluginError::Desk(DeskError::Forbidden(why))) => assert!(why.contains(needle), "{what}: the refusal must name {needle}: {why}"),
        Err(other) => panic!("{what}: expected a refusal naming {needle}, got {other}"),
        Ok(run) => panic!("{what}: expected a refusal naming {needle}, but it ran (applied: {})", run.applied),
    }
}

async fn apply(
    host: &PluginHost,
    who: &Actor,
    trigger: Trigger,
    id: i64,
    params: &[(&str, &str)],
) -> Result<switchboard::plugin::ScriptRun, PluginError> {
    let params = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    host.apply_to_ticket(who, trigger, "keyword-router", id, params).await
}

#[tokio::test]
async fn a_plugin_has_no_more_rights_than_whoever_set_it_off() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        install(&host, "keyword-router", |m| m).await;
        let id = crate::toner_ticket(&db.desk).await;
        let (_, reader) = agent(&db, "reader", &[("Raw", "ro"), ("Hardware", "rw")]).await;
        let (alice_id, alice) = agent(&db, "alice", &[("Raw", "rw"), ("Hardware", "ro")]).await;
        let before = snapshot(&db, id).await;

        // ro on the ticket's queue: refused before the plugin runs, naming the queue.
        for trigger in [Trigger::Apply, Trigger::Test] {
            refused(apply(&host, &reader, trigger, id, &[]).await, "queue 'Raw'", &format!("{}: ro agent, {trigger}", db.name));
        }
        unchanged(&before, &snapshot(&db, id).await, "an ro agent's run");

        // rw on Raw, no rw on the queue the plugin moves the ticket to: refused naming it.
        for trigger in [Trigger::Apply, Trigger::Test] {
            refused(apply(&host, &alice, trigger, id, &[]).await, "queue 'Hardware'", &format!("{}: move to Hardware, {trigger}", db.name));
        }
        unchanged(&before, &snapshot(&db, id).await, "a refused move (its note must not be added either)");

        // Parameters may not override what the admin configured.
        refused(apply(&host, &alice, Trigger::Apply, id, &[("rules", "printer=>Junk:1")]).await, "params.rules", db.name);
        unchanged(&before, &snapshot(&db, id).await, "a refused parameter");

        // Customers, integrations, and agents claiming a system trigger run nothing.
        for (who, trigger) in [
            (Actor::Customer { login: "c@example.com".into() }, Trigger::Apply),
            (Actor::Integration { name: "ci".into() }, Trigger::Test),
            (alice.clone(), Trigger::MailPipeline),
            (alice.clone(), Trigger::ProcessStep),
        ] {
            assert!(
                matches!(apply(&host, &who, trigger, id, &[]).await, Err(PluginError::Desk(DeskError::Forbidden(_)))),
                "{}: {} with trigger {trigger} must be refused",
                db.name,
                who.label()
            );
        }
        unchanged(&before, &snapshot(&db, id).await, "refused callers");

        // With rw on both queues the same run applies, and history says who and how.
        db.desk
            .agent_update(
                &Actor::System,
                alice_id,
                AgentUpdate {
                    permissions: Some(vec![("Raw".into(), "rw".into()), ("Hardware".into(), "rw".into())]),
                    ..Default::default()
                },
            )
            .await
            .expect("grant");
        let alice = Actor::Agent(db.desk.agent_actor(alice_id).await.expect("actor").expect("valid"));
        let run = apply(&host, &alice, Trigger::Apply, id, &[]).await.expect("alice may move it now");
        assert!(run.applied && run.ticket.queue == "Hardware", "{}: {:?}", db.name, run.changes);
        let history = db.desk.history_list(&Actor::System, id).await.expect("history");
        let label = "plugin:keyword-router@0.1.0 by agent:alice (apply)";
        assert!(
            history.iter().any(|h| h.field.as_deref() == Some("queue") && h.actor == label)
                && history.iter().any(|h| h.event == HistoryEvent::ArticleAdded && h.actor == label),
            "{}: history names the plugin, version, caller and trigger: {history:?}",
            db.name
        );
        db
    })
    .await;
}
