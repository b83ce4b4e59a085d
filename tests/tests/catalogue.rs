//! Catalogue configuration users set up first: the defaults of a fresh
//! database and create / read / update / delete of every catalogue resource.

use switchboard_e2e::{backend_tests, json, Backend, Server, Value};

backend_tests!(fresh_database_defaults, crud_every_resource);

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

fn names(items: &[Value], key: &str) -> Vec<String> {
    items.iter().filter_map(|x| x[key].as_str().map(str::to_string)).collect()
}

async fn fresh_database_defaults(backend: Backend) {
    let server = Server::start(backend).await;

    let queues = server.admin_get("/api/v1/queues").await.items();
    let raw = queues.iter().find(|q| q["name"] == "Raw").expect("default queue Raw");
    assert_eq!(raw["id"], 1, "Raw must be queue 1");
    for q in ["Junk", "Misc"] {
        assert!(names(&queues, "name").contains(&q.to_string()), "default queue {q} missing: {queues:?}");
    }

    let states = server.admin_get("/api/v1/states").await.items();
    for (name, state_type) in [
        ("new", "new"),
        ("open", "open"),
        ("pending reminder", "pending_reminder"),
        ("pending auto close+", "pending_auto_close"),
        ("pending auto close-", "pending_auto_close"),
        ("closed successful", "closed_successful"),
        ("closed unsuccessful", "closed_unsuccessful"),
        ("merged", "merged"),
        ("removed", "removed"),
    ] {
        let s = states.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("default state {name:?} missing: {states:?}"));
        assert_eq!(s["state_type"], state_type, "state {name:?}");
    }

    let priorities = server.admin_get("/api/v1/priorities").await.items();
    for (id, name) in [(1, "1 very low"), (2, "2 low"), (3, "3 normal"), (4, "4 high"), (5, "5 very high")] {
        let p = priorities.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("priority {id} missing"));
        assert_eq!(p["name"], name);
    }

    let types = names(&server.admin_get("/api/v1/types").await.items(), "name");
    for t in ["Unclassified", "Incident", "Problem", "Service Request"] {
        assert!(types.contains(&t.to_string()), "default type {t} missing: {types:?}");
    }

    let agents = server.admin_get("/api/v1/agents").await.items();
    let admin = agents.iter().find(|a| a["login"] == "admin").expect("default agent admin");
    assert_eq!(admin["role"], "admin");

    // A minimal ticket gets the documented defaults.
    let t = server
        .admin_post("/api/v1/tickets", &json!({"title": "Minimal", "queue": "Raw", "article": {"body": "only a body"}}))
        .await
        .expect(201);
    assert_eq!(t["priority"], 3);
    assert_eq!(t["priority_name"], "3 normal");
    assert_eq!(t["state"], "new");
    assert_eq!(t["type"], "Unclassified");
    assert_eq!(t["article"]["body"], "only a body");
}

struct Resource {
    path: &'static str,
    create: Value,
    patch: Value,
    key: &'static str,
}

async fn crud_every_resource(backend: Backend) {
    let server = Server::start(backend).await;
    let resources = vec![
        Resource {
            path: "/api/v1/queues",
            create: json!({"name": "Second level", "comment": "2nd"}),
            patch: json!({"comment": "changed"}),
            key: "name",
        },
        Resource {
            path: "/api/v1/states",
            create: json!({"name": "waiting for parts", "state_type": "pending_reminder", "comment": "x"}),
            patch: json!({"comment": "changed"}),
            key: "name",
        },
        Resource {
            path: "/api/v1/priorities",
            create: json!({"name": "6 apocalyptic"}),
            patch: json!({"comment": "changed"}),
            key: "name",
        },
        Resource { path: "/api/v1/types", create: json!({"name": "Change Request"}), patch: json!({"comment": "changed"}), key: "name" },
        Resource {
            path: "/api/v1/agents",
            create: json!({"login": "alice", "first_name": "Alice", "last_name": "Agent", "email": "alice@example.com", "role": "agent",
                           "permissions": [{"queue": "Raw", "permission": "rw"}, {"queue": "Misc", "permission": "ro"}]}),
            patch: json!({"first_name": "Alicia"}),
            key: "login",
        },
        Resource {
            path: "/api/v1/customer-companies",
            create: json!({"customer_id": "ACME", "name": "Acme Corp", "street": "1 Road", "city": "Springfield", "country": "US",
                           "url": "https://acme.example", "comment": "big customer"}),
            patch: json!({"city": "Shelbyville"}),
            key: "customer_id",
        },
        Resource {
            path: "/api/v1/customer-users",
            create: json!({"login": "bob@example.com", "email": "bob@example.com", "first_name": "Bob", "last_name": "Customer",
                           "phone": "+1 555 0100", "customer_company": "ACME"}),
            patch: json!({"phone": "+1 555 0199"}),
            key: "login",
        },
        Resource {
            path: "/api/v1/dynamic-fields",
            create: json!({"name": "Severity", "label": "Severity", "object_type": "ticket", "field_type": "dropdown",
                           "config": {"possible_values": ["low", "high"]}}),
            patch: json!({"label": "Impact"}),
            key: "name",
        },
    ];
    let mut created_ids = Vec::new();
    for r in &resources {
        let created = server.admin_post(r.path, &r.create).await.expect(201);
        let id = id_of(&created);
        for (k, v) in r.create.as_object().expect("object") {
            if k == "permissions" || k == "config" {
                continue;
            }
            assert_eq!(&created[k], v, "{}: created {k} differs: {created}", r.path);
        }
        assert_eq!(created["valid"], true, "{}: valid defaults to true", r.path);
        for k in ["created_at", "changed_at"] {
            assert!(created[k].is_string(), "{}: {k} missing: {created}", r.path);
        }
        let got = server.admin_get(&format!("{}/{id}", r.path)).await.expect(200);
        assert_eq!(got[r.key], created[r.key]);
        let listed = server.admin_get(r.path).await.items();
        assert!(listed.iter().any(|x| id_of(x) == id), "{}: new object not listed", r.path);

        let patched = server.admin_patch(&format!("{}/{id}", r.path), &r.patch).await.expect(200);
        for (k, v) in r.patch.as_object().expect("object") {
            assert_eq!(&patched[k], v, "{}: PATCH {k}", r.path);
        }
        assert_eq!(patched[r.key], created[r.key], "{}: PATCH changed an untouched field", r.path);
        let again = server.admin_get(&format!("{}/{id}", r.path)).await.expect(200);
        for (k, v) in r.patch.as_object().expect("object") {
            assert_eq!(&again[k], v, "{}: PATCH {k} not persisted", r.path);
        }
        let invalid = server.admin_patch(&format!("{}/{id}", r.path), &json!({"valid": false})).await.expect(200);
        assert_eq!(invalid["valid"], false, "{}: valid=false", r.path);
        created_ids.push(id);
    }

    // Agent permissions round-trip.
    let alice = server.admin_get(&format!("/api/v1/agents/{}", created_ids[4])).await.expect(200);
    let perms = alice["permissions"].as_array().cloned().unwrap_or_default();
    for (q, p) in [("Raw", "rw"), ("Misc", "ro")] {
        assert!(perms.iter().any(|x| x["queue"] == q && x["permission"] == p), "agent permissions must include {q}:{p}: {alice}");
    }
    // Dynamic field config round-trips.
    let field = server.admin_get(&format!("/api/v1/dynamic-fields/{}", created_ids[7])).await.expect(200);
    assert_eq!(field["config"]["possible_values"], json!(["low", "high"]), "dynamic field config: {field}");

    // Delete in reverse dependency order (users before their company).
    for (r, id) in resources.iter().zip(&created_ids).rev() {
        let d = server.admin_delete(&format!("{}/{id}", r.path)).await;
        assert_eq!(d.status, 204, "DELETE {}/{id}: {}", r.path, d.text());
        assert!(d.bytes.is_empty(), "204 must have no body");
        server.admin_get(&format!("{}/{id}", r.path)).await.expect_problem(&[404]);
        let listed = server.admin_get(r.path).await.items();
        assert!(!listed.iter().any(|x| id_of(x) == *id), "{}: deleted object still listed", r.path);
    }

    // A name freed by a delete can be used again.
    server.admin_post("/api/v1/queues", &json!({"name": "Second level"})).await.expect(201);
}
