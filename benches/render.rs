//! Frame cost: one 200x50 pane copied from vt100 into a ratatui buffer, and the whole frame
//! (pane, tab bar, status, diff and escape output) as memmux draws it on a keystroke.

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Line `i` of the filler: colours, underline, 256-colour, and a varying length.
fn filler_line(i: usize) -> String {
    format!(
        "\x1b[1;3{}m{:>6}\x1b[0m  some ordinary output text, \x1b[4munderlined\x1b[0m and \x1b[38;5;{}mcoloured\x1b[0m words {}\r\n",
        i % 8,
        i,
        i % 256,
        "x".repeat(i % 90)
    )
}

fn filled_parser(rows: u16, cols: u16) -> vt100::Parser {
    let mut p = vt100::Parser::new(
        std::num::NonZeroU16::new(rows).unwrap(),
        std::num::NonZeroU16::new(cols).unwrap(),
        0,
    );
    for i in 0..200 {
        p.process(filler_line(i).as_bytes());
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
    // frame (a keystroke echo), on a full screen and on a shell screen (a few lines): with the
    // pane drawn whole each frame, and as memmux draws it (only the rows the output changed).
    let limits = memmux::term::scrollback::Limits::new(1000, 1 << 24);
    let budget = memmux::term::scrollback::Budget::new(1 << 30);
    for (screen, clear) in [
        ("full", &b""[..]),
        ("shell", b"\x1b[H\x1b[2J$ ls\r\nCargo.toml  src\r\n$ "),
    ] {
        for damaged_rows_only in [false, true] {
            let mut t = memmux::term::Term::new(50, 200, limits, budget.clone());
            for i in 0..200 {
                t.process(filler_line(i).as_bytes());
            }
            t.process(clear);
            let mut out = memmux::ui::Compositor::new(std::io::sink(), area);
            let mut n = 0u32;
            let how = if damaged_rows_only {
                "changed_rows"
            } else {
                "whole_pane"
            };
            c.bench_function(&format!("frame_200x50_{screen}_one_change_{how}"), |b| {
                b.iter(|| {
                    n = n.wrapping_add(1);
                    t.process(if n % 2 == 0 { b"a\x08" } else { b"b\x08" });
                    out.draw(|f| {
                        let source = damaged_rows_only.then_some(1);
                        f.pane_rows = match f.pane_changes(area, source, t.changes()) {
                            Some(damage) => memmux::ui::pane::render_rows(
                                t.screen(),
                                area,
                                f.buffer_mut(),
                                |r| damage.contains(r),
                            ),
                            None => memmux::ui::pane::render_all(t.screen(), area, f.buffer_mut()),
                        };
                    })
                    .unwrap();
                })
            });
        }
    }
}

/// One frame of the scroll view, 5,000 rows up, over histories of 10,000 and 100,000 rows: the
/// cost follows the rows shown, not the size of the store.
fn bench_scroll_view(c: &mut Criterion) {
    use memmux::state::copy_mode::ScrollView;
    use memmux::term::Term;
    use memmux::term::scrollback::{Budget, Limits};
    for stored in [10_000usize, 100_000] {
        let mut t = Term::new(50, 200, Limits::new(stored, 1 << 30), Budget::new(1 << 30));
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

criterion_group!(benches, bench, bench_scroll_view, bench_panel);
criterion_main!(benches);

/// The memory panel with 8 tabs whose charts are full (an hour of samples), drawn whole: what
/// a frame costs once a sample when the panel changes (between samples it is kept).
fn bench_panel(c: &mut Criterion) {
    use memmux::memory::history::Sample;
    use memmux::session::{CommandSpec, Context, Session, Start};
    use memmux::state::{State, Tab};
    let config = memmux::config::Config::default();
    let ctx = Context::new(
        memmux::term::scrollback::Limits::new(1000, 1 << 20),
        1 << 24,
    );
    let mut state = State::default();
    let cols = memmux::ui::memory::chart_cols(config.panel_width);
    for id in 0..8u64 {
        let spec = CommandSpec {
            argv: vec!["sleep".into(), "60".into()],
            cwd: None,
            term: "xterm-256color".into(),
        };
        let session = Session::start(Start::unheard(id, spec, 50, 160), &ctx);
        let mut tab = Tab::new(session, 3600);
        for s in 0..3600u64 {
            tab.mem.history.push(Sample {
                unix_ms: 1_700_000_000_000 + s * 1000,
                tree_bytes: (id + 1) * (20 << 20) + (s % 97) * 4096,
                heap_bytes: (id + 1) * (1 << 20) + (s % 13) * 1024,
                pss_bytes: None,
                processes: 3,
                scrollback_rows: s,
                scrollback_bytes: s * 80,
            });
        }
        tab.mem.view = memmux::ui::memory::refresh(&tab.mem.history, cols, &config);
        state.tabs.push(tab);
    }
    let area = Rect::new(160, 1, config.panel_width, 48);
    let mut buf = Buffer::empty(Rect::new(0, 0, 160 + config.panel_width, 50));
    c.bench_function("memory_panel_8_tabs_render", |b| {
        b.iter(|| memmux::ui::memory::render(&state, &config, area, &mut buf))
    });
}
