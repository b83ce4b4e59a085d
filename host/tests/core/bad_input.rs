//! Bad input reaching the core without HTTP (as from a plugin or the CLI):
//! refused alike on both backends with the field named, never a storage error.

use chrono::{TimeZone, Utc};
use switchboard::desk::{
    Actor, DeskError, FailureKind, InvocationOutcome, InvocationRecord, NewArticle, NewTicket, TicketQuery, TicketUpdate,
};

use crate::common::each_backend;
use crate::ticket;

/// The fields of a validation error; panics on any other outcome.
fn invalid<T: std::fmt::Debug>(backend: &str, result: Result<T, DeskError>) -> Vec<String> {
    match result {
        Err(DeskError::Invalid(fields)) => fields.into_iter().map(|f| f.field).collect(),
        other => panic!("{backend}: expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn nul_and_far_times_are_refused_by_the_core() {
    each_backend(|db| async move {
        let desk = &db.desk;
        let name = db.name;
        let created = desk.ticket_create(&Actor::System, ticket("target")).await.expect("create");
        let id = created.ticket.id;

        let bad = NewTicket { queue: Some("Raw\0".into()), ..ticket("bad") };
        assert_eq!(invalid(name, desk.ticket_create(&Actor::System, bad).await), ["queue"]);
        let far = NewTicket {
            state: Some("pending reminder".into()),
            pending_until: Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).single(),
            ..ticket("far")
        };
        assert_eq!(invalid(name, desk.ticket_create(&Actor::System, far).await), ["pending_until"]);

        // What a plugin's changes become: fields and notes in one call.
        let note = NewArticle { body: "note\0".into(), subject: Some("line\r\nbreak".into()), ..Default::default() };
        let update = TicketUpdate { owner: Some(Some("adm\0in".into())), ..Default::default() };
        assert_eq!(
            invalid(name, desk.ticket_change(&Actor::System, id, update, vec![note]).await),
            ["owner", "notes[0].subject", "notes[0].body"]
        );

        let query = TicketQuery { text: Some("needle\0".into()), ..Default::default() };
        assert_eq!(invalid(name, desk.ticket_search(&Actor::System, query).await), ["q"]);
        assert_eq!(invalid(name, desk.ticket_get_by_number(&Actor::System, "1\0").await), ["number"]);
        let page = desk.ticket_search(&Actor::System, TicketQuery::default()).await.expect("search");
        assert_eq!(page.items.len(), 1, "{name}: a refused create stored a ticket");
        assert_eq!(desk.article_list(&Actor::System, id).await.expect("articles").len(), 1, "{name}: a refused note was stored");
        db
    })
    .await;
}

#[tokio::test]
async fn plugin_logs_with_nul_are_recorded() {
    each_backend(|db| async move {
        let record = InvocationRecord {
            id: 0,
            plugin: "noisy".into(),
            version: "0.1.0".into(),
            world: "script".into(),
            function: "run".into(),
            started_at: Utc::now(),
            duration_us: 1,
            fuel_used: None,
            peak_memory: 0,
            outcome: InvocationOutcome::Failed,
            error_kind: Some(FailureKind::Trap),
            error: Some("bad\0message".into()),
            logs: "[stdout] a\0b\n".into(),
        };
        db.system.plugin_invocations_store(&[record], 10).await.unwrap_or_else(|e| panic!("{}: storing the record: {e}", db.name));
        let stored = db.desk.plugin_invocations(&Actor::System, "noisy", 10).await.expect("read back");
        assert_eq!(
            (stored[0].logs.as_str(), stored[0].error.as_deref()),
            ("[stdout] a\u{FFFD}b\n", Some("bad\u{FFFD}message")),
            "{}",
            db.name
        );
        assert_eq!((stored[0].outcome, stored[0].error_kind), (InvocationOutcome::Failed, Some(FailureKind::Trap)), "{}", db.name);
        // A kind this version never writes is an error naming the column, not a silent default.
        sqlx::query("UPDATE plugin_invocations SET error_kind = 'tarp'").execute(db.system.db().pool()).await.expect("corrupt");
        let err = db.desk.plugin_invocations(&Actor::System, "noisy", 10).await.expect_err("an unknown failure kind");
        assert!(err.to_string().contains("error_kind") && err.to_string().contains("tarp"), "{}: {err}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn an_article_of_a_million_distinct_words_is_indexed_in_part() {
    each_backend(|db| async move {
        let desk = &db.desk;
        let words: String = (0..150_000u32).map(|n| format!("w{n:x}x ")).collect();
        let mut big = ticket("haystack");
        big.article.body = format!("needle {words}");
        let created = desk.ticket_create(&Actor::System, big).await.unwrap_or_else(|e| panic!("{}: big create: {e}", db.name));
        for _ in 0..4 {
            let more = NewArticle { body: (150_000..250_000u32).map(|n| format!("w{n:x}y ")).collect(), ..Default::default() };
            desk.article_add(&Actor::System, created.ticket.id, more).await.unwrap_or_else(|e| panic!("{}: big article: {e}", db.name));
        }
        for q in ["needle", "w0x", "haystack"] {
            let page =
                desk.ticket_search(&Actor::System, TicketQuery { text: Some(q.into()), ..Default::default() }).await.expect("search");
            assert_eq!(page.items.len(), 1, "{}: q={q} must find the big ticket", db.name);
        }
        db
    })
    .await;
}
