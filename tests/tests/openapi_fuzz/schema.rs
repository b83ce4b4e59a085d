//! A validator for the subset of JSON Schema (2020-12, as OpenAPI 3.1 uses
//! it) that the served document uses: `$ref`, `type` (one or a list),
//! `enum`, `properties`/`required`/`additionalProperties`, `items` with
//! `minItems`/`maxItems`, `minLength`/`maxLength`/`pattern`,
//! `minimum`/`maximum`, the `format`s `date-time`, `email` and the integer
//! widths, and `oneOf`/`anyOf`/`allOf`. A keyword it does not know fails the
//! check, so the document cannot outgrow the test unnoticed.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use switchboard_e2e::Value;

/// Keywords that say nothing a value must obey (annotations).
const ANNOTATIONS: [&str; 8] =
    ["description", "title", "examples", "example", "default", "deprecated", "contentMediaType", "contentEncoding"];

/// How strictly objects are read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// A request: JSON Schema as written (undeclared properties are allowed
    /// unless `additionalProperties` says otherwise).
    Request,
    /// A response: every property the server sends must be declared, so the
    /// document cannot say less than the server answers.
    Response,
}

/// The served OpenAPI document, for resolving `$ref`s.
pub(crate) struct Doc {
    /// The whole document.
    pub(crate) root: Value,
    /// Compiled `pattern`s.
    patterns: Mutex<HashMap<String, regex::Regex>>,
}

impl Doc {
    /// Wraps the document.
    pub(crate) fn new(root: Value) -> Doc {
        Doc { root, patterns: Mutex::new(HashMap::new()) }
    }

    /// Follows `$ref`s (`#/components/...`) until a schema without one.
    pub(crate) fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..16 {
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else { return schema };
            let pointer = target.strip_prefix('#').unwrap_or(target);
            match self.root.pointer(pointer) {
                Some(next) => schema = next,
                None => return &Value::Null,
            }
        }
        schema
    }

    /// Whether `s` matches the ECMA-262 `pattern` (unanchored, as JSON Schema says).
    pub(crate) fn pattern_matches(&self, pattern: &str, s: &str) -> Result<bool, String> {
        let mut cache = self.patterns.lock().map_err(|_| "pattern cache poisoned".to_string())?;
        if !cache.contains_key(pattern) {
            let re = regex::Regex::new(pattern).map_err(|e| format!("pattern {pattern:?} does not compile: {e}"))?;
            cache.insert(pattern.to_string(), re);
        }
        Ok(cache[pattern].is_match(s))
    }

    /// Checks `value` against `schema`; the error names the path and the rule.
    pub(crate) fn validate(&self, schema: &Value, value: &Value, path: &str, mode: Mode) -> Result<(), String> {
        self.check(schema, value, path, mode, true)
    }

    /// The properties an object of `schema` may have, across `allOf`/`oneOf`/
    /// `anyOf` branches; `None` when it may have any.
    fn declared(&self, schema: &Value) -> Option<HashSet<String>> {
        let schema = self.resolve(schema);
        match schema.get("additionalProperties") {
            None | Some(Value::Bool(false)) => {}
            Some(_) => return None,
        }
        let mut names: HashSet<String> =
            schema.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default();
        let mut any_declared = schema.get("properties").is_some();
        for key in ["allOf", "oneOf", "anyOf"] {
            for branch in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
                let branch = self.resolve(branch);
                if branch.get("type") == Some(&Value::from("null")) {
                    continue;
                }
                names.extend(self.declared(branch)?);
                any_declared = true;
            }
        }
        any_declared.then_some(names)
    }

    /// `validate`, where `here` says whether to check this level's
    /// undeclared properties (not again inside a combinator's branches).
    fn check(&self, schema: &Value, value: &Value, path: &str, mode: Mode, here: bool) -> Result<(), String> {
        let schema = self.resolve(schema);
        if let (Mode::Response, true, Some(map)) = (mode, here, value.as_object()) {
            if let Some(declared) = self.declared(schema) {
                if let Some(extra) = map.keys().find(|k| !declared.contains(*k)) {
                    let at = if path.is_empty() { extra.clone() } else { format!("{path}.{extra}") };
                    return Err(format!("{at}: the server sent a property the document does not declare"));
                }
            }
        }
        let Some(obj) = schema.as_object() else {
            return match schema {
                Value::Bool(true) => Ok(()),
                Value::Bool(false) => Err(format!("{path}: no value is allowed here")),
                _ => Err(format!("{path}: unresolvable schema {schema}")),
            };
        };
        for (key, rule) in obj {
            match key.as_str() {
                "type" => check_type(rule, value, path)?,
                "enum" => {
                    if !rule.as_array().is_some_and(|values| values.contains(value)) {
                        return Err(format!("{path}: {value} is not one of {rule}"));
                    }
                }
                "const" if rule != value => return Err(format!("{path}: {value} is not {rule}")),
                "const" => {}
                "properties" | "required" | "additionalProperties" => self.check_object(obj, value, path, mode)?,
                "items" => {
                    if let Some(items) = value.as_array() {
                        for (i, item) in items.iter().enumerate() {
                            self.validate(rule, item, &format!("{path}[{i}]"), mode)?;
                        }
                    }
                }
                "minItems" | "maxItems" => {
                    if let (Some(items), Some(n)) = (value.as_array(), rule.as_u64()) {
                        let ok = if key == "minItems" { items.len() as u64 >= n } else { items.len() as u64 <= n };
                        if !ok {
                            return Err(format!("{path}: {} items break {key} {n}", items.len()));
                        }
                    }
                }
                "minLength" | "maxLength" => {
                    if let (Some(s), Some(n)) = (value.as_str(), rule.as_u64()) {
                        let len = s.chars().count() as u64;
                        let ok = if key == "minLength" { len >= n } else { len <= n };
                        if !ok {
                            return Err(format!("{path}: a string of {len} characters breaks {key} {n}"));
                        }
                    }
                }
                "pattern" => {
                    if let (Some(s), Some(p)) = (value.as_str(), rule.as_str()) {
                        if !self.pattern_matches(p, s)? {
                            return Err(format!("{path}: {value} does not match the pattern {p:?}"));
                        }
                    }
                }
                "minimum" | "maximum" => {
                    if let (Some(v), Some(bound)) = (value.as_f64(), rule.as_f64()) {
                        let ok = if key == "minimum" { v >= bound } else { v <= bound };
                        if !ok {
                            return Err(format!("{path}: {value} breaks {key} {rule}"));
                        }
                    }
                }
                "format" => check_format(rule.as_str().unwrap_or(""), value, path)?,
                "propertyNames" => {
                    for key in value.as_object().into_iter().flat_map(|m| m.keys()) {
                        self.check(rule, &Value::String(key.clone()), &format!("{path} (key {key:?})"), mode, true)?;
                    }
                }
                "oneOf" => {
                    let branches = rule.as_array().cloned().unwrap_or_default();
                    let passing = branches.iter().filter(|b| self.check(b, value, path, mode, false).is_ok()).count();
                    if passing != 1 {
                        return Err(format!("{path}: {value} matches {passing} of the oneOf branches, not exactly one"));
                    }
                }
                "anyOf" => {
                    let branches = rule.as_array().cloned().unwrap_or_default();
                    if !branches.iter().any(|b| self.check(b, value, path, mode, false).is_ok()) {
                        return Err(format!("{path}: {value} matches none of the anyOf branches"));
                    }
                }
                "allOf" => {
                    for branch in rule.as_array().into_iter().flatten() {
                        self.check(branch, value, path, mode, false)?;
                    }
                }
                k if ANNOTATIONS.contains(&k) => {}
                other => return Err(format!("{path}: the test's validator does not know the keyword {other:?} (extend it)")),
            }
        }
        Ok(())
    }

    fn check_object(&self, schema: &serde_json::Map<String, Value>, value: &Value, path: &str, mode: Mode) -> Result<(), String> {
        let Some(map) = value.as_object() else { return Ok(()) };
        let at = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = name.as_str().unwrap_or("");
            if !map.contains_key(name) {
                return Err(format!("{}: required but missing", at(name)));
            }
        }
        for (k, v) in map {
            match properties.and_then(|p| p.get(k)) {
                Some(prop) => self.validate(prop, v, &at(k), mode)?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => return Err(format!("{}: not a declared property", at(k))),
                    Some(Value::Bool(true)) => {}
                    Some(extra) => self.validate(extra, v, &at(k), mode)?,
                    None => {}
                },
            }
        }
        Ok(())
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

fn check_type(rule: &Value, value: &Value, path: &str) -> Result<(), String> {
    let ok = match rule {
        Value::String(t) => type_matches(t, value),
        Value::Array(ts) => ts.iter().any(|t| t.as_str().is_some_and(|t| type_matches(t, value))),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{path}: {} is not of type {rule}", short(value)))
    }
}

fn check_format(format: &str, value: &Value, path: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{path}: {} is not {why}", short(value)));
    match (format, value) {
        ("date-time", Value::String(s)) => {
            if chrono::DateTime::parse_from_rfc3339(s).is_err() {
                return bad("an RFC 3339 date-time");
            }
        }
        ("email", Value::String(s)) => {
            if !s.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !s.contains(char::is_whitespace)) {
                return bad("a mail address");
            }
        }
        ("int32", Value::Number(n)) if n.as_i64().is_none_or(|v| i32::try_from(v).is_err()) => return bad("an int32"),
        ("int64", Value::Number(n)) if n.as_i64().is_none() => return bad("an int64"),
        ("uint32", Value::Number(n)) if n.as_u64().is_none_or(|v| u32::try_from(v).is_err()) => return bad("a uint32"),
        ("uint64" | "uint", Value::Number(n)) if n.as_u64().is_none() => return bad("an unsigned integer"),
        ("int32" | "int64" | "uint32" | "uint64" | "uint" | "date-time" | "email" | "binary" | "byte", _) => {}
        (other, _) => return Err(format!("{path}: the test's validator does not know the format {other:?} (extend it)")),
    }
    Ok(())
}

/// A value for a message, cut short.
pub(crate) fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}… ({} bytes)", text.chars().take(120).collect::<String>(), text.len())
    } else {
        text
    }
}
