//! Articles and attachments: `/api/v1/tickets/{id}/articles[...]`.
//!
//! Attachments come as base64 in JSON, or as file parts of a
//! `multipart/form-data` request whose `article` part holds the JSON.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::dto::response_dto;
use crate::enums::{ChannelName, SenderTypeName};
use crate::error::{ApiError, Problem};
use crate::json::{body_error, parse_json};
use crate::path::ApiPath;
use crate::uploads::ArticleUploadDto;
use crate::AppState;
use switchboard_core::desk::{Article, AttachmentInput, AttachmentMeta, NewArticle};

/// An attachment sent as base64 inside JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttachmentInputDto {
    /// File name: not only spaces, without `/` or `\`.
    #[schema(pattern = r"^[^/\\]*[^/\\\s][^/\\]*$")]
    filename: String,
    /// MIME type like `text/plain` (default application/octet-stream).
    #[schema(pattern = "/")]
    content_type: Option<String>,
    /// The content, base64 (standard alphabet, padded).
    #[schema(content_encoding = "base64")]
    content_base64: String,
}

/// A new article.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArticleInputDto {
    /// How it came in (default note).
    #[schema(value_type = ChannelName)]
    channel: Option<String>,
    /// Who wrote it (default from the token's role; a customer's is always customer).
    #[schema(value_type = SenderTypeName)]
    sender_type: Option<String>,
    /// Visible in the customer's view (default: true except for notes).
    visible_for_customer: Option<bool>,
    /// From.
    from: Option<String>,
    /// To.
    to: Option<String>,
    /// Cc.
    cc: Option<String>,
    /// Subject, at most 3000 characters.
    #[schema(max_length = 3000)]
    subject: Option<String>,
    /// Plain-text body; may be empty only when `body_html` is not.
    body: String,
    /// HTML body.
    body_html: Option<String>,
    /// Message-ID.
    message_id: Option<String>,
    /// In-Reply-To.
    in_reply_to: Option<String>,
    /// References.
    references: Option<String>,
    /// Article dynamic field values by field name.
    #[schema(value_type = Option<Object>)]
    dynamic_fields: Option<BTreeMap<String, serde_json::Value>>,
    /// Attachments as base64.
    attachments: Option<Vec<AttachmentInputDto>>,
}

impl ArticleInputDto {
    /// Converts to the core type, decoding base64 (errors name `prefix.attachments[i]`).
    pub(crate) fn into_new_article(self, prefix: &str) -> Result<NewArticle, ApiError> {
        let mut attachments = Vec::new();
        for (i, a) in self.attachments.unwrap_or_default().into_iter().enumerate() {
            let content = STANDARD
                .decode(a.content_base64.trim())
                .map_err(|e| ApiError::field(format!("{prefix}attachments[{i}].content_base64"), format!("is not valid base64: {e}")))?;
            attachments.push(AttachmentInput {
                filename: a.filename,
                content_type: a.content_type.unwrap_or_else(|| "application/octet-stream".into()),
                content,
            });
        }
        Ok(NewArticle {
            channel: self.channel,
            sender_type: self.sender_type,
            visible_for_customer: self.visible_for_customer,
            from: self.from,
            to: self.to,
            cc: self.cc,
            subject: self.subject,
            body: self.body,
            body_html: self.body_html,
            message_id: self.message_id,
            in_reply_to: self.in_reply_to,
            references: self.references,
            dynamic_fields: self.dynamic_fields.unwrap_or_default(),
            attachments,
        })
    }
}

response_dto! {
    /// Attachment metadata.
    AttachmentDto from AttachmentMeta as a {
        /// Id (download at `.../attachments/{id}`).
        id: i64,
        /// File name.
        filename: String,
        /// MIME type.
        content_type: String,
        /// Size in bytes.
        size: i64,
        /// sha256 of the content (identical content is stored once).
        sha256: String,
    }
}

response_dto! {
    /// An article.
    ArticleDto from Article as a {
        /// Id.
        id: i64,
        /// Ticket id.
        ticket_id: i64,
        /// How it came in.
        channel: ChannelName,
        /// Who wrote it.
        sender_type: SenderTypeName,
        /// Visible in the customer's view.
        visible_for_customer: bool,
        /// From.
        from: String,
        /// To.
        to: String,
        /// Cc.
        cc: String,
        /// Subject.
        subject: String,
        /// Plain-text body.
        body: String,
        /// HTML body.
        body_html: Option<String>,
        /// Message-ID.
        message_id: Option<String>,
        /// In-Reply-To.
        in_reply_to: Option<String>,
        /// References.
        references: Option<String>,
        /// Dynamic field values.
        #[schema(value_type = Object)]
        dynamic_fields: BTreeMap<String, serde_json::Value>,
        /// Who created it, as the history names actors (`agent:LOGIN`, `customer:LOGIN`,
        /// `plugin:NAME@VERSION by …`, `system`); a customer reading an article it did not
        /// write sees only the kind of writer (`agent`, `customer`, `system`).
        created_by: String,
        /// Creation time.
        created_at: DateTime<Utc>,
        /// Attachments.
        attachments: Vec<AttachmentDto> = a.attachments.into_iter().map(Into::into).collect(),
    }
}

list_dto!(ArticleListDto, ArticleDto);

/// Reads an article from JSON or multipart.
async fn read_article(state: &AppState, request: Request) -> Result<NewArticle, ApiError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, state).await.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        let mut article: Option<ArticleInputDto> = None;
        let mut files = Vec::new();
        while let Some(field) =
            multipart.next_field().await.map_err(|e| ApiError::new(e.status(), format!("multipart: {}", e.body_text())))?
        {
            let name = field.name().unwrap_or_default().to_string();
            let filename = field.file_name().map(str::to_string);
            let part_type = field.content_type().map(str::to_string);
            let data = field.bytes().await.map_err(|e| ApiError::new(e.status(), format!("multipart: {}", e.body_text())))?;
            if name == "article" && filename.is_none() {
                let mut headers = axum::http::HeaderMap::new();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                article = Some(parse_json(&headers, &data)?);
            } else {
                files.push(AttachmentInput {
                    filename: filename.unwrap_or(name),
                    content_type: part_type.unwrap_or_else(|| "application/octet-stream".into()),
                    content: data.to_vec(),
                });
            }
        }
        let article = article
            .ok_or_else(|| ApiError::field("article", "a multipart request needs a part named 'article' holding the article JSON"))?;
        let mut new_article = article.into_new_article("")?;
        new_article.attachments.extend(files);
        Ok(new_article)
    } else {
        let headers = request.headers().clone();
        let bytes = Bytes::from_request(request, state).await.map_err(body_error)?;
        let dto: ArticleInputDto = parse_json(&headers, &bytes)?;
        dto.into_new_article("")
    }
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/articles", tag = "tickets",
    summary = "Add an article (JSON with base64 attachments, or multipart/form-data with an `article` JSON part and file parts)",
    params(("id" = i64, Path, description = "Ticket id")),
    request_body(content((ArticleInputDto = "application/json"), (ArticleUploadDto = "multipart/form-data"))),
    responses((status = 201, body = ArticleDto), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn add_article(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    request: Request,
) -> Result<(StatusCode, Json<ArticleDto>), ApiError> {
    let article = read_article(&state, request).await?;
    let stored = state.desk.article_add(&caller.actor, id, article).await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/articles", tag = "tickets", summary = "List a ticket's articles (customers see only customer-visible ones)",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = ArticleListDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn list_articles(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<ArticleListDto>, ApiError> {
    let articles = state.desk.article_list(&caller.actor, id).await?;
    Ok(Json(ArticleListDto { items: articles.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/articles/{article_id}", tag = "tickets", summary = "Read an article",
    params(("id" = i64, Path, description = "Ticket id"), ("article_id" = i64, Path, description = "Article id")),
    responses((status = 200, body = ArticleDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_article(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, article_id)): ApiPath<(i64, i64)>,
) -> Result<Json<ArticleDto>, ApiError> {
    Ok(Json(state.desk.article_get(&caller.actor, id, article_id).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/articles/{article_id}/attachments/{attachment_id}", tag = "tickets", summary = "Download an attachment",
    params(("id" = i64, Path, description = "Ticket id"), ("article_id" = i64, Path, description = "Article id"), ("attachment_id" = i64, Path, description = "Attachment id")),
    responses((status = 200, description = "The attachment's bytes, served with the content type it was stored with", body = Vec<u8>, content_type = "*/*"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn download_attachment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, article_id, attachment_id)): ApiPath<(i64, i64, i64)>,
) -> Result<Response, ApiError> {
    let attachment = state.desk.attachment_get(&caller.actor, id, article_id, attachment_id).await?;
    let content_type = HeaderValue::from_str(&attachment.meta.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition =
        HeaderValue::from_str(&content_disposition(&attachment.meta.filename)).unwrap_or(HeaderValue::from_static("attachment"));
    let mut response = attachment.content.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    response.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// `Content-Disposition` for a download (RFC 6266): an ASCII `filename` for
/// old clients (other characters become `_`) and, when the name is not plain
/// ASCII, the exact name as `filename*=UTF-8''…` (RFC 8187 percent-encoding).
fn content_disposition(name: &str) -> String {
    let fallback: String =
        name.chars().map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' }).collect();
    if fallback == name {
        return format!("attachment; filename=\"{fallback}\"");
    }
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Adds the article routes.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(add_article, list_articles)).routes(routes!(get_article)).routes(routes!(download_attachment))
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn names_keep_their_characters_with_an_ascii_fallback() {
        assert_eq!(content_disposition("report 2026.pdf"), "attachment; filename=\"report 2026.pdf\"");
        assert_eq!(
            content_disposition("Ünicode ß.txt"),
            "attachment; filename=\"_nicode _.txt\"; filename*=UTF-8''%C3%9Cnicode%20%C3%9F.txt"
        );
        assert_eq!(content_disposition("a\"b\\c"), "attachment; filename=\"a_b_c\"; filename*=UTF-8''a%22b%5Cc");
    }
}
