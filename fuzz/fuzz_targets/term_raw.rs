//! The fuzzer's input is program output, fed unchanged (so dictionary tokens arrive whole)
//! to one terminal; where it is cut into reads and when the pane is resized follow from a
//! hash of the input. Seeds: tests/fuzz/corpus. Invariants: tests/fuzz/harness.rs.

#![no_main]

#[path = "../../tests/fuzz/harness.rs"]
mod harness;

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static A: harness::CountingAlloc = harness::CountingAlloc;

fuzz_target!(|data: &[u8]| {
    let plan = harness::raw_plan(data);
    let opts = harness::RunOpts {
        // libfuzzer-sys aborts on any panic and records the input as a crash.
        on_panic: harness::OnPanic::Propagate,
        heap: true,
    };
    if let Err(f) = harness::run(&plan, opts) {
        panic!("{f}");
    }
});
