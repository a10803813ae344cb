//! Splitting stored row text back into cells, by vt100's own rules
//! (`Screen::text`, `Cell::set`, `Cell::append` in vt100 0.18.1):
//!
//! * a character of width 0 joins the cell before it (combining marks, ZWJ, VS16);
//!   vt100 drops one at column 0, so stored text never starts with one;
//! * any other character starts a cell, 2 columns wide if its width is > 1;
//! * appending U+FE0F re-evaluates the cell as wide iff the whole cell's
//!   string width is > 1 (emoji presentation); no other append does.
//!
//! `write_formatted_basic` writes each cell's contents in turn and skips the
//! continuation half of wide cells, so these rules recover the columns exactly.

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

const VS16: char = '\u{FE0F}';

/// Iterator over (byte offset, symbol, width) of the cells of a row's text.
pub(super) struct Cells<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cells<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }
}

#[inline]
fn base_width(c: char) -> u8 {
    if c.width().unwrap_or(1) > 1 { 2 } else { 1 }
}

impl<'a> Iterator for Cells<'a> {
    type Item = (usize, &'a str, u8);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let first = *bytes.get(start)?;
        let mut width = 1;
        let mut end = start + 1;
        if first >= 0x80 {
            let c = self.text.get(start..)?.chars().next()?;
            width = base_width(c);
            end = start + c.len_utf8();
        }
        // Zero-width characters are always non-ASCII: an ASCII byte ends the cell.
        while bytes.get(end).is_some_and(|&b| b >= 0x80) {
            let Some(c) = self.text.get(end..).and_then(|s| s.chars().next()) else {
                break;
            };
            if c.width() != Some(0) {
                break;
            }
            end += c.len_utf8();
            if c == VS16 {
                let cell = self.text.get(start..end).unwrap_or_default();
                width = if cell.width() > 1 { 2 } else { 1 };
            }
        }
        self.pos = end;
        Some((start, self.text.get(start..end).unwrap_or_default(), width))
    }
}

/// Total columns of `text` (a whole number of cells).
pub(super) fn columns(text: &str) -> u32 {
    Cells::new(text).map(|(_, _, w)| u32::from(w)).sum()
}

/// The cell holding byte `b` of `text`: (column, width). For `b` past the end,
/// the column after the last cell with width 0.
pub(super) fn cell_at_byte(text: &str, ascii: bool, b: usize) -> (u32, u8) {
    if ascii {
        return if b < text.len() {
            (b as u32, 1)
        } else {
            (text.len() as u32, 0)
        };
    }
    let mut col = 0u32;
    for (start, sym, w) in Cells::new(text) {
        if start + sym.len() > b {
            return (col, w);
        }
        col += u32::from(w);
    }
    (col, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(s: &str) -> Vec<(&str, u8)> {
        Cells::new(s).map(|(_, sym, w)| (sym, w)).collect()
    }

    #[test]
    fn segmentation() {
        assert_eq!(cells("ab"), vec![("a", 1), ("b", 1)]);
        assert_eq!(
            cells("e\u{301}x"),
            vec![("e\u{301}", 1), ("x", 1)],
            "combining mark joins its base"
        );
        assert_eq!(cells("中a"), vec![("中", 2), ("a", 1)]);
        assert_eq!(
            cells("\u{2764}\u{FE0F}!"),
            vec![("\u{2764}\u{FE0F}", 2), ("!", 1)],
            "VS16 widens a text-default emoji"
        );
        assert_eq!(columns("中e\u{301}z"), 4);
        assert_eq!(cell_at_byte("中e\u{301}z", false, 4), (2, 1));
        assert_eq!(cell_at_byte("中e\u{301}z", false, 1), (0, 2));
        assert_eq!(cell_at_byte("中e\u{301}z", false, 6), (3, 1));
        assert_eq!(cell_at_byte("abc", true, 3), (3, 0));
    }
}
