//! The catalogue snapshot that writes resolve names in: a create answers with
//! exactly what a read returns; a change to queues, states, agents or dynamic
//! fields is seen by this node's next write at once, and by another node on
//! PostgreSQL through its notification; an entry deleted behind a node's
//! stale snapshot is a 409 to retry, never a server error.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard::desk::{
    Actor, AgentInput, AgentUpdate, AttachmentInput, CatalogInput, CatalogKind, CatalogUpdate, DeskError, DynamicFieldInput,
    DynamicFieldUpdate, FieldConfig, NewArticle, NewTicket,
};

use super::common::each_backend;
use super::ticket;

fn problem_on(err: &DeskError, field: &str) -> String {
    match err {
        DeskError::Invalid(errors) => {
            errors.iter().find(|e| e.field == field).map(|e| e.message.clone()).unwrap_or_else(|| panic!("no problem on {field}: {err:?}"))
        }
        other => panic!("expected a problem on {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_create_answers_with_exactly_what_a_read_returns() {
    each_backend(|db| async move {
        let sys = &Actor::System;
        for (name, object_type, field_type) in
            [("Region", "ticket", "dropdown"), ("Tags", "ticket", "multiselect"), ("Mood", "article", "text")]
        {
            let choices = (field_type != "text").then(|| FieldConfig {
                possible_values: vec!["EU".into(), "US".into(), "red".into(), "blue".into()],
                ..Default::default()
            });
            let input = DynamicFieldInput {
                name: name.into(),
                object_type: object_type.into(),
                field_type: field_type.into(),
                config: choices,
                ..Default::default()
            };
            db.desk.dynamic_field_create(sys, input).await.expect("field");
        }
        db.desk.agent_create(sys, AgentInput { login: "jdoe".into(), role: "agent".into(), ..Default::default() }).await.expect("agent");
        let input = NewTicket {
            title: "  Printer on fire  ".into(),
            queue: Some("Raw".into()),
            state: Some("pending reminder".into()),
            pending_until: Some(chrono::Utc::now() + chrono::Duration::nanoseconds(86_400_000_000_123)),
            owner: Some("jdoe".into()),
            dynamic_fields: BTreeMap::from([("Region".into(), json!("EU")), ("Tags".into(), json!(["blue", "red", "blue"]))]),
            article: NewArticle {
                channel: Some("email".into()),
                subject: Some("Fire".into()),
                from: Some("a@example.org".into()),
                body: "It burns".into(),
                dynamic_fields: BTreeMap::from([("Mood".into(), json!("alarmed"))]),
                attachments: vec![
                    AttachmentInput { filename: " photo.jpg ".into(), content_type: "image/jpeg".into(), content: vec![1, 2, 3] },
                    AttachmentInput { filename: "log.txt".into(), content_type: "text/plain".into(), content: b"smoke".to_vec() },
                ],
                ..Default::default()
            },
            ..Default::default()
        };
        let created = db.desk.ticket_create(sys, input).await.expect("create");
        let read = db.desk.ticket_get(sys, created.ticket.id).await.expect("get");
        assert_eq!(format!("{:?}", created.ticket), format!("{read:?}"), "{}: the created ticket is what a read returns", db.name);
        let article = db.desk.article_get(sys, created.ticket.id, created.article.id).await.expect("article");
        assert_eq!(format!("{:?}", created.article), format!("{article:?}"), "{}: the created article is what a read returns", db.name);
        assert_eq!(created.article.attachments.len(), 2);
        assert_eq!(read.state, "pending reminder");
        db
    })
    .await;
}

#[tokio::test]
async fn a_catalogue_change_is_seen_by_the_next_write() {
    each_backend(|db| async move {
        let sys = &Actor::System;
        let in_queue = |queue: &str| NewTicket { queue: Some(queue.into()), ..ticket("t") };
        // Warm the snapshot, then add a queue: the next create finds it.
        db.desk.ticket_create(sys, ticket("warm")).await.expect("create in Raw");
        let err = db.desk.ticket_create(sys, in_queue("Hardware")).await.expect_err("no such queue yet");
        assert_eq!(problem_on(&err, "queue"), "unknown queue 'Hardware'");
        let queue = db
            .desk
            .catalog_create(sys, CatalogKind::Queue, CatalogInput { name: "Hardware".into(), ..Default::default() })
            .await
            .expect("queue");
        db.desk.ticket_create(sys, in_queue("Hardware")).await.expect("the new queue is known at once");
        // Invalid, then renamed.
        let invalid = CatalogUpdate { valid: Some(false), ..Default::default() };
        db.desk.catalog_update(sys, CatalogKind::Queue, queue.id, invalid).await.expect("invalidate");
        let err = db.desk.ticket_create(sys, in_queue("Hardware")).await.expect_err("invalid queue");
        assert_eq!(problem_on(&err, "queue"), "queue 'Hardware' is not valid");
        let renamed = CatalogUpdate { name: Some("Devices".into()), valid: Some(true), ..Default::default() };
        db.desk.catalog_update(sys, CatalogKind::Queue, queue.id, renamed).await.expect("rename");
        assert_eq!(db.desk.ticket_create(sys, in_queue("Devices")).await.expect("renamed queue").ticket.queue_id, queue.id);
        // Agents: an invalidated owner is refused on create and on change.
        let agent = db
            .desk
            .agent_create(sys, AgentInput { login: "jdoe".into(), role: "agent".into(), ..Default::default() })
            .await
            .expect("agent");
        let owned = db.desk.ticket_create(sys, NewTicket { owner: Some("jdoe".into()), ..ticket("owned") }).await.expect("owner");
        db.desk.agent_update(sys, agent.id, AgentUpdate { valid: Some(false), ..Default::default() }).await.expect("invalidate agent");
        let err = db.desk.ticket_create(sys, NewTicket { owner: Some("jdoe".into()), ..ticket("owned") }).await.expect_err("invalid owner");
        assert_eq!(problem_on(&err, "owner"), "agent 'jdoe' is not valid");
        let change = switchboard::desk::TicketUpdate { responsible: Some(Some("jdoe".into())), ..Default::default() };
        let err = db.desk.ticket_update(sys, owned.ticket.id, change).await.expect_err("invalid responsible");
        assert_eq!(problem_on(&err, "responsible"), "agent 'jdoe' is not valid");
        // Dynamic fields: a new one is settable at once, an invalidated one is refused.
        let with_field = || NewTicket { dynamic_fields: BTreeMap::from([("Serial".into(), json!("X-1"))]), ..ticket("f") };
        let field = db
            .desk
            .dynamic_field_create(
                sys,
                DynamicFieldInput { name: "Serial".into(), object_type: "ticket".into(), field_type: "text".into(), ..Default::default() },
            )
            .await
            .expect("field");
        assert_eq!(db.desk.ticket_create(sys, with_field()).await.expect("new field").ticket.dynamic_fields["Serial"], json!("X-1"));
        db.desk
            .dynamic_field_update(sys, field.id, DynamicFieldUpdate { valid: Some(false), ..Default::default() })
            .await
            .expect("invalidate field");
        let err = db.desk.ticket_create(sys, with_field()).await.expect_err("invalid field");
        assert_eq!(problem_on(&err, "dynamic_fields.Serial"), "dynamic field 'Serial' is not valid any more");
        db
    })
    .await;
}

#[tokio::test]
async fn a_queue_deleted_behind_a_stale_snapshot_is_a_conflict_to_retry() {
    each_backend(|db| async move {
        let sys = &Actor::System;
        // Node B's snapshot knows the queue; node A deletes it. B hears
        // nothing (no listener runs here), so only the foreign key stops it.
        let b = db.second_node().await;
        db.desk.catalog_create(sys, CatalogKind::Queue, CatalogInput { name: "Doomed".into(), ..Default::default() }).await.expect("queue");
        let in_doomed = || NewTicket { queue: Some("Doomed".into()), ..ticket("t") };
        let first = b.desk().ticket_create(sys, in_doomed()).await.expect("B creates in the queue");
        let away = switchboard::desk::TicketUpdate { queue: Some("Raw".into()), ..Default::default() };
        b.desk().ticket_update(sys, first.ticket.id, away).await.expect("empty the queue");
        let id =
            b.desk().catalog_list(sys, CatalogKind::Queue).await.expect("list").into_iter().find(|q| q.name == "Doomed").expect("queue").id;
        db.desk.catalog_delete(sys, CatalogKind::Queue, id).await.expect("A deletes the queue");
        match b.desk().ticket_create(sys, in_doomed()).await {
            Err(DeskError::Conflict(message)) => assert!(message.contains("retry"), "{}: {message}", db.name),
            other => panic!("{}: expected a conflict to retry, got {other:?}", db.name),
        }
        let err = b.desk().ticket_create(sys, in_doomed()).await.expect_err("the retry sees the deletion");
        assert_eq!(problem_on(&err, "queue"), "unknown queue 'Doomed'");
        b.desk().close().await;
        db
    })
    .await;
}

#[tokio::test]
async fn another_node_hears_of_a_change_before_its_snapshot_ages_out() {
    each_backend(|db| async move {
        if db.name != "postgres" {
            return db; // SQLite has no notifications: the snapshot's 5 s age is the bound there.
        }
        let sys = &Actor::System;
        let b = db.second_node().await;
        let listener = tokio::spawn({
            let b = b.clone();
            async move { b.follow_catalog_changes().await }
        });
        let in_queue = NewTicket { queue: Some("Late".into()), ..ticket("t") };
        b.desk().ticket_create(sys, ticket("warm")).await.expect("B's snapshot is fresh");
        tokio::time::sleep(Duration::from_millis(200)).await; // the listener is up
        b.desk().ticket_create(sys, in_queue.clone()).await.expect_err("no queue yet");
        db.desk
            .catalog_create(sys, CatalogKind::Queue, CatalogInput { name: "Late".into(), ..Default::default() })
            .await
            .expect("A adds it");
        let start = Instant::now();
        while b.desk().ticket_create(sys, in_queue.clone()).await.is_err() {
            assert!(start.elapsed() < Duration::from_secs(3), "B did not hear of the queue within 3 s (its snapshot ages out after 5 s)");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        listener.abort();
        b.desk().close().await;
        db
    })
    .await;
}

#[tokio::test]
async fn a_value_of_a_field_another_node_just_made_is_read_in_full() {
    each_backend(|db| async move {
        let sys = &Actor::System;
        let b = db.second_node().await;
        let id = b.desk().ticket_create(sys, ticket("t")).await.expect("B's snapshot is fresh").ticket.id;
        let input =
            DynamicFieldInput { name: "Late".into(), object_type: "ticket".into(), field_type: "text".into(), ..Default::default() };
        db.desk.dynamic_field_create(sys, input).await.expect("A makes a field");
        let set = switchboard::desk::TicketUpdate { dynamic_fields: BTreeMap::from([("Late".into(), json!("yes"))]), ..Default::default() };
        db.desk.ticket_update(sys, id, set).await.expect("A sets it");
        let read = b.desk().ticket_get(sys, id).await.expect("B reads the ticket");
        assert_eq!(
            read.dynamic_fields.get("Late"),
            Some(&json!("yes")),
            "{}: B's snapshot lacks the field, the value is still read",
            db.name
        );
        b.desk().close().await;
        db
    })
    .await;
}
