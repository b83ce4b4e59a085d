//! The OpenAPI document is the contract generated clients are built from, so
//! every route is driven from the served document itself: for each operation,
//! a fixed number of seeded cases (`OPENAPI_FUZZ_CASES`, default 30; the seed
//! is `OPENAPI_FUZZ_SEED` and every failure prints it with the request) of
//! requests generated from the operation's parameter and body schemas, half
//! of them breaking the document in one place (wrong type, null, a missing
//! required or an undeclared property, too long, out of range, not in the
//! enum, malformed JSON, an undeclared media type, …). Every answer must be
//! below 500, of a status the operation declares, of a declared content type
//! and match its schema (responses may not carry undeclared properties);
//! a request that breaks the document must be refused with a 4xx.

#[path = "openapi_fuzz/drive.rs"]
mod drive;
#[path = "openapi_fuzz/fixture.rs"]
mod fixture;
#[path = "openapi_fuzz/generate.rs"]
mod generate;
#[path = "openapi_fuzz/schema.rs"]
mod schema;

use drive::every_route_matches_the_document;
use switchboard_e2e::backend_tests;

backend_tests!(every_route_matches_the_document);
