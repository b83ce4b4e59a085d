//! The ticket core without HTTP, on every backend: numbering under
//! concurrency, atomic creates, permissions, search paging, the job queue
//! and write transactions that share commits (`writes`).

#[path = "core/admins.rs"]
mod admins;
#[path = "core/bad_input.rs"]
mod bad_input;
#[path = "core/catalog.rs"]
mod catalog;
mod common;
#[path = "core/customers.rs"]
mod customers;
#[path = "core/jobs.rs"]
mod jobs;
#[path = "core/schema.rs"]
mod schema;
#[path = "core/stored.rs"]
mod stored;
#[path = "core/writes.rs"]
mod writes;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::{each_backend, with_database};
use serde_json::json;
use switchboard::desk::{
    Actor, AgentInput, CatalogKind, DeskError, DynamicFieldInput, FieldConfig, HistoryEvent, JobQuery, JobRan, JobStatus, JobTask,
    NewArticle, NewJob, NewTicket, Ref, SortKey, TicketQuery, TicketUpdate,
};

fn ticket(title: &str) -> NewTicket {
    NewTicket {
        title: title.into(),
        queue: Some("Raw".into()),
        article: NewArticle { body: format!("body of {title}"), ..Default::default() },
        ..Default::default()
    }
}

#[tokio::test]
async fn a_ticket_number_past_six_counter_digits_keeps_every_digit() {
    each_backend(|db| async move {
        let bump = match db.name {
            "postgres" => "ALTER SEQUENCE ticket_number_seq RESTART WITH 1234567",
            _ => "INSERT INTO ticket_counters (day, counter) VALUES ('all', 1234566) ON CONFLICT (day) DO UPDATE SET counter = 1234566",
        };
        sqlx::query(bump).execute(db.system.db().pool()).await.expect("move the counter");
        let created = db.desk.ticket_create(&Actor::System, ticket("big")).await.expect("create");
        let today = chrono::Utc::now().format("%Y%m%d").to_string();
        assert_eq!(created.ticket.number, format!("{today}101234567"), "{}: date, system id 10, the whole counter", db.name);
        let next = db.desk.ticket_create(&Actor::System, ticket("next")).await.expect("create");
        assert_eq!(next.ticket.number, format!("{today}101234568"), "{}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn fifty_concurrent_creates_get_fifty_distinct_numbers() {
    each_backend(|db| async move {
        let mut tasks = Vec::new();
        for i in 0..50 {
            let desk = db.desk.clone();
            tasks.push(tokio::spawn(async move { desk.ticket_create(&Actor::System, ticket(&format!("t{i}"))).await }));
        }
        let mut numbers = HashSet::new();
        for task in tasks {
            let created = task.await.expect("task").expect("create");
            assert!(numbers.insert(created.ticket.number.clone()), "{}: duplicate number {}", db.name, created.ticket.number);
            assert_eq!(created.ticket.number.len(), 16, "date + system id + 6-digit counter");
        }
        assert_eq!(numbers.len(), 50);
        db
    })
    .await;
}

#[tokio::test]
async fn a_rejected_create_writes_nothing() {
    each_backend(|db| async move {
        let desk = &db.desk;
        desk.dynamic_field_create(
            &Actor::System,
            DynamicFieldInput {
                name: "Region".into(),
                object_type: "ticket".into(),
                field_type: "dropdown".into(),
                config: Some(FieldConfig { possible_values: vec!["EU".into(), "US".into()], ..Default::default() }),
                ..Default::default()
            },
        )
        .await
        .expect("field");
        let mut bad = ticket("bad");
        bad.dynamic_fields = BTreeMap::from([("Region".to_string(), json!("Mars"))]);
        match desk.ticket_create(&Actor::System, bad).await {
            Err(DeskError::Invalid(fields)) => assert_eq!(fields[0].field, "dynamic_fields.Region", "{}", db.name),
            other => panic!("{}: expected a validation error, got {other:?}", db.name),
        }
        let mut bad_queue = ticket("bad queue");
        bad_queue.queue = Some("Nope".into());
        assert!(matches!(desk.ticket_create(&Actor::System, bad_queue).await, Err(DeskError::Invalid(_))));
        let page = desk.ticket_search(&Actor::System, TicketQuery::default()).await.expect("search");
        assert!(page.items.is_empty(), "{}: a rejected create left a ticket behind", db.name);
        let mut good = ticket("good");
        good.dynamic_fields = BTreeMap::from([("Region".to_string(), json!("EU"))]);
        let created = desk.ticket_create(&Actor::System, good).await.expect("valid create");
        assert_eq!(created.ticket.dynamic_fields["Region"], json!("EU"));
        let found = desk
            .ticket_search(&Actor::System, TicketQuery { dynamic_fields: vec![("Region".into(), "EU".into())], ..Default::default() })
            .await
            .expect("search by field");
        assert_eq!(found.items.len(), 1);
        db
    })
    .await;
}

#[tokio::test]
async fn queue_permissions_limit_agents() {
    each_backend(|db| async move {
        let desk = &db.desk;
        let agent = desk
            .agent_create(
                &Actor::System,
                AgentInput {
                    login: "ro-agent".into(),
                    role: "agent".into(),
                    permissions: Some(vec![("Raw".into(), "ro".into())]),
                    ..Default::default()
                },
            )
            .await
            .expect("agent");
        let actor = Actor::Agent(desk.agent_actor(agent.id).await.expect("load").expect("valid"));
        let created = desk.ticket_create(&Actor::System, ticket("visible")).await.expect("create");
        let misc = desk
            .catalog_list(&Actor::System, CatalogKind::Queue)
            .await
            .expect("queues")
            .into_iter()
            .find(|q| q.name == "Misc")
            .expect("Misc");
        let mut hidden = ticket("hidden");
        hidden.queue = Some(misc.name.clone());
        let hidden = desk.ticket_create(&Actor::System, hidden).await.expect("create");

        assert!(desk.ticket_get(&actor, created.ticket.id).await.is_ok(), "ro can read");
        let write =
            desk.ticket_update(&actor, created.ticket.id, TicketUpdate { title: Some("changed".into()), ..Default::default() }).await;
        assert!(matches!(write, Err(DeskError::Forbidden(_))), "{}: ro must not write: {write:?}", db.name);
        assert!(matches!(desk.ticket_get(&actor, hidden.ticket.id).await, Err(DeskError::Forbidden(_))));
        assert!(matches!(desk.ticket_create(&actor, ticket("new")).await, Err(DeskError::Forbidden(_))));
        let page = desk.ticket_search(&actor, TicketQuery::default()).await.expect("search");
        assert_eq!(page.items.iter().map(|t| t.id).collect::<Vec<_>>(), vec![created.ticket.id], "search shows only readable queues");
        let customer = Actor::Customer { login: "jane@example.com".into() };
        assert!(matches!(desk.ticket_get(&customer, created.ticket.id).await, Err(DeskError::NotFound { .. })));
        db
    })
    .await;
}

#[tokio::test]
async fn cursor_paging_returns_every_ticket_once_in_order() {
    each_backend(|db| async move {
        let desk = &db.desk;
        for i in 0..23 {
            let mut t = ticket(&format!("page {i}"));
            t.priority = Some(Ref::Id(1 + i % 5));
            desk.ticket_create(&Actor::System, t).await.expect("create");
        }
        for sort in [(SortKey::Id, true), (SortKey::Priority, false), (SortKey::CreatedAt, true)] {
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = desk
                    .ticket_search(
                        &Actor::System,
                        TicketQuery { sort: Some(sort), limit: Some(5), cursor: cursor.clone(), ..Default::default() },
                    )
                    .await
                    .expect("page");
                seen.extend(page.items.iter().map(|t| (t.priority_id, t.id)));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(seen.len(), 23, "{}: {sort:?}", db.name);
            let unique: HashSet<_> = seen.iter().map(|(_, id)| *id).collect();
            assert_eq!(unique.len(), 23, "{}: {sort:?} repeated a ticket", db.name);
            if sort.0 == SortKey::Priority {
                assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{}: priority order {seen:?}", db.name);
            }
        }
        let text =
            desk.ticket_search(&Actor::System, TicketQuery { text: Some("body 7".into()), ..Default::default() }).await.expect("fts");
        assert_eq!(text.items.len(), 1, "{}: full text", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn a_word_in_thousands_of_tickets_pages_like_a_rare_one() {
    each_backend(|db| async move {
        // 3,000 tickets say "printer", every 1,000th also says "zugzwang":
        // a word in thousands of tickets pages in order like a rare one.
        // Written by SQL: thousands of creates would only slow the test.
        let (tickets, search) = match db.name {
            "postgres" => (
                "INSERT INTO tickets (number, title, queue_id, state_id, priority_id, type_id, created_at, changed_at) SELECT 'bulk' || g, 'Printer ' || g, 1, 1, 3, 1, 0, 0 FROM generate_series(1, 3000) AS g",
                "INSERT INTO ticket_search (ticket_id, title_tsv, body_tsv, public_tsv) SELECT id, to_tsvector('simple', title), to_tsvector('simple', CASE WHEN id % 1000 = 0 THEN 'zugzwang' ELSE 'toner' END), ''::tsvector FROM tickets",
            ),
            _ => (
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000) INSERT INTO tickets (number, title, queue_id, state_id, priority_id, type_id, created_at, changed_at) SELECT 'bulk' || n, 'Printer ' || n, 1, 1, 3, 1, 0, 0 FROM g",
                "INSERT INTO ticket_search (rowid, title, body, public_body) SELECT id, title, CASE WHEN id % 1000 = 0 THEN 'zugzwang' ELSE 'toner' END, '' FROM tickets",
            ),
        };
        for statement in [tickets, search] {
            sqlx::query(statement).execute(db.system.db().pool()).await.expect("bulk rows");
        }
        let search = |text: &str, cursor: Option<String>| {
            let query = TicketQuery { text: Some(text.into()), limit: Some(100), cursor, ..Default::default() };
            db.desk.ticket_search(&Actor::System, query)
        };
        let mut seen = Vec::new();
        let mut cursor = None;
        for _ in 0..3 {
            let page = search("printer", cursor).await.expect("common word");
            assert_eq!(page.items.len(), 100, "{}: a full page", db.name);
            seen.extend(page.items.iter().map(|t| t.id));
            cursor = page.next_cursor;
        }
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "{}: newest first, no repeats", db.name);
        assert_eq!(seen[0], 3000, "{}: the newest match first", db.name);
        let rare = search("zugzwang", None).await.expect("rare word");
        let ids: Vec<i64> = rare.items.iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![3000, 2000, 1000], "{}: every rare match, newest first", db.name);
        assert!(search("nowhere", None).await.expect("no match").items.is_empty());
        db
    })
    .await;
}

#[tokio::test]
async fn a_first_article_is_searchable_by_whoever_may_read_it() {
    each_backend(|db| async move {
        let customer = Actor::Customer { login: "jane@example.com".into() };
        let mine = NewTicket {
            title: "Quote please".into(),
            article: NewArticle { body: "about the kumquat order".into(), ..Default::default() },
            ..Default::default()
        };
        let public = db.desk.ticket_create(&customer, mine).await.expect("the customer's own ticket").ticket.id;
        let internal = NewTicket {
            customer_user: Some("jane@example.com".into()),
            article: NewArticle { body: "the marmalade margin is thin".into(), visible_for_customer: Some(false), ..Default::default() },
            ..ticket("Internal first")
        };
        let hidden = db.desk.ticket_create(&Actor::System, internal).await.expect("staff ticket for her").ticket.id;
        let found = |actor: Actor, text: &'static str| {
            let desk = db.desk.clone();
            async move {
                let query = TicketQuery { text: Some(text.into()), ..Default::default() };
                desk.ticket_search(&actor, query).await.expect("search").items.iter().map(|t| t.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(found(customer.clone(), "kumquat").await, vec![public], "{}: her words, in her view", db.name);
        assert_eq!(found(Actor::System, "kumquat").await, vec![public], "{}: and in staff's", db.name);
        assert_eq!(found(Actor::System, "marmalade").await, vec![hidden], "{}: an internal note, for staff", db.name);
        assert!(found(customer, "marmalade").await.is_empty(), "{}: but not for her", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn failing_jobs_back_off_then_fail_visibly() {
    each_backend(|db| async move {
        let desk = &db.desk;
        let id =
            db.system.job_enqueue(NewJob::new(JobTask::PendingDue { ticket_id: 0, pending_until: 0 }).attempts(2)).await.expect("enqueue");
        let claimed = db.system.job_claim("w1", 10, Duration::from_secs(60)).await.expect("claim");
        assert_eq!(claimed.len(), 1);
        assert!(
            db.system.job_claim("w2", 10, Duration::from_secs(60)).await.expect("claim").is_empty(),
            "a claimed job is not claimed twice"
        );
        db.system.job_fail(&claimed[0], "w1", "boom").await.expect("fail");
        let jobs = desk.job_list(&Actor::System, JobQuery::default(), 10).await.expect("list");
        let job = jobs.iter().find(|j| j.id == id).expect("job");
        assert_eq!(job.status, JobStatus::Queued, "retried");
        assert!(job.run_at > chrono::Utc::now(), "after a backoff");
        assert!(db.system.job_claim("w1", 10, Duration::from_secs(60)).await.expect("claim").is_empty(), "not before the backoff");

        let id2 =
            db.system.job_enqueue(NewJob::new(JobTask::PendingDue { ticket_id: 0, pending_until: 1 }).attempts(1)).await.expect("enqueue");
        let first = db.system.job_claim("dead-worker", 10, Duration::from_millis(1)).await.expect("claim");
        assert_eq!(first[0].id, id2);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let again = db.system.job_claim("w2", 10, Duration::from_secs(60)).await.expect("claim");
        assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id2], "{}: an expired lease is claimed again", db.name);
        db.system.job_fail(&again[0], "w2", "still broken").await.expect("fail");
        let failed =
            desk.job_list(&Actor::System, JobQuery { status: Some(JobStatus::Failed), ..Default::default() }, 10).await.expect("list");
        assert_eq!(failed[0].last_error.as_deref(), Some("still broken"));
        db
    })
    .await;
}

#[tokio::test]
async fn a_pending_job_run_twice_acts_once() {
    each_backend(|db| async move {
        let desk = &db.desk;
        // Stored to the microsecond.
        let micros = |t: chrono::DateTime<chrono::Utc>| chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).expect("in range");
        let due = micros(chrono::Utc::now() - chrono::Duration::seconds(1));
        let pending = |title: &str, state: &str| {
            let mut t = ticket(title);
            t.state = Some(state.into());
            t.pending_until = Some(due);
            t
        };
        let remind = desk.ticket_create(&Actor::System, pending("remind me", "pending reminder")).await.expect("create").ticket.id;
        let close = desk.ticket_create(&Actor::System, pending("close me", "pending auto close+")).await.expect("create").ticket.id;

        // A worker claims the jobs and stalls; its lease runs out and a second
        // worker claims them. When the first one wakes up and runs them, the
        // jobs are no longer its own: it writes nothing.
        let first = db.system.job_claim("slow-worker", 10, Duration::from_millis(1)).await.expect("claim");
        assert_eq!(first.len(), 2, "{}: one job per pending ticket", db.name);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let again = db.system.job_claim("w2", 10, Duration::from_secs(60)).await.expect("claim");
        assert_eq!(again.len(), 2, "{}: the expired lease hands the jobs out again", db.name);
        for job in &first {
            assert_eq!(db.system.job_run(job, "slow-worker").await.expect("late run"), JobRan::LeaseLost, "{}", db.name);
        }
        for job in &again {
            // The close or reminder and the job's completion are one commit.
            assert_eq!(db.system.job_run(job, "w2").await.expect("run"), JobRan::Completed, "{}", db.name);
            let rerun = db.system.job_run(job, "w2").await.expect("run again");
            assert!(matches!(rerun, JobRan::NothingToDo | JobRan::LeaseLost), "{}: done already, got {rerun:?}", db.name);
        }
        let done = desk.job_list(&Actor::System, JobQuery { status: Some(JobStatus::Done), ..Default::default() }, 10).await.expect("list");
        assert_eq!(done.len(), 2, "{}: both jobs are done by their run alone", db.name);

        let history = desk.history_list(&Actor::System, remind).await.expect("history");
        let reminders: Vec<_> = history.iter().filter(|h| h.event == HistoryEvent::Reminder).collect();
        assert_eq!(reminders.len(), 1, "{}: a re-run wrote a second reminder: {history:?}", db.name);
        assert_eq!(reminders[0].actor, "system:pending-reminder");
        assert_eq!(reminders[0].field.as_deref(), Some("pending_until"));
        let due_text = due.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        assert_eq!(reminders[0].new_value.as_deref(), Some(due_text.as_str()), "the reminder names the pending time it is for");
        let reminded = desk.ticket_get(&Actor::System, remind).await.expect("get");
        assert_eq!((reminded.state.as_str(), reminded.pending_until), ("pending reminder", Some(due)), "the ticket stays pending");

        let history = desk.history_list(&Actor::System, close).await.expect("history");
        let closes: Vec<_> = history.iter().filter(|h| h.field.as_deref() == Some("state")).collect();
        assert_eq!(closes.len(), 1, "{}: one automatic close: {history:?}", db.name);
        assert_eq!(desk.ticket_get(&Actor::System, close).await.expect("get").state, "closed successful");

        // A new pending time is a new reminder.
        let later = micros(chrono::Utc::now() - chrono::Duration::milliseconds(10));
        desk.ticket_update(&Actor::System, remind, TicketUpdate { pending_until: Some(Some(later)), ..Default::default() })
            .await
            .expect("new pending time");
        for job in db.system.job_claim("w3", 10, Duration::from_secs(60)).await.expect("claim") {
            db.system.job_run(&job, "w3").await.expect("run");
        }
        let history = desk.history_list(&Actor::System, remind).await.expect("history");
        assert_eq!(history.iter().filter(|h| h.event == HistoryEvent::Reminder).count(), 2, "{}: {history:?}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn a_job_names_its_worker_and_a_late_worker_changes_nothing() {
    each_backend(|db| async move {
        let (desk, system) = (&db.desk, &db.system);
        let id =
            system.job_enqueue(NewJob::new(JobTask::PendingDue { ticket_id: 0, pending_until: 2 }).attempts(3)).await.expect("enqueue");
        let first = system.job_claim("node-a", 10, Duration::from_millis(1)).await.expect("claim");
        assert_eq!(first.iter().map(|j| (j.id, j.worker.as_deref())).collect::<Vec<_>>(), vec![(id, Some("node-a"))]);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = system.job_claim("node-b", 10, Duration::from_secs(60)).await.expect("claim");
        assert_eq!(second.len(), 1, "{}: the expired lease goes to node-b", db.name);
        system.job_complete(id, "node-b").await.expect("complete");
        // node-a, whose lease ran out, reports late: neither its success nor its failure counts.
        system.job_complete(id, "node-a").await.expect("late complete");
        system.job_fail(&first[0], "node-a", "late failure").await.expect("late fail");
        let job =
            desk.job_list(&Actor::System, JobQuery::default(), 10).await.expect("list").into_iter().find(|j| j.id == id).expect("job");
        assert_eq!(
            (job.status, job.attempts, job.worker.as_deref(), job.last_error.as_deref()),
            (JobStatus::Done, 2, Some("node-b"), None),
            "{}: a done job keeps the worker that ran it, and a late worker cannot undo it",
            db.name
        );
        // Failing it again once done changes nothing either, even by the worker that ran it.
        system.job_fail(&second[0], "node-b", "after done").await.expect("fail after done");
        let job =
            desk.job_list(&Actor::System, JobQuery::default(), 10).await.expect("list").into_iter().find(|j| j.id == id).expect("job");
        assert_eq!(job.status, JobStatus::Done, "{}: a finished job stays finished", db.name);
        db
    })
    .await;
}

#[test]
fn test_database_urls_keep_their_parameters() {
    assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/x", "y"), "postgres://postgres@127.0.0.1:5432/y");
    assert_eq!(with_database("postgres://u:p@h/x?sslmode=require&a=b", "y"), "postgres://u:p@h/y?sslmode=require&a=b");
    assert_eq!(with_database("postgres://h:1", "y"), "postgres://h:1/y");
    assert_eq!(with_database("postgres://h:1/?sslmode=disable", "y"), "postgres://h:1/y?sslmode=disable");
}
