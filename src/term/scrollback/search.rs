//! Searching and copying text out of the store.

use super::cells::{Cells, cell_at_byte};
use super::store::RawRow;
use super::{Match, Pos, Scrollback};
use std::ops::ControlFlow;

/// The query, prepared once per search.
enum Needle {
    /// The query has an upper-case letter: exact bytes.
    Exact(Vec<u8>),
    /// Lower-case ASCII query: ASCII case folding, byte by byte.
    AsciiFold(Vec<u8>),
    /// Lower-case non-ASCII query: compares `char::to_lowercase` of the text.
    Unicode(Vec<char>),
}

impl Needle {
    fn new(query: &str) -> Option<Self> {
        if query.is_empty() {
            return None;
        }
        Some(if query.chars().any(char::is_uppercase) {
            Self::Exact(query.as_bytes().to_vec())
        } else if query.is_ascii() {
            Self::AsciiFold(query.as_bytes().to_ascii_lowercase())
        } else {
            Self::Unicode(query.chars().flat_map(char::to_lowercase).collect())
        })
    }
}

const LO7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// High bit set in each byte of `v` that is zero, exactly (no carries between bytes).
#[inline]
fn zero_bytes(v: u64) -> u64 {
    !(((v & LO7).wrapping_add(LO7)) | v | LO7)
}

#[inline]
fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * u64::from(b)
}

#[inline]
fn word(hay: &[u8], at: usize) -> Option<u64> {
    let bytes = hay.get(at..at + 8)?;
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_le_bytes)
}

/// First index >= `from` holding `a` or `b`, 8 bytes at a time.
#[inline]
fn find2(hay: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    let (va, vb) = (splat(a), splat(b));
    let mut i = from;
    while let Some(w) = word(hay, i) {
        let m = zero_bytes(w ^ va) | zero_bytes(w ^ vb);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = hay.get(i..)?;
    rest.iter().position(|&c| c == a || c == b).map(|p| i + p)
}

/// First index `i >= from` with `hay[i]` in {a0, b0} and `hay[i + 1]` in {a1, b1}.
/// Checking two bytes cuts the candidates ~10x on text where the query's first
/// letter is common.
#[inline]
fn find_pair(hay: &[u8], from: usize, first: (u8, u8), second: (u8, u8)) -> Option<usize> {
    let (a0, b0, a1, b1) = (
        splat(first.0),
        splat(first.1),
        splat(second.0),
        splat(second.1),
    );
    let mut i = from;
    while let (Some(w0), Some(w1)) = (word(hay, i), word(hay, i + 1)) {
        let m = (zero_bytes(w0 ^ a0) | zero_bytes(w0 ^ b0))
            & (zero_bytes(w1 ^ a1) | zero_bytes(w1 ^ b1));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = hay.get(i..)?;
    rest.windows(2)
        .position(|w| {
            (w[0] == first.0 || w[0] == first.1) && (w[1] == second.0 || w[1] == second.1)
        })
        .map(|p| i + p)
}

impl Scrollback {
    /// Searches for `query` in logical lines (wrapped rows joined), case-insensitive
    /// unless `query` has an upper-case letter. Starts at `from` and goes forward
    /// (matches starting after `from`) or backward (matches starting before
    /// `from`; a `from.row` past the end searches from the newest row); returns the
    /// nearest match.
    ///
    /// Cost: one pass over the rows' text (8 bytes at a time for the first query
    /// byte), verifying candidates in place, continuing into the next row only
    /// when a candidate reaches the end of a wrapped row.
    pub fn find(&self, query: &str, from: Pos, backward: bool) -> Option<Match> {
        let needle = Needle::new(query)?;
        let last = self.len().checked_sub(1)?;
        let mut found = None;
        if backward {
            let (start_row, limit) = if from.row > last {
                (last, None)
            } else {
                (from.row, Some(from.col))
            };
            self.walk(start_row, true, |index, row| {
                let limit = if index == start_row { limit } else { None };
                let mut best = None;
                self.candidates(&needle, row, |at| {
                    let Some(m) = self.verify(&needle, index, row, at) else {
                        return ControlFlow::Continue(());
                    };
                    if limit.is_some_and(|c| m.start.col >= c) {
                        return ControlFlow::Break(());
                    }
                    best = Some(m);
                    ControlFlow::Continue(())
                });
                found = best;
                if found.is_some() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
        } else {
            if from.row > last {
                return None;
            }
            self.walk(from.row, false, |index, row| {
                let after = (index == from.row).then_some(from.col);
                self.candidates(&needle, row, |at| {
                    match self.verify(&needle, index, row, at) {
                        Some(m) if after.is_none_or(|c| m.start.col > c) => {
                            found = Some(m);
                            ControlFlow::Break(())
                        }
                        _ => ControlFlow::Continue(()),
                    }
                });
                if found.is_some() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
        }
        found
    }

    /// Calls `f` with each byte offset of `row`'s text where a match could start,
    /// in increasing order.
    fn candidates(
        &self,
        needle: &Needle,
        row: RawRow<'_>,
        mut f: impl FnMut(usize) -> ControlFlow<()>,
    ) {
        let text = row.text;
        let (q, fold) = match needle {
            Needle::Exact(q) => (q, false),
            Needle::AsciiFold(q) => (q, true),
            Needle::Unicode(q) => return self.unicode_candidates(q, row, f),
        };
        let variants = |c: u8| {
            if fold {
                (c, c.to_ascii_uppercase())
            } else {
                (c, c)
            }
        };
        let Some(first) = q.first().map(|&c| variants(c)) else {
            return;
        };
        let mut at = 0;
        match q.get(1).map(|&c| variants(c)) {
            None => {
                while let Some(i) = find2(text, at, first.0, first.1) {
                    if f(i).is_break() {
                        return;
                    }
                    at = i + 1;
                }
            }
            Some(second) => {
                while let Some(i) = find_pair(text, at, first, second) {
                    if f(i).is_break() {
                        return;
                    }
                    at = i + 1;
                }
                // A match may start on the last byte and go on in the next row.
                if row.wrapped() {
                    if let Some(&c) = text.last() {
                        if c == first.0 || c == first.1 {
                            let _ = f(text.len() - 1);
                        }
                    }
                }
            }
        }
    }

    fn unicode_candidates(
        &self,
        q: &[char],
        row: RawRow<'_>,
        mut f: impl FnMut(usize) -> ControlFlow<()>,
    ) {
        let text = row.text;
        let Some(&q0) = q.first() else {
            return;
        };
        if row.ascii() {
            // ASCII text lower-cases to ASCII: only an ASCII first char can start here.
            if q0.is_ascii() {
                let (a, b) = (q0 as u8, (q0 as u8).to_ascii_uppercase());
                let mut at = 0;
                while let Some(i) = find2(text, at, a, b) {
                    if f(i).is_break() {
                        return;
                    }
                    at = i + 1;
                }
            }
            return;
        }
        for (i, c) in row.text_str().char_indices() {
            if c.to_lowercase().next() == Some(q0) && f(i).is_break() {
                return;
            }
        }
    }

    /// Whether a match starts at byte `at` of row `index`; the match in cells.
    fn verify(&self, needle: &Needle, index: usize, row: RawRow<'_>, at: usize) -> Option<Match> {
        let (end_index, end_row, end_byte) = match needle {
            Needle::Exact(q) => self.verify_bytes(q, false, index, row, at)?,
            Needle::AsciiFold(q) => self.verify_bytes(q, true, index, row, at)?,
            Needle::Unicode(q) => self.verify_chars(q, index, row, at)?,
        };
        let (start_col, _) = cell_at_byte(row.text_str(), row.ascii(), at);
        let end_col = match end_byte.checked_sub(1) {
            Some(b) => {
                let (col, width) = cell_at_byte(end_row.text_str(), end_row.ascii(), b);
                col + u32::from(width)
            }
            None => 0,
        };
        let clamp = |c: u32| c.min(u32::from(u16::MAX)) as u16;
        Some(Match {
            start: Pos::new(index, clamp(start_col)),
            end: Pos::new(end_index, clamp(end_col)),
        })
    }

    /// Byte comparison from (`index`, `at`), into following rows while wrapped.
    /// Returns the row holding the end and the end's byte offset in it.
    fn verify_bytes<'s>(
        &'s self,
        needle: &[u8],
        fold: bool,
        mut index: usize,
        mut row: RawRow<'s>,
        mut at: usize,
    ) -> Option<(usize, RawRow<'s>, usize)> {
        let mut rest = needle;
        loop {
            let avail = row.text.get(at..)?;
            let take = rest.len().min(avail.len());
            let (hay, want) = (avail.get(..take)?, rest.get(..take)?);
            let same = if fold {
                hay.eq_ignore_ascii_case(want)
            } else {
                hay == want
            };
            if !same {
                return None;
            }
            rest = rest.get(take..)?;
            if rest.is_empty() {
                return Some((index, row, at + take));
            }
            if !row.wrapped() {
                return None;
            }
            index += 1;
            row = self.raw(index)?;
            at = 0;
        }
    }

    /// Lower-cased char comparison from (`index`, `at`), into following rows while wrapped.
    fn verify_chars<'s>(
        &'s self,
        needle: &[char],
        mut index: usize,
        mut row: RawRow<'s>,
        mut at: usize,
    ) -> Option<(usize, RawRow<'s>, usize)> {
        let mut q = needle.iter();
        let mut want = q.next();
        loop {
            let text = row.text_str().get(at..)?;
            for (i, c) in text.char_indices() {
                for lc in c.to_lowercase() {
                    if want != Some(&lc) {
                        return None;
                    }
                    want = q.next();
                }
                if want.is_none() {
                    return Some((index, row, at + i + c.len_utf8()));
                }
            }
            if !row.wrapped() {
                return None;
            }
            index += 1;
            row = self.raw(index)?;
            at = 0;
        }
    }

    /// Text between `start` (inclusive) and `end` (exclusive), in cell columns:
    /// wrapped rows are joined, each line's trailing blanks trimmed, lines joined
    /// by '\n'. A wide cell is included if either of its columns is in range.
    pub fn text_between(&self, start: Pos, end: Pos) -> String {
        let mut out = String::new();
        let Some(last) = self.len().checked_sub(1) else {
            return out;
        };
        if start >= end || start.row > last {
            return out;
        }
        let last = end.row.min(last);
        self.walk(start.row, false, |index, row| {
            let c0 = if index == start.row {
                u32::from(start.col)
            } else {
                0
            };
            let c1 = if index == end.row {
                u32::from(end.col)
            } else {
                u32::MAX
            };
            let mut col = 0u32;
            for (_, sym, width) in Cells::new(row.text_str()) {
                if col >= c1 {
                    break;
                }
                if col + u32::from(width) > c0 {
                    out.push_str(sym);
                }
                col += u32::from(width);
            }
            if index >= last {
                return ControlFlow::Break(());
            }
            if !row.wrapped() {
                trim_blanks(&mut out);
                out.push('\n');
            }
            ControlFlow::Continue(())
        });
        trim_blanks(&mut out);
        out
    }
}

fn trim_blanks(out: &mut String) {
    let kept = out.trim_end_matches(' ').len();
    out.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_pair_matches_naive() {
        let hay: Vec<u8> = (0..300u32).map(|i| (i * 7 % 5) as u8 + b'a').collect();
        for from in [0, 1, 7, 8, 9, 150, 298, 299, 300] {
            for (first, second) in [((b'a', b'A'), (b'c', b'C')), ((b'e', b'e'), (b'b', b'b'))] {
                let naive = (from..hay.len().saturating_sub(1)).find(|&i| {
                    (hay[i] == first.0 || hay[i] == first.1)
                        && (hay[i + 1] == second.0 || hay[i + 1] == second.1)
                });
                assert_eq!(find_pair(&hay, from, first, second), naive, "from {from}");
            }
        }
    }

    #[test]
    fn find2_matches_naive() {
        let hay: Vec<u8> = (0..200u32).map(|i| (i * 7 % 26) as u8 + b'a').collect();
        for from in [0, 3, 8, 17, 150, 199, 200] {
            for (a, b) in [(b'a', b'A'), (b'z', b'q'), (b'!', b'!')] {
                let naive = hay
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|&(_, &c)| c == a || c == b)
                    .map(|(i, _)| i);
                assert_eq!(find2(&hay, from, a, b), naive, "from {from} {a} {b}");
            }
        }
    }
}
