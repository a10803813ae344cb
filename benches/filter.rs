//! Parse throughput with and without `memmux::term::filter::Filter` in front of vt100.
//!
//! Input: 4 MiB of 80-100 column lines of lowercase words, either plain or with a 256-colour /
//! truecolour SGR before every word, fed to a 50x200 parser in 64 KiB chunks (a pty read size).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use memmux::term::filter::Filter;
use std::hint::black_box;
use std::num::NonZeroU16;
use std::time::Duration;

const TOTAL: usize = 4 << 20;
const CHUNK: usize = 64 << 10;

fn text(sgr: bool) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut out = Vec::with_capacity(TOTAL + 256);
    while out.len() < TOTAL {
        let width = 80 + rng.u64(..21) as usize;
        let mut col = 0;
        while col < width {
            let len = 2 + rng.u64(..8) as usize;
            if sgr {
                let seq = if rng.u64(..2) == 0 {
                    format!("\x1b[38;5;{}m", rng.u64(..256))
                } else {
                    let (r, g, b) = (rng.u64(..256), rng.u64(..256), rng.u64(..256));
                    format!("\x1b[38;2;{r};{g};{b}m")
                };
                out.extend_from_slice(seq.as_bytes());
            }
            for _ in 0..len.min(width - col) {
                out.push(b'a' + rng.u64(..26) as u8);
            }
            col += len + 1;
            if col < width {
                out.push(b' ');
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn parser() -> vt100::Parser {
    let size = |n| NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN);
    vt100::Parser::new(size(50), size(200), 0)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("vt100");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    for (name, data) in [("plain", text(false)), ("sgr", text(true))] {
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_with_input(BenchmarkId::new("parse", name), &data, |b, data| {
            b.iter(|| {
                let mut p = parser();
                for chunk in data.chunks(CHUNK) {
                    p.process(chunk);
                }
                black_box(p.screen().cursor_position())
            })
        });
        // The filter's own cost: robust against load from other processes, unlike the
        // difference of two parse measurements.
        group.bench_with_input(BenchmarkId::new("filter", name), &data, |b, data| {
            b.iter(|| {
                let mut f = Filter::new();
                f.set_width(200);
                let mut n = 0;
                for chunk in data.chunks(CHUNK) {
                    f.feed(chunk, &mut |s| n += black_box(s).len());
                }
                n
            })
        });
        group.bench_with_input(BenchmarkId::new("filter+parse", name), &data, |b, data| {
            b.iter(|| {
                let mut p = parser();
                let mut f = Filter::new();
                f.set_width(200);
                f.set_height(50);
                for chunk in data.chunks(CHUNK) {
                    f.feed(chunk, &mut |s| p.process(s));
                }
                black_box(p.screen().cursor_position())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
