//! vi's word motions over the scroll view's rows (`w`, `b`, `e`).

use super::rows::{Point, Rows};

/// The word motions of the scroll view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordMotion {
    NextStart,
    PrevStart,
    End,
}

/// vi's character classes: blank, word (letters, digits, `_`), other.
pub(super) fn class(c: char) -> u8 {
    if c.is_whitespace() {
        0
    } else if c.is_alphanumeric() || c == '_' {
        1
    } else {
        2
    }
}

/// Walks the view's characters in reading order, a row's end counting as a blank (so words
/// never join across rows).
pub(super) struct Walker<'r, 'a> {
    rows: &'r Rows<'a>,
    row: u64,
    /// Index into `chars`; `chars.len()` is the row's end.
    i: usize,
    chars: Vec<(char, u16)>,
}

impl<'r, 'a> Walker<'r, 'a> {
    pub(super) fn new(rows: &'r Rows<'a>, at: Point) -> Self {
        let chars = Self::load(rows, at.row);
        let i = chars
            .iter()
            .position(|(_, c)| *c >= at.col)
            .unwrap_or(chars.len());
        Walker {
            rows,
            row: at.row,
            i,
            chars,
        }
    }

    pub(super) fn load(rows: &Rows<'_>, row: u64) -> Vec<(char, u16)> {
        let (text, cols) = rows.text(row);
        let mut v: Vec<(char, u16)> = text.chars().zip(cols).collect();
        // Trailing blanks are not characters the user sees.
        while v.last().is_some_and(|(c, _)| c.is_whitespace()) {
            v.pop();
        }
        v
    }

    pub(super) fn class(&self) -> u8 {
        self.chars.get(self.i).map_or(0, |(c, _)| class(*c))
    }

    pub(super) fn point(&self) -> Point {
        Point {
            row: self.row,
            col: self.chars.get(self.i).map_or(0, |(_, c)| *c),
        }
    }

    pub(super) fn forward(&mut self) -> bool {
        if self.i < self.chars.len() {
            self.i += 1;
            return true;
        }
        if self.row + 1 >= self.rows.end() {
            return false;
        }
        self.row += 1;
        self.chars = Self::load(self.rows, self.row);
        self.i = 0;
        true
    }

    pub(super) fn back(&mut self) -> bool {
        if self.i > 0 {
            self.i -= 1;
            return true;
        }
        if self.row <= self.rows.first() {
            return false;
        }
        self.row -= 1;
        self.chars = Self::load(self.rows, self.row);
        self.i = self.chars.len();
        true
    }

    /// Moves over blanks; false when the view's end came first.
    pub(super) fn skip_blanks(&mut self, forward: bool) -> bool {
        while self.class() == 0 {
            let moved = if forward { self.forward() } else { self.back() };
            if !moved {
                return false;
            }
        }
        true
    }

    /// Moves to the last (or first) character of the run of the current class on this row.
    pub(super) fn run_edge(&mut self, forward: bool) {
        let k = self.class();
        if forward {
            while self.i + 1 < self.chars.len() && class(self.chars[self.i + 1].0) == k {
                self.i += 1;
            }
        } else {
            while self.i > 0 && class(self.chars[self.i - 1].0) == k {
                self.i -= 1;
            }
        }
    }
}
