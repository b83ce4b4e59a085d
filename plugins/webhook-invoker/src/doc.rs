//! Building the request document and mapping the answer: pure functions,
//! tested natively.

use serde_json::{json, Map, Value};
use switchboard_sdk::invoker::InvokeRequest;
use switchboard_sdk::types::Ticket;

/// One mapping entry: the dotted path in the answer and the data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    /// Path segments (`result.items.0.id` → `["result", "items", "0", "id"]`).
    pub path: Vec<String>,
    /// The data key to write the value to.
    pub key: String,
}

/// Parses `id=>ExternalId,result.status=>ExternalStatus` (blank entries skipped).
pub fn parse_mapping(text: &str) -> Result<Vec<MapEntry>, String> {
    let mut out = Vec::new();
    for raw in text.split([',', ';']) {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (path, key) = raw.split_once("=>").ok_or_else(|| format!("mapping entry {raw:?} has no `=>`"))?;
        let path: Vec<String> = path.trim().split('.').map(|s| s.trim().to_owned()).collect();
        let key = key.trim();
        if key.is_empty() || path.iter().any(String::is_empty) {
            return Err(format!("mapping entry {raw:?} needs `path=>Key`"));
        }
        out.push(MapEntry { path, key: key.to_owned() });
    }
    Ok(out)
}

/// Follows a dotted path through objects (by key) and arrays (by index).
pub fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// A JSON value as a data string: strings as they are, `null` as "",
/// numbers and booleans as written, objects and arrays as compact JSON.
pub fn to_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The data pairs for the entries whose path exists in `answer`.
pub fn apply_mapping(mapping: &[MapEntry], answer: &Value) -> Vec<(String, String)> {
    mapping.iter().filter_map(|m| lookup(answer, &m.path).map(|v| (m.key.clone(), to_text(v)))).collect()
}

/// The document POSTed to the webhook.
pub fn request_document(request: &InvokeRequest, sent_at: &str) -> Value {
    let params: Map<String, Value> = request.params.iter().map(|p| (p.key.clone(), Value::String(p.value.clone()))).collect();
    json!({
        "operation": request.operation,
        "params": params,
        "ticket": request.ticket.as_ref().map(ticket_json),
        "sent_at": sent_at,
    })
}

fn ticket_json(t: &Ticket) -> Value {
    let fields: Map<String, Value> = t.dynamic_fields.iter().map(|f| (f.name.clone(), json!(f.values))).collect();
    json!({
        "id": t.id,
        "number": t.number,
        "title": t.title,
        "queue": t.queue,
        "state": t.state,
        "state_type": t.state_type,
        "priority": t.priority,
        "priority_name": t.priority_name,
        "type": t.ticket_type,
        "owner": t.owner,
        "responsible": t.responsible,
        "customer_user": t.customer_user,
        "customer_company": t.customer_company,
        "pending_until": t.pending_until,
        "dynamic_fields": fields,
        "created_at": t.created_at,
        "changed_at": t.changed_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::types::{DynamicField, Param};

    #[test]
    fn parses_mappings() {
        let m = parse_mapping(" id=>ExternalId , result.items.0.status=>ExternalStatus,").unwrap();
        assert_eq!(m[0], MapEntry { path: vec!["id".into()], key: "ExternalId".into() });
        assert_eq!(m[1].path, ["result", "items", "0", "status"]);
        assert!(parse_mapping("").unwrap().is_empty());
        assert!(parse_mapping("id").is_err());
        assert!(parse_mapping("a..b=>K").is_err());
        assert!(parse_mapping("a=> ").is_err());
    }

    #[test]
    fn maps_answers() {
        let answer = json!({"id": 42, "status": "open", "ok": true, "none": null,
            "result": {"items": [{"status": "done"}], "tags": ["a", "b"]}});
        let m = parse_mapping(
            "id=>ExternalId,status=>S,ok=>Ok,none=>N,result.items.0.status=>First,result.tags=>Tags,missing=>M,result.items.9.status=>X",
        )
        .unwrap();
        let data = apply_mapping(&m, &answer);
        let expect = [("ExternalId", "42"), ("S", "open"), ("Ok", "true"), ("N", ""), ("First", "done"), ("Tags", "[\"a\",\"b\"]")];
        assert_eq!(data, expect.map(|(k, v)| (k.to_owned(), v.to_owned())));
    }

    #[test]
    fn builds_the_request_document() {
        let ticket = Ticket {
            id: 7,
            number: "2026010110000007".into(),
            title: "Printer".into(),
            owner: Some("alice".into()),
            dynamic_fields: vec![DynamicField::multi("Tags", ["a", "b"])],
            ..Ticket::default()
        };
        let req = InvokeRequest { operation: "create".into(), params: vec![Param::new("x", "1")], ticket: Some(ticket) };
        let doc = request_document(&req, "2026-01-01T00:00:00Z");
        assert_eq!(doc["operation"], "create");
        assert_eq!(doc["params"]["x"], "1");
        assert_eq!(doc["ticket"]["id"], 7);
        assert_eq!(doc["ticket"]["owner"], "alice");
        assert_eq!(doc["ticket"]["responsible"], Value::Null);
        assert_eq!(doc["ticket"]["dynamic_fields"]["Tags"], json!(["a", "b"]));
        let req = InvokeRequest { operation: "ping".into(), params: vec![], ticket: None };
        assert_eq!(request_document(&req, "t")["ticket"], Value::Null);
    }
}
