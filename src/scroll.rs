//! The scroll view over a session: its history followed by its live screen, with a cursor,
//! a selection and search. Rows are numbered absolutely (a history row keeps its number as
//! rows arrive and old ones are evicted), so new output never moves what the user reads.

use unicode_width::UnicodeWidthStr;

use crate::session::scrollback::{Pos, Style};
use crate::session::term::Term;

/// A point in the scroll view: absolute row, cell column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Point {
    pub row: u64,
    pub col: u16,
}

/// A search match, `end` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    pub start: Point,
    pub end: Point,
}

/// The rows the view moves over: history, then the screen.
pub struct Rows<'a> {
    term: &'a Term,
}

impl<'a> Rows<'a> {
    pub fn new(term: &'a Term) -> Rows<'a> {
        Rows { term }
    }

    /// Absolute number of the oldest row still kept.
    pub fn first(&self) -> u64 {
        self.term.history().evicted()
    }

    pub fn history_len(&self) -> usize {
        self.term.history().len()
    }

    pub fn screen_rows(&self) -> u16 {
        self.term.screen().size().0.get()
    }

    /// One past the newest row.
    pub fn end(&self) -> u64 {
        self.first() + self.history_len() as u64 + u64::from(self.screen_rows())
    }

    fn locate(&self, abs: u64) -> Option<Where> {
        let idx = abs.checked_sub(self.first())?;
        let hist = self.history_len() as u64;
        if idx < hist {
            Some(Where::History(idx as usize))
        } else if idx - hist < u64::from(self.screen_rows()) {
            Some(Where::Screen((idx - hist) as u16))
        } else {
            None
        }
    }

    /// Calls `f(col, symbol, width, style)` for each cell of row `abs` that has content.
    pub fn cells(&self, abs: u64, mut f: impl FnMut(u16, &str, u8, CellLook)) {
        match self.locate(abs) {
            Some(Where::History(i)) => self
                .term
                .history()
                .row_cells(i, |c, s, w, st| f(c, s, w, CellLook::Stored(st))),
            Some(Where::Screen(r)) => {
                let screen = self.term.screen();
                let cols = screen.size().1.get();
                for c in 0..cols {
                    let Some(cell) = screen.cell(r, c) else {
                        continue;
                    };
                    if cell.is_wide_continuation() {
                        continue;
                    }
                    let w = if cell.is_wide() { 2 } else { 1 };
                    f(c, cell.contents(), w, CellLook::Screen(cell));
                }
            }
            None => {}
        }
    }

    /// The row's text and, for each char of it, the column it starts at.
    pub fn text(&self, abs: u64) -> (String, Vec<u16>) {
        let mut text = String::new();
        let mut cols = Vec::new();
        let mut next_col = 0u16;
        self.cells(abs, |col, sym, _w, _| {
            // Blank cells between contents are spaces, so columns and text stay aligned.
            while next_col < col {
                text.push(' ');
                cols.push(next_col);
                next_col += 1;
            }
            let sym = if sym.is_empty() { " " } else { sym };
            for ch in sym.chars() {
                text.push(ch);
                cols.push(col);
            }
            next_col = col + (sym.width().max(1) as u16);
        });
        (text, cols)
    }

    pub fn is_wrapped(&self, abs: u64) -> bool {
        match self.locate(abs) {
            Some(Where::History(i)) => self.term.history().is_wrapped(i),
            Some(Where::Screen(r)) => self.term.screen().row_wrapped(r),
            None => false,
        }
    }

    /// Text from `start` to `end` (exclusive), wrapped rows joined, trailing blanks of each
    /// line trimmed, lines joined with `\n`.
    pub fn text_between(&self, start: Point, end: Point) -> String {
        let mut out = String::new();
        let mut line = String::new();
        let mut row = start.row;
        while row <= end.row && row < self.end() {
            let (text, cols) = self.text(row);
            let from = if row == start.row { start.col } else { 0 };
            let to = if row == end.row { end.col } else { u16::MAX };
            for (ch, col) in text.chars().zip(cols) {
                if col >= from && col < to {
                    line.push(ch);
                }
            }
            let wrapped = self.is_wrapped(row) && row != end.row;
            if !wrapped {
                out.push_str(line.trim_end());
                line.clear();
                if row != end.row {
                    out.push('\n');
                }
            }
            row += 1;
        }
        out.push_str(line.trim_end());
        out
    }

    /// Finds `query` starting after `from` (forward) or before it (backward), wrapping around
    /// the ends once. Case-insensitive unless the query has an upper-case letter. Wrapped
    /// rows are searched as one line.
    pub fn find(&self, query: &str, from: Point, backward: bool) -> Option<Found> {
        if query.is_empty() {
            return None;
        }
        let first = self.first();
        let hist_end = first + self.history_len() as u64;
        let history = self.term.history();
        let to_abs = |p: Pos| Point {
            row: first + p.row as u64,
            col: p.col,
        };
        let to_pos = |p: Point| Pos::new(p.row.saturating_sub(first) as usize, p.col);
        let hist_find = |from: Point, backward: bool| {
            history.find(query, to_pos(from), backward).map(|m| Found {
                start: to_abs(m.start),
                end: to_abs(m.end),
            })
        };
        let screen_find = |from: Point, backward: bool| self.find_in_screen(query, from, backward);
        let first_pt = Point { row: first, col: 0 };
        let end_pt = Point {
            row: self.end(),
            col: 0,
        };
        if !backward {
            let in_hist = if from.row < hist_end {
                hist_find(from, false)
            } else {
                None
            };
            in_hist
                .or_else(|| screen_find(from, false))
                // Wrap around to the oldest row.
                .or_else(|| hist_find(first_pt, false))
                .or_else(|| screen_find(first_pt, false))
        } else {
            let in_screen = if from.row >= hist_end {
                screen_find(from, true)
            } else {
                None
            };
            in_screen
                .or_else(|| {
                    hist_find(
                        from.min(Point {
                            row: hist_end,
                            col: 0,
                        }),
                        true,
                    )
                })
                // Wrap around to the newest row.
                .or_else(|| screen_find(end_pt, true))
                .or_else(|| {
                    hist_find(
                        Point {
                            row: hist_end,
                            col: 0,
                        },
                        true,
                    )
                })
        }
    }

    /// Searches the screen rows only, as logical lines.
    fn find_in_screen(&self, query: &str, from: Point, backward: bool) -> Option<Found> {
        let first_screen = self.first() + self.history_len() as u64;
        let end = self.end();
        let fold = !query.chars().any(char::is_uppercase);
        let needle: Vec<char> = if fold {
            query.to_lowercase().chars().collect()
        } else {
            query.chars().collect()
        };
        // Logical lines of the screen: (chars, their points).
        let mut lines: Vec<(Vec<char>, Vec<Point>)> = Vec::new();
        let mut cur: (Vec<char>, Vec<Point>) = (Vec::new(), Vec::new());
        for row in first_screen..end {
            let (text, cols) = self.text(row);
            for (ch, col) in text.chars().zip(cols) {
                let ch = if fold {
                    ch.to_lowercase().next().unwrap_or(ch)
                } else {
                    ch
                };
                cur.0.push(ch);
                cur.1.push(Point { row, col });
            }
            if !self.is_wrapped(row) {
                lines.push(std::mem::take(&mut cur));
            }
        }
        if !cur.0.is_empty() {
            lines.push(cur);
        }
        let mut found: Vec<Found> = Vec::new();
        for (chars, points) in &lines {
            if chars.len() < needle.len() {
                continue;
            }
            for i in 0..=chars.len() - needle.len() {
                if chars[i..i + needle.len()] == needle[..] {
                    let last = points[i + needle.len() - 1];
                    let (lt, _) = self.text(last.row);
                    let width = lt
                        .chars()
                        .zip(self.text(last.row).1)
                        .find(|(_, c)| *c == last.col)
                        .map_or(1, |(ch, _)| {
                            unicode_width::UnicodeWidthChar::width(ch)
                                .unwrap_or(1)
                                .max(1)
                        });
                    found.push(Found {
                        start: points[i],
                        end: Point {
                            row: last.row,
                            col: last.col + width as u16,
                        },
                    });
                }
            }
        }
        if backward {
            found.into_iter().rev().find(|m| m.start < from)
        } else if from.row < first_screen {
            found.into_iter().next()
        } else {
            found.into_iter().find(|m| m.start > from)
        }
    }
}

enum Where {
    History(usize),
    Screen(u16),
}

/// How a cell looks: from history (a stored style) or from the live screen (vt100's cell).
pub enum CellLook<'a> {
    Stored(Style),
    Screen(&'a vt100::Cell),
}

/// An open search prompt or the last search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    pub query: String,
    pub backward: bool,
}

/// The state of the scroll view of the focused tab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScrollView {
    /// Absolute row shown at the top of the pane.
    pub top: u64,
    pub cursor: Point,
    /// Where the selection started, while selecting.
    pub anchor: Option<Point>,
    pub search: Option<Search>,
    /// The current match, highlighted apart from the others.
    pub found: Option<Found>,
    /// A search being typed: direction and text.
    pub prompt: Option<(bool, crate::state::LineInput)>,
    /// A short note for the status line ("not found: foo").
    pub note: Option<String>,
}

impl ScrollView {
    /// Opens the view at the bottom, with the cursor where the program's cursor is.
    pub fn new(term: &Term, height: u16) -> ScrollView {
        let rows = Rows::new(term);
        let (crow, ccol) = term.screen().cursor_position();
        let cursor = Point {
            row: rows.end() - u64::from(rows.screen_rows()) + u64::from(crow),
            col: ccol,
        };
        let mut v = ScrollView {
            top: rows.end().saturating_sub(u64::from(height)),
            cursor,
            anchor: None,
            search: None,
            found: None,
            prompt: None,
            note: None,
        };
        v.clamp(term, height);
        v
    }

    fn max_top(rows: &Rows<'_>, height: u16) -> u64 {
        rows.end()
            .saturating_sub(u64::from(height))
            .max(rows.first())
    }

    /// Keeps the view and cursor inside the rows that exist (old rows may have been evicted).
    pub fn clamp(&mut self, term: &Term, height: u16) {
        let rows = Rows::new(term);
        let last = rows.end().saturating_sub(1).max(rows.first());
        self.top = self.top.clamp(rows.first(), Self::max_top(&rows, height));
        self.cursor.row = self.cursor.row.clamp(rows.first(), last);
        if let Some(a) = &mut self.anchor {
            a.row = a.row.clamp(rows.first(), last);
        }
    }

    /// Scrolls so the cursor is visible.
    fn follow(&mut self, term: &Term, height: u16) {
        let h = u64::from(height.max(1));
        if self.cursor.row < self.top {
            self.top = self.cursor.row;
        } else if self.cursor.row >= self.top + h {
            self.top = self.cursor.row + 1 - h;
        }
        self.clamp(term, height);
    }

    /// Moves the cursor by `delta` rows, scrolling at the edges.
    pub fn move_rows(&mut self, term: &Term, height: u16, delta: i64) {
        self.cursor.row = self.cursor.row.saturating_add_signed(delta);
        self.clamp(term, height);
        self.follow(term, height);
    }

    /// Scrolls the view by `delta` rows, the cursor moving with it.
    pub fn scroll(&mut self, term: &Term, height: u16, delta: i64) {
        let before = self.top;
        self.top = self.top.saturating_add_signed(delta);
        self.clamp(term, height);
        let moved = self.top as i64 - before as i64;
        // At an edge the view can't move: the cursor goes the rest of the way.
        self.cursor.row =
            self.cursor
                .row
                .saturating_add_signed(if moved == 0 { delta } else { moved });
        self.clamp(term, height);
        self.follow(term, height);
    }

    pub fn move_cols(&mut self, term: &Term, delta: i32) {
        let cols = term.screen().size().1.get();
        let c = i32::from(self.cursor.col) + delta;
        self.cursor.col = c.clamp(0, i32::from(cols) - 1) as u16;
    }

    pub fn line_start(&mut self) {
        self.cursor.col = 0;
    }

    pub fn line_end(&mut self, term: &Term) {
        let rows = Rows::new(term);
        let (text, cols) = rows.text(self.cursor.row);
        let trimmed = text.trim_end().chars().count();
        self.cursor.col = if trimmed == 0 { 0 } else { cols[trimmed - 1] };
    }

    pub fn to_top(&mut self, term: &Term, height: u16) {
        let first = Rows::new(term).first();
        self.top = first;
        self.cursor.row = first;
        self.clamp(term, height);
    }

    pub fn to_bottom(&mut self, term: &Term, height: u16) {
        let rows = Rows::new(term);
        self.top = Self::max_top(&rows, height);
        self.cursor.row = rows.end().saturating_sub(1);
        self.clamp(term, height);
    }

    /// True when the view shows the newest rows (the live screen's bottom).
    pub fn at_bottom(&self, term: &Term, height: u16) -> bool {
        self.top >= Self::max_top(&Rows::new(term), height)
    }

    /// `[offset/total]`: rows scrolled up from the bottom, and rows of history.
    pub fn position(&self, term: &Term, height: u16) -> (u64, usize) {
        let rows = Rows::new(term);
        (
            Self::max_top(&rows, height).saturating_sub(self.top),
            rows.history_len(),
        )
    }

    /// Runs the search (the last one, or the other way with `reverse`), moving to the match.
    pub fn search_next(&mut self, term: &Term, height: u16, reverse: bool) {
        let Some(search) = self.search.clone() else {
            self.note = Some("no search yet: / or ? to search".to_string());
            return;
        };
        let backward = search.backward != reverse;
        let rows = Rows::new(term);
        let from = self.found.map(|f| f.start).unwrap_or(self.cursor);
        match rows.find(&search.query, from, backward) {
            Some(m) => {
                self.found = Some(m);
                self.cursor = m.start;
                self.note = None;
                // Put the match a third of the way down, so its context shows.
                if m.start.row < self.top || m.start.row >= self.top + u64::from(height) {
                    self.top = m.start.row.saturating_sub(u64::from(height / 3));
                }
                self.clamp(term, height);
            }
            None => {
                self.found = None;
                self.note = Some(format!("not found: {}", search.query));
            }
        }
    }

    /// The selection, ordered, `end` exclusive.
    pub fn selection(&self) -> Option<(Point, Point)> {
        let a = self.anchor?;
        let (s, e) = if a <= self.cursor {
            (a, self.cursor)
        } else {
            (self.cursor, a)
        };
        Some((
            s,
            Point {
                row: e.row,
                col: e.col.saturating_add(1),
            },
        ))
    }

    /// The selected text, if selecting.
    pub fn selected_text(&self, term: &Term) -> Option<String> {
        let (s, e) = self.selection()?;
        Some(Rows::new(term).text_between(s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::scrollback::{Budget, Limits};

    fn term_with(lines: usize, rows: u16, cols: u16) -> Term {
        let mut t = Term::new(
            rows,
            cols,
            Limits {
                lines: 1000,
                bytes: 1 << 20,
            },
            Budget::new(64 << 20),
        );
        for i in 1..=lines {
            t.process(format!("line {i}\r\n").as_bytes());
        }
        t
    }

    #[test]
    fn opens_at_the_bottom_and_moves_to_the_top() {
        let t = term_with(50, 10, 20);
        let mut v = ScrollView::new(&t, 10);
        assert!(v.at_bottom(&t, 10));
        assert_eq!(v.position(&t, 10), (0, 41));
        v.to_top(&t, 10);
        assert_eq!(Rows::new(&t).text(v.top).0, "line 1");
        assert_eq!(v.position(&t, 10), (41, 41));
        v.scroll(&t, 10, 5);
        assert_eq!(Rows::new(&t).text(v.top).0, "line 6");
    }

    #[test]
    fn new_output_does_not_move_the_view() {
        let mut t = term_with(50, 10, 20);
        let mut v = ScrollView::new(&t, 10);
        v.scroll(&t, 10, -20);
        let shown = Rows::new(&t).text(v.top).0;
        for i in 51..80 {
            t.process(format!("line {i}\r\n").as_bytes());
        }
        v.clamp(&t, 10);
        assert_eq!(Rows::new(&t).text(v.top).0, shown);
    }

    #[test]
    fn search_finds_forward_backward_and_says_not_found() {
        let t = term_with(50, 10, 20);
        let mut v = ScrollView::new(&t, 10);
        v.search = Some(Search {
            query: "LINE 7".into(),
            backward: true,
        });
        v.search_next(&t, 10, false);
        assert_eq!(v.note.as_deref(), Some("not found: LINE 7"));
        v.search = Some(Search {
            query: "line 7".into(),
            backward: true,
        });
        v.search_next(&t, 10, false);
        let m = v.found.expect("found");
        // Backward from the bottom: `line 7` is not on screen; the nearest is line 47? no: 47
        // contains "line 4"; the nearest earlier match of "line 7" is line 7 itself.
        assert_eq!(Rows::new(&t).text(m.start.row).0, "line 7");
        v.search = Some(Search {
            query: "line 4".into(),
            backward: false,
        });
        v.search_next(&t, 10, false);
        let m2 = v.found.expect("found");
        assert_eq!(Rows::new(&t).text(m2.start.row).0, "line 40");
        v.search_next(&t, 10, true);
        let m3 = v.found.expect("found");
        assert_eq!(Rows::new(&t).text(m3.start.row).0, "line 4");
    }

    #[test]
    fn search_covers_the_screen_and_wrapped_lines() {
        let mut t = Term::new(
            5,
            10,
            Limits {
                lines: 100,
                bytes: 1 << 20,
            },
            Budget::new(64 << 20),
        );
        t.process(b"abcdefghijNEEDLE\r\n");
        let v0 = ScrollView::new(&t, 5);
        let rows = Rows::new(&t);
        let m = rows
            .find(
                "jneedle",
                Point {
                    row: v0.cursor.row,
                    col: 0,
                },
                true,
            )
            .expect("found across a wrap");
        assert_eq!((m.start.col, m.end.col), (9, 6));
        assert_eq!(m.end.row, m.start.row + 1);
    }

    #[test]
    fn selection_copies_across_history_and_screen() {
        let t = term_with(12, 5, 20);
        let rows = Rows::new(&t);
        let first = rows.first();
        let text = rows.text_between(
            Point {
                row: first + 5,
                col: 5,
            },
            Point {
                row: first + 9,
                col: 4,
            },
        );
        assert_eq!(text, "6\nline 7\nline 8\nline 9\nline");
    }
}
