//! Scrollback store: memory per row, capture throughput, decode and search cost.
//!
//! `cargo bench --bench scrollback` prints a table. Memory is counted by a
//! global allocator that tracks live bytes with `malloc_usable_size`, so
//! allocator rounding is included. Timings are medians of several runs, in
//! thread CPU time (`CLOCK_THREAD_CPUTIME_ID`), since the cores are shared.

use memmux::term::scrollback::CaptureSink;
use memmux::term::scrollback::{Budget, Limits, Pos, RowCapture, Scrollback};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::num::NonZeroU16;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

fn usable(p: *mut u8) -> usize {
    // SAFETY: `p` was returned by the system allocator and is still live.
    unsafe { libc::malloc_usable_size(p.cast()) }
}

// SAFETY: forwards to `System`, only adding bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        if !p.is_null() {
            LIVE.fetch_add(usable(p), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        if !p.is_null() {
            LIVE.fetch_add(usable(p), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        LIVE.fetch_sub(usable(p), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, layout) }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = usable(p);
        // SAFETY: same contract as the caller's.
        let q = unsafe { System.realloc(p, layout, new_size) };
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        if !q.is_null() {
            LIVE.fetch_sub(old, Ordering::Relaxed);
            LIVE.fetch_add(usable(q), Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

const WORDS: &[&str] = &[
    "error",
    "warning",
    "src/main.rs",
    "let",
    "mut",
    "value",
    "=",
    "42;",
    "fn",
    "cargo",
    "build",
    "--release",
    "Compiling",
    "memmux",
    "v0.1.0",
    "(/work)",
    "note:",
    "the",
    "trait",
    "bound",
    "is",
    "not",
    "satisfied",
    "-->",
    "|",
    "^^^",
    "help:",
    "consider",
];

/// A line of exactly `chars` ASCII characters made of words.
fn plain_line(rng: &mut fastrand::Rng, chars: usize, out: &mut String) {
    let start = out.len();
    while out.len() - start < chars {
        out.push_str(WORDS[rng.usize(..WORDS.len())]);
        out.push(' ');
    }
    out.truncate(start + chars);
}

/// `ls --color` style: 5 coloured names of ~12 characters, two spaces apart.
fn sgr_line(rng: &mut fastrand::Rng, out: &mut String) {
    const COLORS: &[&str] = &["01;34", "01;32", "01;36", "00", "01;31", "40;33;01", "35"];
    for i in 0..5 {
        if i > 0 {
            out.push_str("  ");
        }
        out.push_str("\x1b[");
        out.push_str(COLORS[rng.usize(..COLORS.len())]);
        out.push('m');
        let mut name = String::new();
        plain_line(rng, 12, &mut name);
        out.push_str(&name.replace(' ', "_"));
        out.push_str("\x1b[0m");
    }
}

fn cjk_line(rng: &mut fastrand::Rng, out: &mut String) {
    for _ in 0..35 {
        out.push(char::from_u32(0x4E00 + rng.usize(..0x5000) as u32).unwrap_or('中'));
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Plain,
    Sgr,
    Cjk,
    Empty,
    /// Mixed 200-column output for throughput: plain and coloured lines, some wrapping.
    Mixed,
}

fn input(kind: Kind, lines: usize, seed: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = String::new();
    for _ in 0..lines {
        match kind {
            Kind::Plain => plain_line(&mut rng, 70, &mut out),
            Kind::Sgr => sgr_line(&mut rng, &mut out),
            Kind::Cjk => cjk_line(&mut rng, &mut out),
            Kind::Empty => {}
            Kind::Mixed => match rng.usize(..10) {
                0..=1 => sgr_line(&mut rng, &mut out),
                2 => {
                    let n = 260 + rng.usize(..200);
                    plain_line(&mut rng, n, &mut out);
                }
                3 => {}
                _ => {
                    let n = 40 + rng.usize(..150);
                    plain_line(&mut rng, n, &mut out);
                }
            },
        }
        out.push_str("\r\n");
    }
    out
}

/// Only vt100's own formatting: every row through `write_formatted_basic`.
struct FormatOnly {
    state: vt100::capture::BasicFormattedCaptureState,
    buf: String,
}

impl vt100::Callbacks for FormatOnly {
    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, _alternate: bool) {
        self.buf.clear();
        let _ = row.write_formatted_basic(&mut self.buf, &mut self.state);
        black_box(self.buf.len());
    }
}

const SCREEN_ROWS: u16 = 24;

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

fn feed<CB: vt100::Callbacks>(p: &mut vt100::Parser<CB>, bytes: &[u8]) {
    // 16 KiB: a typical pty read.
    for piece in bytes.chunks(16 << 10) {
        p.process(piece);
    }
}

/// A screen `cols` wide whose scrolled-off rows go to an empty store with `limits`.
fn capturing(cols: u16, limits: Limits, budget: &Arc<Budget>) -> vt100::Parser<CaptureSink> {
    let sink = CaptureSink {
        capture: RowCapture::new(),
        store: Scrollback::new(limits, budget.clone()),
    };
    vt100::Parser::new_with_callbacks(nz(SCREEN_ROWS), nz(cols), 0, sink)
}

/// Builds a store of exactly `rows` scrolled-off rows of `kind` at `cols` columns.
fn build(kind: Kind, rows: usize, cols: u16, budget: &Arc<Budget>) -> Scrollback {
    let limits = Limits::new(rows, 1 << 30);
    let text = input(kind, rows + usize::from(SCREEN_ROWS) - 1, 7);
    let mut p = capturing(cols, limits, budget);
    feed(&mut p, text.as_bytes());
    let sink = p.callbacks_mut();
    sink.capture.settle(&mut sink.store);
    std::mem::replace(&mut sink.store, Scrollback::new(limits, budget.clone()))
}

struct MemRow {
    name: &'static str,
    rows: usize,
    live_per_row: f64,
    reported_per_row: f64,
}

fn memory_case(name: &'static str, kind: Kind, cols: u16, budget: &Arc<Budget>) -> MemRow {
    const ROWS: usize = 10_000;
    let text = input(kind, ROWS + usize::from(SCREEN_ROWS) - 1, 7);
    let base = live();
    let store = {
        let limits = Limits::new(ROWS, 1 << 30);
        let mut p = capturing(cols, limits, budget);
        feed(&mut p, text.as_bytes());
        let sink = p.callbacks_mut();
        std::mem::replace(&mut sink.store, Scrollback::new(limits, budget.clone()))
        // The parser and the capture's buffers are dropped here.
    };
    let held = live() - base;
    let row = MemRow {
        name,
        rows: store.len(),
        live_per_row: held as f64 / store.len().max(1) as f64,
        reported_per_row: store.bytes() as f64 / store.len().max(1) as f64,
    };
    drop(store);
    row
}

/// vt100's own cell scrollback for the same input, for comparison.
fn vt100_bytes_per_row(kind: Kind, cols: u16) -> f64 {
    const ROWS: usize = 10_000;
    let text = input(kind, ROWS + usize::from(SCREEN_ROWS) - 1, 7);
    let base = live();
    let mut p = vt100::Parser::new(nz(SCREEN_ROWS), nz(cols), ROWS);
    feed(&mut p, text.as_bytes());
    let held = live() - base;
    let n = p.screen().scrollback_len();
    drop(p);
    held as f64 / n.max(1) as f64
}

/// CPU time of this thread: on cores shared with other jobs it moves far less
/// than wall time, which counts the time other processes hold the core.
#[derive(Clone, Copy)]
struct Instant(Duration);

impl Instant {
    fn now() -> Self {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Self(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    fn elapsed(self) -> Duration {
        Self::now().0.saturating_sub(self.0)
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_runs(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// Records the allocations since `since` (per round) and returns the new count.
fn after(slot: &mut usize, since: usize) -> usize {
    let now = ALLOCS.load(Ordering::Relaxed);
    *slot = now - since;
    now
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let budget = Budget::new(Budget::DEFAULT_LIMIT);

    println!("## Memory: 10,000 stored rows (live heap via malloc_usable_size)\n");
    println!(
        "| rows | kept | bytes/row (heap) | bytes/row (bytes()) | vt100 scrollback bytes/row |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, kind, cols) in [
        ("70-char plain, 80 cols", Kind::Plain, 80),
        ("70-char plain, 200 cols", Kind::Plain, 200),
        ("ls --color (10 SGR changes), 80 cols", Kind::Sgr, 80),
        ("CJK, 35 wide chars, 80 cols", Kind::Cjk, 80),
        ("empty, 80 cols", Kind::Empty, 80),
    ] {
        let m = memory_case(name, kind, cols, &budget);
        let vt = vt100_bytes_per_row(kind, cols);
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.0} |",
            m.name, m.rows, m.live_per_row, m.reported_per_row, vt
        );
    }
    assert_eq!(budget.total(), 0, "every store gave its bytes back");

    println!("\n## Parse throughput, 200 cols x 24 rows, mixed output (median of 7)\n");
    let text = input(Kind::Mixed, 60_000, 11);
    let bytes = text.as_bytes();
    println!(
        "input: {:.1} MB, {} lines\n",
        bytes.len() as f64 / 1e6,
        60_000
    );
    // Modes interleaved round by round, so load from other jobs on the shared
    // cores hits all of them alike; medians of 7 rounds.
    let rounds = 7;
    let mut times: [Vec<Duration>; 4] = Default::default();
    let mut allocs = [0usize; 4];
    let stored_rows = std::cell::Cell::new(0);
    let vt100_only = || {
        let mut p = vt100::Parser::new(nz(SCREEN_ROWS), nz(200), 0);
        feed(&mut p, bytes);
        black_box(p.screen().cursor_position());
    };
    let format_only = || {
        let sink = FormatOnly {
            state: Default::default(),
            buf: String::new(),
        };
        let mut p = vt100::Parser::new_with_callbacks(nz(SCREEN_ROWS), nz(200), 0, sink);
        feed(&mut p, bytes);
        black_box(p.screen().cursor_position());
    };
    let stored = || {
        let sink = CaptureSink {
            capture: RowCapture::new(),
            store: Scrollback::new(Limits::default(), budget.clone()),
        };
        let mut p = vt100::Parser::new_with_callbacks(nz(SCREEN_ROWS), nz(200), 0, sink);
        feed(&mut p, bytes);
        let store = &p.callbacks().store;
        stored_rows.set(store.len() + store.evicted() as usize);
    };
    let builtin = || {
        let mut p = vt100::Parser::new(nz(SCREEN_ROWS), nz(200), 10_000);
        feed(&mut p, bytes);
        black_box(p.screen().scrollback_len());
    };
    let modes: [&dyn Fn(); 4] = [&vt100_only, &format_only, &stored, &builtin];
    for _ in 0..rounds {
        for (i, mode) in modes.iter().enumerate() {
            let a = ALLOCS.load(Ordering::Relaxed);
            let t = Instant::now();
            mode();
            times[i].push(t.elapsed());
            after(&mut allocs[i], a);
        }
    }
    let stored_rows = stored_rows.get();
    let [noop, format_only, stored, builtin] = times.map(median);
    println!("| mode | MB/s | allocations per run |");
    println!("|---|---:|---:|");
    for (name, d, n) in [
        ("vt100 only (capacity 0, no-op on_scroll)", noop, allocs[0]),
        (
            "+ write_formatted_basic per row (vt100's formatting floor)",
            format_only,
            allocs[1],
        ),
        (
            "+ RowCapture + Scrollback (default limits)",
            stored,
            allocs[2],
        ),
        ("vt100 built-in scrollback, 10,000 rows", builtin, allocs[3]),
    ] {
        println!("| {name} | {:.1} | {n} |", mbps(bytes.len(), d));
    }
    println!(
        "\nrows captured per run: {stored_rows}; capture+store cost above formatting: {:.0} ns/row",
        (stored.as_secs_f64() - format_only.as_secs_f64()) * 1e9 / stored_rows.max(1) as f64
    );

    println!("\n## Decode 50 rows with row_cells (median of 15 x 200 reps, mixed 80-col rows)\n");
    println!("| store | offset | ns per 50 rows | ns/row |");
    println!("|---|---:|---:|---:|");
    let small = build(Kind::Mixed, 10_000, 80, &budget);
    let big = build(Kind::Mixed, 100_000, 80, &budget);
    let colored = build(Kind::Sgr, 10_000, 80, &budget);
    for (name, store, offset) in [
        ("10,000 rows (mixed)", &small, 5_000),
        ("100,000 rows (mixed)", &big, 5_000),
        ("100,000 rows (mixed)", &big, 95_000),
        ("10,000 rows (ls --color)", &colored, 5_000),
    ] {
        let reps = 200;
        let d = time_runs(15, || {
            for _ in 0..reps {
                let mut sum = 0u64;
                for i in offset..offset + 50 {
                    store.row_cells(i, |col, sym, w, style| {
                        sum += u64::from(col) + sym.len() as u64 + u64::from(w);
                        black_box(style);
                    });
                }
                black_box(sum);
            }
        });
        let ns = d.as_secs_f64() * 1e9 / reps as f64;
        println!("| {name} | {offset} | {ns:.0} | {:.0} |", ns / 50.0);
    }

    println!(
        "\n## Search over 100,000 rows ({:.1} MB of text, median of 11)\n",
        big.bytes() as f64 / 1e6
    );
    println!("| query | direction | result | ms |");
    println!("|---|---|---|---:|");
    let end = Pos::new(usize::MAX, 0);
    for (query, from, backward) in [
        ("zzqqxx", Pos::new(0, 0), false),
        ("NotThere", Pos::new(0, 0), false),
        ("zzqqxx", end, true),
        ("ünïcode", Pos::new(0, 0), false),
        ("the missing", Pos::new(0, 0), false),
        ("error", Pos::new(0, 0), false),
        ("satisfied", end, true),
    ] {
        let mut result = None;
        let d = time_runs(11, || {
            result = black_box(big.find(query, from, backward));
        });
        let shown = match result {
            Some(m) => format!("row {} col {}", m.start.row, m.start.col),
            None => "miss".to_string(),
        };
        println!(
            "| `{query}` | {} | {shown} | {:.2} |",
            if backward { "backward" } else { "forward" },
            d.as_secs_f64() * 1e3
        );
    }
    println!(
        "\n100,000-row store: {} bytes ({:.1} B/row)",
        big.bytes(),
        big.bytes() as f64 / big.len() as f64
    );
}
