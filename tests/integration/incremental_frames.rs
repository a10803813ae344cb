//! Frames drawn incrementally (pane rows redrawn only where the screen's damage says, keyed
//! areas kept) must leave the outer terminal showing exactly what drawing every frame whole
//! would: random output, split at random places, random frame timing, tab switches, a panel
//! whose key changes and that comes and goes. The outer terminal is a vt100 parser fed
//! everything the compositor wrote.

use std::num::NonZeroU16;

use memmux::term::Term;
use memmux::term::scrollback::{Budget, Limits};
use memmux::ui::pane;
use memmux::ui::{Canvas, Compositor};
use ratatui::layout::Rect;
use ratatui::style::Style;

const ROWS: u16 = 12;
const COLS: u16 = 30;
const PANEL: u16 = 8;

use crate::common::rng::Rng;

/// Pieces of output: echo-like ones (which take the one-row damage path) and everything
/// that must not (moves, scrolls, clears, wraps, regions, wide characters, colours).
const PIECES: &[&str] = &[
    "a",
    "xy",
    "hello",
    "\x08",
    "\x08 \x08",
    "\r$ \x1b[K",
    "\x1b[K",
    "\x1b[1K",
    "\x1b[2K",
    "\x07",
    "\r\n",
    "\n",
    "line of text\r\n",
    "\x1b[H",
    "\x1b[2J",
    "\x1b[5;3H",
    "\x1b[3A",
    "\x1b[2B",
    "\x1b[31mred\x1b[m",
    "\x1b[1;44mbold on blue\x1b[0m",
    "\x1b[7minv\x1b[27m",
    "漢字",
    "\x1b[3;8r",
    "\x1b[r",
    "\x1bM",
    "\x1b[2L",
    "\x1b[M",
    "\x1b[3P",
    "\x1b[2@",
    "\x1b[?1049h",
    "\x1b[?1049l",
    "0123456789012345678901234567",
    "\x1b[12;29H",
    "\x1b[?7l",
    "\x1b[?7h",
    "\x1b(0lqqk\x1b(B",
];

fn term() -> Term {
    Term::new(ROWS, COLS, Limits::new(100, 1 << 20), Budget::new(1 << 24))
}

/// The outer screen's text and the attributes a user sees, row by row, for `area`.
fn shown(outer: &vt100::Parser, area: Rect) -> Vec<String> {
    let s = outer.screen();
    (area.top()..area.bottom())
        .map(|r| {
            let mut line = String::new();
            for c in area.left()..area.right() {
                let cell = s.cell(r, c).expect("inside the outer screen");
                // A blank written as a space looks like one never written, unless coloured.
                let visible = cell.has_contents() && cell.contents() != " "
                    || cell.bgcolor() != vt100::Color::Default
                    || cell.inverse();
                line.push_str(if cell.has_contents() {
                    cell.contents()
                } else {
                    " "
                });
                if visible {
                    line.push_str(&format!(
                        "[{:?}{:?}{}{}]",
                        cell.fgcolor(),
                        cell.bgcolor(),
                        u8::from(cell.bold()),
                        u8::from(cell.inverse())
                    ));
                }
            }
            line
        })
        .collect()
}

/// What the pane must show for `t`: its screen drawn whole on a blank terminal.
fn expected(t: &Term, pane_area: Rect) -> Vec<String> {
    let area = Rect::new(0, 0, COLS + PANEL, ROWS + 1);
    let mut c = Compositor::new(Vec::new(), area);
    c.draw(|f| {
        f.pane_rows = pane::render_all(t.screen(), pane_area, f.buffer_mut());
    })
    .expect("drawing into memory");
    let mut outer = vt100::Parser::new(dim(ROWS + 1), dim(COLS + PANEL), 0);
    outer.process(c.writer_mut());
    shown(&outer, pane_area)
}

fn dim(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("not zero")
}

fn run(seed: u64, steps: usize) {
    let mut rng = Rng(seed);
    let mut terms = [term(), term()];
    let mut shown_tab = 0usize;
    let area = Rect::new(0, 0, COLS + PANEL, ROWS + 1);
    let mut comp = Compositor::new(Vec::new(), area);
    let mut outer = vt100::Parser::new(dim(ROWS + 1), dim(COLS + PANEL), 0);
    let mut panel_key = 0u64;
    let mut panel_on = true;
    let mut log = Vec::new();
    for step in 0..steps {
        // Output to either tab, sometimes split mid-sequence.
        for _ in 0..1 + rng.below(3) {
            let tab = if rng.below(4) == 0 {
                1 - shown_tab
            } else {
                shown_tab
            };
            let piece = PIECES[rng.below(PIECES.len())].as_bytes();
            if rng.below(5) == 0 && piece.len() > 1 {
                let cut = 1 + rng.below(piece.len() - 1);
                terms[tab].process(&piece[..cut]);
                terms[tab].process(&piece[cut..]);
            } else {
                terms[tab].process(piece);
            }
            log.push(format!("tab {tab}: {:?}", String::from_utf8_lossy(piece)));
        }
        match rng.below(20) {
            0 => {
                shown_tab = 1 - shown_tab;
                log.push("switch".into());
            }
            1 => panel_key += 1,
            2 => {
                panel_on = !panel_on;
                log.push(format!("panel {panel_on}"));
            }
            _ => {}
        }
        if rng.below(3) == 0 {
            continue; // No frame this time: damage accumulates.
        }
        let pane_area = Rect::new(0, 1, COLS, ROWS);
        let t = &terms[shown_tab];
        comp.writer_mut().clear();
        comp.draw(|f| {
            f.buffer_mut()
                .set_string(0, 0, format!("tab {shown_tab}"), Style::new());
            f.pane_rows = match f.pane_changes(pane_area, Some(shown_tab as u64), t.changes()) {
                Some(damage) => pane::render_rows(t.screen(), pane_area, f.buffer_mut(), |r| {
                    damage.contains(r)
                }),
                None => pane::render_all(t.screen(), pane_area, f.buffer_mut()),
            };
            if panel_on {
                let panel = Rect::new(COLS, 1, PANEL, ROWS);
                if !f.keep(panel, panel_key) {
                    f.buffer_mut().set_string(
                        COLS,
                        1 + (panel_key % 3) as u16,
                        format!("k{panel_key}"),
                        Style::new(),
                    );
                }
            }
        })
        .expect("drawing into memory");
        outer.process(comp.writer_mut());
        let want = expected(&terms[shown_tab], pane_area);
        let got = shown(&outer, pane_area);
        if want != got {
            let tail: Vec<_> = log.iter().rev().take(12).rev().collect();
            panic!(
                "seed {seed}, step {step}: the pane differs from a whole redraw\n\
                 last output: {tail:#?}\nwant:\n{}\ngot:\n{}",
                want.join("\n"),
                got.join("\n")
            );
        }
        let panel_text: String = shown(&outer, Rect::new(COLS, 1, PANEL, ROWS))
            .iter()
            .map(|r| r.replace("[DefaultDefault00]", "").trim().to_string())
            .filter(|r| !r.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let panel_want = if panel_on {
            format!("k{panel_key}")
        } else {
            String::new()
        };
        assert_eq!(
            panel_text, panel_want,
            "seed {seed}, step {step}: the panel"
        );
        log.push("frame".into());
    }
}

#[test]
fn incremental_frames_show_what_whole_frames_would() {
    for seed in 1..=40u64 {
        run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, 400);
    }
}

/// Two panes side by side, each keeping the rows its screen did not change: random output to
/// either, the focus (the pane declared last) moving between them, an overlay now and then.
/// Both must show what drawing them whole would, and a frame where only one row of the
/// unfocused pane changed must send no other pane row.
fn run_panes(seed: u64, steps: usize) {
    const W: u16 = 14;
    let mut rng = Rng(seed);
    let mut terms = [term_sized(W), term_sized(W)];
    let areas = [Rect::new(0, 1, W, ROWS), Rect::new(W + 1, 1, W, ROWS)];
    let area = Rect::new(0, 0, 2 * W + 1, ROWS + 1);
    let mut comp = Compositor::new(Vec::new(), area);
    let mut outer = vt100::Parser::new(dim(ROWS + 1), dim(2 * W + 1), 0);
    let mut focus = 0usize;
    let mut log = Vec::new();
    for step in 0..steps {
        for _ in 0..1 + rng.below(3) {
            let p = rng.below(2);
            let piece = PIECES[rng.below(PIECES.len())].as_bytes();
            terms[p].process(piece);
            log.push(format!("pane {p}: {:?}", String::from_utf8_lossy(piece)));
        }
        if rng.below(10) == 0 {
            focus = 1 - focus;
            log.push("focus".into());
        }
        let overlay = rng.below(25) == 0;
        if rng.below(3) == 0 {
            continue;
        }
        comp.writer_mut().clear();
        comp.draw(|f| {
            for p in [1 - focus, focus] {
                draw_pane(f, &terms[p], areas[p], (!overlay).then_some(p as u64));
            }
            draw_over_panes(f, Some(W), overlay);
        })
        .expect("drawing into memory");
        outer.process(comp.writer_mut());
        if overlay {
            log.push("overlay".into());
            continue;
        }
        for p in 0..2 {
            let want = expected_at(&terms[p], areas[p], area);
            let got = shown(&outer, areas[p]);
            if want != got {
                let tail: Vec<_> = log.iter().rev().take(12).rev().collect();
                panic!(
                    "seed {seed}, step {step}: pane {p} differs from a whole redraw\n\
                     last output: {tail:#?}\nwant:\n{}\ngot:\n{}",
                    want.join("\n"),
                    got.join("\n")
                );
            }
        }
        log.push("frame".into());
    }
}

fn term_sized(cols: u16) -> Term {
    Term::new(ROWS, cols, Limits::new(100, 1 << 20), Budget::new(1 << 24))
}

/// What a pane at `pane_area` must show for `t`: its screen drawn whole on a blank terminal
/// of `area`.
fn expected_at(t: &Term, pane_area: Rect, area: Rect) -> Vec<String> {
    let mut c = Compositor::new(Vec::new(), area);
    c.draw(|f| {
        f.pane_rows = pane::render_all(t.screen(), pane_area, f.buffer_mut());
    })
    .expect("drawing into memory");
    let mut outer = vt100::Parser::new(dim(area.height), dim(area.width), 0);
    outer.process(c.writer_mut());
    shown(&outer, pane_area)
}

#[test]
fn incremental_frames_of_several_panes_show_what_whole_frames_would() {
    for seed in 1..=40u64 {
        run_panes(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1, 300);
    }
}

/// One line printed in the unfocused pane: the next frame keeps both panes, draws that row
/// alone, and sends little; an unchanged frame draws no row at all.
#[test]
fn a_line_in_an_unfocused_pane_redraws_that_row_alone() {
    const W: u16 = 30;
    let mut terms = [term_sized(W), term_sized(W)];
    for (i, t) in terms.iter_mut().enumerate() {
        for r in 0..ROWS - 2 {
            t.process(format!("pane{i} row{r:02} with some text\r\n").as_bytes());
        }
    }
    let areas = [Rect::new(0, 1, W, ROWS), Rect::new(W + 1, 1, W, ROWS)];
    let mut comp = Compositor::new(Vec::new(), Rect::new(0, 0, 2 * W + 1, ROWS + 1));
    // Per pane: whether its rows were kept from the last frame, and how many it drew.
    let mut frame = |terms: &mut [Term; 2]| {
        comp.writer_mut().clear();
        let mut seen = Vec::new();
        comp.draw(|f| {
            seen.clear();
            for (p, t) in terms.iter().enumerate() {
                let damage = f.pane_changes(areas[p], Some(p as u64), t.changes());
                let reuse = damage.is_some();
                f.pane_rows = match damage {
                    Some(d) => {
                        pane::render_rows(t.screen(), areas[p], f.buffer_mut(), |r| d.contains(r))
                    }
                    None => pane::render_all(t.screen(), areas[p], f.buffer_mut()),
                };
                let drawn = f
                    .pane_rows
                    .iter()
                    .filter(|r| **r != pane::PaneRow::Kept)
                    .count();
                seen.push((reuse, drawn));
            }
        })
        .expect("drawing into memory");
        (comp.writer_mut().len(), seen)
    };
    let (first, seen) = frame(&mut terms);
    assert_eq!(seen, vec![(false, 12), (false, 12)]);
    // Pane 0 is unfocused (declared first); a prompt changes one of its rows.
    terms[0].process(b"$ ");
    let (bytes, seen) = frame(&mut terms);
    assert_eq!(seen, vec![(true, 1), (true, 0)]);
    assert!(
        bytes < 60,
        "{bytes} bytes for a 2-character change ({first} for all)"
    );
    let (bytes, seen) = frame(&mut terms);
    assert_eq!(seen, vec![(true, 0), (true, 0)]);
    assert!(bytes < 40, "{bytes} bytes for an unchanged frame");
}

/// One view of the two panes (one client's compositor and the terminal it draws on): whether
/// it shows them side by side or one of them alone, which one is focused (declared last, and
/// the one its readers draw into directly), and whether an overlay covered them last frame.
struct View {
    comp: Compositor<Vec<u8>>,
    outer: vt100::Parser,
    /// `None`: both panes side by side; `Some(p)`: pane `p` alone, the whole width.
    alone: Option<usize>,
    focus: usize,
}

/// Where pane `p` is in a view showing `alone`, if it shows at all.
/// Draws `t` at `at` as the app does: only its changed rows when the compositor knows what
/// the screen shows there (the pane's `source` is `None` under an overlay), else all of them.
fn draw_pane(f: &mut Canvas<'_>, t: &Term, at: Rect, source: Option<u64>) {
    f.pane_rows = match f.pane_changes(at, source, t.changes()) {
        Some(d) => pane::render_rows(t.screen(), at, f.buffer_mut(), |r| d.contains(r)),
        None => pane::render_all(t.screen(), at, f.buffer_mut()),
    };
}

/// What the app draws after the panes: the border between two (at column `border`), and an
/// overlay over them (`overlay`), which makes the compositor forget the panes' rows.
fn draw_over_panes(f: &mut Canvas<'_>, border: Option<u16>, overlay: bool) {
    if let Some(x) = border {
        for y in 1..=ROWS {
            f.buffer_mut()[(x, y)].set_symbol("│");
        }
    }
    if overlay {
        f.buffer_mut().set_string(2, 3, "OVERLAY", Style::new());
        f.forget_pane_rows();
    }
}

fn place(alone: Option<usize>, p: usize, w: u16) -> Option<Rect> {
    match alone {
        None => Some([Rect::new(0, 1, w, ROWS), Rect::new(w + 1, 1, w, ROWS)][p]),
        Some(a) if a == p => Some(Rect::new(0, 1, 2 * w + 1, ROWS)),
        Some(_) => None,
    }
}

/// Two views (two clients) of the same two panes, each compositor keeping its own place in
/// each screen's change log: random output to either pane, each view drawing frames at its own
/// times, with its own layout, focus and overlays, and drawing its focused pane's changes
/// directly between frames (as a pty reader does). After each of a view's frames and direct
/// draws, every pane it shows must look as drawing it whole would: neither view may miss a
/// change the other drew, nor (its frames after a direct draw) draw one twice to get there.
fn run_two_views(seed: u64, steps: usize) -> (usize, usize) {
    const W: u16 = 14;
    let mut rng = Rng(seed);
    let mut terms = [term_sized(W), term_sized(W)];
    let area = Rect::new(0, 0, 2 * W + 1, ROWS + 1);
    let mut views: Vec<View> = (0..2)
        .map(|_| View {
            comp: Compositor::new(Vec::new(), area),
            outer: vt100::Parser::new(dim(ROWS + 1), dim(2 * W + 1), 0),
            alone: None,
            focus: 0,
        })
        .collect();
    let mut log = Vec::new();
    let (mut direct_drawn, mut kept_rows) = (0, 0);
    for step in 0..steps {
        for _ in 0..1 + rng.below(2) {
            let p = rng.below(2);
            // Mostly echo-like pieces, so that direct draws (single rows) happen often.
            let piece = if rng.below(2) == 0 {
                PIECES[rng.below(6)]
            } else {
                PIECES[rng.below(PIECES.len())]
            };
            terms[p].process(piece.as_bytes());
            log.push(format!("pane {p}: {piece:?}"));
        }
        let v = rng.below(2);
        let view = &mut views[v];
        match rng.below(12) {
            0 => {
                view.focus = 1 - view.focus;
                log.push(format!("view {v}: focus {}", view.focus));
            }
            1 => {
                view.alone = match view.alone {
                    None => Some(view.focus),
                    Some(_) => None,
                };
                log.push(format!("view {v}: alone {:?}", view.alone));
            }
            _ => {}
        }
        // The panes `only` names (every pane after a frame, the one drawn after a direct draw)
        // must look as drawing them whole would.
        let check = |view: &mut View, only: Option<usize>, what: &str, log: &mut Vec<String>| {
            view.outer.process(view.comp.writer_mut());
            view.comp.writer_mut().clear();
            for (p, t) in terms.iter().enumerate() {
                if only.is_some_and(|o| o != p) {
                    continue;
                }
                let Some(at) = place(view.alone, p, W) else {
                    continue;
                };
                let want = expected_at(t, at, area);
                let got = shown(&view.outer, at);
                if want != got {
                    let tail: Vec<_> = log.iter().rev().take(14).rev().collect();
                    panic!(
                        "seed {seed}, step {step}: view {v}'s pane {p} after {what} differs \
                         from a whole redraw\nlast: {tail:#?}\nwant:\n{}\ngot:\n{}",
                        want.join("\n"),
                        got.join("\n")
                    );
                }
            }
            log.push(format!("view {v}: {what}"));
        };
        match rng.below(3) {
            // A frame; now and then with an overlay over the panes.
            0 => {
                let overlay = rng.below(15) == 0;
                let (alone, focus) = (view.alone, view.focus);
                view.comp
                    .draw(|f| {
                        for p in [1 - focus, focus] {
                            let Some(at) = place(alone, p, W) else {
                                continue;
                            };
                            let source = (!overlay).then_some(p as u64);
                            draw_pane(f, &terms[p], at, source);
                            let kept = f.pane_rows.iter().filter(|r| **r == pane::PaneRow::Kept);
                            kept_rows += kept.count();
                        }
                        draw_over_panes(f, alone.is_none().then_some(W), overlay);
                    })
                    .expect("drawing into memory");
                if overlay {
                    view.outer.process(view.comp.writer_mut());
                    view.comp.writer_mut().clear();
                    log.push(format!("view {v}: overlay frame"));
                } else {
                    check(view, None, "a frame", &mut log);
                }
            }
            // The focused pane's reader draws its rows directly, if this view shows it as is.
            1 => {
                let p = view.focus;
                let Some(at) = place(view.alone, p, W) else {
                    continue;
                };
                let t = &terms[p];
                let drew = view
                    .comp
                    .draw_pane_rows(at, p as u64, t.screen(), t.palette(), t.changes())
                    .expect("drawing into memory");
                if drew {
                    direct_drawn += 1;
                    check(view, Some(p), "a direct draw", &mut log);
                } else {
                    view.comp.writer_mut().clear();
                }
            }
            _ => {}
        }
    }
    (direct_drawn, kept_rows)
}

#[test]
fn two_views_of_the_same_panes_each_draw_every_change() {
    let (mut direct, mut kept) = (0, 0);
    for seed in 1..=40u64 {
        let (d, k) = run_two_views(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, 400);
        direct += d;
        kept += k;
    }
    // The runs exercised what they are about: direct draws and kept rows.
    assert!(
        direct > 40 * 5 && kept > 40 * 100,
        "{direct} direct draws, {kept} kept rows"
    );
}

/// An echo drawn directly on one view: that view's next frame draws none of the pane's rows
/// again, and the other view, which drew nothing since, draws that row (and no other).
#[test]
fn a_direct_draw_moves_its_own_view_only() {
    const W: u16 = 30;
    let mut t = term_sized(W);
    t.process(b"$ ");
    let at = Rect::new(0, 0, W, ROWS);
    let mut views = [
        Compositor::new(Vec::new(), at),
        Compositor::new(Vec::new(), at),
    ];
    // Rows of the pane a frame of `comp` draws (not kept from its last frame).
    let frame = |comp: &mut Compositor<Vec<u8>>, t: &Term| {
        let mut drawn = 0;
        comp.draw(|f| {
            f.pane_rows = match f.pane_changes(at, Some(1), t.changes()) {
                Some(d) => pane::render_rows(t.screen(), at, f.buffer_mut(), |r| d.contains(r)),
                None => pane::render_all(t.screen(), at, f.buffer_mut()),
            };
            drawn = f
                .pane_rows
                .iter()
                .filter(|r| **r != pane::PaneRow::Kept)
                .count();
        })
        .expect("drawing into memory");
        drawn
    };
    for v in &mut views {
        assert_eq!(
            frame(v, &t),
            usize::from(ROWS),
            "a first frame draws it all"
        );
    }
    t.process(b"l");
    let drew = views[0]
        .draw_pane_rows(at, 1, t.screen(), t.palette(), t.changes())
        .expect("drawing into memory");
    assert!(drew, "the echo is drawn directly");
    assert_eq!(frame(&mut views[0], &t), 0, "the direct draw had the row");
    assert_eq!(
        frame(&mut views[1], &t),
        1,
        "the other view draws the echo's row"
    );
    assert_eq!(frame(&mut views[1], &t), 0);
    // A second echo: each view draws it once more, whichever way.
    t.process(b"s");
    assert_eq!(frame(&mut views[1], &t), 1);
    assert!(
        views[0]
            .draw_pane_rows(at, 1, t.screen(), t.palette(), t.changes())
            .expect("drawing into memory")
    );
    assert_eq!(frame(&mut views[0], &t), 0);
}
