//! Heap held by the parser after a huge OSC, with and without the filter. One test in this
//! binary: the counting allocator sees every thread.

use memmux::term::filter::{Filter, MAX_STRING};
use std::alloc::{GlobalAlloc, Layout, System};
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to System with the same arguments; the counter is a side note.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds alloc's contract for `layout`; passed through unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from System via alloc/realloc above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: `ptr` came from System with `layout`; the caller upholds realloc's contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Heap still held by a 24x80 parser after 8 MiB of OSC body (then BEL and text), fed in
/// 64 KiB chunks generated on the fly so the input itself is not counted.
fn held_after_osc(filtered: bool) -> isize {
    let size = |n| NonZeroU16::new(n).unwrap();
    let mut parser = vt100::Parser::new(size(24), size(80), 0);
    let mut filter = Filter::new();
    let chunk = vec![b'a'; 64 * 1024];
    let before = LIVE.load(Ordering::Relaxed);
    let mut feed = |bytes: &[u8]| {
        if filtered {
            filter.feed(bytes, &mut |s| parser.process(s));
        } else {
            parser.process(bytes);
        }
    };
    feed(b"\x1b]0;");
    for _ in 0..128 {
        feed(&chunk);
    }
    feed(b"\x07hello");
    let held = LIVE.load(Ordering::Relaxed) - before;
    assert_eq!(parser.screen().contents(), "hello");
    held
}

#[test]
fn osc_memory_is_capped() {
    let unfiltered = held_after_osc(false);
    let filtered = held_after_osc(true);
    // vte keeps its OSC buffer's capacity after dispatching (`clear()`, not shrink).
    assert!(
        unfiltered >= 8 << 20,
        "unfiltered parser holds {unfiltered}"
    );
    assert!(
        filtered <= (MAX_STRING + (64 << 10)) as isize,
        "filtered parser holds {filtered}"
    );
    println!("held after 8 MiB OSC: unfiltered {unfiltered} B, filtered {filtered} B");
}
