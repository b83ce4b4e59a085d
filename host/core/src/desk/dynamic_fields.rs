//! Typed dynamic fields: definitions, validation on write, stored values.
//!
//! A value is stored as one row per item (`position` 0.. for multiselect) in
//! canonical text form, so "tickets whose field X is Y" is an indexed lookup.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{get_bool, Arg, Sql};
use crate::desk::error::Problems;
use crate::desk::stored;
use crate::desk::time::{date_in_range, now_micros, time_in_range, TIME_RANGE};
use crate::desk::{Actor, Desk, DeskError};

/// What a field is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    /// Ticket fields.
    Ticket,
    /// Article fields.
    Article,
}

impl ObjectType {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Ticket => "ticket",
            ObjectType::Article => "article",
        }
    }

    /// Parses `ticket` or `article`.
    pub fn parse(s: &str) -> Option<ObjectType> {
        match s {
            "ticket" => Some(ObjectType::Ticket),
            "article" => Some(ObjectType::Article),
            _ => None,
        }
    }
}

/// The type of a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// One of the configured possible values.
    Dropdown,
    /// Any number of the configured possible values.
    Multiselect,
    /// True or false.
    Checkbox,
    /// A whole number, optionally within min..=max.
    Integer,
    /// A calendar date (YYYY-MM-DD).
    Date,
    /// A point in time (RFC 3339).
    Datetime,
}

impl FieldType {
    /// Every field type.
    pub const ALL: [FieldType; 8] = [
        FieldType::Text,
        FieldType::Textarea,
        FieldType::Dropdown,
        FieldType::Multiselect,
        FieldType::Checkbox,
        FieldType::Integer,
        FieldType::Date,
        FieldType::Datetime,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Textarea => "textarea",
            FieldType::Dropdown => "dropdown",
            FieldType::Multiselect => "multiselect",
            FieldType::Checkbox => "checkbox",
            FieldType::Integer => "integer",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Type-specific settings of a field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// Dropdown and multiselect: the allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub possible_values: Vec<String>,
    /// Integer: smallest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Integer: largest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Text and textarea: longest allowed value in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
}

/// A field definition.
#[derive(Debug, Clone)]
pub struct DynamicField {
    /// Row id.
    pub id: i64,
    /// Unique name, the key in `dynamic_fields` maps.
    pub name: String,
    /// Label for people.
    pub label: String,
    /// Ticket or article.
    pub object_type: ObjectType,
    /// Value type.
    pub field_type: FieldType,
    /// Type-specific settings.
    pub config: FieldConfig,
    /// Invalid fields keep their values but accept no new ones.
    pub valid: bool,
    /// Customers see (and, where the admin allows customers to set dynamic
    /// fields, set) only fields with this flag; default false.
    pub customer_visible: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub changed_at: DateTime<Utc>,
}

/// Fields to create a definition.
#[derive(Debug, Clone, Default)]
pub struct DynamicFieldInput {
    /// Unique name (letters, digits, `_`, `-`).
    pub name: String,
    /// Label.
    pub label: Option<String>,
    /// `ticket` or `article`.
    pub object_type: String,
    /// Field type name.
    pub field_type: String,
    /// Settings.
    pub config: Option<FieldConfig>,
    /// Valid flag.
    pub valid: Option<bool>,
    /// Shown to customers (default false).
    pub customer_visible: Option<bool>,
}

/// Fields to change a definition (name, object and type are fixed once values exist).
#[derive(Debug, Clone, Default)]
pub struct DynamicFieldUpdate {
    /// New label.
    pub label: Option<String>,
    /// New settings.
    pub config: Option<FieldConfig>,
    /// New valid flag.
    pub valid: Option<bool>,
    /// New customer-visible flag.
    pub customer_visible: Option<bool>,
}

impl DynamicField {
    /// Checks `value` and returns its canonical stored items (empty: clear).
    pub fn canonical_items(&self, value: &Value) -> Result<Vec<String>, String> {
        if value.is_null() {
            return Ok(Vec::new());
        }
        let cfg = &self.config;
        match self.field_type {
            FieldType::Text | FieldType::Textarea => {
                let s = value.as_str().ok_or("expected a string")?;
                if self.field_type == FieldType::Text && s.contains('\n') {
                    return Err("a text field holds one line; use a textarea field for several".into());
                }
                let max = cfg.max_length.unwrap_or(if self.field_type == FieldType::Text { 3800 } else { 100_000 });
                if s.chars().count() > max {
                    return Err(format!("longer than {max} characters"));
                }
                Ok(if s.is_empty() { Vec::new() } else { vec![s.to_string()] })
            }
            FieldType::Dropdown => {
                let s = value.as_str().ok_or("expected a string")?;
                if !cfg.possible_values.iter().any(|p| p == s) {
                    return Err(format!("'{s}' is not one of {}", cfg.possible_values.join(", ")));
                }
                Ok(vec![s.to_string()])
            }
            FieldType::Multiselect => {
                let items = value.as_array().ok_or("expected an array of strings")?;
                let mut out: Vec<String> = Vec::new();
                for item in items {
                    let s = item.as_str().ok_or("expected an array of strings")?;
                    if !cfg.possible_values.iter().any(|p| p == s) {
                        return Err(format!("'{s}' is not one of {}", cfg.possible_values.join(", ")));
                    }
                    if !out.iter().any(|o| o == s) {
                        out.push(s.to_string());
                    }
                }
                Ok(out)
            }
            FieldType::Checkbox => match value {
                Value::Bool(b) => Ok(vec![if *b { "1" } else { "0" }.to_string()]),
                _ => Err("expected true or false".into()),
            },
            FieldType::Integer => {
                let n = match value {
                    Value::Number(n) => n.as_i64().ok_or("expected a whole number")?,
                    Value::String(s) => s.trim().parse::<i64>().map_err(|_| format!("'{s}' is not a whole number"))?,
                    _ => return Err("expected a whole number".into()),
                };
                if cfg.min.is_some_and(|min| n < min) || cfg.max.is_some_and(|max| n > max) {
                    return Err(format!(
                        "{n} is outside {}..={}",
                        cfg.min.map(|m| m.to_string()).unwrap_or_default(),
                        cfg.max.map(|m| m.to_string()).unwrap_or_default()
                    ));
                }
                Ok(vec![n.to_string()])
            }
            FieldType::Date => {
                let s = value.as_str().ok_or("expected a date YYYY-MM-DD")?;
                let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("'{s}' is not a date YYYY-MM-DD"))?;
                if !date_in_range(d) {
                    return Err(format!("'{s}' {TIME_RANGE}"));
                }
                Ok(vec![d.format("%Y-%m-%d").to_string()])
            }
            FieldType::Datetime => {
                let s = value.as_str().ok_or("expected an RFC 3339 date-time")?;
                let t = DateTime::parse_from_rfc3339(s).map_err(|_| format!("'{s}' is not an RFC 3339 date-time"))?.with_timezone(&Utc);
                if !time_in_range(t) {
                    return Err(format!("'{s}' {TIME_RANGE}"));
                }
                Ok(vec![t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)])
            }
        }
    }

    /// Turns stored items back into the JSON value.
    pub fn items_to_value(&self, items: &[String]) -> Value {
        match self.field_type {
            FieldType::Multiselect => Value::Array(items.iter().map(|s| Value::String(s.clone())).collect()),
            FieldType::Checkbox => Value::Bool(items.first().is_some_and(|s| s == "1")),
            FieldType::Integer => items.first().and_then(|s| s.parse::<i64>().ok()).map(Value::from).unwrap_or(Value::Null),
            _ => items.first().map(|s| Value::String(s.clone())).unwrap_or(Value::Null),
        }
    }
}

const SELECT: &str =
    "SELECT id, name, label, object_type, field_type, config, valid, customer_visible, created_at, changed_at FROM dynamic_fields";

fn field_from_row(row: &AnyRow) -> Result<DynamicField, sqlx::Error> {
    let object_type: String = row.try_get("object_type")?;
    let field_type: String = row.try_get("field_type")?;
    let config: String = row.try_get("config")?;
    Ok(DynamicField {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        label: row.try_get("label")?,
        object_type: stored::parse("object_type", &object_type, ObjectType::parse, "an object type")?,
        field_type: stored::parse("field_type", &field_type, FieldType::parse, "a field type")?,
        config: stored::json("config", &config, "a field configuration")?,
        valid: get_bool(row, "valid")?,
        customer_visible: get_bool(row, "customer_visible")?,
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        changed_at: stored::time("changed_at", row.try_get("changed_at")?)?,
    })
}

fn check_config(problems: &mut Problems, field_type: FieldType, config: &FieldConfig) {
    let wants_values = matches!(field_type, FieldType::Dropdown | FieldType::Multiselect);
    if wants_values && config.possible_values.is_empty() {
        problems.add("config.possible_values", "a dropdown or multiselect needs at least one possible value");
    }
    if !wants_values && !config.possible_values.is_empty() {
        problems.add("config.possible_values", "only dropdown and multiselect fields have possible values");
    }
    if let (Some(min), Some(max)) = (config.min, config.max) {
        if min > max {
            problems.add("config.min", "min is greater than max");
        }
    }
}

impl Desk {
    /// Lists field definitions (staff only), read from the database rather
    /// than the catalogue snapshot, so an admin sees a change from another
    /// node at once.
    pub async fn dynamic_field_list(&self, actor: &Actor) -> Result<Vec<DynamicField>, DeskError> {
        actor.require_staff()?;
        let mut conn = self.db().conn().await?;
        Ok(load_fields(&mut conn).await?)
    }

    /// Reads one definition (staff only).
    pub async fn dynamic_field_get(&self, actor: &Actor, id: i64) -> Result<DynamicField, DeskError> {
        actor.require_staff()?;
        let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(DeskError::NotFound { what: "dynamic field", id: id.to_string() })?;
        Ok(field_from_row(&row)?)
    }

    /// Creates a definition (admin only).
    pub async fn dynamic_field_create(&self, actor: &Actor, input: DynamicFieldInput) -> Result<DynamicField, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&input)?;
        let mut problems = Problems::default();
        // Not trimmed: a name with spaces around it is refused, as the API
        // document's pattern says, rather than stored as another name.
        let name = input.name.as_str();
        if name.is_empty() || name.len() > 200 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            problems.add("name", "must be 1-200 characters of letters, digits, '_' or '-'");
        }
        let object_type = ObjectType::parse(&input.object_type);
        if object_type.is_none() {
            problems.add("object_type", format!("unknown object type '{}'; expected ticket or article", input.object_type));
        }
        let field_type = FieldType::parse(&input.field_type);
        let config = input.config.unwrap_or_default();
        match field_type {
            None => {
                let names: Vec<&str> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
                problems.add("field_type", format!("unknown field type '{}'; expected one of {}", input.field_type, names.join(", ")));
            }
            Some(ft) => check_config(&mut problems, ft, &config),
        }
        problems.finish()?;
        let now = now_micros();
        let config_text = serde_json::to_string(&config).unwrap_or_else(|_| "{}".into());
        let mut tx = self.db().begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO dynamic_fields (name, label, object_type, field_type, config, valid, customer_visible, created_at, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(name)
        .bind(input.label.unwrap_or_else(|| name.to_string()))
        .bind(object_type.map(ObjectType::as_str).unwrap_or_default())
        .bind(field_type.map(FieldType::as_str).unwrap_or_default())
        .bind(config_text)
        .bind(input.valid.unwrap_or(true))
        .bind(input.customer_visible.unwrap_or(false))
        .bind(now)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(|e| DeskError::from_write(e, &format!("dynamic field '{name}'")))?;
        let id: i64 = row.try_get(0)?;
        self.commit_catalog_change(tx).await?;
        self.dynamic_field_get(&Actor::System, id).await
    }

    /// Changes a definition's label, settings or valid flag (admin only).
    pub async fn dynamic_field_update(&self, actor: &Actor, id: i64, update: DynamicFieldUpdate) -> Result<DynamicField, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&update)?;
        let current = self.dynamic_field_get(actor, id).await?;
        let mut problems = Problems::default();
        if let Some(config) = &update.config {
            check_config(&mut problems, current.field_type, config);
        }
        problems.finish()?;
        let mut sql = Sql::new("UPDATE dynamic_fields SET changed_at = ");
        sql.bind(Arg::Int(now_micros()));
        if let Some(label) = update.label {
            sql.push(", label = ").bind(Arg::Text(label));
        }
        if let Some(config) = &update.config {
            sql.push(", config = ").bind(Arg::Text(serde_json::to_string(config).unwrap_or_else(|_| "{}".into())));
        }
        if let Some(valid) = update.valid {
            sql.push(", valid = ").bind(Arg::Bool(valid));
        }
        if let Some(visible) = update.customer_visible {
            sql.push(", customer_visible = ").bind(Arg::Bool(visible));
        }
        sql.push(" WHERE id = ").bind(Arg::Int(id));
        let mut tx = self.db().begin_write().await?;
        sql.query().execute(&mut *tx.tx).await?;
        self.commit_catalog_change(tx).await?;
        self.dynamic_field_get(&Actor::System, id).await
    }

    /// Deletes a definition and all its values (admin only).
    pub async fn dynamic_field_delete(&self, actor: &Actor, id: i64) -> Result<(), DeskError> {
        actor.require_admin()?;
        let mut tx = self.db().begin_write().await?;
        sqlx::query("DELETE FROM dynamic_field_values WHERE field_id = $1").bind(id).execute(&mut *tx.tx).await?;
        let done = sqlx::query("DELETE FROM dynamic_fields WHERE id = $1").bind(id).execute(&mut *tx.tx).await?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: "dynamic field", id: id.to_string() });
        }
        self.commit_catalog_change(tx).await?;
        Ok(())
    }

    /// Validates a map of values for `object_type` against the definitions.
    /// Returns, per field, the definition and canonical items; problems are
    /// reported under `prefix.<name>`.
    pub(crate) async fn check_dynamic_values(
        &self,
        object_type: ObjectType,
        values: &BTreeMap<String, Value>,
        prefix: &str,
        problems: &mut Problems,
    ) -> Result<Vec<(DynamicField, Vec<String>)>, DeskError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let catalog = self.catalog().await?;
        let mut out = Vec::new();
        for (name, value) in values {
            let field = format!("{prefix}.{name}");
            match catalog.field(object_type, name) {
                None => problems.add(field, format!("unknown {} dynamic field '{name}'", object_type.as_str())),
                Some(def) if !def.valid => problems.add(field, format!("dynamic field '{name}' is not valid any more")),
                Some(def) => match def.canonical_items(value) {
                    Ok(items) => out.push((def.clone(), items)),
                    Err(message) => problems.add(field, message),
                },
            }
        }
        Ok(out)
    }
}

/// Reads every definition, ordered by id.
pub(crate) async fn load_fields(conn: &mut AnyConnection) -> Result<Vec<DynamicField>, sqlx::Error> {
    let rows = sqlx::query(&format!("{SELECT} ORDER BY id")).fetch_all(conn).await?;
    rows.iter().map(field_from_row).collect()
}

/// Replaces the stored values of the given fields on one object: one delete
/// and [`insert_values`].
pub(crate) async fn write_values(
    conn: &mut AnyConnection,
    object_id: i64,
    values: &[(DynamicField, Vec<String>)],
) -> Result<(), sqlx::Error> {
    if values.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("DELETE FROM dynamic_field_values WHERE object_id = ");
    sql.bind(Arg::Int(object_id)).push(" AND field_id IN ").bind_list(values.iter().map(|(def, _)| Arg::Int(def.id)));
    sql.query().execute(&mut *conn).await?;
    insert_values(conn, object_id, values).await
}

/// Rows per multi-row insert of values (four parameters each, well within
/// both backends' limit on parameters per statement).
const VALUE_ROWS_PER_INSERT: usize = 500;

/// Stores the values of a new object, which has none to replace: one
/// multi-row insert (per [`VALUE_ROWS_PER_INSERT`] items).
pub(crate) async fn insert_values(
    conn: &mut AnyConnection,
    object_id: i64,
    values: &[(DynamicField, Vec<String>)],
) -> Result<(), sqlx::Error> {
    let rows: Vec<(i64, usize, &str)> = values
        .iter()
        .flat_map(|(def, items)| items.iter().enumerate().map(move |(position, item)| (def.id, position, item.as_str())))
        .collect();
    for chunk in rows.chunks(VALUE_ROWS_PER_INSERT) {
        let mut sql = Sql::new("INSERT INTO dynamic_field_values (field_id, object_id, position, value_text) VALUES ");
        for (i, (field_id, position, item)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let row = [Arg::Int(*field_id), Arg::Int(object_id), Arg::Int(*position as i64), Arg::Text(item.to_string())];
            sql.bind_list(row);
        }
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The values [`write_values`] stores, as [`read_values`] reads them back
/// (a field set to nothing is absent).
pub(crate) fn written_values(values: &[(DynamicField, Vec<String>)]) -> BTreeMap<String, Value> {
    values.iter().filter(|(_, items)| !items.is_empty()).map(|(def, items)| (def.name.clone(), def.items_to_value(items))).collect()
}

/// Reads the values of every field of `object_type` for the given objects.
pub(crate) async fn read_values(
    conn: &mut AnyConnection,
    object_type: ObjectType,
    object_ids: &[i64],
) -> Result<HashMap<i64, BTreeMap<String, Value>>, sqlx::Error> {
    let mut out: HashMap<i64, BTreeMap<String, Value>> = HashMap::new();
    if object_ids.is_empty() {
        return Ok(out);
    }
    let mut sql = Sql::new(
        "SELECT v.object_id, v.value_text, d.id, d.name, d.label, d.object_type, d.field_type, d.config, d.valid, d.customer_visible, d.created_at, d.changed_at FROM dynamic_field_values v JOIN dynamic_fields d ON d.id = v.field_id WHERE d.object_type = ",
    );
    sql.bind(Arg::Text(object_type.as_str().to_string())).push(" AND v.object_id IN ");
    sql.bind_list(object_ids.iter().map(|id| Arg::Int(*id))).push(" ORDER BY v.object_id, d.id, v.position");
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let mut grouped: BTreeMap<(i64, i64), (DynamicField, Vec<String>)> = BTreeMap::new();
    for row in rows {
        let object_id: i64 = row.try_get("object_id")?;
        let def = field_from_row(&row)?;
        let item: String = row.try_get("value_text")?;
        grouped.entry((object_id, def.id)).or_insert_with(|| (def, Vec::new())).1.push(item);
    }
    for ((object_id, _), (def, items)) in grouped {
        out.entry(object_id).or_default().insert(def.name.clone(), def.items_to_value(&items));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(field_type: FieldType, config: FieldConfig) -> DynamicField {
        DynamicField {
            id: 1,
            name: "F".into(),
            label: "F".into(),
            object_type: ObjectType::Ticket,
            field_type,
            config,
            valid: true,
            customer_visible: false,
            created_at: Utc::now(),
            changed_at: Utc::now(),
        }
    }

    #[test]
    fn each_type_accepts_its_values_in_canonical_form() {
        let values = FieldConfig { possible_values: vec!["a".into(), "b".into()], ..Default::default() };
        let range = FieldConfig { min: Some(1), max: Some(10), ..Default::default() };
        let cases = [
            (field(FieldType::Text, FieldConfig::default()), json!("hello"), vec!["hello"]),
            (field(FieldType::Textarea, FieldConfig::default()), json!("a\nb"), vec!["a\nb"]),
            (field(FieldType::Dropdown, values.clone()), json!("b"), vec!["b"]),
            (field(FieldType::Multiselect, values.clone()), json!(["b", "a", "b"]), vec!["b", "a"]),
            (field(FieldType::Checkbox, FieldConfig::default()), json!(true), vec!["1"]),
            (field(FieldType::Integer, range.clone()), json!(7), vec!["7"]),
            (field(FieldType::Integer, range.clone()), json!("10"), vec!["10"]),
            (field(FieldType::Date, FieldConfig::default()), json!("2026-02-28"), vec!["2026-02-28"]),
            (field(FieldType::Datetime, FieldConfig::default()), json!("2026-11-29T12:00:00+01:00"), vec!["2026-11-29T11:00:00Z"]),
            (field(FieldType::Text, FieldConfig::default()), json!(null), vec![]),
        ];
        for (def, value, expected) in cases {
            let items = def.canonical_items(&value).unwrap_or_else(|e| panic!("{:?} {value}: {e}", def.field_type));
            assert_eq!(items, expected, "{:?}", def.field_type);
            if !items.is_empty() && def.field_type != FieldType::Multiselect {
                assert_eq!(def.canonical_items(&def.items_to_value(&items)).expect("round trip"), items);
            }
        }
    }

    #[test]
    fn each_type_rejects_what_does_not_fit() {
        let values = FieldConfig { possible_values: vec!["a".into()], ..Default::default() };
        let range = FieldConfig { min: Some(1), max: Some(10), ..Default::default() };
        let cases = [
            (field(FieldType::Text, FieldConfig::default()), json!("two\nlines")),
            (field(FieldType::Text, FieldConfig { max_length: Some(3), ..Default::default() }), json!("long")),
            (field(FieldType::Dropdown, values.clone()), json!("z")),
            (field(FieldType::Multiselect, values.clone()), json!("a")),
            (field(FieldType::Checkbox, FieldConfig::default()), json!("maybe")),
            (field(FieldType::Integer, range.clone()), json!("abc")),
            (field(FieldType::Integer, range.clone()), json!(11)),
            (field(FieldType::Integer, FieldConfig::default()), json!(1.5)),
            (field(FieldType::Date, FieldConfig::default()), json!("2026-13-45")),
            (field(FieldType::Datetime, FieldConfig::default()), json!("yesterday")),
        ];
        for (def, value) in cases {
            assert!(def.canonical_items(&value).is_err(), "{:?} accepted {value}", def.field_type);
        }
    }
}
