//! Ticket behaviour users rely on: the README flow (create, read, update with
//! history, articles with attachments in JSON and multipart), search filters
//! and cursor pagination, links and merge, idempotent and concurrent creates,
//! a create failing inside its transaction, typed dynamic field values, and
//! the pending-state background jobs.

#[path = "tickets/atomic.rs"]
mod atomic;
#[path = "tickets/creates.rs"]
mod creates;
#[path = "tickets/fields.rs"]
mod fields;
#[path = "tickets/links.rs"]
mod links;
#[path = "tickets/pending.rs"]
mod pending;
#[path = "tickets/readme.rs"]
mod readme;
#[path = "tickets/search.rs"]
mod search;
#[path = "tickets/support.rs"]
mod support;
#[path = "tickets/uploads.rs"]
mod uploads;

use switchboard_e2e::backend_tests;

use atomic::failure_inside_the_write_leaves_nothing;
use creates::idempotency_and_concurrency;
use fields::dynamic_field_types;
use links::links_and_merge;
use pending::{jobs_wake_without_the_poll, pending_jobs};
use readme::{readme_flow, readme_walkthrough};
use search::{cursor_pagination, search_filters};
use uploads::attachments;

backend_tests!(
    readme_walkthrough,
    readme_flow,
    attachments,
    search_filters,
    cursor_pagination,
    links_and_merge,
    idempotency_and_concurrency,
    failure_inside_the_write_leaves_nothing,
    dynamic_field_types,
    pending_jobs,
    jobs_wake_without_the_poll
);
