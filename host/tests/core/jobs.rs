//! The job queue on both backends: dedup keys enforced by the database,
//! claims by kind within each kind's free slots, batched completion, counts
//! for `/metrics` and listing by kind.

use std::time::Duration;

use switchboard::desk::{Actor, ClaimRequest, JobKind, JobQuery, JobStatus, JobTask, NewJob};

use crate::common::each_backend;

fn due(ticket_id: i64) -> JobTask {
    JobTask::PendingDue { ticket_id, pending_until: 1 }
}

#[tokio::test]
async fn a_dedup_key_allows_one_queued_or_running_job() {
    each_backend(|db| async move {
        let system = &db.system;
        let first = system.job_enqueue(NewJob::new(due(1)).dedup("account-7")).await.expect("enqueue");
        let again = system.job_enqueue(NewJob::new(due(2)).dedup("account-7")).await.expect("enqueue again");
        assert_eq!(again, first, "{}: the job holding the key is returned, none added", db.name);
        let other = system.job_enqueue(NewJob::new(due(3)).dedup("account-8")).await.expect("another key");
        assert_ne!(other, first);
        let many = system
            .job_enqueue_many(&[NewJob::new(due(4)).dedup("account-7"), NewJob::new(due(5)), NewJob::new(due(6))])
            .await
            .expect("enqueue many");
        assert_eq!(many[0], first, "{}: within a batch too", db.name);
        assert_eq!(many.len(), 3);

        // Still held while running; free once the job is done.
        let claimed = system.job_claim("w1", 100, Duration::from_secs(60)).await.expect("claim");
        assert_eq!(claimed.len(), 4, "{}: {claimed:?}", db.name);
        assert_eq!(system.job_enqueue(NewJob::new(due(9)).dedup("account-7")).await.expect("while running"), first);
        let ids: Vec<i64> = claimed.iter().map(|j| j.id).collect();
        system.job_complete_many(&ids, "w1").await.expect("complete");
        let next = system.job_enqueue(NewJob::new(due(9)).dedup("account-7")).await.expect("after done");
        assert_ne!(next, first, "{}: a done job no longer holds its key", db.name);

        let all = db.desk.job_list(&Actor::System, JobQuery::default(), 100).await.expect("list");
        let done = all.iter().filter(|j| j.status == JobStatus::Done).count();
        assert_eq!((all.len(), done), (5, 4), "{}: one batch marked all four done", db.name);
        assert_eq!(all.iter().find(|j| j.id == next).and_then(|j| j.dedup_key.as_deref()), Some("account-7"));
        db
    })
    .await;
}

#[tokio::test]
async fn claims_take_each_kind_up_to_its_free_slots() {
    each_backend(|db| async move {
        let system = &db.system;
        let jobs: Vec<NewJob> = (0..5).map(|i| NewJob::new(due(i))).collect();
        system.job_enqueue_many(&jobs).await.expect("enqueue");
        sqlx::query("INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) VALUES ('mail.newer', '{}', 'queued', 0, 1, 0, 0, 0)")
            .execute(system.db().pool())
            .await
            .expect("a newer node's job");
        let two = ClaimRequest { kinds: vec![(JobKind::PendingDue, 2)], unknown: 0 };
        let claimed = system.job_claim_by_kind("w1", &two, Duration::from_secs(60)).await.expect("claim");
        assert_eq!(claimed.len(), 2, "{}: no more than the kind's free slots", db.name);
        let unknown = ClaimRequest { kinds: vec![(JobKind::PendingDue, 0)], unknown: 1 };
        let claimed = system.job_claim_by_kind("w1", &unknown, Duration::from_secs(60)).await.expect("claim");
        assert_eq!(claimed.iter().map(|j| j.kind.as_str()).collect::<Vec<_>>(), ["mail.newer"], "{}", db.name);
        assert!(claimed[0].task.is_err(), "an unknown kind is claimed only to be failed with the reason");

        let counts = system.job_counts().await.expect("counts");
        let count = |kind: &str, status: JobStatus| counts.iter().find(|c| c.kind == kind && c.status == status).map(|c| c.count);
        assert_eq!(count("ticket.pending_due", JobStatus::Queued), Some(3), "{}: {counts:?}", db.name);
        assert_eq!(count("ticket.pending_due", JobStatus::Running), Some(2), "{}: {counts:?}", db.name);
        assert_eq!(count("mail.newer", JobStatus::Running), Some(1), "{}: {counts:?}", db.name);
        let queued = counts.iter().find(|c| c.status == JobStatus::Queued).expect("queued");
        assert!(queued.oldest_due.is_some(), "{}: the oldest due queued job's time is known", db.name);

        let by_kind = JobQuery { kind: Some("mail.newer".into()), ..Default::default() };
        let listed = db.desk.job_list(&Actor::System, by_kind, 100).await.expect("list by kind");
        assert_eq!(listed.len(), 1, "{}", db.name);
        let queued_due = JobQuery { kind: Some("ticket.pending_due".into()), status: Some(JobStatus::Queued) };
        assert_eq!(db.desk.job_list(&Actor::System, queued_due, 100).await.expect("list").len(), 3, "{}", db.name);
        db
    })
    .await;
}
