//! Hostile test guest: unbounded recursion that keeps its state in Wasm
//! locals only, so it never touches the shadow stack in linear memory. Each
//! call takes a frame of the host's native Wasm stack, which overflows
//! (`max_wasm_stack`): the instance traps with a stack overflow, and the
//! host must report exactly that and keep running.
//!
//! (A recursion with big local arrays would overflow the 64 KiB shadow stack
//! first, which Wasm sees only as an out-of-bounds memory access.)

use std::hint::black_box;
use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct DeepRecursion;

/// Recurses `depth` times. Two operations on the result after the call keep
/// the compiler from turning the recursion into a loop.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == 0 {
        return 1;
    }
    recurse(depth - 1).wrapping_mul(31).wrapping_add(depth)
}

impl PostmasterFilter for DeepRecursion {
    fn filter(mail: Mail) -> Result<Verdict, PluginError> {
        // A depth the compiler cannot know, and no stack can hold.
        let depth = black_box(u64::MAX - mail.subject.len() as u64);
        Ok(Verdict::default().with_dynamic_field("Depth", recurse(depth).to_string()))
    }
}

switchboard_sdk::postmaster_filter!(DeepRecursion);
