//! [`Actors`]: agents, customers and an integration token for every role, created on a running server.

use serde_json::json;

use crate::server::Server;

/// Tokens and users for every role, created on a running server: agents with
/// rw / ro / no permission on `Raw`, a customer user and an integration token.
#[derive(Clone, Debug)]
pub struct Actors {
    /// Admin token printed at first start.
    pub admin: String,
    /// Agent `agent_rw` with rw on Raw.
    pub agent_rw: String,
    /// Agent `agent_ro` with ro on Raw.
    pub agent_ro: String,
    /// Agent `agent_none` without any queue permission.
    pub agent_none: String,
    /// Customer user (login [`Actors::CUSTOMER_LOGIN`]).
    pub customer: String,
    /// Integration token.
    pub integration: String,
}

impl Actors {
    /// Login of the customer user the customer token belongs to.
    pub const CUSTOMER_LOGIN: &'static str = "cust1@example.com";
    /// Login of a second customer user (no token) owning other tickets.
    pub const OTHER_CUSTOMER_LOGIN: &'static str = "cust2@example.com";

    /// Creates the users over the API (as admin) and their tokens via the CLI.
    pub async fn create(server: &Server) -> Actors {
        for (login, perms) in [
            ("agent_rw", json!([{"queue": "Raw", "permission": "rw"}])),
            ("agent_ro", json!([{"queue": "Raw", "permission": "ro"}])),
            ("agent_none", json!([])),
        ] {
            server
                .admin_post(
                    "/api/v1/agents",
                    &json!({"login": login, "first_name": login, "last_name": "Test",
                            "email": format!("{login}@example.com"), "role": "agent",
                            "permissions": perms}),
                )
                .await
                .expect(201);
        }
        for login in [Actors::CUSTOMER_LOGIN, Actors::OTHER_CUSTOMER_LOGIN] {
            server
                .admin_post("/api/v1/customer-users", &json!({"login": login, "email": login, "first_name": "Cust", "last_name": "Omer"}))
                .await
                .expect(201);
        }
        Actors {
            admin: server.admin_token(),
            agent_rw: server.create_token("t_agent_rw", "agent", Some("agent_rw")),
            agent_ro: server.create_token("t_agent_ro", "agent", Some("agent_ro")),
            agent_none: server.create_token("t_agent_none", "agent", Some("agent_none")),
            customer: server.create_token("t_customer", "customer", Some(Actors::CUSTOMER_LOGIN)),
            integration: server.create_token("t_integration", "integration", None),
        }
    }
}
