//! Throughput of `Term::process` on floods of lines, with the fast path on and off.
//!
//! `cargo bench --bench fastpath` prints MB/s for a 200x50 screen fed 64 KiB chunks (what the
//! pty reader hands over at most) with 10,000-row history limits: plain 80-100-character
//! lines, and the same lines coloured with SGR sequences the way `ls --color` and
//! `git log --color` colour them. Then the same in 4 KiB chunks: a Linux pty read returns at
//! most the line discipline's 4 KiB buffer, so that is what the reader gets today unless it
//! keeps reading while more is pending; 45 lines of 90 characters are less than a 50-row
//! screen, so the fast path has nothing to skip there. Medians of several runs in thread CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`), since the cores are shared; on and off alternate, so drift
//! hits both alike. `FASTPATH_BENCH_ONLY=on` (or `off`) runs one side, for profiling.

use memmux::term::Term;
use memmux::term::scrollback::{Budget, Limits};
use std::hint::black_box;
use std::time::Duration;

mod support;
use memmux::memory::sampler::thread_cpu;
use support::utf8_text;

const ROWS: u16 = 50;
const COLS: u16 = 200;
const CHUNKS: [usize; 2] = [64 << 10, 4 << 10];
/// 16 MiB per run: ~180,000 lines, so the 10,000-row history is full for most of it.
const INPUT: usize = 16 << 20;
const RUNS: usize = 7;

const WORDS: &[&str] = &[
    "error",
    "warn",
    "info",
    "debug",
    "request",
    "GET",
    "/api/v1/items",
    "200",
    "OK",
    "took",
    "12ms",
    "user=42",
    "session",
    "0x7f3a9c",
    "[main]",
    "src/lib.rs:42",
    "the",
    "a",
    "value",
];

/// A line of 80..=100 printable characters.
fn words(rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
    let len = 80 + rng.u64(..21) as usize;
    let start = out.len();
    while out.len() - start < len {
        out.extend_from_slice(WORDS[rng.u64(..WORDS.len() as u64) as usize].as_bytes());
        out.push(b' ');
    }
    out.truncate(start + len);
}

fn plain(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = Vec::with_capacity(INPUT + 128);
    while out.len() < INPUT {
        words(rng, &mut out);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Lines with 2-4 coloured spans: a timestamp, a level, a path, as loggers, `ls` and `git`
/// colour them.
fn coloured(rng: &mut fastrand::Rng) -> Vec<u8> {
    const SGR: &[&str] = &[
        "\x1b[33m",
        "\x1b[1;31m",
        "\x1b[01;34m",
        "\x1b[32m",
        "\x1b[36m",
        "\x1b[38;5;244m",
        "\x1b[1m",
    ];
    let mut out = Vec::with_capacity(INPUT + 256);
    while out.len() < INPUT {
        let mut line = Vec::new();
        words(rng, &mut line);
        let spans = 2 + rng.u64(..3) as usize;
        let mut at = 0;
        for _ in 0..spans {
            let end = (at + 8 + rng.u64(..16) as usize).min(line.len());
            out.extend_from_slice(SGR[rng.u64(..SGR.len() as u64) as usize].as_bytes());
            out.extend_from_slice(&line[at..end]);
            out.extend_from_slice(b"\x1b[m");
            let next = (end + 4 + rng.u64(..12) as usize).min(line.len());
            out.extend_from_slice(&line[end..next]);
            at = next;
        }
        out.extend_from_slice(&line[at..]);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One run: a fresh terminal fed `input` in 64 KiB chunks. Returns the CPU time and the
/// runs the fast path took.
fn run(input: &[u8], chunk: usize, fast: bool) -> (Duration, u64, usize) {
    let limits = Limits::new(10_000, 16 << 20);
    let mut term = Term::new(ROWS, COLS, limits, Budget::new(Budget::DEFAULT_LIMIT));
    term.set_fast_path(fast);
    let start = thread_cpu();
    for piece in input.chunks(chunk) {
        term.process(black_box(piece));
    }
    let took = thread_cpu() - start;
    (took, term.fast_path_stats().0, term.history().len())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or(Duration::MAX)
}

fn mb_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let mut rng = fastrand::Rng::with_seed(0x1234_5678_9abc_def1);
    let inputs = [
        ("plain 80-100 chars", plain(&mut rng)),
        ("SGR-coloured", coloured(&mut rng)),
        ("UTF-8 (CJK) text", utf8_text(&mut rng, INPUT)),
    ];
    println!("Term::process, {ROWS}x{COLS}, 10,000-row history; medians of {RUNS} runs");
    println!(
        "{:<20} {:>6} {:>10} {:>10} {:>8} {:>10}",
        "input", "chunk", "off MB/s", "on MB/s", "on/off", "fast runs"
    );
    let only = std::env::var("FASTPATH_BENCH_ONLY").ok();
    let side = |on: bool| {
        only.as_deref()
            .is_none_or(|o| o == if on { "on" } else { "off" })
    };
    for (chunk, (name, input)) in CHUNKS
        .iter()
        .flat_map(|c| inputs.iter().map(move |i| (*c, i)))
    {
        let (mut on, mut off) = (Vec::new(), Vec::new());
        let mut taken = 0;
        let (mut slow_len, mut fast_len) = (None, None);
        for _ in 0..RUNS {
            if side(false) {
                let (t, _, len) = run(input, chunk, false);
                off.push(t);
                slow_len = Some(len);
            }
            if side(true) {
                let (t, n, len) = run(input, chunk, true);
                on.push(t);
                taken = n;
                fast_len = Some(len);
            }
        }
        if let (Some(a), Some(b)) = (slow_len, fast_len) {
            assert_eq!(a, b, "history lengths differ");
        }
        let (on, off) = (median(on), median(off));
        println!(
            "{:<20} {:>4}Ki {:>10.1} {:>10.1} {:>7.2}x {:>10}",
            name,
            chunk >> 10,
            mb_s(input.len(), off),
            mb_s(input.len(), on),
            off.as_secs_f64() / on.as_secs_f64(),
            taken
        );
    }
}
