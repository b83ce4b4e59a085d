//! The schemas of the `multipart/form-data` request bodies: an article with
//! file parts, and a plugin upload. Only their schemas are used; the
//! handlers read the parts themselves (`articles::read_article`,
//! `plugins::install_plugin`).

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A string part holding bytes of the given media type.
fn bytes_part(media_type: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).content_media_type(media_type).description(Some(description))
}

/// An article sent as `multipart/form-data`: an `article` part holding the
/// article JSON, and any number of file parts, each stored as an attachment
/// (named by its file name, else by its part name; typed by its part's
/// Content-Type, else application/octet-stream).
pub(crate) struct ArticleUploadDto;

impl PartialSchema for ArticleUploadDto {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some(
                "An `article` part holding the article JSON (schema ArticleInputDto) and any number of file parts, each an attachment.",
            ))
            .property("article", bytes_part("application/json", "The article, as JSON of schema ArticleInputDto (without a file name)."))
            .required("article")
            .additional_properties(Some(bytes_part("application/octet-stream", "A file part: an attachment of the article.")))
            .into()
    }
}

impl ToSchema for ArticleUploadDto {}

/// A plugin upload: the component, its manifest and optionally a signature;
/// no other part is accepted.
pub(crate) struct PluginUploadDto;

impl PartialSchema for PluginUploadDto {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some("The parts of a plugin upload; no other part is accepted."))
            .property("component", bytes_part("application/wasm", "The WebAssembly component (.wasm)."))
            .property("manifest", bytes_part("application/toml", "The manifest (plugin.toml), UTF-8."))
            .property("signature", bytes_part("text/plain", "Hex ed25519 signature by a trusted key of the component together with the manifest, as `switchboard plugin sign` makes it (optional)."))
            .required("component")
            .required("manifest")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for PluginUploadDto {}
