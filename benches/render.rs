//! Frame cost: one 200x50 pane copied from vt100 into a ratatui buffer, and the whole frame
//! (pane, tab bar, status, diff and escape output) as memmux draws it on a keystroke.

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::{TerminalOptions, Viewport};

fn filled_parser(rows: u16, cols: u16) -> vt100::Parser {
    let mut p = vt100::Parser::new(
        std::num::NonZeroU16::new(rows).unwrap(),
        std::num::NonZeroU16::new(cols).unwrap(),
        0,
    );
    for i in 0..200 {
        let line = format!(
            "\x1b[1;3{}m{:>6}\x1b[0m  some ordinary output text, \x1b[4munderlined\x1b[0m and \x1b[38;5;{}mcoloured\x1b[0m words {}\r\n",
            i % 8,
            i,
            i % 256,
            "x".repeat(i % 90)
        );
        p.process(line.as_bytes());
    }
    p
}

fn bench(c: &mut Criterion) {
    let p = filled_parser(50, 200);
    let area = Rect::new(0, 0, 200, 50);
    let mut buf = Buffer::empty(area);
    c.bench_function("pane_200x50_to_buffer", |b| {
        b.iter(|| {
            buf.reset();
            memmux::ui::pane::render_screen(p.screen(), area, &mut buf);
        })
    });

    // A whole frame through ratatui into a byte sink, with one cell changed per frame (as
    // on a keystroke echo).
    let mut p2 = filled_parser(50, 200);
    let backend = CrosstermBackend::new(std::io::sink());
    let mut term = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(area),
        },
    )
    .unwrap();
    let mut n = 0u32;
    c.bench_function("frame_200x50_one_change", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            p2.process(if n % 2 == 0 { b"a\x08" } else { b"b\x08" });
            term.draw(|f| memmux::ui::pane::render_screen(p2.screen(), f.area(), f.buffer_mut()))
                .unwrap();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
