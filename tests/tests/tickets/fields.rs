//! Dynamic field values come back as their type says: numbers as JSON
//! numbers, checkboxes as booleans, date-times in UTC, multiselects as arrays,
//! on create, read, update and in the history.

use switchboard_e2e::{json, Backend, Server, Value};

use crate::support::id_of;

pub(crate) async fn dynamic_field_types(backend: Backend) {
    let server = Server::start(backend).await;
    for f in [
        json!({"name": "Region", "object_type": "ticket", "field_type": "dropdown", "config": {"possible_values": ["north", "south"]}}),
        json!({"name": "Count", "object_type": "ticket", "field_type": "integer", "config": {"min": 0, "max": 100}}),
        json!({"name": "Due", "object_type": "ticket", "field_type": "date"}),
        json!({"name": "Seen", "object_type": "ticket", "field_type": "datetime"}),
        json!({"name": "Flag", "object_type": "ticket", "field_type": "checkbox"}),
        json!({"name": "Tags", "object_type": "ticket", "field_type": "multiselect", "config": {"possible_values": ["a", "b", "c"]}}),
        json!({"name": "Code", "object_type": "ticket", "field_type": "text"}),
        json!({"name": "Mood", "object_type": "article", "field_type": "dropdown", "config": {"possible_values": ["happy", "angry"]}}),
    ] {
        server.admin_post("/api/v1/dynamic-fields", &f).await.expect(201);
    }

    // An integer given as a string, a date-time with an offset and a repeated tag are stored canonically.
    let sent = json!({"Region": "north", "Count": "42", "Due": "2026-11-29", "Seen": "2026-11-29T12:00:00+02:00",
                      "Flag": true, "Tags": ["b", "a", "b"], "Code": "AB12"});
    let stored = json!({"Region": "north", "Count": 42, "Due": "2026-11-29", "Seen": "2026-11-29T10:00:00Z",
                        "Flag": true, "Tags": ["b", "a"], "Code": "AB12"});
    let t = server.create_ticket("Typed fields", json!({"dynamic_fields": sent, "article": {"dynamic_fields": {"Mood": "happy"}}})).await;
    let id = id_of(&t);
    assert_eq!(t["dynamic_fields"], stored, "create must echo the typed values");
    assert_eq!(t["article"]["dynamic_fields"], json!({"Mood": "happy"}), "article field: {t}");
    let read = server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(read["dynamic_fields"], stored, "read must return the typed values");

    // Update: false is a value (not a missing field), null clears, the rest stays.
    let patched = server
        .admin_patch(&format!("/api/v1/tickets/{id}"), &json!({"dynamic_fields": {"Count": 0, "Flag": false, "Code": null}}))
        .await
        .expect(200);
    let mut want = stored.clone();
    want["Count"] = json!(0);
    want["Flag"] = json!(false);
    if let Some(map) = want.as_object_mut() {
        map.remove("Code");
    }
    assert_eq!(patched["dynamic_fields"], want, "update must return the typed values");
    assert_eq!(server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200)["dynamic_fields"], want);

    // The history shows each change as the typed JSON value.
    let history = server.admin_get(&format!("/api/v1/tickets/{id}/history")).await.items();
    let change = |field: &str| -> (Value, Value) {
        let h = history
            .iter()
            .find(|h| h["event"] == "field_changed" && h["field"] == format!("dynamic_fields.{field}"))
            .unwrap_or_else(|| panic!("no history entry for {field}: {history:?}"));
        (h["old_value"].clone(), h["new_value"].clone())
    };
    assert_eq!(change("Count"), (json!("42"), json!("0")));
    assert_eq!(change("Flag"), (json!("true"), json!("false")));
    assert_eq!(change("Code"), (json!("\"AB12\""), Value::Null));

    // Search filters match the stored form.
    for filter in ["Count=0", "Flag=0", "Seen=2026-11-29T10:00:00Z"] {
        let found: Vec<i64> = server.list_all_tickets(&format!("df.{filter}")).await.iter().map(id_of).collect();
        assert_eq!(found, vec![id], "dynamic field filter {filter}");
    }
}
