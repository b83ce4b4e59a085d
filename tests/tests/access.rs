//! Who may set and see what, end to end: a customer's create limited to what
//! the admin allows (`--customer-queues`, `--customer-fields`), the customer's
//! view of a ticket, the last valid admin that cannot be removed, and
//! `switchboard agent promote` as the way back in.

#[path = "access/admins.rs"]
mod admins;
#[path = "access/customers.rs"]
mod customers;

use switchboard_e2e::backend_tests;

use admins::{last_admin_stays, promote_restores_admin_tokens};
use customers::{customer_create_policy, customer_view, widened_customer_policy};

backend_tests!(customer_create_policy, widened_customer_policy, customer_view, last_admin_stays, promote_restores_admin_tokens);
