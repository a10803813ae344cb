//! Re-laying stored rows at a new width, when the pane gets narrower or wider.
//!
//! A logical line is a run of rows joined by their wrapped flags. Each is cut again at the
//! new width, as vt100 would have cut it had the screen been that wide: a cell that does not
//! fit starts the next row (a wide character does not fit in the last column).
//!
//! A line held in one row that still fits is copied as it is stored (no decoding): most
//! rows of a shell's history. One pass over the store; see `docs/fidelity.md` for the cost.

use std::ops::ControlFlow;

use super::cells::columns;
use super::store::RawRow;
use super::style::Runs;
use super::{Scrollback, Style};

/// The cells of one logical line, for the caller to re-lay elsewhere (the screen).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogicalLine {
    text: String,
    /// Per cell: where its text ends in `text`, its width (1 or 2), its style.
    cells: Vec<(u32, u8, Style)>,
}

impl LogicalLine {
    pub fn push(&mut self, symbol: &str, width: u8, style: Style) {
        self.text.push_str(symbol);
        let end = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        self.cells.push((end, width, style));
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// (symbol, width, style) of each cell, left to right.
    pub fn cells(&self) -> impl Iterator<Item = (&str, u8, Style)> + '_ {
        let mut start = 0usize;
        self.cells.iter().map(move |&(end, width, style)| {
            let end = end as usize;
            let sym = self.text.get(start..end).unwrap_or_default();
            start = end;
            (sym, width, style)
        })
    }
}

/// Cuts cells into rows of at most `cols` columns and stores them.
struct Layout {
    cols: u32,
    text: String,
    runs: Vec<(u16, Style)>,
    col: u32,
    style: Style,
    /// A line is being laid (its first row may still be empty).
    open: bool,
    /// The runs of the row being read, decoded (scratch).
    row_runs: Vec<(u32, Style)>,
}

impl Layout {
    fn new(cols: u16) -> Self {
        Layout {
            cols: u32::from(cols.max(1)),
            text: String::new(),
            runs: Vec::new(),
            col: 0,
            style: Style::default(),
            open: false,
            row_runs: Vec::new(),
        }
    }

    fn cell(&mut self, store: &mut Scrollback, symbol: &str, width: u8, style: Style) {
        self.open = true;
        if self.col > 0 && self.col + u32::from(width) > self.cols {
            self.end_row(store, true);
        }
        self.set_style(style);
        self.text.push_str(symbol);
        self.col += u32::from(width);
    }

    /// Lays a pure-ASCII row (one byte per cell) by slices: no per-cell work.
    fn ascii_row(&mut self, store: &mut Scrollback, row: &RawRow<'_>) {
        self.open = true;
        self.row_runs.clear();
        self.row_runs.extend(Runs::new(row.runs));
        let text = row.text_str();
        let (mut at, mut k, mut style) = (0usize, 0usize, Style::default());
        while at < text.len() {
            if self.col >= self.cols {
                self.end_row(store, true);
            }
            let end = at + ((self.cols - self.col) as usize).min(text.len() - at);
            let mut from = at;
            loop {
                // Runs starting at or before `from` set the style of the slice from there.
                while let Some(&(start, s)) = self.row_runs.get(k) {
                    if start as usize > from {
                        break;
                    }
                    style = s;
                    k += 1;
                }
                self.set_style(style);
                let to = self
                    .row_runs
                    .get(k)
                    .map_or(end, |&(start, _)| (start as usize).min(end));
                self.text.push_str(text.get(from..to).unwrap_or_default());
                self.col += (to - from) as u32;
                from = to;
                if from >= end {
                    break;
                }
            }
            at = end;
        }
    }

    fn set_style(&mut self, style: Style) {
        if style != self.style {
            let col = u16::try_from(self.col).unwrap_or(u16::MAX);
            self.runs.push((col, style));
            self.style = style;
        }
    }

    fn end_row(&mut self, store: &mut Scrollback, wrapped: bool) {
        store.push_row(&self.text, &self.runs, wrapped);
        self.text.clear();
        self.runs.clear();
        self.col = 0;
        self.style = Style::default();
    }

    fn end_line(&mut self, store: &mut Scrollback) {
        self.end_row(store, false);
        self.open = false;
    }
}

fn row_columns(row: &RawRow<'_>) -> u32 {
    if row.ascii() {
        u32::try_from(row.text.len()).unwrap_or(u32::MAX)
    } else {
        columns(row.text_str())
    }
}

impl Scrollback {
    /// This store's rows re-laid at `cols` columns, in a new store with the same bounds and
    /// numbering; and, taken out of it, the newest logical lines as cells: the line the
    /// newest row starts or continues if it is wrapped (it goes on on the screen), and
    /// before it whole lines until they make at least `pull_rows` rows at the new width
    /// (for a screen that gets fewer rows of text to pull back).
    pub fn rewrapped(&self, cols: u16, pull_rows: usize) -> (Scrollback, Vec<LogicalLine>) {
        let split = self.tail_start(cols, pull_rows);
        let mut out = self.empty_like();
        let mut tail = Vec::new();
        let mut line = LogicalLine::default();
        let mut layout = Layout::new(cols);
        if self.is_empty() {
            return (out, tail);
        }
        self.walk(0, false, |i, row| {
            if i >= split {
                row.cells(|_, sym, width, style| line.push(sym, width, style));
                if !row.wrapped() {
                    tail.push(std::mem::take(&mut line));
                }
            } else if !layout.open && !row.wrapped() && row_columns(&row) <= layout.cols {
                // A one-row line that still fits: the same bytes.
                out.push_encoded(row.header, row.runs, row.text);
            } else {
                if row.ascii() {
                    layout.ascii_row(&mut out, &row);
                } else {
                    row.cells(|_, sym, width, style| layout.cell(&mut out, sym, width, style));
                }
                layout.open = true;
                if !row.wrapped() {
                    layout.end_line(&mut out);
                }
            }
            ControlFlow::Continue(())
        });
        if layout.open {
            // Only when the newest row is wrapped and nothing was taken (split == len).
            layout.end_row(&mut out, true);
        }
        if self.is_wrapped(self.len() - 1) && split < self.len() {
            tail.push(line);
        }
        (out, tail)
    }

    /// The first row of the lines `rewrapped` takes out.
    fn tail_start(&self, cols: u16, pull_rows: usize) -> usize {
        let len = self.len();
        if len == 0 || (pull_rows == 0 && !self.is_wrapped(len - 1)) {
            return len;
        }
        let cols = u32::from(cols.max(1));
        let mut split = len;
        let mut line_cols = 0u32;
        let mut pulled = 0usize;
        self.walk(len - 1, true, |i, row| {
            if i + 1 < len && !row.wrapped() {
                // Rows i+1.. make a whole line.
                split = i + 1;
                pulled += line_cols.div_ceil(cols).max(1) as usize;
                line_cols = 0;
                if pulled >= pull_rows {
                    return ControlFlow::Break(());
                }
            }
            line_cols = line_cols.saturating_add(row_columns(&row));
            if i == 0 {
                split = 0;
            }
            ControlFlow::Continue(())
        });
        split
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Budget, Limits};
    use super::*;

    /// Every cell of the store, in order, with its style; `None` ends a logical line.
    fn cells(s: &Scrollback) -> Vec<Option<(String, Style)>> {
        let mut out = Vec::new();
        for i in 0..s.len() {
            s.row_cells(i, |_, sym, _, style| {
                out.push(Some((sym.to_string(), style)))
            });
            if !s.is_wrapped(i) {
                out.push(None);
            }
        }
        out
    }

    #[test]
    fn cells_and_styles_are_kept_at_any_width() {
        let mut s = Scrollback::new(Limits::default(), Budget::new(1 << 30));
        let red = Style {
            fg: vt100::Color::Idx(1),
            ..Style::default()
        };
        let blue_bg = Style {
            bg: vt100::Color::Idx(4),
            bold: true,
            ..Style::default()
        };
        // An ASCII line over three rows with runs crossing row ends, a non-ASCII line with
        // a wide character, an empty line, a line that fits.
        s.push_row("abcdefgh", &[(2, red), (7, blue_bg)], true);
        s.push_row("ijklmnop", &[(0, blue_bg), (3, Style::default())], true);
        s.push_row("qr", &[(1, red)], false);
        s.push_row("x中yé", &[(1, red)], false);
        s.push_row("", &[], false);
        s.push_row("fits", &[], false);
        let want = cells(&s);
        for cols in [1, 2, 3, 5, 8, 13, 40] {
            let (out, tail) = s.rewrapped(cols, 0);
            assert!(tail.is_empty());
            assert_eq!(cells(&out), want, "at {cols} columns");
            for i in 0..out.len() {
                let mut width = 0;
                out.row_cells(i, |_, _, w, _| width += u16::from(w));
                assert!(width <= cols.max(2), "row {i} at {cols} columns: {width}");
            }
        }
        // The newest line, wrapped, and the two lines before it ("" and "fits") are taken out for the
        // screen when 3 rows are to be pulled back at 40 columns.
        s.push_row("tail", &[], true);
        let (out, tail) = s.rewrapped(40, 3);
        // The first line in one row at 40 columns, then "x中yé".
        assert_eq!(out.len(), 2);
        assert_eq!(tail.len(), 3);
        assert_eq!(tail[2].cells().map(|c| c.0).collect::<String>(), "tail");
    }
}
