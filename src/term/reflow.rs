//! Re-wrapping the main screen when its width changes, as tmux does: the text of each
//! logical line (rows joined by vt100's wrapped flags) is captured before the resize and
//! printed again into the resized screen, so it wraps at the new width instead of being cut.
//! Rows that no longer fit scroll into the history through the usual capture; the history's
//! own rows are re-laid by `Scrollback::rewrapped`.

use super::scrollback::{LogicalLine, Style};

/// The main screen's text, by logical line, with where the cursor was in it.
pub(super) struct ScreenText {
    /// Lines up to the last one that holds anything or the cursor; the rest were blank.
    lines: Vec<Line>,
    /// (line, cell index the cursor sits on, columns past the line's last cell).
    cursor: (usize, usize, u16),
    /// The text reached the bottom row: output was flowing off the top, so a screen that
    /// needs fewer rows now is filled again from the history.
    pub(super) full: bool,
}

struct Line {
    cells: LogicalLine,
    /// Background the line's last row was erased with past its text (kept by erasing the
    /// rest of the new row in it).
    fill: Option<vt100::Color>,
}

/// Reads the screen's logical lines. Cells never written between written ones become
/// spaces in their own style; never-written cells at the end of a row are not text (vt100
/// leaves one before a wide character that did not fit).
pub(super) fn capture(screen: &vt100::Screen) -> ScreenText {
    let (rows, cols) = screen.size();
    let (rows, cols) = (rows.get(), cols.get());
    let (crow, ccol) = screen.cursor_position();
    let mut lines = Vec::new();
    let mut line = LogicalLine::default();
    let mut cursor = (0, 0, 0);
    let mut needed = 0;
    let mut needed_row = 0;
    for r in 0..rows {
        let end = (0..cols)
            .rev()
            .find(|&c| screen.cell(r, c).is_some_and(vt100::Cell::has_contents))
            .map_or(0, |c| {
                c + if screen.cell(r, c).is_some_and(vt100::Cell::is_wide) {
                    2
                } else {
                    1
                }
            });
        for c in 0..end.min(cols) {
            let Some(cell) = screen.cell(r, c) else {
                continue;
            };
            if cell.is_wide_continuation() {
                continue;
            }
            if r == crow && c == ccol {
                cursor = (lines.len(), line.len(), 0);
            }
            let sym = if cell.has_contents() {
                cell.contents()
            } else {
                " "
            };
            line.push(sym, if cell.is_wide() { 2 } else { 1 }, Style::of(cell));
        }
        if r == crow && ccol >= end {
            cursor = (lines.len(), line.len(), ccol.min(cols) - end.min(cols));
        }
        if screen.row_wrapped(r) && r + 1 < rows {
            continue;
        }
        let fill = screen
            .cell(r, cols - 1)
            .filter(|c| !c.has_contents() && c.bgcolor() != vt100::Color::Default)
            .map(vt100::Cell::bgcolor);
        if !line.is_empty() || fill.is_some() || r == crow {
            needed = lines.len();
            needed_row = r;
        }
        lines.push(Line {
            cells: std::mem::take(&mut line),
            fill,
        });
    }
    lines.truncate(needed + 1);
    ScreenText {
        lines,
        cursor,
        full: needed_row + 1 == rows,
    }
}

/// Prints `before` (lines taken back from the history; the last goes on as the screen's
/// first line when `join`) and then the screen's lines into
/// `parser`, whose screen has just been resized, then puts the cursor where its cell went
/// and restores the program's attributes (`attrs`, from `Screen::attributes_formatted`).
/// Rows scrolled off go through the parser's `on_scroll`.
pub(super) fn replay<C: vt100::Callbacks>(
    parser: &mut vt100::Parser<C>,
    before: &[LogicalLine],
    join: bool,
    text: &ScreenText,
    attrs: &str,
    scrolled: impl Fn(&vt100::Parser<C>) -> usize,
) {
    let mut out = String::from("\x1b[0m\x1b[H\x1b[2J");
    let mut style = Style::default();
    let cursor_line = before.len() + text.cursor.0;
    let lines = before
        .iter()
        .map(|l| (l, None))
        .chain(text.lines.iter().map(|l| (&l.cells, l.fill)));
    // (row, column, rows scrolled until then) of the cursor once its cell was reached.
    let mut at = None;
    for (k, (cells, fill)) in lines.enumerate() {
        if k > 0 && !(join && k == before.len()) {
            if !style.is_default() {
                out.push_str("\x1b[0m");
                style = Style::default();
            }
            out.push_str("\r\n");
        }
        let mut mark = |out: &mut String, parser: &mut vt100::Parser<C>| {
            parser.process(out.as_bytes());
            out.clear();
            if text.cursor.2 > 0 {
                parser.process(format!("\x1b[{}C", text.cursor.2).as_bytes());
            }
            let (row, col) = parser.screen().cursor_position();
            at = Some((row, col, scrolled(parser)));
        };
        for (i, (sym, _, s)) in cells.cells().enumerate() {
            if k == cursor_line && i == text.cursor.1 {
                mark(&mut out, parser);
            }
            if s != style {
                super::scrollback::style::write_sgr(&mut out, &s);
                style = s;
            }
            out.push_str(sym);
        }
        if k == cursor_line && text.cursor.1 >= cells.len() {
            mark(&mut out, parser);
        }
        if let Some(bg) = fill {
            super::scrollback::style::write_sgr(
                &mut out,
                &Style {
                    bg,
                    ..Style::default()
                },
            );
            out.push_str("\x1b[K");
            style = Style::default();
            out.push_str("\x1b[0m");
        }
    }
    let moved = !out.is_empty() && out != "\x1b[0m";
    parser.process(out.as_bytes());
    if let Some((row, col, then)) = at {
        if moved {
            let row = usize::from(row).saturating_sub(scrolled(parser) - then);
            parser.process(format!("\x1b[{};{}H", row + 1, col + 1).as_bytes());
        }
    }
    parser.process(attrs.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::super::Term;

    fn term(rows: u16, cols: u16) -> Term {
        Term::for_tests(rows, cols)
    }

    /// History then screen, rows joined by their wrapped flags; trailing blank lines cut.
    fn logical(t: &mut Term) -> Vec<String> {
        t.settle_history();
        let mut lines = vec![String::new()];
        let h = t.history();
        for i in 0..h.len() {
            h.row_text(i, lines.last_mut().unwrap());
            if !h.is_wrapped(i) {
                lines.push(String::new());
            }
        }
        let (rows, cols) = t.screen().size();
        for r in 0..rows.get() {
            let row: String = t.screen().rows(0, cols.get()).nth(r.into()).unwrap();
            lines.last_mut().unwrap().push_str(&row);
            if !t.screen().row_wrapped(r) {
                lines.push(String::new());
            }
        }
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }

    fn screen_rows(t: &Term) -> Vec<String> {
        let cols = t.screen().size().1.get();
        t.screen().rows(0, cols).collect()
    }

    #[test]
    fn a_wrapped_line_is_rewrapped_narrower_then_wider() {
        let mut t = term(5, 20);
        let long = "0123456789abcdefghijklmnopqrstuvwxyz";
        t.process(format!("{long}\r\n$ ").as_bytes());
        t.resize(5, 10);
        assert_eq!(
            screen_rows(&t),
            ["0123456789", "abcdefghij", "klmnopqrst", "uvwxyz", "$ "]
        );
        assert_eq!(t.screen().cursor_position(), (4, 2));
        t.resize(5, 40);
        assert_eq!(screen_rows(&t)[..2], [long, "$ "]);
        assert_eq!(t.screen().cursor_position(), (1, 2));
        // Typing goes on where the prompt is.
        t.process(b"ls");
        assert_eq!(screen_rows(&t)[1], "$ ls");
    }

    #[test]
    fn rows_that_no_longer_fit_go_to_history_and_come_back() {
        let mut t = term(4, 20);
        for i in 0..6 {
            t.process(format!("\x1b[31mline {i} {}\x1b[m\r\n", "x".repeat(12)).as_bytes());
        }
        t.process(b"$ ");
        let before = logical(&mut t);
        assert_eq!(before.len(), 7, "{before:?}");
        t.resize(4, 8);
        assert_eq!(logical(&mut t), before);
        assert_eq!(t.screen().cursor_position(), (3, 2));
        t.resize(4, 30);
        assert_eq!(logical(&mut t), before);
        // The screen is full again: three whole lines and the prompt.
        assert_eq!(
            screen_rows(&t),
            [
                format!("line 3 {}", "x".repeat(12)),
                format!("line 4 {}", "x".repeat(12)),
                format!("line 5 {}", "x".repeat(12)),
                "$ ".to_string()
            ]
        );
        assert_eq!(t.screen().cursor_position(), (3, 2));
        // Colours are kept, in the history and on the screen.
        let mut red = false;
        t.history()
            .row_cells(0, |_, _, _, s| red |= s.fg == vt100::Color::Idx(1));
        assert!(red);
        assert_eq!(
            t.screen().cell(0, 0).unwrap().fgcolor(),
            vt100::Color::Idx(1)
        );
    }

    #[test]
    fn a_history_line_going_on_on_the_screen_is_joined() {
        let mut t = term(3, 10);
        let long: String = (0..45).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        t.process(format!("{long}\r\n$ ").as_bytes());
        assert!(t.history().len() >= 2);
        t.resize(3, 50);
        assert_eq!(screen_rows(&t)[..2], [long.as_str(), "$ "]);
        assert_eq!(t.history().len(), 0);
        assert_eq!(t.screen().cursor_position(), (1, 2));
    }

    #[test]
    fn the_cursor_keeps_its_cell_and_wide_characters_wrap_whole() {
        let mut t = term(4, 10);
        t.process("ab中文中文cd\x1b[1;3H".as_bytes());
        t.resize(4, 5);
        // "ab中" fits in 4 columns, the next wide character does not fit in the fifth.
        assert_eq!(screen_rows(&t)[..3], ["ab中", "文中", "文cd"]);
        assert_eq!(t.screen().cursor_position(), (0, 2));
        assert_eq!(t.screen().cell(0, 2).unwrap().contents(), "中");
        // vt100 (like tmux) does not mark a row wrapped when a wide character moved on
        // from its last column, so those rows stay lines of their own: nothing is lost.
        t.resize(4, 10);
        assert_eq!(screen_rows(&t)[..3], ["ab中", "文中", "文cd"]);
    }

    #[test]
    fn attributes_in_effect_and_background_fill_survive() {
        let mut t = term(3, 10);
        t.process(b"\x1b[44m\x1b[2K\x1b[mok\x1b[1;32m");
        t.resize(3, 20);
        assert_eq!(
            t.screen().cell(0, 19).unwrap().bgcolor(),
            vt100::Color::Idx(4)
        );
        t.process(b"!");
        let c = t.screen().cell(0, 2).unwrap();
        assert!(c.bold() && c.fgcolor() == vt100::Color::Idx(2));
    }

    #[test]
    fn the_alternate_screen_is_left_to_its_program() {
        let mut t = term(3, 10);
        t.process(b"\x1b[?1049h0123456789abc");
        t.resize(3, 5);
        assert_eq!(screen_rows(&t)[..2], ["01234", "abc"]);
    }

    #[test]
    fn history_of_10000_rows_is_rewrapped_quickly() {
        let mut t = term(50, 200);
        for i in 0..10_000 {
            let words = "word ".repeat(30);
            t.process(format!("\x1b[32m{i:5}\x1b[m {}\r\n", words.trim_end()).as_bytes());
        }
        let before = logical(&mut t);
        let start = std::time::Instant::now();
        t.resize(50, 120);
        let narrower = start.elapsed();
        let start = std::time::Instant::now();
        t.resize(50, 200);
        let wider = start.elapsed();
        // At 120 columns each line takes two rows: the 10,000-row limit keeps half of them.
        let after = logical(&mut t);
        assert!(after.len() > 4_900, "{}", after.len());
        assert_eq!(after[1..], before[before.len() + 1 - after.len()..]);
        eprintln!("re-wrap of 10,000 rows at 200x50: to 120 columns {narrower:?}, back {wider:?}");
        // Worst case: every row wrapped (lines of 390 columns), all cells re-laid.
        let mut t = term(50, 200);
        for i in 0..5_000 {
            let words = "word ".repeat(77);
            t.process(format!("\x1b[32m{i:5}\x1b[m {}\r\n", words.trim_end()).as_bytes());
        }
        let start = std::time::Instant::now();
        t.resize(50, 199);
        let all = start.elapsed();
        assert!(t.history().len() > 9_900);
        eprintln!("re-wrap of 10,000 wrapped rows, 200 to 199 columns: {all:?}");
    }

    #[test]
    fn logical_lines_survive_any_sequence_of_widths() {
        // xorshift: the same lines every run.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut t = term(6, 23);
        for _ in 0..60 {
            let len = next(90);
            let mut line = String::new();
            for i in 0..len {
                if next(7) == 0 {
                    line.push_str(&format!("\x1b[{}m", 31 + next(6)));
                }
                // No trailing space: history drops a line's trailing blanks, the screen not.
                let c = if next(9) == 0 && i + 1 < len {
                    ' '
                } else {
                    'a'
                };
                line.push(char::from(c as u8 + (next(26) as u8) * u8::from(c == 'a')));
                if next(13) == 0 {
                    line.push('\u{301}');
                }
            }
            t.process(format!("{line}\x1b[m\r\n").as_bytes());
        }
        t.process(b"$ ");
        let before = logical(&mut t);
        for (rows, cols) in [(6, 7), (9, 33), (3, 80), (6, 13), (6, 1), (4, 120), (6, 23)] {
            t.resize(rows, cols);
            assert_eq!(logical(&mut t), before, "at {rows}x{cols}");
            let (row, col) = t.screen().cursor_position();
            // One column: "$" and " " on rows of their own, the cursor after the space.
            let want = if cols == 1 { " " } else { "$ " };
            assert_eq!(
                t.screen().contents_between(row, 0, row, col),
                want,
                "at {rows}x{cols}"
            );
        }
    }
}
