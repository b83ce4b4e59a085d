//! Seeded generation of values from the document's schemas: values a schema
//! allows (drawing names and ids the server knows from [`Pools`], so valid
//! requests get past the lookups), and single mutations that break it (wrong
//! type, null, missing required property, unknown property, too long, out of
//! range, not in the enum, not matching the pattern or format, U+0000).
//! Whether a mutated value really breaks its schema is decided afterwards by
//! the validator, never assumed.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use switchboard_e2e::{json, Value};

use crate::schema::Doc;

/// Names and ids the server knows, by the property or parameter naming them.
#[derive(Default, Debug)]
pub(crate) struct Pools {
    /// Known string values by name (`queue`, `state`, `owner`, `version` …).
    pub(crate) strings: HashMap<String, Vec<String>>,
    /// Known integer values by name (`ticket`, `target`, `into` …).
    pub(crate) ints: HashMap<String, Vec<i64>>,
}

/// The generator of one case.
pub(crate) struct Gen<'a> {
    /// The case's random source.
    pub(crate) rng: StdRng,
    /// The document.
    pub(crate) doc: &'a Doc,
    /// Known values.
    pub(crate) pools: &'a Pools,
}

/// Random text that is sometimes unusual: spaces, non-ASCII, quotes.
const ALPHABET: &[char] =
    &['a', 'b', 'c', 'x', 'y', 'z', 'Q', '0', '7', '_', '-', ' ', 'é', 'ß', '中', '😀', '"', '\'', '.', '%', '&', '/', '+'];

impl Gen<'_> {
    /// A random string of `min..=max` characters.
    pub(crate) fn text(&mut self, min: usize, max: usize) -> String {
        let len = self.rng.gen_range(min..=max.max(min));
        let mut s: String = (0..len).map(|_| *ALPHABET.choose(&mut self.rng).unwrap_or(&'a')).collect();
        if self.rng.gen_bool(0.7) && !s.is_empty() {
            // Mostly unique, mostly plain, so creates succeed.
            s = format!("f{}{}", self.rng.gen_range(0..1_000_000u32), s.chars().filter(char::is_ascii_alphanumeric).collect::<String>());
            s = s.chars().take(max.max(min).max(1)).collect();
        }
        s
    }

    /// A known string for `name`, if the pools have one (half the time).
    fn known_string(&mut self, name: &str) -> Option<String> {
        let pool = self.pools.strings.get(name)?;
        if self.rng.gen_bool(0.8) {
            pool.choose(&mut self.rng).cloned()
        } else {
            None
        }
    }

    /// A value `schema` allows; `name` is the property or parameter it is for.
    pub(crate) fn valid(&mut self, schema: &Value, name: &str, depth: usize) -> Value {
        let schema = self.doc.resolve(schema).clone();
        for _ in 0..12 {
            let candidate = self.candidate(&schema, name, depth);
            if self.doc.validate(&schema, &candidate, "", crate::schema::Mode::Request).is_ok() {
                return candidate;
            }
        }
        self.candidate(&schema, name, depth)
    }

    fn candidate(&mut self, schema: &Value, name: &str, depth: usize) -> Value {
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return values.choose(&mut self.rng).cloned().unwrap_or(Value::Null);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(key).and_then(Value::as_array) {
                let non_null: Vec<&Value> = branches.iter().filter(|b| b.get("type") != Some(&json!("null"))).collect();
                let pick = if non_null.is_empty() || self.rng.gen_bool(0.05) {
                    branches.choose(&mut self.rng)
                } else {
                    non_null.choose(&mut self.rng).copied()
                };
                return pick.map(|b| self.valid(b, name, depth)).unwrap_or(Value::Null);
            }
        }
        if let Some(first) = schema.get("allOf").and_then(Value::as_array).and_then(|b| b.first()) {
            return self.valid(first, name, depth);
        }
        let types: Vec<String> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ if schema.get("properties").is_some() => vec!["object".into()],
            _ => vec!["string".into(), "integer".into(), "boolean".into()],
        };
        let non_null: Vec<&String> = types.iter().filter(|t| *t != "null").collect();
        let ty = if non_null.is_empty() || self.rng.gen_bool(0.05) {
            "null".to_string()
        } else {
            (*non_null.choose(&mut self.rng).unwrap_or(&&types[0])).clone()
        };
        match ty.as_str() {
            "null" => Value::Null,
            "boolean" => Value::Bool(self.rng.gen_bool(0.5)),
            "integer" => Value::from(self.integer(schema, name)),
            "number" => json!(self.rng.gen_range(-1000.0..1000.0)),
            "string" => Value::String(self.string(schema, name)),
            "array" => {
                let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
                let max = schema.get("maxItems").and_then(Value::as_u64).map_or(3, |m| m as usize).min(min + 3);
                let n = if depth > 3 { min } else { self.rng.gen_range(min..=max) };
                let items = schema.get("items").cloned().unwrap_or(json!({}));
                Value::Array((0..n).map(|_| self.valid(&items, name, depth + 1)).collect())
            }
            _ => self.object(schema, depth),
        }
    }

    fn integer(&mut self, schema: &Value, name: &str) -> i64 {
        let min = schema.get("minimum").and_then(Value::as_i64);
        let max = schema.get("maximum").and_then(Value::as_i64);
        if let (None, None, Some(pool)) = (min, max, self.pools.ints.get(name)) {
            if self.rng.gen_bool(0.8) {
                if let Some(v) = pool.choose(&mut self.rng) {
                    return *v;
                }
            }
        }
        let lo = min.unwrap_or(if self.rng.gen_bool(0.1) { -5 } else { 0 });
        let hi = max.unwrap_or(lo.saturating_add(if self.rng.gen_bool(0.05) { 1 << 40 } else { 40 }));
        self.rng.gen_range(lo..=hi.max(lo))
    }

    fn string(&mut self, schema: &Value, name: &str) -> String {
        match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => {
                let secs = self.rng.gen_range(-400_000_000i64..400_000_000);
                return (chrono::Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339();
            }
            Some("email") => return format!("{}@example.com", self.text(1, 12).replace([' ', '@'], "")),
            _ => {}
        }
        if schema.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
            let bytes: Vec<u8> = (0..self.rng.gen_range(0..64)).map(|_| self.rng.gen()).collect();
            return switchboard_e2e::base64(&bytes);
        }
        if let Some(known) = self.known_string(name) {
            return known;
        }
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema.get("maxLength").and_then(Value::as_u64).map_or(24, |m| m as usize).min(min + 24);
        let pattern = schema.get("pattern").and_then(Value::as_str);
        for _ in 0..20 {
            let s = self.text(min, max);
            if pattern.is_none_or(|p| self.doc.pattern_matches(p, &s).unwrap_or(true)) {
                return s;
            }
        }
        "x".repeat(min.max(1))
    }

    fn object(&mut self, schema: &Value, depth: usize) -> Value {
        let mut map = serde_json::Map::new();
        let required: Vec<&str> =
            schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, prop) in props {
                if required.contains(&k.as_str()) || (depth < 3 && self.rng.gen_bool(0.3)) {
                    map.insert(k.clone(), self.valid(prop, k, depth + 1));
                }
            }
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|e| e.is_object()) {
            for _ in 0..self.rng.gen_range(0..3) {
                let key = self.text(1, 10);
                map.insert(key.clone(), self.valid(extra, &key, depth + 1));
            }
        }
        Value::Object(map)
    }

    /// Any JSON value, for a body replaced wholesale.
    pub(crate) fn random_json(&mut self, depth: usize) -> Value {
        match self.rng.gen_range(0..if depth > 1 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.gen()),
            2 => json!(self.rng.gen_range(-1e12..1e12)),
            3 => Value::from(self.rng.gen::<i64>()),
            4 => Value::String(self.text(0, 20)),
            5 => Value::Array((0..self.rng.gen_range(0..4)).map(|_| self.random_json(depth + 1)).collect()),
            _ => {
                let mut map = serde_json::Map::new();
                for _ in 0..self.rng.gen_range(0..4) {
                    map.insert(self.text(1, 8), self.random_json(depth + 1));
                }
                Value::Object(map)
            }
        }
    }

    /// A replacement for a value of `schema` that likely breaks it.
    pub(crate) fn breaking(&mut self, schema: &Value) -> Value {
        let schema = self.doc.resolve(schema).clone();
        let mut options: Vec<Value> =
            vec![Value::Null, json!([1, "two"]), json!({"unexpected": true}), json!(true), json!(12.5), json!("text")];
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            options.push(Value::String("y".repeat(max as usize + 1 + self.rng.gen_range(0..50))));
        }
        if schema.get("minLength").and_then(Value::as_u64).is_some_and(|m| m > 0) {
            options.push(json!(""));
        }
        if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
            options.push(Value::from(min - 1 - self.rng.gen_range(0..1000)));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
            options.push(Value::from(max + 1 + self.rng.gen_range(0..1000)));
        }
        if schema.get("enum").is_some() {
            options.push(json!("not-a-listed-value"));
            options.push(json!("Open"));
        }
        if schema.get("pattern").is_some() {
            options.extend([json!(" "), json!("a/b"), json!("!?*"), json!("   \t")]);
        }
        match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => options.extend([json!("yesterday"), json!("2026-13-01T00:00:00Z"), json!("10000-01-01T00:00:00Z")]),
            Some("email") => options.push(json!("no-at-sign")),
            Some("int64") => options.push(json!(1e20)),
            Some("int32" | "uint32") => options.push(json!(1e11)),
            _ => {}
        }
        if schema.get("type").and_then(Value::as_str) == Some("integer") {
            options.extend([json!("12"), json!(1.5), json!(-1)]);
        }
        if schema.get("type").and_then(Value::as_str) == Some("string") {
            options.push(json!("nul\u{0}inside"));
        }
        options.choose(&mut self.rng).cloned().unwrap_or(Value::Null)
    }

    /// Mutates one place of `value` (of `schema`), returning a description of
    /// what was done.
    pub(crate) fn mutate(&mut self, schema: &Value, value: &mut Value, path: &str) -> String {
        let schema = self.doc.resolve(schema).clone();
        let schema = match schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
            // Descend into the branch the value takes, if it is an object.
            Some(branches) => branches
                .iter()
                .map(|b| self.doc.resolve(b).clone())
                .find(|b| self.doc.validate(b, value, "", crate::schema::Mode::Request).is_ok() && b.get("properties").is_some())
                .unwrap_or(schema),
            None => schema,
        };
        let descend = self.rng.gen_bool(0.6);
        match value {
            Value::Object(map) if descend && !map.is_empty() => {
                let keys: Vec<String> = map.keys().cloned().collect();
                let key = keys.choose(&mut self.rng).cloned().unwrap_or_default();
                let sub = schema.pointer(&format!("/properties/{}", key.replace('~', "~0").replace('/', "~1"))).cloned();
                let sub = sub.or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()).cloned()).unwrap_or(json!({}));
                if let Some(inner) = map.get_mut(&key) {
                    return self.mutate(&sub, inner, &format!("{path}.{key}"));
                }
                String::new()
            }
            Value::Array(items) if descend && !items.is_empty() => {
                let i = self.rng.gen_range(0..items.len());
                let sub = schema.get("items").cloned().unwrap_or(json!({}));
                self.mutate(&sub, &mut items[i], &format!("{path}[{i}]"))
            }
            Value::Object(map) => {
                let required: Vec<String> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                match self.rng.gen_range(0..3) {
                    0 if !required.is_empty() => {
                        let key = required.choose(&mut self.rng).cloned().unwrap_or_default();
                        map.remove(&key);
                        format!("removed required {path}.{key}")
                    }
                    1 => {
                        map.insert("undeclared_property".into(), json!(1));
                        format!("added {path}.undeclared_property")
                    }
                    _ => {
                        *value = self.breaking(&schema);
                        format!("replaced {path} with {}", crate::schema::short(value))
                    }
                }
            }
            _ => {
                *value = self.breaking(&schema);
                format!("replaced {path} with {}", crate::schema::short(value))
            }
        }
    }

    /// A query, path or header value for `schema`, as text.
    pub(crate) fn param_text(&mut self, schema: &Value, name: &str) -> String {
        match self.valid(schema, name, 0) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// Text that likely breaks a parameter of `schema`.
    pub(crate) fn breaking_param_text(&mut self, schema: &Value) -> String {
        let schema = self.doc.resolve(schema).clone();
        let mut options = vec!["".to_string(), "a\u{0}b".to_string(), "not a value".to_string()];
        let is_integer = schema.get("type").and_then(Value::as_str) == Some("integer")
            || schema.get("type").and_then(Value::as_array).is_some_and(|t| t.contains(&json!("integer")));
        if is_integer {
            options.extend(["abc", "1.5", "99999999999999999999999", "-99999999999999999999999", "0x10"].map(String::from));
        }
        if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
            options.push((min - 1).to_string());
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
            options.push((max + 1).to_string());
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            options.push("k".repeat(max as usize + 1));
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time") {
            options.extend(["yesterday", "2026-02-30T00:00:00Z"].map(String::from));
        }
        options.choose(&mut self.rng).cloned().unwrap_or_default()
    }
}

/// Whether `text` is a value `schema` allows for a parameter: integers and
/// booleans are read from their text as a client would write them.
pub(crate) fn param_allows(doc: &Doc, schema: &Value, text: &str) -> bool {
    let schema = doc.resolve(schema);
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let value = if types.contains(&"integer") {
        let plain = !text.is_empty() && text.strip_prefix('-').unwrap_or(text).chars().all(|c| c.is_ascii_digit());
        match text.parse::<i64>() {
            Ok(n) if plain => Value::from(n),
            _ => return false,
        }
    } else if types.contains(&"boolean") {
        match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return false,
        }
    } else {
        Value::String(text.to_string())
    };
    doc.validate(schema, &value, "", crate::schema::Mode::Request).is_ok()
}
