//! The whole output path of a session, as its reader runs it: `Term::process` = the hostile-
//! output filter, the plain-text fast path, vt100, and the scrollback store, on a 50x200
//! screen with a 10,000-row history, fed 64 KiB at a time (the reader's buffer). Five
//! workloads: plain text lines, SGR-heavy lines (`ls --color` style), CJK lines (wide
//! characters), mixed UTF-8 text (`bench/compare.py`'s), and full-screen redraws on the alternate screen (what htop or vim send).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use memmux::term::Term;
use memmux::term::scrollback::{Budget, Limits};

mod support;
use support::utf8_text;

const WORDS: &[&str] = &[
    "alpha", "memory", "session", "terminal", "scroll", "the", "of", "buffer", "parser", "tab",
    "render", "frame", "queue", "kernel", "pty", "output",
];

/// 1 MiB of each workload.
const SIZE: usize = 1 << 20;

fn plain(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE + 200);
    while out.len() < SIZE {
        let target = 80 + rng.u64(..21) as usize;
        let start = out.len();
        while out.len() - start < target {
            out.extend_from_slice(WORDS[rng.u64(..WORDS.len() as u64) as usize].as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn sgr(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE + 400);
    while out.len() < SIZE {
        for _ in 0..8 {
            let w = WORDS[rng.u64(..WORDS.len() as u64) as usize];
            let style = match rng.u64(..4) {
                0 => format!("\x1b[1;3{}m", rng.u64(..8)),
                1 => format!("\x1b[38;5;{}m", rng.u64(..256)),
                2 => format!(
                    "\x1b[38;2;{};{};{}m",
                    rng.u64(..256),
                    rng.u64(..256),
                    rng.u64(..256)
                ),
                _ => "\x1b[4;44m".to_string(),
            };
            out.extend_from_slice(style.as_bytes());
            out.extend_from_slice(w.as_bytes());
            out.extend_from_slice(b"\x1b[0m  ");
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn cjk(rng: &mut fastrand::Rng) -> Vec<u8> {
    const HAN: &[char] = &['漢', '字', '語', '文', '書', '中', '日', '本', '記', '憶'];
    let mut out = Vec::with_capacity(SIZE + 400);
    while out.len() < SIZE {
        let mut line = String::new();
        for _ in 0..35 + rng.u64(..10) {
            line.push(HAN[rng.u64(..HAN.len() as u64) as usize]);
        }
        line.push_str(" ok\r\n");
        out.extend_from_slice(line.as_bytes());
    }
    out
}

/// Whole screens redrawn in place on the alternate screen: home, then every row with colours
/// and an erase to its end, as full-screen programs repaint.
fn redraw(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = b"\x1b[?1049h".to_vec();
    while out.len() < SIZE {
        out.extend_from_slice(b"\x1b[H");
        for row in 1..=50 {
            let cpu = rng.u64(..100);
            let line = format!(
                "\x1b[{row};1H\x1b[1;32m{:>6}\x1b[0m root  20   0 \x1b[36m{:>7}\x1b[0m {:>5.1} {}\x1b[K",
                rng.u64(..40_000),
                rng.u64(..9_999_999),
                cpu as f64 / 3.0,
                WORDS[rng.u64(..WORDS.len() as u64) as usize]
            );
            out.extend_from_slice(line.as_bytes());
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
    let workloads = [
        ("plain", plain(&mut rng)),
        ("sgr", sgr(&mut rng)),
        ("cjk", cjk(&mut rng)),
        ("utf8_mixed", utf8_text(&mut rng, SIZE)),
        ("full_screen_redraw", redraw(&mut rng)),
    ];
    let budget = Budget::new(1 << 30);
    let mut group = c.benchmark_group("term_process_64k_chunks");
    group.sample_size(20);
    for (name, data) in &workloads {
        group.throughput(Throughput::Bytes(data.len() as u64));
        let mut t = Term::new(50, 200, Limits::new(10_000, 16 << 20), budget.clone());
        group.bench_function(*name, |b| {
            b.iter(|| {
                for chunk in data.chunks(64 << 10) {
                    t.process(black_box(chunk));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
