//! Stored values that do not parse are errors that name the column, never a
//! silent default (a bad state type used to read as `open`, a bad time as 1970,
//! a bad job payload as `null`).

use std::time::Duration;

use switchboard::desk::{Actor, DeskError, JobTask, NewJob};

use crate::common::each_backend;
use crate::ticket;

/// Runs one statement on the test database, as an operator editing it by hand would.
async fn corrupt(desk: &switchboard::desk::SystemDesk, sql: &str) {
    sqlx::query(sql).execute(desk.db().pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The message of a read that must fail on a stored value.
fn stored_error<T: std::fmt::Debug>(backend: &str, what: &str, result: Result<T, DeskError>) -> String {
    match result {
        Err(err @ DeskError::Db(_)) => err.to_string(),
        other => panic!("{backend}: {what} must be a storage error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bad_state_type_or_time_is_an_error_naming_the_column() {
    each_backend(|db| async move {
        let desk = &db.desk;
        let id = desk.ticket_create(&Actor::System, ticket("stored")).await.expect("create").ticket.id;
        let other = desk.ticket_create(&Actor::System, ticket("untouched")).await.expect("create").ticket.id;

        corrupt(&db.system, &format!("UPDATE tickets SET created_at = {} WHERE id = {id}", i64::MAX)).await;
        let err = stored_error(db.name, "a time past the year 9999", desk.ticket_get(&Actor::System, id).await);
        assert!(err.contains("created_at"), "{}: {err}", db.name);
        assert!(desk.ticket_get(&Actor::System, other).await.is_ok(), "{}: other tickets still read", db.name);
        corrupt(&db.system, &format!("UPDATE tickets SET created_at = 0 WHERE id = {id}")).await;

        corrupt(&db.system, "UPDATE states SET state_type = 'opne' WHERE name = 'new'").await;
        let err = stored_error(db.name, "an unknown state type", desk.ticket_get(&Actor::System, id).await);
        assert!(err.contains("state_type") && err.contains("opne"), "{}: {err}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn a_job_whose_payload_does_not_parse_is_claimed_with_the_reason() {
    each_backend(|db| async move {
        let task = JobTask::PendingDue { ticket_id: 1, pending_until: 0 };
        let id = db.system.job_enqueue(NewJob::new(task).attempts(1)).await.expect("enqueue");
        corrupt(&db.system, &format!("UPDATE jobs SET payload = '{{\"ticket_id\":\"one\"}}' WHERE id = {id}")).await;
        let claimed = db.system.job_claim("w1", 10, Duration::from_secs(60)).await.expect("one bad job does not stop the queue");
        let job = claimed.iter().find(|j| j.id == id).expect("claimed");
        let reason = job.task.as_ref().expect_err("the payload does not parse");
        assert!(reason.contains("ticket.pending_due"), "{}: {reason}", db.name);
        assert_eq!(job.payload, r#"{"ticket_id":"one"}"#, "{}: the stored text is kept to show", db.name);
        db
    })
    .await;
}
