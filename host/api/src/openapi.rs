//! The OpenAPI document: the header (`ApiDoc`), the bearer scheme, and
//! [`complete`], which declares the errors every route answers alike.
//!
//! The handlers' `#[utoipa::path]` annotations declare what is particular to
//! a route (its 2xx body, 404 when a lookup can fail, 409, 422 from the
//! core). What the shared extractors answer is the same on every route that
//! uses them, so it is declared here by rule, from the operation itself:
//! `Caller` (401, 403), `ApiPath`/`ApiQuery`/header checks (400), `ApiJson`
//! and multipart bodies (400, 413, 415, 422). Every error is a problem
//! document (`application/problem+json`, schema `Problem`), whatever the
//! annotation said.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, RefOr, Response, Schema};
use utoipa::{Modify, OpenApi};

/// The media type of every error answer.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "Helpdesk API: tickets, articles, catalogue, agents and customers. Authenticate with `Authorization: Bearer <token>`; errors are RFC 9457 problem details (`application/problem+json`)."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem, crate::error::ProblemField)),
    tags(
        (name = "tickets", description = "Tickets, articles, attachments, links and history"),
        (name = "catalogue", description = "Queues, states, priorities and types"),
        (name = "people", description = "Agents, customer users and customer companies"),
        (name = "dynamic-fields", description = "Typed dynamic field definitions"),
        (name = "plugins", description = "WebAssembly plugins: install, configure, run, audit"),
        (name = "admin", description = "Jobs and tokens"),
    )
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// Declares the errors of the shared extractors on every operation and makes
/// every error response a problem document.
pub(crate) fn complete(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let item_params = item.parameters.clone().unwrap_or_default();
        for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head, &mut item.options]
            .into_iter()
            .flatten()
        {
            complete_operation(op, &item_params);
        }
    }
}

fn complete_operation(op: &mut Operation, item_params: &[utoipa::openapi::path::Parameter]) {
    let params: Vec<_> = item_params.iter().chain(op.parameters.iter().flatten()).collect();
    let has = |place: ParameterIn| params.iter().any(|p| std::mem::discriminant(&p.parameter_in) == std::mem::discriminant(&place));
    let mut add = |status: &str, why: &str| {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| RefOr::T(problem_response(why)));
    };
    add("401", "No valid bearer token: the header is missing, malformed, or names an unknown or revoked token");
    add("403", "The token's role or queue permissions do not allow this");
    if has(ParameterIn::Path) {
        add("400", "A path parameter is not of its declared type or holds U+0000");
        add("404", "Nothing has the given id or name (or the caller may not see it)");
    }
    if has(ParameterIn::Query) {
        add("400", "A query parameter is malformed, out of range or holds U+0000; `errors` names it");
    }
    if has(ParameterIn::Header) {
        add("400", "A header parameter is malformed; `errors` names it");
    }
    if op.request_body.is_some() {
        add("400", "The body is not well-formed (malformed JSON or multipart)");
        add("413", "The body is larger than the server accepts (max_request_bytes)");
        add("415", "The body is not of a declared content type");
        add("422", "The body does not match its schema, or the core refused a value; `errors` names each field");
    }
    for response in op.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            as_problem_json(response);
        }
    }
}

/// A response answered with a `Problem` document.
fn problem_response(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(PROBLEM_JSON.to_string(), Content::new(Some(problem_ref())));
    response
}

fn problem_ref() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))
}

/// Moves a `Problem` body declared as `application/json` to `application/problem+json`.
fn as_problem_json(response: &mut Response) {
    let is_problem = |c: &Content| matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"));
    if let Some(content) = response.content.get("application/json") {
        if is_problem(content) {
            if let Some(content) = response.content.shift_remove("application/json") {
                response.content.insert(PROBLEM_JSON.to_string(), content);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_problem_json_and_extractor_errors_are_declared() {
        let doc = serde_json::to_value(crate::openapi()).unwrap_or_default();
        let mut ops = 0;
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                ops += 1;
                let responses = op["responses"].as_object().cloned().unwrap_or_default();
                for (status, response) in &responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        let content = response["content"].as_object().cloned().unwrap_or_default();
                        assert_eq!(content.keys().collect::<Vec<_>>(), [PROBLEM_JSON], "{method} {path} {status}");
                        assert_eq!(content[PROBLEM_JSON]["schema"]["$ref"], "#/components/schemas/Problem", "{method} {path} {status}");
                    }
                }
                for status in ["401", "403"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
                if path.contains('{') {
                    assert!(responses.contains_key("400") && responses.contains_key("404"), "{method} {path} lacks 400/404");
                }
                if op.get("requestBody").is_some() {
                    for status in ["400", "413", "415", "422"] {
                        assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                    }
                }
            }
        }
        assert!(ops > 50, "only {ops} operations");
    }
}
