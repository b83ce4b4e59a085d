//! Articles (the messages of a ticket) and their attachments.
//!
//! Attachment content is stored once per sha256, however many articles carry it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{get_bool, Arg, Backend, Sql};
use crate::desk::dynamic_fields::{insert_values, read_values, written_values, DynamicField, ObjectType};
use crate::desk::error::Problems;
use crate::desk::history::{record, HistoryEvent};
use crate::desk::input;
use crate::desk::search::{append_search_body, insert_search_doc};
use crate::desk::stored;
use crate::desk::time::{from_micros, now_micros};
use crate::desk::{Actor, Desk, DeskError};

/// How an article reached the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A mail.
    Email,
    /// An internal or external note.
    Note,
    /// A phone call.
    Phone,
    /// A chat.
    Chat,
}

impl Channel {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Note => "note",
            Channel::Phone => "phone",
            Channel::Chat => "chat",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::Email, Channel::Note, Channel::Phone, Channel::Chat].into_iter().find(|c| c.as_str() == s)
    }
}

/// Who wrote an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderType {
    /// An agent.
    Agent,
    /// The customer.
    Customer,
    /// The system (automation).
    System,
}

impl SenderType {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SenderType::Agent => "agent",
            SenderType::Customer => "customer",
            SenderType::System => "system",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<SenderType> {
        [SenderType::Agent, SenderType::Customer, SenderType::System].into_iter().find(|c| c.as_str() == s)
    }
}

/// An attachment to store with a new article.
#[derive(Debug, Clone)]
pub struct AttachmentInput {
    /// File name as shown to people.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// Attachment metadata as listed with an article.
#[derive(Debug, Clone)]
pub struct AttachmentMeta {
    /// Attachment id.
    pub id: i64,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// sha256 of the content, hex.
    pub sha256: String,
}

/// An attachment with its bytes, for download.
#[derive(Debug, Clone)]
pub struct AttachmentContent {
    /// Metadata.
    pub meta: AttachmentMeta,
    /// The bytes.
    pub content: Vec<u8>,
}

/// A new article; `None` fields take defaults from the actor and channel.
#[derive(Debug, Clone, Default)]
pub struct NewArticle {
    /// Channel name (default `note`).
    pub channel: Option<String>,
    /// Sender type name (default from the actor).
    pub sender_type: Option<String>,
    /// Visible in the customer's view (default: true unless an internal note).
    pub visible_for_customer: Option<bool>,
    /// From header.
    pub from: Option<String>,
    /// To header.
    pub to: Option<String>,
    /// Cc header.
    pub cc: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Plain-text body (required).
    pub body: String,
    /// Optional HTML body.
    pub body_html: Option<String>,
    /// Message-ID header.
    pub message_id: Option<String>,
    /// In-Reply-To header.
    pub in_reply_to: Option<String>,
    /// References header.
    pub references: Option<String>,
    /// Article dynamic field values.
    pub dynamic_fields: BTreeMap<String, Value>,
    /// Attachments.
    pub attachments: Vec<AttachmentInput>,
}

/// A stored article.
#[derive(Debug, Clone)]
pub struct Article {
    /// Article id.
    pub id: i64,
    /// Ticket id.
    pub ticket_id: i64,
    /// Channel.
    pub channel: Channel,
    /// Sender type.
    pub sender_type: SenderType,
    /// Visible to the customer.
    pub visible_for_customer: bool,
    /// From header.
    pub from: String,
    /// To header.
    pub to: String,
    /// Cc header.
    pub cc: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// HTML body.
    pub body_html: Option<String>,
    /// Message-ID.
    pub message_id: Option<String>,
    /// In-Reply-To.
    pub in_reply_to: Option<String>,
    /// References.
    pub references: Option<String>,
    /// Dynamic field values.
    pub dynamic_fields: BTreeMap<String, Value>,
    /// Who created it (actor label; a customer sees only the kind of writer of an article it did not write).
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Attachments.
    pub attachments: Vec<AttachmentMeta>,
}

/// A new article after validation, ready to insert.
pub(crate) struct CheckedArticle {
    input: NewArticle,
    channel: Channel,
    sender_type: SenderType,
    visible: bool,
    dynamic: Vec<(DynamicField, Vec<String>)>,
}

const SELECT: &str = "SELECT id, ticket_id, channel, sender_type, visible_for_customer, from_addr, to_addr, cc_addr, subject, body, body_html, message_id, in_reply_to, references_header, created_by, created_at FROM articles";

fn article_from_row(row: &AnyRow) -> Result<Article, sqlx::Error> {
    let channel: String = row.try_get("channel")?;
    let sender: String = row.try_get("sender_type")?;
    Ok(Article {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        channel: stored::parse("channel", &channel, Channel::parse, "a channel")?,
        sender_type: stored::parse("sender_type", &sender, SenderType::parse, "a sender type")?,
        visible_for_customer: get_bool(row, "visible_for_customer")?,
        from: row.try_get("from_addr")?,
        to: row.try_get("to_addr")?,
        cc: row.try_get("cc_addr")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        body_html: row.try_get("body_html")?,
        message_id: row.try_get("message_id")?,
        in_reply_to: row.try_get("in_reply_to")?,
        references: row.try_get("references_header")?,
        dynamic_fields: BTreeMap::new(),
        created_by: row.try_get("created_by")?,
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        attachments: Vec::new(),
    })
}

impl Desk {
    /// Validates a new article for `actor`; problems are named under `prefix`.
    pub(crate) async fn check_article(
        &self,
        actor: &Actor,
        input: NewArticle,
        prefix: &str,
        problems: &mut Problems,
    ) -> Result<CheckedArticle, DeskError> {
        let field = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
        let channel = match input.channel.as_deref() {
            None => Channel::Note,
            Some(c) => Channel::parse(c).unwrap_or_else(|| {
                problems.add(field("channel"), format!("unknown channel '{c}'; expected email, note, phone or chat"));
                Channel::Note
            }),
        };
        let default_sender = match actor {
            Actor::Customer { .. } => SenderType::Customer,
            Actor::System | Actor::Integration { .. } | Actor::Plugin { .. } => SenderType::System,
            Actor::Agent(_) => SenderType::Agent,
        };
        let sender_type = match (actor, input.sender_type.as_deref()) {
            (Actor::Customer { .. }, _) | (_, None) => default_sender,
            (_, Some(s)) => SenderType::parse(s).unwrap_or_else(|| {
                problems.add(field("sender_type"), format!("unknown sender type '{s}'; expected agent, customer or system"));
                default_sender
            }),
        };
        let visible = match actor {
            Actor::Customer { .. } => true,
            _ => input.visible_for_customer.unwrap_or(channel != Channel::Note),
        };
        if input.body.trim().is_empty() && input.body_html.as_deref().is_none_or(|h| h.trim().is_empty()) {
            problems.add(field("body"), "must not be empty");
        }
        let max = self.settings().max_article_bytes;
        for (name, len) in [("body", input.body.len()), ("body_html", input.body_html.as_ref().map_or(0, String::len))] {
            if len > max {
                problems.add(field(name), format!("is {len} bytes; at most {max} are accepted (max_article_bytes)"));
            }
        }
        if input.subject.as_deref().is_some_and(|s| s.chars().count() > 3000) {
            problems.add(field("subject"), "must be at most 3000 characters");
        }
        for (i, a) in input.attachments.iter().enumerate() {
            if a.filename.trim().is_empty() || a.filename.contains(['/', '\\', '\0']) {
                problems.add(field(&format!("attachments[{i}].filename")), "must be a plain, non-empty file name");
            }
            if a.content_type.trim().is_empty() || !a.content_type.contains('/') {
                problems.add(field(&format!("attachments[{i}].content_type")), "must be a MIME type like text/plain");
            }
        }
        let dynamic = self.check_dynamic_values(ObjectType::Article, &input.dynamic_fields, &field("dynamic_fields"), problems).await?;
        Ok(CheckedArticle { input, channel, sender_type, visible, dynamic })
    }

    /// Adds an article to a ticket (rw on its queue, or the ticket's customer).
    pub async fn article_add(&self, actor: &Actor, ticket_id: i64, input: NewArticle) -> Result<Article, DeskError> {
        actor.require_not_integration()?;
        input::check(&input)?;
        self.check_customer_article(actor, &input).await?;
        let mut problems = Problems::default();
        let checked = self.check_article(actor, input, "", &mut problems).await?;
        problems.finish()?;
        let mut tx = self.db().begin_write().await?;
        let access = self.ticket_access(&mut tx.tx, actor, ticket_id).await?;
        access.require_write(actor)?;
        let article = insert_article(&mut tx.tx, self.db().backend(), ticket_id, checked, &actor.label(), SearchRow::Append).await?;
        sqlx::query("UPDATE tickets SET changed_at = $1 WHERE id = $2").bind(now_micros()).bind(ticket_id).execute(&mut *tx.tx).await?;
        record(&mut tx.tx, ticket_id, HistoryEvent::ArticleAdded, None, None, Some(&article.id.to_string()), &actor.label()).await?;
        tx.commit().await?;
        self.article_view(actor, article).await
    }

    /// Lists the articles of a ticket the actor may read (customers: only visible ones).
    pub async fn article_list(&self, actor: &Actor, ticket_id: i64) -> Result<Vec<Article>, DeskError> {
        let mut conn = self.db().conn().await?;
        self.ticket_access(&mut conn, actor, ticket_id).await?.require_read()?;
        let mut sql = Sql::new(SELECT);
        sql.push(" WHERE ticket_id = ").bind(Arg::Int(ticket_id));
        if matches!(actor, Actor::Customer { .. }) {
            sql.push(" AND visible_for_customer = ").bind(Arg::Bool(true));
        }
        sql.push(" ORDER BY id");
        let rows = sql.query().fetch_all(&mut *conn).await?;
        let mut articles: Vec<Article> = rows.iter().map(article_from_row).collect::<Result<_, _>>()?;
        fill_articles(&mut conn, &mut articles).await?;
        // Back to the pool first: the view may load the catalogue snapshot,
        // which takes a connection of its own.
        drop(conn);
        self.article_views(actor, articles).await
    }

    /// Reads one article of a ticket.
    pub async fn article_get(&self, actor: &Actor, ticket_id: i64, article_id: i64) -> Result<Article, DeskError> {
        let mut conn = self.db().conn().await?;
        self.ticket_access(&mut conn, actor, ticket_id).await?.require_read()?;
        let row = sqlx::query(&format!("{SELECT} WHERE id = $1 AND ticket_id = $2"))
            .bind(article_id)
            .bind(ticket_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(DeskError::NotFound { what: "article", id: article_id.to_string() })?;
        let article = article_from_row(&row)?;
        if matches!(actor, Actor::Customer { .. }) && !article.visible_for_customer {
            return Err(DeskError::NotFound { what: "article", id: article_id.to_string() });
        }
        let mut articles = vec![article];
        fill_articles(&mut conn, &mut articles).await?;
        drop(conn);
        self.article_view(actor, articles.remove(0)).await
    }

    /// Reads an attachment's bytes.
    pub async fn attachment_get(
        &self,
        actor: &Actor,
        ticket_id: i64,
        article_id: i64,
        attachment_id: i64,
    ) -> Result<AttachmentContent, DeskError> {
        let article = self.article_get(actor, ticket_id, article_id).await?;
        let meta = article
            .attachments
            .into_iter()
            .find(|a| a.id == attachment_id)
            .ok_or(DeskError::NotFound { what: "attachment", id: attachment_id.to_string() })?;
        let content: Vec<u8> = sqlx::query_scalar("SELECT content FROM attachment_contents WHERE sha256 = $1")
            .bind(&meta.sha256)
            .fetch_one(self.db().pool())
            .await?;
        Ok(AttachmentContent { meta, content })
    }
}

/// Where an article's text goes in its ticket's full-text row.
pub(crate) enum SearchRow<'a> {
    /// The row exists: the text is appended.
    Append,
    /// The ticket is being created: its row is made with this title and the text.
    Create {
        /// The ticket's title.
        title: &'a str,
    },
}

/// Inserts a checked article with its attachments, values and search text,
/// and returns it as a read would (attachments in id order, values in their
/// canonical form), so the writer need not read it back.
pub(crate) async fn insert_article(
    conn: &mut AnyConnection,
    backend: Backend,
    ticket_id: i64,
    article: CheckedArticle,
    created_by: &str,
    search: SearchRow<'_>,
) -> Result<Article, sqlx::Error> {
    let a = article.input;
    let created_at = now_micros();
    let mut stored = Article {
        id: 0,
        ticket_id,
        channel: article.channel,
        sender_type: article.sender_type,
        visible_for_customer: article.visible,
        from: a.from.unwrap_or_default(),
        to: a.to.unwrap_or_default(),
        cc: a.cc.unwrap_or_default(),
        subject: a.subject.unwrap_or_default(),
        body: a.body,
        body_html: a.body_html,
        message_id: a.message_id,
        in_reply_to: a.in_reply_to,
        references: a.references,
        dynamic_fields: written_values(&article.dynamic),
        created_by: created_by.to_string(),
        created_at: from_micros(created_at),
        attachments: Vec::with_capacity(a.attachments.len()),
    };
    let row = sqlx::query(
        "INSERT INTO articles (ticket_id, channel, sender_type, visible_for_customer, from_addr, to_addr, cc_addr, subject, body, body_html, message_id, in_reply_to, references_header, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(ticket_id)
    .bind(stored.channel.as_str())
    .bind(stored.sender_type.as_str())
    .bind(stored.visible_for_customer)
    .bind(stored.from.as_str())
    .bind(stored.to.as_str())
    .bind(stored.cc.as_str())
    .bind(stored.subject.as_str())
    .bind(stored.body.as_str())
    .bind(stored.body_html.as_deref())
    .bind(stored.message_id.as_deref())
    .bind(stored.in_reply_to.as_deref())
    .bind(stored.references.as_deref())
    .bind(created_by)
    .bind(created_at)
    .fetch_one(&mut *conn)
    .await?;
    stored.id = row.try_get(0)?;
    for attachment in a.attachments {
        let sha = hex::encode(Sha256::digest(&attachment.content));
        let size = attachment.content.len() as i64;
        sqlx::query("INSERT INTO attachment_contents (sha256, size, content) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
            .bind(&sha)
            .bind(size)
            .bind(attachment.content)
            .execute(&mut *conn)
            .await?;
        let (filename, content_type) = (attachment.filename.trim().to_string(), attachment.content_type.trim().to_string());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO article_attachments (article_id, filename, content_type, size, sha256) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(stored.id)
        .bind(filename.as_str())
        .bind(content_type.as_str())
        .bind(size)
        .bind(&sha)
        .fetch_one(&mut *conn)
        .await?;
        stored.attachments.push(AttachmentMeta { id, filename, content_type, size, sha256: sha });
    }
    insert_values(conn, stored.id, &article.dynamic).await?;
    let text = format!("{}\n{}", stored.subject, stored.body);
    match search {
        SearchRow::Append => append_search_body(conn, backend, ticket_id, &text, stored.visible_for_customer).await?,
        SearchRow::Create { title } => insert_search_doc(conn, backend, ticket_id, title, &text, stored.visible_for_customer).await?,
    }
    Ok(stored)
}

/// Loads attachments and dynamic field values for a batch of articles.
async fn fill_articles(conn: &mut AnyConnection, articles: &mut [Article]) -> Result<(), sqlx::Error> {
    if articles.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = articles.iter().map(|a| a.id).collect();
    let mut sql = Sql::new("SELECT id, article_id, filename, content_type, size, sha256 FROM article_attachments WHERE article_id IN ");
    sql.bind_list(ids.iter().map(|id| Arg::Int(*id))).push(" ORDER BY id");
    let mut by_article: HashMap<i64, Vec<AttachmentMeta>> = HashMap::new();
    for row in sql.query().fetch_all(&mut *conn).await? {
        by_article.entry(row.try_get("article_id")?).or_default().push(AttachmentMeta {
            id: row.try_get("id")?,
            filename: row.try_get("filename")?,
            content_type: row.try_get("content_type")?,
            size: row.try_get("size")?,
            sha256: row.try_get("sha256")?,
        });
    }
    let mut values = read_values(conn, ObjectType::Article, &ids).await?;
    for article in articles {
        article.attachments = by_article.remove(&article.id).unwrap_or_default();
        article.dynamic_fields = values.remove(&article.id).unwrap_or_default();
    }
    Ok(())
}
