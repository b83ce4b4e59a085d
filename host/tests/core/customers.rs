//! What a customer may set when it creates a ticket (the admin's policy) and
//! what it sees of a ticket, decided by the core on both backends.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::json;
use switchboard::desk::{
    Actor, AttachmentInput, CustomerField, CustomerPolicy, Desk, DeskError, DeskSettings, DynamicFieldInput, NewArticle, NewTicket, Ref,
    TicketQuery, TicketView,
};

use crate::common::{each_backend, TestDb};
use crate::ticket;

const JANE: &str = "jane@example.com";

fn jane() -> Actor {
    Actor::Customer { login: JANE.into() }
}

/// A core over the same database with another customer policy.
fn with_policy(db: &TestDb, customer: CustomerPolicy) -> Desk {
    switchboard::desk::SystemDesk::new(db.system.db().clone(), DeskSettings { customer, ..Default::default() }).desk().clone()
}

async fn ticket_count(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM tickets").fetch_one(db.system.db().pool()).await.expect("count tickets")
}

/// The fields a refusal names; panics on any other outcome.
fn refused<T: std::fmt::Debug>(backend: &str, what: &str, result: Result<T, DeskError>) -> Vec<String> {
    match result {
        Err(DeskError::ForbiddenFields(fields)) => fields.into_iter().map(|f| f.field).collect(),
        other => panic!("{backend}: {what}: expected the field to be refused, got {other:?}"),
    }
}

async fn field(desk: &Desk, name: &str, object_type: &str, customer_visible: bool) {
    desk.dynamic_field_create(
        &Actor::System,
        DynamicFieldInput {
            name: name.into(),
            object_type: object_type.into(),
            field_type: "text".into(),
            customer_visible: Some(customer_visible),
            ..Default::default()
        },
    )
    .await
    .expect("dynamic field");
}

#[tokio::test]
async fn a_customer_sets_only_what_the_admin_allows() {
    each_backend(|db| async move {
        let desk = &db.desk;
        field(desk, "Region", "ticket", true).await;
        field(desk, "Channel", "article", true).await;
        let values = |name: &str| BTreeMap::from([(name.to_string(), json!("x"))]);
        let cases: Vec<(&str, NewTicket)> = vec![
            ("owner", NewTicket { owner: Some("admin".into()), ..ticket("owner") }),
            ("owner", NewTicket { owner: Some("nobody-at-all".into()), ..ticket("unknown owner") }),
            ("responsible", NewTicket { responsible: Some("admin".into()), ..ticket("responsible") }),
            ("state", NewTicket { state: Some("open".into()), ..ticket("state") }),
            ("priority", NewTicket { priority: Some(Ref::Id(5)), ..ticket("priority") }),
            ("type", NewTicket { ticket_type: Some("Incident".into()), ..ticket("type") }),
            ("queue", NewTicket { queue: Some("Junk".into()), ..ticket("other queue") }),
            ("pending_until", NewTicket { pending_until: Some(Utc::now()), ..ticket("pending") }),
            ("customer_company", NewTicket { customer_company: Some("ACME".into()), ..ticket("company") }),
            ("customer_user", NewTicket { customer_user: Some("bob@example.com".into()), ..ticket("for bob") }),
            ("dynamic_fields.Region", NewTicket { dynamic_fields: values("Region"), ..ticket("field") }),
            (
                "article.dynamic_fields.Channel",
                NewTicket {
                    article: NewArticle { body: "b".into(), dynamic_fields: values("Channel"), ..Default::default() },
                    ..ticket("article field")
                },
            ),
        ];
        for (name, input) in cases {
            let what = format!("a customer setting {name}");
            assert_eq!(refused(db.name, &what, desk.ticket_create(&jane(), input).await), [name], "{}: {what}", db.name);
        }
        let several = NewTicket { owner: Some("admin".into()), state: Some("open".into()), ..ticket("several") };
        let mut fields = refused(db.name, "owner and state", desk.ticket_create(&jane(), several).await);
        fields.sort();
        assert_eq!(fields, ["owner", "state"], "{}: every refused field is named", db.name);
        assert_eq!(ticket_count(&db).await, 0, "{}: a refused create writes nothing", db.name);

        // Title, article with an attachment and the default queue: the core applies the defaults.
        let allowed = NewTicket {
            title: "Printer on fire".into(),
            customer_user: Some(JANE.into()),
            article: NewArticle {
                body: "It smokes.".into(),
                attachments: vec![AttachmentInput { filename: "a.txt".into(), content_type: "text/plain".into(), content: b"hi".to_vec() }],
                ..Default::default()
            },
            ..Default::default()
        };
        let created = desk.ticket_create(&jane(), allowed).await.expect("a customer's allowed create");
        let t = &created.ticket;
        assert_eq!(
            (t.queue.as_str(), t.state.as_str(), t.priority_id, t.ticket_type.as_str(), t.customer_user.as_deref()),
            ("Raw", "new", 3, "Unclassified", Some(JANE)),
            "{}: defaults applied, the ticket is the customer's",
            db.name
        );
        assert_eq!(created.article.attachments.len(), 1, "{}: attachments are allowed", db.name);
        desk.ticket_create(&jane(), ticket("queue Raw named")).await.expect("the default queue may be named");
        db
    })
    .await;
}

#[tokio::test]
async fn an_admin_can_widen_the_customer_policy() {
    each_backend(|db| async move {
        field(&db.desk, "Region", "ticket", true).await;
        field(&db.desk, "Secret", "ticket", false).await;
        let policy = CustomerPolicy {
            queues: vec!["Misc".into(), "Raw".into()],
            fields: vec![CustomerField::Priority, CustomerField::Type, CustomerField::DynamicFields],
        };
        let desk = &with_policy(&db, policy);
        let wide = NewTicket {
            queue: Some("Misc".into()),
            priority: Some(Ref::Id(5)),
            ticket_type: Some("Incident".into()),
            dynamic_fields: BTreeMap::from([("Region".to_string(), json!("EU"))]),
            ..ticket("wide")
        };
        let created = desk.ticket_create(&jane(), wide).await.expect("allowed by the policy");
        let t = &created.ticket;
        assert_eq!((t.queue.as_str(), t.priority_id, t.ticket_type.as_str()), ("Misc", 5, "Incident"), "{}: honoured", db.name);
        assert_eq!(t.dynamic_fields.get("Region"), Some(&json!("EU")), "{}", db.name);
        let junk = NewTicket { queue: Some("Junk".into()), ..ticket("junk") };
        assert_eq!(refused(db.name, "queue outside the list", desk.ticket_create(&jane(), junk).await), ["queue"]);
        let hidden = NewTicket { dynamic_fields: BTreeMap::from([("Secret".to_string(), json!("x"))]), ..ticket("hidden") };
        assert_eq!(refused(db.name, "hidden field", desk.ticket_create(&jane(), hidden).await), ["dynamic_fields.Secret"]);
        let owner = NewTicket { owner: Some("admin".into()), ..ticket("owner") };
        assert_eq!(refused(db.name, "owner is never a customer's", desk.ticket_create(&jane(), owner).await), ["owner"]);
        db
    })
    .await;
}

#[tokio::test]
async fn a_customer_sees_no_agent_logins_and_only_visible_fields() {
    each_backend(|db| async move {
        let desk = &db.desk;
        field(desk, "Region", "ticket", true).await;
        field(desk, "Margin", "ticket", false).await;
        field(desk, "Mood", "article", true).await;
        field(desk, "Score", "article", false).await;
        let two = |a: &str, b: &str| BTreeMap::from([(a.to_string(), json!("1")), (b.to_string(), json!("2"))]);
        let input = NewTicket {
            owner: Some("admin".into()),
            responsible: Some("admin".into()),
            customer_user: Some(JANE.into()),
            dynamic_fields: two("Region", "Margin"),
            article: NewArticle {
                body: "hello".into(),
                visible_for_customer: Some(true),
                dynamic_fields: two("Mood", "Score"),
                ..Default::default()
            },
            ..ticket("seen by jane")
        };
        let id = desk.ticket_create(&Actor::System, input).await.expect("create").ticket.id;

        let staff = desk.ticket_get(&Actor::System, id).await.expect("staff read");
        assert_eq!((staff.view, staff.owner.as_deref()), (TicketView::Staff, Some("admin")), "{}", db.name);
        assert_eq!(staff.dynamic_fields.len(), 2, "{}: staff see every field", db.name);

        let seen = desk.ticket_get(&jane(), id).await.expect("customer read");
        assert_eq!(seen.view, TicketView::Customer, "{}", db.name);
        assert_eq!((seen.owner, seen.responsible), (None, None), "{}: no agent logins for a customer", db.name);
        assert_eq!(seen.dynamic_fields.keys().collect::<Vec<_>>(), ["Region"], "{}: only customer-visible fields", db.name);
        let page = desk.ticket_search(&jane(), TicketQuery::default()).await.expect("customer search");
        assert_eq!(page.items.len(), 1, "{}", db.name);
        assert_eq!((page.items[0].owner.as_ref(), page.items[0].dynamic_fields.len()), (None, 1), "{}: search too", db.name);
        let articles = desk.article_list(&jane(), id).await.expect("customer articles");
        assert_eq!(articles[0].dynamic_fields.keys().collect::<Vec<_>>(), ["Mood"], "{}: article fields too", db.name);

        // An agent's reply names the agent to staff, only "agent" to the customer;
        // the customer's own article still names the customer.
        let agents = desk.agent_list(&Actor::System).await.expect("agents");
        let admin_id = agents.iter().find(|a| a.login == "admin").expect("the seeded admin").id;
        let admin = Actor::Agent(desk.agent_actor(admin_id).await.expect("load").expect("valid admin"));
        let reply = NewArticle { body: "on it".into(), visible_for_customer: Some(true), ..Default::default() };
        let reply = desk.article_add(&admin, id, reply).await.expect("agent reply").id;
        let answer = NewArticle { body: "thanks".into(), ..Default::default() };
        let answer = desk.article_add(&jane(), id, answer).await.expect("customer answer").id;
        let by = |articles: &[switchboard::desk::Article], article: i64| {
            articles.iter().find(|a| a.id == article).map(|a| a.created_by.clone()).unwrap_or_default()
        };
        let staff_view = desk.article_list(&Actor::System, id).await.expect("staff articles");
        assert_eq!(by(&staff_view, reply), "agent:admin", "{}", db.name);
        let seen = desk.article_list(&jane(), id).await.expect("customer articles");
        assert_eq!((by(&seen, reply), by(&seen, answer)), ("agent".into(), format!("customer:{JANE}")), "{}", db.name);
        let one = desk.article_get(&jane(), id, reply).await.expect("customer article");
        assert_eq!(one.created_by, "agent", "{}: no agent login in one article either", db.name);

        // Searching by what the customer cannot see reveals nothing.
        let by_owner = TicketQuery { owner: Some("admin".into()), ..Default::default() };
        assert_eq!(refused(db.name, "search by owner", desk.ticket_search(&jane(), by_owner).await), ["owner"]);
        let by_hidden = TicketQuery { dynamic_fields: vec![("Margin".into(), "1".into())], ..Default::default() };
        match desk.ticket_search(&jane(), by_hidden).await {
            Err(DeskError::Invalid(f)) => assert_eq!(f[0].field, "df.Margin", "{}", db.name),
            other => panic!("{}: a hidden field must be unknown to a customer's search, got {other:?}", db.name),
        }

        // What a customer gets back from its own create is its view as well.
        let own = NewTicket { customer_user: None, ..ticket("own") };
        let created = desk.ticket_create(&jane(), own).await.expect("customer create");
        assert_eq!(created.ticket.view, TicketView::Customer, "{}", db.name);
        db
    })
    .await;
}
