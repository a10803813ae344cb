//! Frames drawn incrementally (pane rows redrawn only where the screen's damage says, keyed
//! areas kept) must leave the outer terminal showing exactly what drawing every frame whole
//! would: random output, split at random places, random frame timing, tab switches, a panel
//! whose key changes and that comes and goes. The outer terminal is a vt100 parser fed
//! everything the compositor wrote.

use std::num::NonZeroU16;

use memmux::term::Term;
use memmux::term::scrollback::{Budget, Limits};
use memmux::ui::Compositor;
use memmux::ui::pane;
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
        let t = &mut terms[shown_tab];
        let damage = t.take_damage();
        comp.writer_mut().clear();
        comp.draw(|f| {
            f.buffer_mut()
                .set_string(0, 0, format!("tab {shown_tab}"), Style::new());
            f.pane_rows = if f.pane_reuse(pane_area, Some(shown_tab as u64)) {
                pane::render_rows(t.screen(), pane_area, f.buffer_mut(), |r| {
                    damage.contains(r)
                })
            } else {
                pane::render_all(t.screen(), pane_area, f.buffer_mut())
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
                let t = &mut terms[p];
                let damage = t.take_damage();
                let source = (!overlay).then_some(p as u64);
                f.pane_rows = if f.pane_reuse(areas[p], source) {
                    pane::render_rows(t.screen(), areas[p], f.buffer_mut(), |r| damage.contains(r))
                } else {
                    pane::render_all(t.screen(), areas[p], f.buffer_mut())
                };
            }
            for y in 1..=ROWS {
                f.buffer_mut()[(W, y)].set_symbol("│");
            }
            if overlay {
                f.buffer_mut().set_string(2, 3, "OVERLAY", Style::new());
                f.forget_pane_rows();
            }
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
            for (p, t) in terms.iter_mut().enumerate() {
                let damage = t.take_damage();
                let reuse = f.pane_reuse(areas[p], Some(p as u64));
                f.pane_rows = if reuse {
                    pane::render_rows(t.screen(), areas[p], f.buffer_mut(), |r| damage.contains(r))
                } else {
                    pane::render_all(t.screen(), areas[p], f.buffer_mut())
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
