//! Frame cost: one 200x50 pane copied from vt100 into a ratatui buffer, and the whole frame
//! (pane, tab bar, status, diff and escape output) as memmux draws it on a keystroke.

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

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

    // A whole frame through memmux's compositor into a byte sink, with one cell changed per
    // frame (a keystroke echo), on a full screen and on a shell screen (a few lines).
    for (name, mut p) in [
        ("frame_200x50_full_one_change", filled_parser(50, 200)),
        ("frame_200x50_shell_one_change", {
            let mut p = filled_parser(50, 200);
            p.process(b"\x1b[H\x1b[2J$ ls\r\nCargo.toml  src\r\n$ ");
            p
        }),
    ] {
        let mut out = memmux::ui::Compositor::new(std::io::sink(), area);
        let mut n = 0u32;
        c.bench_function(name, |b| {
            b.iter(|| {
                n = n.wrapping_add(1);
                p.process(if n % 2 == 0 { b"a\x08" } else { b"b\x08" });
                out.draw(|f| {
                    f.pane = f.area();
                    f.pane_blank =
                        memmux::ui::pane::render_screen(p.screen(), f.area(), f.buffer_mut());
                })
                .unwrap();
            })
        });
    }
}

/// One frame of the scroll view, 5,000 rows up, over histories of 10,000 and 100,000 rows: the
/// cost follows the rows shown, not the size of the store.
fn bench_scroll_view(c: &mut Criterion) {
    use memmux::scroll::ScrollView;
    use memmux::session::scrollback::{Budget, Limits};
    use memmux::session::term::Term;
    for stored in [10_000usize, 100_000] {
        let mut t = Term::new(
            50,
            200,
            Limits {
                lines: stored,
                bytes: 1 << 30,
            },
            Budget::new(1 << 30),
        );
        let mut chunk = String::new();
        for i in 0..stored + 50 {
            chunk.push_str(&format!(
                "\x1b[3{}m{i:>7}\x1b[0m the quick brown fox jumps over the lazy dog\r\n",
                i % 8
            ));
            if chunk.len() > 60_000 {
                t.process(chunk.as_bytes());
                chunk.clear();
            }
        }
        t.process(chunk.as_bytes());
        assert!(t.history().len() >= stored);
        let area = Rect::new(0, 0, 200, 50);
        let mut view = ScrollView::new(&t, 50);
        view.scroll(&t, 50, -5_000);
        let colors = memmux::config::Colors::default();
        let mut buf = Buffer::empty(area);
        c.bench_function(&format!("scroll_view_frame_offset_5000_of_{stored}"), |b| {
            b.iter(|| {
                buf.reset();
                memmux::ui::scroll::render(&view, &t, area, &mut buf, &colors)
            })
        });
    }
}

criterion_group!(benches, bench, bench_scroll_view);
criterion_main!(benches);
