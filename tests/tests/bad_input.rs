//! Bad input on every write route: malformed JSON, wrong types, unknown
//! names, out-of-range values, invalid dynamic field values, oversize bodies,
//! duplicates and unknown ids, article bodies over `max_article_bytes`, titles and names that are not one line, U+0000, `null` and non-object bodies the document forbids, times outside RFC 3339's years and
//! paging limits, headers, and tickets too big to index whole. Errors must be
//! `application/problem+json`, name the offending field, and leave nothing
//! half-written; no input is ever a 5xx.

#[path = "bad_input/big_ticket.rs"]
mod big_ticket;
#[path = "bad_input/dynamic_fields.rs"]
mod dynamic_fields;
#[path = "bad_input/headers.rs"]
mod headers;
#[path = "bad_input/limits.rs"]
mod limits;
#[path = "bad_input/malformed.rs"]
mod malformed;
#[path = "bad_input/methods.rs"]
mod methods;
#[path = "bad_input/names.rs"]
mod names;
#[path = "bad_input/nul.rs"]
mod nul;
#[path = "bad_input/nulls.rs"]
mod nulls;
#[path = "bad_input/oversize.rs"]
mod oversize;
#[path = "bad_input/references.rs"]
mod references;
#[path = "bad_input/support.rs"]
mod support;
#[path = "bad_input/times.rs"]
mod times;

use switchboard_e2e::backend_tests;

use big_ticket::big_tickets_stay_searchable;
use dynamic_fields::dynamic_field_values;
use headers::{idempotency_key_and_header_fields, list_limits_are_one_rule};
use limits::bodies_and_single_line_fields;
use malformed::malformed_json_and_wrong_types;
use methods::unsupported_methods;
use names::unknown_names_and_ranges;
use nul::nul_characters_are_refused_by_field;
use nulls::nulls_arrays_and_closed_words;
use oversize::oversize_body;
use references::duplicates_references_and_unknown_ids;
use times::times_outside_four_digit_years;

backend_tests!(
    malformed_json_and_wrong_types,
    unknown_names_and_ranges,
    dynamic_field_values,
    duplicates_references_and_unknown_ids,
    oversize_body,
    unsupported_methods,
    nul_characters_are_refused_by_field,
    times_outside_four_digit_years,
    list_limits_are_one_rule,
    idempotency_key_and_header_fields,
    big_tickets_stay_searchable,
    nulls_arrays_and_closed_words,
    bodies_and_single_line_fields
);
