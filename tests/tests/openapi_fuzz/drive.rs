//! Drives every operation of the served document with generated requests and
//! checks each answer against the operation's declared responses.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use switchboard_e2e::{encode_query, json, Backend, Server, Value};

use crate::fixture::{fixture, Fixture};
use crate::generate::{param_allows, Gen, Pools};
use crate::schema::{short, Doc, Mode};

/// Cases per operation (`OPENAPI_FUZZ_CASES` overrides).
const DEFAULT_CASES: u64 = 30;

/// The seed of a run (`OPENAPI_FUZZ_SEED` overrides, to reproduce a failure).
const DEFAULT_SEED: u64 = 0x5b_0a_9e_11;

/// One operation of the document.
struct Operation {
    method: String,
    path: String,
    op: Value,
}

/// What a generated request breaks, if anything.
#[derive(Default)]
struct Request {
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Body>,
    /// How the request breaks the document; `None` when it obeys it.
    breaks: Option<String>,
}

enum Body {
    Json { content_type: String, text: String },
    Multipart(Vec<(String, Vec<u8>, Option<String>)>),
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub(crate) async fn every_route_matches_the_document(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let doc = server.send(server.client().get(server.url("/api/v1/openapi.json")), "openapi.json").await.expect(200);
    let doc = Doc::new(doc);
    let fixture = fixture(&server).await;
    let seed = env_u64("OPENAPI_FUZZ_SEED", DEFAULT_SEED);
    let cases = env_u64("OPENAPI_FUZZ_CASES", DEFAULT_CASES);
    let mut ops = operations(&doc);
    assert!(ops.len() > 50, "the document lists only {} operations", ops.len());
    // Reads first, deletes last, so the fixture lives as long as it can.
    ops.sort_by_key(|o| (["get", "put", "post", "patch", "delete"].iter().position(|m| *m == o.method), o.path.clone()));
    let mut failures = Vec::new();
    let (mut sent, mut broken) = (0, 0);
    let mut never_succeeded = Vec::new();
    for op in &ops {
        let mut succeeded = false;
        for case in 0..cases {
            let case_seed = case_seed(seed, op, case);
            let mut gen = Gen { rng: StdRng::seed_from_u64(case_seed), doc: &doc, pools: &fixture.pools };
            let request = build(&mut gen, op, &fixture);
            if fixture.protected.iter().any(|p| request.url.ends_with(p.as_str())) && op.method != "get" {
                continue;
            }
            sent += 1;
            broken += usize::from(request.breaks.is_some());
            let answer = send(&server, op, &request).await;
            succeeded |= (200..300).contains(&answer.status);
            if let Err(why) = check(&doc, op, &request, &answer) {
                failures.push((
                    format!("{} {} ", op.method.to_uppercase(), op.path),
                    format!(
                    "{} {} (case {case}, OPENAPI_FUZZ_SEED={seed}, case seed {case_seed}){}\n  request: {}\n  answer: {} {} {}\n  {why}",
                    op.method.to_uppercase(),
                    op.path,
                    request.breaks.as_deref().map(|b| format!(", breaking the document: {b}")).unwrap_or_default(),
                    describe(&request),
                    answer.status,
                    answer.content_type,
                    short(&Value::String(String::from_utf8_lossy(&answer.bytes).into_owned())),
                ),
                ));
            }
        }
        if !succeeded {
            never_succeeded.push(format!("{} {}", op.method.to_uppercase(), op.path));
        }
    }
    // The admin token must still work: the run exercised the routes, not a locked-out caller.
    server.admin_get("/api/v1/tickets?limit=1").await.expect(200);
    eprintln!("openapi fuzz: {} operations, {sent} requests ({broken} breaking the document), {} failures", ops.len(), failures.len());
    eprintln!("openapi fuzz: operations never answered 2xx: {never_succeeded:?}");
    assert!(sent as u64 > ops.len() as u64 * cases / 2, "only {sent} requests were sent");
    // The first failure of each operation, with how many it had.
    let mut shown: Vec<(String, usize)> = Vec::new();
    for (op, failure) in &failures {
        match shown.iter_mut().find(|(first, _)| first.starts_with(op.as_str())) {
            Some((_, n)) => *n += 1,
            None => shown.push((failure.clone(), 1)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} requests were answered against the document; the first of each operation:\n\n{}",
        failures.len(),
        shown.iter().map(|(f, n)| format!("{f}\n  ({n} failing cases of this operation)")).collect::<Vec<_>>().join("\n\n")
    );
}

fn case_seed(seed: u64, op: &Operation, case: u64) -> u64 {
    let mut h = DefaultHasher::new();
    (seed, &op.method, &op.path, case).hash(&mut h);
    h.finish()
}

fn operations(doc: &Doc) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in doc.root["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                ops.push(Operation { method: method.clone(), path: path.clone(), op: op.clone() });
            }
        }
    }
    ops
}

/// A request for `op`: valid, or breaking the document in one place.
fn build(gen: &mut Gen<'_>, op: &Operation, fixture: &Fixture) -> Request {
    let params: Vec<Value> = op.op["parameters"].as_array().cloned().unwrap_or_default();
    let body = op.op["requestBody"]["content"].as_object().cloned();
    // Where to break the request: nowhere (half the time), or one place.
    let mut places = vec!["none"; 4];
    if !params.is_empty() {
        places.push("param");
    }
    if body.is_some() {
        places.extend(["body", "body", "body", "media", "syntax"]);
    }
    let place = *places.choose(&mut gen.rng).unwrap_or(&"none");
    let mut request = Request::default();

    let breaking_param = if place == "param" { Some(gen.rng.gen_range(0..params.len())) } else { None };
    let mut path = op.path.clone();
    let mut query = Vec::new();
    let nested = fixture.nested.get(op.path.as_str()).and_then(|tuples| tuples.choose(&mut gen.rng).cloned());
    for (i, param) in params.iter().enumerate() {
        let name = param["name"].as_str().unwrap_or("").to_string();
        let schema = param["schema"].clone();
        let place_in = param["in"].as_str().unwrap_or("");
        let required = param["required"].as_bool().unwrap_or(false);
        let text = if breaking_param == Some(i) {
            let text = gen.breaking_param_text(&schema);
            // An empty path segment routes elsewhere (a 404 the route does not answer).
            let routes_elsewhere = place_in == "path" && text.is_empty();
            if !routes_elsewhere && !param_allows(gen.doc, &schema, &text) {
                request.breaks = Some(format!("{place_in} parameter {name} = {text:?}"));
            }
            text
        } else if place_in == "path" {
            match nested.as_ref().and_then(|t| t.get(&name)) {
                Some(v) if gen.rng.gen_bool(0.7) => v.clone(),
                _ => gen.param_text(&schema, &path_pool_name(&op.path, &name)),
            }
        } else if !required && (name.contains('<') || !gen.rng.gen_bool(0.3)) {
            continue;
        } else {
            gen.param_text(&schema, &name)
        };
        match place_in {
            "path" => path = path.replace(&format!("{{{name}}}"), &encode_query(&text)),
            "query" => query.push(format!("{}={}", encode_query(&name), encode_query(&text))),
            "header" => {
                // A header cannot carry every character; such a value is not sent.
                if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                    request.headers.push((name, text));
                } else if breaking_param == Some(i) {
                    request.breaks = None;
                }
            }
            _ => {}
        }
    }
    request.url = if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };

    if let Some(content) = body {
        let mut types: Vec<&String> = content.keys().collect();
        types.sort();
        let media = (*types.choose(&mut gen.rng).unwrap_or(&types[0])).clone();
        let schema = content[&media]["schema"].clone();
        if media == "multipart/form-data" {
            request.body = Some(multipart(gen, &schema, place == "body", &mut request.breaks));
        } else {
            let mut value = gen.valid(&schema, "", 0);
            let mut text_override = None;
            match place {
                "body" => {
                    let what = if gen.rng.gen_bool(0.15) {
                        value = gen.random_json(0);
                        format!("body replaced with {}", short(&value))
                    } else {
                        gen.mutate(&schema, &mut value, "body")
                    };
                    if gen.doc.validate(&schema, &value, "", Mode::Request).is_err() {
                        request.breaks = Some(what);
                    }
                }
                "syntax" => {
                    let text = value.to_string();
                    let cut = gen.rng.gen_range(0..text.len().max(1));
                    text_override = Some(format!(
                        "{}{}",
                        &text[..text.floor_char_boundary_compat(cut)],
                        ["", ",", "\"", "{{"].choose(&mut gen.rng).unwrap_or(&"")
                    ));
                    request.breaks = Some("malformed JSON".into());
                }
                _ => {}
            }
            let content_type = if place == "media" {
                request.breaks = Some("a body of an undeclared media type".into());
                ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
                    .choose(&mut gen.rng)
                    .unwrap_or(&"text/plain")
                    .to_string()
            } else {
                media
            };
            request.body = Some(Body::Json { content_type, text: text_override.unwrap_or_else(|| value.to_string()) });
        }
    }
    request
}

/// Floors a byte index to a character boundary (str::floor_char_boundary is unstable).
trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorBoundary for String {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

/// The pool a path parameter draws from: `/api/v1/queues/{id}` → `queues.id`.
fn path_pool_name(path: &str, name: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let at = segments.iter().position(|s| *s == format!("{{{name}}}")).unwrap_or(0);
    format!("{}.{name}", segments.get(at.wrapping_sub(1)).unwrap_or(&""))
}

/// The parts of a multipart body from its object schema.
fn multipart(gen: &mut Gen<'_>, schema: &Value, breaking: bool, breaks: &mut Option<String>) -> Body {
    let schema = gen.doc.resolve(schema).clone();
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut parts = Vec::new();
    for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
        if !required.contains(&name.as_str()) && gen.rng.gen_bool(0.5) {
            continue;
        }
        let media = prop["contentMediaType"].as_str().unwrap_or("text/plain");
        let bytes = match media {
            // The article part holds the schema its description names.
            "application/json" => gen.valid(&json!({"$ref": "#/components/schemas/ArticleInputDto"}), "", 0).to_string().into_bytes(),
            "application/toml" => format!("name = \"{}\"\nversion = \"1.0.0\"\n", gen.text(1, 10)).into_bytes(),
            _ => (0..gen.rng.gen_range(0..200)).map(|_| gen.rng.gen()).collect(),
        };
        let file = (media == "application/octet-stream" || media == "application/wasm").then(|| format!("{name}.bin"));
        parts.push((name.clone(), bytes, file));
    }
    if schema["additionalProperties"].is_object() {
        for i in 0..gen.rng.gen_range(0..3) {
            parts.push((format!("file{i}"), gen.text(0, 40).into_bytes(), Some(format!("f{i}.txt"))));
        }
    }
    if breaking {
        if !required.is_empty() && gen.rng.gen_bool(0.5) {
            let gone = required.choose(&mut gen.rng).copied().unwrap_or("");
            parts.retain(|p| p.0 != gone);
            *breaks = Some(format!("multipart without its required part {gone}"));
        } else if schema["additionalProperties"] == json!(false) {
            parts.push(("undeclared".into(), b"x".to_vec(), None));
            *breaks = Some("multipart with an undeclared part".into());
        }
    }
    Body::Multipart(parts)
}

/// A response, read whole.
struct Answer {
    status: u16,
    content_type: String,
    bytes: Vec<u8>,
}

async fn send(server: &Server, op: &Operation, request: &Request) -> Answer {
    let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap_or(Method::GET);
    let mut builder = server.client().request(method, server.url(&request.url)).bearer_auth(server.admin_token());
    for (k, v) in &request.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    match &request.body {
        Some(Body::Json { content_type, text }) => builder = builder.header("content-type", content_type.as_str()).body(text.clone()),
        Some(Body::Multipart(parts)) => {
            let mut form = reqwest::multipart::Form::new();
            for (name, bytes, file) in parts {
                let mut part = reqwest::multipart::Part::bytes(bytes.clone());
                if let Some(file) = file {
                    part = part.file_name(file.clone());
                }
                form = form.part(name.clone(), part);
            }
            builder = builder.multipart(form);
        }
        None => {}
    }
    let r = server.send(builder, &format!("{} {}", op.method, request.url)).await;
    Answer { status: r.status, content_type: r.content_type, bytes: r.bytes }
}

/// Checks an answer against the operation's declared responses.
fn check(doc: &Doc, op: &Operation, request: &Request, answer: &Answer) -> Result<(), String> {
    if answer.status >= 500 {
        return Err(format!("a {} answer: no input may cause a server error", answer.status));
    }
    if let Some(breaks) = &request.breaks {
        if !(400..500).contains(&answer.status) {
            return Err(format!("the request breaks the document ({breaks}) but was answered {}, not refused", answer.status));
        }
    }
    let responses = &op.op["responses"];
    let Some(declared) = responses.get(answer.status.to_string()).or_else(|| responses.get("default")) else {
        let listed: Vec<&String> = responses.as_object().map(|m| m.keys().collect()).unwrap_or_default();
        return Err(format!("status {} is not declared (declared: {listed:?})", answer.status));
    };
    let declared = doc.resolve(declared);
    let media = answer.content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let Some(content) = declared.get("content").and_then(Value::as_object).filter(|c| !c.is_empty()) else {
        return if answer.bytes.is_empty() { Ok(()) } else { Err("the document declares no body, but one came".into()) };
    };
    let schema = match content.get(&media).or_else(|| content.get("*/*")) {
        Some(c) => &c["schema"],
        None => return Err(format!("content type {media:?} is not declared (declared: {:?})", content.keys().collect::<Vec<_>>())),
    };
    if media == "application/json" || media.ends_with("+json") {
        let value: Value = serde_json::from_slice(&answer.bytes).map_err(|e| format!("the body is not JSON: {e}"))?;
        doc.validate(schema, &value, "response", Mode::Response)
            .map_err(|e| format!("the body does not match the declared schema: {e}"))?;
    }
    Ok(())
}

fn describe(request: &Request) -> String {
    let headers: Vec<String> = request.headers.iter().map(|(k, v)| format!("{k}: {}", short(&Value::String(v.clone())))).collect();
    let body = match &request.body {
        Some(Body::Json { content_type, text }) => format!(" [{content_type}] {}", short(&Value::String(text.clone()))),
        Some(Body::Multipart(parts)) => format!(
            " [multipart] {}",
            parts
                .iter()
                .map(|(n, b, f)| format!("{n}{}={} bytes", f.as_ref().map(|f| format!("({f})")).unwrap_or_default(), b.len()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    };
    format!("{}{}{body}", request.url, if headers.is_empty() { String::new() } else { format!(" {headers:?}") })
}

impl Pools {
    /// Adds known strings under `name`.
    pub(crate) fn add_strings(&mut self, name: &str, values: impl IntoIterator<Item = String>) {
        self.strings.entry(name.to_string()).or_default().extend(values);
    }

    /// Adds known integers under `name`.
    pub(crate) fn add_ints(&mut self, name: &str, values: impl IntoIterator<Item = i64>) {
        self.ints.entry(name.to_string()).or_default().extend(values);
    }
}
