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
        }
    }

    fn cell(&mut self, store: &mut Scrollback, symbol: &str, width: u8, style: Style) {
        self.open = true;
        if self.col > 0 && self.col + u32::from(width) > self.cols {
            self.end_row(store, true);
        }
        if style != self.style {
            let col = u16::try_from(self.col).unwrap_or(u16::MAX);
            self.runs.push((col, style));
            self.style = style;
        }
        self.text.push_str(symbol);
        self.col += u32::from(width);
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
                row.cells(|_, sym, width, style| layout.cell(&mut out, sym, width, style));
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
