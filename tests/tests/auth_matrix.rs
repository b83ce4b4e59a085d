//! Authorisation matrix: every route of the v1 contract against every kind of
//! caller (no token, bad token, admin, agents with rw / ro / no permission on
//! `Raw`, customer, integration); a refused write must leave what it aimed at
//! unchanged. Plugin runs with the caller's rights are in `plugins`, the
//! visibility rules agents and customers depend on in `visibility`.

#[path = "auth_matrix/plugins.rs"]
mod plugins;
#[path = "auth_matrix/visibility.rs"]
mod visibility;

use reqwest::Method;
use switchboard_e2e::{backend_tests, base64, json, Actors, Backend, Resp, Server, Value};

use plugins::{plugin_cases, plugin_rights, PluginFixture};
use visibility::visibility_rules;

backend_tests!(route_matrix, visibility_rules, plugin_rights);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    NoToken,
    BadToken,
    Admin,
    AgentRw,
    AgentRo,
    AgentNone,
    Customer,
    Integration,
}

const ROLES: [Role; 8] =
    [Role::NoToken, Role::BadToken, Role::Admin, Role::AgentRw, Role::AgentRo, Role::AgentNone, Role::Customer, Role::Integration];

/// What a route needs.
#[derive(Clone, Copy, Debug)]
enum Access {
    /// No authentication at all (openapi.json, probes).
    Public,
    /// Catalogue read: admin and agents.
    CatalogueRead,
    /// Catalogue write: admin only; the admin gets the given code.
    CatalogueWrite(u16),
    /// Admin-only route (jobs, tokens, plugin management); the admin gets the given code.
    AdminOnly(u16),
    /// POST /tickets into Raw: admin, agent with rw, customer (own ticket).
    TicketCreate,
    /// GET /tickets: everybody with a user role (filtered).
    TicketList,
    /// Reading the Raw ticket owned by the customer: admin, agents with ro/rw,
    /// the customer.
    TicketRead,
    /// Agent-only writes (PATCH, links, merge): admin and agent rw.
    TicketWrite(u16),
    /// Adding an article: admin, agent rw, the customer on its own ticket.
    ArticleWrite(u16),
    /// Agent-only reads (links, history): admin, agents with ro/rw.
    AgentRead,
    /// A plugin run on the Raw ticket whose changes stay in Raw: admin and
    /// agent rw get the code; everybody else is refused.
    PluginRun(u16),
    /// A plugin run only an admin may make (it moves the ticket to a queue
    /// agent rw cannot write, or overrides configuration): agents are refused.
    PluginRunAdmin,
    /// An admin-only upload the matrix does not complete (multipart): the
    /// admin gets past authorisation, everybody else is refused.
    AdminUpload,
}

#[derive(Clone, Copy, Debug)]
enum Expect {
    Code(u16),
    /// 403, or 404 when the server hides what the caller may not see.
    Hidden,
    /// Anything but a server error.
    Any,
    /// Past authorisation: not 401, 403 or a server error.
    Authorised,
}

fn expected(access: Access, role: Role) -> Expect {
    use Access::*;
    use Expect::*;
    match role {
        Role::NoToken => match access {
            Public => Code(200),
            _ => Code(401),
        },
        Role::BadToken => match access {
            Public => Any,
            _ => Code(401),
        },
        Role::Integration => match access {
            Public => Code(200),
            _ => Code(403),
        },
        Role::Admin => match access {
            Public | CatalogueRead | TicketList | TicketRead | AgentRead | PluginRunAdmin => Code(200),
            CatalogueWrite(c) | AdminOnly(c) | TicketWrite(c) | ArticleWrite(c) | PluginRun(c) => Code(c),
            TicketCreate => Code(201),
            AdminUpload => Authorised,
        },
        Role::AgentRw => match access {
            Public | CatalogueRead | TicketList | TicketRead | AgentRead => Code(200),
            CatalogueWrite(_) | AdminOnly(_) | AdminUpload | PluginRunAdmin => Code(403),
            TicketWrite(c) | ArticleWrite(c) | PluginRun(c) => Code(c),
            TicketCreate => Code(201),
        },
        Role::AgentRo => match access {
            Public | CatalogueRead | TicketList | TicketRead | AgentRead => Code(200),
            CatalogueWrite(_) | AdminOnly(_) | AdminUpload | TicketWrite(_) | ArticleWrite(_) | TicketCreate | PluginRun(_)
            | PluginRunAdmin => Code(403),
        },
        Role::AgentNone => match access {
            Public | CatalogueRead | TicketList => Code(200),
            CatalogueWrite(_) | AdminOnly(_) | AdminUpload | TicketCreate => Code(403),
            TicketRead | TicketWrite(_) | ArticleWrite(_) | AgentRead | PluginRun(_) | PluginRunAdmin => Hidden,
        },
        Role::Customer => match access {
            Public | TicketList | TicketRead => Code(200),
            CatalogueRead | CatalogueWrite(_) | AdminOnly(_) | AdminUpload | TicketWrite(_) | AgentRead | PluginRun(_) | PluginRunAdmin => {
                Code(403)
            }
            TicketCreate => Code(201),
            ArticleWrite(c) => Code(c),
        },
    }
}

fn matches(expect: Expect, status: u16) -> bool {
    match expect {
        Expect::Code(c) => status == c,
        Expect::Hidden => status == 403 || status == 404,
        Expect::Any => status < 500,
        Expect::Authorised => status < 500 && status != 401 && status != 403,
    }
}

pub(crate) struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    access: Access,
    /// What the write aims at, read by the admin before and after: a refused
    /// write must leave every one of them exactly as it was.
    probes: Vec<String>,
}

pub(crate) fn case(method: Method, path: impl Into<String>, body: Option<Value>, access: Access) -> Case {
    Case { method, path: path.into(), body, access, probes: Vec::new() }
}

impl Case {
    /// Adds a resource a refused write must not change.
    pub(crate) fn probe(mut self, path: impl Into<String>) -> Case {
        self.probes.push(path.into());
        self
    }
}

/// The admin's view of each probe, as text.
async fn snapshot(server: &Server, probes: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for path in probes {
        let r = server.admin_get(path).await;
        seen.push(format!("{} {}", r.status, r.text()));
    }
    seen
}

/// A catalogue resource: path, creation body and patch body.
struct Catalogue {
    path: &'static str,
    create: fn(&str) -> Value,
    patch: Value,
}

fn catalogues() -> Vec<Catalogue> {
    vec![
        Catalogue { path: "/api/v1/queues", create: |s| json!({"name": format!("Queue {s}")}), patch: json!({"comment": "patched"}) },
        Catalogue {
            path: "/api/v1/states",
            create: |s| json!({"name": format!("state {s}"), "state_type": "open"}),
            patch: json!({"comment": "patched"}),
        },
        Catalogue { path: "/api/v1/priorities", create: |s| json!({"name": format!("prio {s}")}), patch: json!({"comment": "patched"}) },
        Catalogue { path: "/api/v1/types", create: |s| json!({"name": format!("Type {s}")}), patch: json!({"comment": "patched"}) },
        Catalogue {
            path: "/api/v1/agents",
            create: |s| json!({"login": format!("agent{s}"), "role": "agent"}),
            patch: json!({"first_name": "Patched"}),
        },
        Catalogue {
            path: "/api/v1/customer-companies",
            create: |s| json!({"customer_id": format!("CC{s}"), "name": format!("Company {s}")}),
            patch: json!({"comment": "patched"}),
        },
        Catalogue {
            path: "/api/v1/customer-users",
            create: |s| json!({"login": format!("cu{s}@example.com"), "email": format!("cu{s}@example.com")}),
            patch: json!({"first_name": "Patched"}),
        },
        Catalogue {
            path: "/api/v1/dynamic-fields",
            create: |s| json!({"name": format!("Field{s}"), "object_type": "ticket", "field_type": "text"}),
            patch: json!({"label": "Patched"}),
        },
    ]
}

fn token_for(actors: &Actors, role: Role) -> Option<String> {
    match role {
        Role::NoToken => None,
        Role::BadToken => Some(format!("sb_{}", "Zz9".repeat(15))),
        Role::Admin => Some(actors.admin.clone()),
        Role::AgentRw => Some(actors.agent_rw.clone()),
        Role::AgentRo => Some(actors.agent_ro.clone()),
        Role::AgentNone => Some(actors.agent_none.clone()),
        Role::Customer => Some(actors.customer.clone()),
        Role::Integration => Some(actors.integration.clone()),
    }
}

pub(crate) fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

/// A Raw ticket belonging to the customer, with a customer-visible first
/// article carrying one attachment.
pub(crate) async fn customer_ticket(server: &Server, title: &str) -> Value {
    server
        .create_ticket(
            title,
            json!({
                "customer_user": Actors::CUSTOMER_LOGIN,
                "article": {
                    "visible_for_customer": true,
                    "sender_type": "customer",
                    "channel": "email",
                    "attachments": [{"filename": "a.txt", "content_type": "text/plain",
                                     "content_base64": base64(b"hello")}]
                }
            }),
        )
        .await
}

async fn route_matrix(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let actors = Actors::create(&server).await;

    // Existing catalogue ids for the read routes.
    let mut read_ids = Vec::new();
    for cat in catalogues() {
        let created = server.admin_post(cat.path, &(cat.create)("read")).await.expect(201);
        read_ids.push(id_of(&created));
    }

    let ticket = customer_ticket(&server, "Matrix ticket").await;
    let tid = id_of(&ticket);
    let number = ticket["number"].as_str().expect("ticket number").to_string();
    let article_id = id_of(&ticket["article"]);
    let attachment_id = id_of(&ticket["article"]["attachments"][0]);

    let fixture = PluginFixture::create(&server).await;

    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0usize;

    for (ri, role) in ROLES.iter().copied().enumerate() {
        let token = token_for(&actors, role);
        let mut cases: Vec<Case> = Vec::new();

        // Catalogue routes; PATCH / DELETE get a fresh object per role so an
        // allowed delete does not change what the next role sees.
        for (ci, cat) in catalogues().iter().enumerate() {
            let suffix = format!("r{ri}c{ci}");
            let fresh_patch = id_of(&server.admin_post(cat.path, &(cat.create)(&format!("{suffix}p"))).await.expect(201));
            let fresh_delete = id_of(&server.admin_post(cat.path, &(cat.create)(&format!("{suffix}d"))).await.expect(201));
            cases.push(case(Method::GET, cat.path, None, Access::CatalogueRead));
            cases
                .push(case(Method::POST, cat.path, Some((cat.create)(&format!("{suffix}n"))), Access::CatalogueWrite(201)).probe(cat.path));
            cases.push(case(Method::GET, format!("{}/{}", cat.path, read_ids[ci]), None, Access::CatalogueRead));
            let (patched, deleted) = (format!("{}/{fresh_patch}", cat.path), format!("{}/{fresh_delete}", cat.path));
            cases.push(case(Method::PATCH, patched.clone(), Some(cat.patch.clone()), Access::CatalogueWrite(200)).probe(patched));
            cases.push(case(Method::DELETE, deleted.clone(), None, Access::CatalogueWrite(204)).probe(deleted));
        }

        // Ticket routes. Fresh tickets for link / merge targets per role.
        let link_target = id_of(&customer_ticket(&server, &format!("link target {ri}")).await);
        let unlink_target = id_of(&customer_ticket(&server, &format!("unlink target {ri}")).await);
        server.admin_post(&format!("/api/v1/tickets/{tid}/links"), &json!({"target": unlink_target, "kind": "related"})).await.expect(201);
        let merge_source = id_of(&customer_ticket(&server, &format!("merge source {ri}")).await);

        let t = format!("/api/v1/tickets/{tid}");
        cases.push(
            case(
                Method::POST,
                "/api/v1/tickets",
                Some(json!({"title": format!("created by role {ri}"), "queue": "Raw",
                        "customer_user": Actors::CUSTOMER_LOGIN,
                        "article": {"subject": "hi", "body": "created in the matrix"}})),
                Access::TicketCreate,
            )
            .probe("/api/v1/tickets?limit=500"),
        );
        cases.push(case(Method::GET, "/api/v1/tickets", None, Access::TicketList));
        cases.push(case(Method::GET, t.clone(), None, Access::TicketRead));
        cases.push(case(Method::GET, format!("/api/v1/tickets/by-number/{number}"), None, Access::TicketRead));
        cases.push(
            case(Method::PATCH, t.clone(), Some(json!({"title": format!("Matrix ticket (role {ri})")})), Access::TicketWrite(200))
                .probe(t.clone())
                .probe(format!("{t}/history")),
        );
        cases.push(
            case(
                Method::POST,
                format!("{t}/articles"),
                Some(json!({"subject": "reply", "body": format!("reply from role {ri}")})),
                Access::ArticleWrite(201),
            )
            .probe(format!("{t}/articles")),
        );
        cases.push(case(Method::GET, format!("{t}/articles"), None, Access::TicketRead));
        cases.push(case(Method::GET, format!("{t}/articles/{article_id}"), None, Access::TicketRead));
        cases.push(case(Method::GET, format!("{t}/articles/{article_id}/attachments/{attachment_id}"), None, Access::TicketRead));
        cases.push(
            case(Method::POST, format!("{t}/links"), Some(json!({"target": link_target, "kind": "related"})), Access::TicketWrite(201))
                .probe(format!("{t}/links")),
        );
        cases.push(case(Method::GET, format!("{t}/links"), None, Access::AgentRead));
        cases.push(
            case(Method::DELETE, format!("{t}/links/{unlink_target}?kind=related"), None, Access::TicketWrite(204))
                .probe(format!("{t}/links")),
        );
        cases.push(
            case(Method::POST, format!("/api/v1/tickets/{merge_source}/merge"), Some(json!({"into": tid})), Access::TicketWrite(200))
                .probe(format!("/api/v1/tickets/{merge_source}"))
                .probe(t.clone()),
        );
        cases.push(case(Method::GET, format!("{t}/history"), None, Access::AgentRead));
        cases.push(case(Method::GET, "/api/v1/jobs", None, Access::AdminOnly(200)));
        // Tokens: a fresh one to revoke per role.
        let revoke = format!("matrix-revoke-{ri}");
        server.admin_post("/api/v1/tokens", &json!({"name": revoke, "role": "integration"})).await.expect(201);
        cases.push(case(Method::GET, "/api/v1/tokens", None, Access::AdminOnly(200)));
        cases.push(
            case(
                Method::POST,
                "/api/v1/tokens",
                Some(json!({"name": format!("matrix-new-{ri}"), "role": "integration"})),
                Access::AdminOnly(201),
            )
            .probe("/api/v1/tokens"),
        );
        cases.push(case(Method::DELETE, format!("/api/v1/tokens/{revoke}"), None, Access::AdminOnly(204)).probe("/api/v1/tokens"));
        cases.extend(plugin_cases(&fixture, role == Role::Admin));
        cases.push(case(Method::GET, "/api/v1/openapi.json", None, Access::Public));
        if role == Role::NoToken {
            for probe in ["/healthz", "/readyz", "/metrics"] {
                cases.push(case(Method::GET, probe, None, Access::Public));
            }
        }

        for c in cases {
            let before = snapshot(&server, &c.probes).await;
            let resp: Resp = server.request(c.method.clone(), &c.path, token.as_deref(), c.body.as_ref()).await;
            checked += 1;
            let want = expected(c.access, role);
            let mut problems = Vec::new();
            if !matches(want, resp.status) {
                problems.push(format!("expected {want:?}, got {}", resp.status));
            }
            if matches!(resp.status, 401 | 403 | 404) {
                let after = snapshot(&server, &c.probes).await;
                for ((path, b), a) in c.probes.iter().zip(&before).zip(&after) {
                    if a != b {
                        problems.push(format!("a refused write changed {path}: before {b}, after {a}"));
                    }
                }
            }
            if matches!(resp.status, 401 | 403) && !resp.content_type.starts_with("application/problem+json") {
                problems.push(format!("{} without application/problem+json (Content-Type {:?})", resp.status, resp.content_type));
            }
            if !problems.is_empty() {
                let body = resp.text();
                let body: String = body.chars().take(200).collect();
                failures.push(format!("{role:?} {} {}: {} — body: {body}", c.method, c.path, problems.join("; ")));
            }
        }
    }

    assert!(failures.is_empty(), "{} of {checked} route×role checks failed:\n{}", failures.len(), failures.join("\n"));
}
