//! The fuzzer's input drives the escape-sequence grammar (`harness::gen_plan` with the input
//! as its source of choices): up to three terminals sharing a budget, grammar-built output
//! cut at chosen places, resizes, rebuilds, limit changes, budget enforcement, rendering and
//! history searches. Mutating a byte changes one choice, so libFuzzer explores the grammar.

#![no_main]

#[path = "../../tests/fuzz/harness.rs"]
mod harness;

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static A: harness::CountingAlloc = harness::CountingAlloc;

fuzz_target!(|data: &[u8]| {
    let mut src = harness::Bytes(data);
    // Output stops when the input runs out; 64 KiB keeps an execution under ~50 ms.
    let plan = harness::gen_plan(&mut src, 64 << 10, false);
    let opts = harness::RunOpts {
        on_panic: harness::OnPanic::Propagate,
        heap: true,
    };
    if let Err(f) = harness::run(&plan, opts) {
        panic!("{f}");
    }
});
