//! The rows the scroll view moves over: a session's history followed by its live screen,
//! numbered absolutely (a history row keeps its number as rows arrive and old ones are
//! evicted), with their text, cells and search.

use unicode_width::UnicodeWidthStr;

use crate::term::Term;
use crate::term::scrollback::{Pos, Style};

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
