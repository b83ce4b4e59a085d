//! `switchboard plugin run`: one invocation of a component file, without a
//! server or database, for plugin authors.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::bindings::action::switchboard::plugin::action_types::ActionContext;
use crate::bindings::base::switchboard::plugin::task_types::TaskContext;
use crate::bindings::base::switchboard::plugin::types::{Article, AttachmentInfo, DynamicField, Param, SenderType, Ticket};
use crate::bindings::invoker::switchboard::plugin::invoker_types::InvokeRequest;
use crate::calls::Call;
use crate::convert::{mail_from_bytes, value_items};
use crate::egress::RecordedResponse;
use crate::failure::Failure;
use crate::invoke::Report;
use crate::manifest::{Manifest, World};
use crate::state::{PluginIdentity, TicketScope};
use crate::{PluginError, PluginHost};

/// What to run the plugin on.
#[derive(Debug, Clone)]
pub enum LocalInput {
    /// A raw mail (postmaster filters).
    Mail(Vec<u8>),
    /// A ticket as the API returns it, optionally with `articles` (script tasks, transition actions).
    TicketJson(Value),
    /// The call's input in WIT shape; may carry `params`, `config` and recorded `http` responses.
    Json(Value),
}

/// A ticket in the API's JSON shape.
#[derive(Debug, Deserialize)]
struct ApiTicket {
    #[serde(default)]
    id: i64,
    #[serde(default)]
    number: String,
    title: String,
    #[serde(default = "raw")]
    queue: String,
    #[serde(default = "new_state")]
    state: String,
    #[serde(default = "new_state")]
    state_type: String,
    #[serde(default = "normal")]
    priority: i64,
    #[serde(default)]
    priority_name: String,
    #[serde(default = "unclassified", rename = "type")]
    ticket_type: String,
    owner: Option<String>,
    responsible: Option<String>,
    customer_user: Option<String>,
    customer_company: Option<String>,
    pending_until: Option<String>,
    #[serde(default)]
    dynamic_fields: BTreeMap<String, Value>,
    #[serde(default)]
    created_at: String,
    #[serde(default)]
    changed_at: String,
    #[serde(default)]
    articles: Vec<ApiArticle>,
}

#[derive(Debug, Deserialize)]
struct ApiArticle {
    #[serde(default)]
    id: i64,
    #[serde(default = "note")]
    channel: String,
    #[serde(default)]
    sender_type: Option<String>,
    #[serde(default)]
    visible_for_customer: bool,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cc: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    body_html: Option<String>,
    message_id: Option<String>,
    in_reply_to: Option<String>,
    references: Option<String>,
    #[serde(default)]
    created_at: String,
}

fn raw() -> String {
    "Raw".into()
}
fn new_state() -> String {
    "new".into()
}
fn normal() -> i64 {
    3
}
fn unclassified() -> String {
    "Unclassified".into()
}
fn note() -> String {
    "note".into()
}

fn ticket_from_api(value: Value) -> Result<(Ticket, Vec<Article>), PluginError> {
    let t: ApiTicket = serde_json::from_value(value).map_err(|e| PluginError::Invalid(format!("ticket JSON: {e}")))?;
    let articles = t
        .articles
        .into_iter()
        .map(|a| Article {
            id: a.id,
            channel: a.channel,
            sender_type: match a.sender_type.as_deref() {
                Some("customer") => SenderType::Customer,
                Some("system") => SenderType::System,
                _ => SenderType::Agent,
            },
            visible_for_customer: a.visible_for_customer,
            from: a.from,
            to: a.to,
            cc: a.cc,
            subject: a.subject,
            body: a.body,
            body_html: a.body_html,
            message_id: a.message_id,
            in_reply_to: a.in_reply_to,
            references: a.references,
            attachments: Vec::<AttachmentInfo>::new(),
            created_at: a.created_at,
        })
        .collect();
    let ticket = Ticket {
        id: t.id,
        number: t.number,
        title: t.title,
        queue: t.queue,
        state: t.state,
        state_type: t.state_type,
        priority: t.priority,
        priority_name: t.priority_name,
        ticket_type: t.ticket_type,
        owner: t.owner,
        responsible: t.responsible,
        customer_user: t.customer_user,
        customer_company: t.customer_company,
        pending_until: t.pending_until,
        dynamic_fields: t.dynamic_fields.iter().map(|(name, v)| DynamicField { name: name.clone(), values: value_items(v) }).collect(),
        created_at: t.created_at,
        changed_at: t.changed_at,
    };
    Ok((ticket, articles))
}

fn params_of(value: Option<&Value>) -> Vec<Param> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| Param { key: k.clone(), value: v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()) })
                .collect()
        })
        .unwrap_or_default()
}

impl PluginHost {
    /// Runs `bytes` once on `input` and returns the result as JSON with the report.
    pub async fn run_local(
        &self,
        bytes: &[u8],
        manifest_text: &str,
        input: LocalInput,
        config: BTreeMap<String, String>,
        allow_http: bool,
    ) -> Result<(Result<Value, Failure>, Report), PluginError> {
        let manifest = Manifest::parse(manifest_text)?;
        crate::PluginCeilings::refuse_beyond_pool(&manifest)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let mut settings = crate::config_defaults(&manifest);
        settings.extend(config);
        let mut loaded = self.prepare(&manifest, &sha256, bytes, settings.clone(), true).await?;
        let (call, scope, replay) = match (manifest.world, input) {
            (World::PostmasterFilter, LocalInput::Mail(raw)) => {
                let mail = mail_from_bytes(&raw, "local", false, manifest.limits(self.ceilings()).max_input_bytes as usize)
                    .map_err(PluginError::Invalid)?;
                (Call::Filter(mail), None, None)
            }
            (World::ScriptTask, LocalInput::TicketJson(value)) => {
                let params = params_of(value.get("params"));
                let (ticket, articles) = ticket_from_api(value)?;
                let context = TaskContext { ticket_id: ticket.id, process: None, activity: None, test_mode: true };
                (Call::Script(context, params), Some(TicketScope { ticket, articles, changes: Vec::new() }), None)
            }
            (World::TransitionAction, LocalInput::TicketJson(value)) => {
                let params = params_of(value.get("params"));
                let (ticket, _) = ticket_from_api(value)?;
                (Call::Action(ActionContext { ticket, process: None, transition: None, test_mode: true }, params), None, None)
            }
            (world, LocalInput::Json(value)) => {
                let replay: Option<Vec<RecordedResponse>> = match value.get("http") {
                    Some(h) => Some(serde_json::from_value(h.clone()).map_err(|e| PluginError::Invalid(format!("input http: {e}")))?),
                    None => None,
                };
                let bad = |e: serde_json::Error| PluginError::Invalid(format!("input for {}: {e}", world.as_str()));
                let call = match world {
                    World::PostmasterFilter => {
                        Call::Filter(serde_json::from_value(value.get("mail").cloned().unwrap_or(value.clone())).map_err(bad)?)
                    }
                    World::ServiceInvoker => {
                        let request: InvokeRequest =
                            serde_json::from_value(value.get("request").cloned().unwrap_or(value.clone())).map_err(bad)?;
                        Call::Invoke(request)
                    }
                    World::ScriptTask | World::TransitionAction => {
                        let (ticket, articles) = ticket_from_api(value.get("ticket").cloned().unwrap_or(Value::Null))?;
                        let params = params_of(value.get("params"));
                        if world == World::ScriptTask {
                            let context = TaskContext { ticket_id: ticket.id, process: None, activity: None, test_mode: true };
                            let scope = TicketScope { ticket, articles, changes: Vec::new() };
                            return self.finish_local(loaded, Call::Script(context, params), Some(scope)).await;
                        }
                        Call::Action(ActionContext { ticket, process: None, transition: None, test_mode: true }, params)
                    }
                };
                (call, None, replay)
            }
            (world, _) => {
                let hint = match world {
                    World::PostmasterFilter => "--mail FILE.eml or --input FILE.json",
                    World::ScriptTask | World::TransitionAction => "--ticket-json FILE or --input FILE.json",
                    World::ServiceInvoker => "--input FILE.json",
                };
                return Err(PluginError::Invalid(format!("a {} plugin takes {hint}", world.as_str())));
            }
        };
        let identity = PluginIdentity {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            limits: manifest.limits(self.ceilings()),
            directories: loaded.identity.directories.clone(),
            kv: manifest.capabilities.kv,
            config: settings,
            http_replay: Some(Arc::new(replay.unwrap_or_default())),
            http_live: allow_http,
            counts_fuel: loaded.identity.counts_fuel,
        };
        loaded.identity = Arc::new(identity);
        self.finish_local(loaded, call, scope).await
    }

    async fn finish_local(
        &self,
        loaded: crate::Loaded,
        call: Call,
        scope: Option<TicketScope>,
    ) -> Result<(Result<Value, Failure>, Report), PluginError> {
        let (result, report, scope) = self.call(&Arc::new(loaded), call, scope).await;
        let changes = |c: &[crate::bindings::base::switchboard::plugin::types::TicketChange]| {
            serde_json::to_value(c.iter().map(crate::PluginChange::from).collect::<Vec<_>>()).unwrap_or(Value::Null)
        };
        let result = result.map(|r| {
            let mut value = match &r {
                crate::calls::CallResult::Changes(c) => changes(c),
                other => serde_json::to_value(other).unwrap_or(Value::Null),
            };
            if let (Some(scope), Value::Object(map)) = (scope, &mut value) {
                map.insert("changes".into(), changes(&scope.changes));
            }
            value
        });
        Ok((result, report))
    }
}
