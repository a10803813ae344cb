//! Throughput fast path for floods of plain lines (`cat big.log`, `seq`, `ls -l`).
//!
//! For a batch of N complete lines on a screen of `rows` rows, only the last `rows - 1` rows
//! end up visible; everything before scrolls off into history. Measured on the normal path
//! (perf, release, 200x50): vt100's per-character work is about a third of the CPU and
//! capturing each scrolled row through `write_formatted_basic` (then parsing its SGR output
//! back in `RowCapture`) another third. Here the rows that would scroll off are encoded
//! straight from the input into the store, and vt100 only sees what ends up on screen.
//!
//! It applies at a point of the input where (all checked, else the bytes go the normal way
//! up to the next `\n` and it tries again there; on the alternate screen, or when the input
//! cannot hold enough lines, the whole input goes the normal way at once):
//!
//! * the filter is transparent (ground state, GL = ASCII) and the main screen has no scroll
//!   region (`Filter::main_scroll_region`); the main screen is active; no phantom rows are
//!   pending (`Callbacks::phantom`); no bytes of a cut UTF-8 sequence are held back
//!   (`Utf8Seam`: if the input does not continue them, they print at the cursor first);
//! * the cursor is at column 0 of the last row, and that row is all default cells, unwrapped;
//! * what follows is a *run* of complete lines in a restricted grammar: printable ASCII,
//!   UTF-8 characters of width 1 or 2 (`text_char`: CJK, Hangul, accented letters, most
//!   emoji; never a character of width 0, which joins the cell before it), SGR sequences
//!   with exactly the parameters vt100's `Screen::sgr` implements (see `apply_sgr`; none
//!   once the filter rewrites them all, `Filter::sgr_extras`), each
//!   line ended by `\r\n`; and the run's lines before its visible suffix fill at least one
//!   screen (below that the fixed cost is not won back).
//!
//! With R the rows the run produces (vt100 wraps only when a character arrives that does
//! not fit in the rest of the row: so exactly `cols` columns then `\r\n` is one unwrapped
//! row, and a wide character that meets one free column leaves it empty and starts the
//! next row, the row it left unwrapped; `advance`), S the rows of the shortest suffix of whole
//! lines covering `rows - 1` rows, and D = R - S, the normal path would scroll R rows off:
//! the screen's rows `0..rows-1`, then the run's first R - (rows - 1). The fast path does:
//!
//! 1. `CSI rows-1 S`: vt100 scrolls the screen's rows off through `on_scroll`, captured as
//!    usual, first in history as they should be.
//! 2. `RowCapture::detach`, then the run's first D rows are stored directly
//!    (`RowCapture::push_direct`), encoded as the capture would have encoded vt100's cells:
//!    each row starts in a fresh (default) row, so its cells are the characters written,
//!    with the attributes in effect, and nothing after them.
//! 3. D more rows scrolled with `CSI n S` while `Callbacks::swallow` makes `on_scroll` count
//!    and not store them: vt100's own count of scrolled rows (which decides how many blank
//!    rows it inserts when the screen grows) and memmux's mirror of it stay exact. The last
//!    of them holds one cell in the attributes of the last cell stored directly and goes
//!    through `RowCapture::absorb`: the capture state then ends where it would have, which
//!    matters because `write_formatted_basic` writes blank cells at the start of the next
//!    captured row in the attributes the previous row ended with. The screen is then all
//!    default cells. (This costs one row reset per direct row: 13% of the fast path's CPU
//!    at 200x50.)
//! 4. `CSI H`, the SGR state at the suffix's start, and the suffix itself: vt100 draws the
//!    visible rows itself (scrolling off any excess over `rows - 1` through `on_scroll`), so
//!    the screen, cursor, wrap flags and current attributes are vt100's own. If the suffix
//!    prints nothing but the run did, the run's last character is printed and erased first,
//!    so that REP (`CSI b`) repeats the same character as after the normal path.
//!
//! The normal path is cut at other places than before (after each `\n` it retries at, and
//! around each run), which would show through a vte 0.15 bug with UTF-8 characters cut
//! between two slices; `Utf8Seam` keeps vte from seeing such cuts at all.
//!
//! `tests/integration/fastpath_differential.rs` feeds random and recorded output to a `Term` with and
//! without the fast path and compares every cell, the cursor, the attributes and every
//! stored history row after every chunk.
//!
//! Note: a Linux pty read returns at most the line discipline's 4 KiB, about 45 lines of
//! 90 characters, fewer than a 50-row screen shows; the fast path pays off when the reader
//! hands over more at once (it reads up to 64 KiB per call).

use std::io::Write as _;

use super::Term;
use super::scrollback::Style;
use text::{advance_text, char_at, text_char};
use vt100::Color;

mod text;

/// Scratch buffers kept between calls, so the fast path allocates nothing once warm: at most
/// `rows` line records, one row of text and runs, and a few dozen bytes of control sequences.
#[derive(Debug, Default)]
pub struct FastPath {
    /// The last `rows` complete lines of the run scanned, as a ring indexed by line number.
    ring: Vec<Line>,
    text: Vec<u8>,
    runs: Vec<(u16, Style)>,
    seq: Vec<u8>,
    /// Runs taken and rows stored directly, for tests and benches to see it at work.
    pub(super) taken: u64,
    pub(super) direct_rows: u64,
}

/// One complete line of a run.
#[derive(Clone, Copy, Debug, Default)]
struct Line {
    /// Offset of its first byte.
    start: usize,
    /// Screen rows it takes.
    rows: usize,
    /// SGR state in effect at its first byte.
    attrs: Style,
    /// It prints at least one character.
    printed: bool,
}

/// The run of complete lines at the start of some input.
#[derive(Debug, Default)]
struct Run {
    /// Offset just past the last complete line's `\r\n`: 0 if there is none.
    end: usize,
    /// Lines and rows (R) in the run.
    lines: usize,
    rows: usize,
    /// The last character the run prints, if any.
    last_char: Option<char>,
}

/// Feeds `bytes` to `term`, taking the fast path wherever it applies.
pub(super) fn process(term: &mut Term, bytes: &[u8]) {
    let mut fast = std::mem::take(&mut term.fast);
    let mut rest = bytes;
    // Newlines left in `rest`, counted once and then decremented by what each step consumed:
    // counting them afresh at every attempt was quadratic in the lines of a read that the
    // fast path declines line by line (CJK text: 6.9 MiB/s, 77% of it counting).
    // Counted only once a run could start (not for typing, not on the alternate screen).
    let mut newlines = None;
    while !rest.is_empty() {
        let (n, lines) = match fast.try_run(term, rest, &mut newlines) {
            Ok(taken) => taken,
            Err(n) => {
                term.process_normal(&rest[..n]);
                // Nothing is left to try when all went the normal way.
                let lines = if n < rest.len() {
                    count_newlines(rest.get(..n).unwrap_or_default())
                } else {
                    0
                };
                (n, lines)
            }
        };
        if let Some(left) = newlines.as_mut() {
            *left = left.saturating_sub(lines);
        }
        rest = rest.get(n..).unwrap_or_default();
    }
    term.fast = fast;
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Bytes up to and including the first `\n`, or all: where to try again after the normal
/// path (a line ending at the bottom row leaves the cursor where the fast path can start).
fn through_newline(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| i + 1)
}

impl FastPath {
    /// Takes the fast path for the run at the start of `bytes` and returns `Ok((bytes
    /// consumed, lines consumed))` (a run's only `\n` are its line ends: counting them again
    /// was 10 % of `Term::process`'s own time on CJK text, perf), or returns `Err(n)`: the
    /// first `n` bytes (at least one) must go the normal way.
    /// `newlines` caches the number of `\n` in `bytes` (filled in here if it is `None`).
    fn try_run(
        &mut self,
        term: &mut Term,
        bytes: &[u8],
        newlines: &mut Option<usize>,
    ) -> Result<(usize, usize), usize> {
        let screen = term.parser.screen();
        let (rows, cols) = screen.size();
        let (rows, cols) = (usize::from(rows.get()), usize::from(cols.get()));
        // A run worth taking has a screen of direct rows plus `rows - 1` visible ones, each
        // row at least one byte: shorter input (typing, prompts) never pays for the checks.
        // Full-screen programs (vim, less, htop) are not cut into lines either: they rarely
        // leave the alternate screen for a flood within the same read.
        if bytes.len() < 2 * rows || screen.alternate_screen() {
            return Err(bytes.len());
        }
        // A 1-row screen never sets wrap flags (vt100's `col_wrap`): not worth modelling.
        let eligible = rows >= 2
            && screen.cursor_position() == (rows as u16 - 1, 0)
            && term.filter.is_transparent()
            && !term.filter.main_scroll_region()
            && term.parser.callbacks().phantom == 0
            // Bytes held back from vte (a sequence cut at the end of the last read) print
            // at the cursor first when what follows does not continue them: U+FFFD, or
            // vte's garbage for a cut sequence (U+10FFFD after E4 B8 then E7 88 95).
            && term.seam.is_empty();
        if !eligible {
            return Err(through_newline(bytes));
        }
        // A line of n bytes takes at most 1 + n / (cols - 1) rows (a character takes at most
        // as many columns as bytes, and a row holds at least `cols - 1` columns: one is left
        // empty when a wide character does not fit): if even that cannot add up to the
        // `2 * rows - 1` rows a run needs, skip the scan. A Linux pty read returns at most
        // 4 KiB, 45 lines of 90 characters: less than a 200x50 screen needs.
        let lines = *newlines.get_or_insert_with(|| count_newlines(bytes));
        if lines + bytes.len() / cols.saturating_sub(1).max(1) < 2 * rows - 1 {
            return Err(bytes.len());
        }
        let attrs = screen_style(screen);
        // After attributes vt100 cannot store (blink: `Filter::sgr_extras`) the filter
        // rewrites every SGR; lines with one go the normal way then.
        let sgr = !term.filter.sgr_extras();
        let run = self.scan(bytes, cols, rows, attrs, sgr);
        // The suffix: the fewest last lines covering `rows - 1` rows (the ring holds the last
        // `rows` lines, and `rows - 1` lines of at least one row each always suffice).
        let mut first = run.lines;
        let mut suffix_rows = 0;
        while first > 0 && suffix_rows < rows - 1 && run.lines - first < self.ring.len() {
            first -= 1;
            suffix_rows += self.line(first, rows).rows;
        }
        let direct = run.rows.saturating_sub(suffix_rows);
        if suffix_rows < rows - 1 || direct < rows {
            return Err(if run.end > 0 {
                run.end
            } else {
                through_newline(bytes)
            });
        }
        // Last: the one check that reads a whole row. After a line ends at the bottom the
        // row is fresh, so this fails at most once per flood.
        if !bottom_row_is_blank(screen, rows, cols) {
            return Err(through_newline(bytes));
        }
        let suffix = self.line(first, rows);
        let suffix_printed = (first..run.lines).any(|l| self.line(l, rows).printed);
        let (head, tail) = bytes.split_at(suffix.start);
        let tail = tail.get(..run.end - suffix.start).unwrap_or_default();

        // 1. The screen's rows above the cursor go to history the usual way.
        self.seq.clear();
        let _ = write!(self.seq, "\x1b[{}S", rows - 1);
        term.parser.process(&self.seq);

        // 2. The run's rows up to the suffix go straight to the store.
        let cb = term.parser.callbacks_mut();
        cb.capture.detach(&mut cb.history);
        let last_cell = self.store(head, cols, attrs, |text, runs, wrapped| {
            cb.capture.push_direct(&mut cb.history, text, runs, wrapped);
        });

        // 3. As many blank rows scrolled off, counted and not stored; the last one carries
        // a cell in the attributes of the last cell stored, for `RowCapture::absorb`.
        cb.swallow = direct;
        cb.absorb = last_cell.is_some();
        self.seq.clear();
        let blank = direct - usize::from(last_cell.is_some());
        for _ in 0..blank / rows {
            let _ = write!(self.seq, "\x1b[{rows}S");
        }
        if blank % rows > 0 {
            let _ = write!(self.seq, "\x1b[{}S", blank % rows);
        }
        if let Some(a) = last_cell {
            self.seq.extend_from_slice(b"\x1b[H");
            push_sgr(&mut self.seq, &a);
            self.seq.extend_from_slice(b".\x1b[S");
        }

        // 4. The visible part, drawn by vt100 from the top of the now blank screen.
        self.seq.extend_from_slice(b"\x1b[H");
        // REP repeats vt100's last printed character: the suffix sets it if it prints
        // anything, else the run's last one is printed (over the marker's) and erased, in
        // default attributes so the erased row is default cells again.
        if let (false, Some(c)) = (suffix_printed, run.last_char) {
            self.seq.extend_from_slice(b"\x1b[0m");
            self.seq
                .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            self.seq.push(b'\r');
            self.seq.extend_from_slice(b"\x1b[K");
        }
        push_sgr(&mut self.seq, &suffix.attrs);
        term.parser.process(&self.seq);
        term.parser.process(tail);
        let cb = term.parser.callbacks_mut();
        debug_assert_eq!(cb.swallow, 0, "every swallowed row scrolled off");
        cb.swallow = 0;
        cb.absorb = false;
        // The run ended with CR LF: a REP now repeats nothing (`Filter::forget_printed`).
        term.filter.forget_printed();
        self.taken += 1;
        self.direct_rows += direct as u64;
        Ok((run.end, run.lines))
    }

    fn line(&self, n: usize, rows: usize) -> Line {
        self.ring.get(n % rows).copied().unwrap_or_default()
    }

    /// Finds the run of complete lines at the start of `bytes`, keeping the last `rows`
    /// lines in the ring; with `sgr` false an SGR ends it.
    fn scan(&mut self, bytes: &[u8], cols: usize, rows: usize, mut attrs: Style, sgr: bool) -> Run {
        self.ring.clear();
        self.ring.resize(rows, Line::default());
        let mut run = Run::default();
        // Offset of the last character of the run's last line that printed any.
        let mut last_at = None;
        let mut i = 0;
        'lines: loop {
            let line_attrs = attrs;
            // The cursor's column (`cols` with a wrap pending) and the rows wrapped so far.
            let mut col = 0;
            let mut wraps = 0;
            let mut last = None;
            loop {
                let rest = bytes.get(i..).unwrap_or_default();
                let k = printable_prefix(rest);
                if k > 0 {
                    (col, wraps) = advance_ascii(col, wraps, k, cols);
                    last = Some(i + k - 1);
                    i += k;
                }
                match (bytes.get(i), bytes.get(i + 1)) {
                    // A line ending with a background set scrolls in a row of it
                    // (background colour erase, done by `fidelity`): the run ends before.
                    (Some(b'\r'), Some(b'\n')) if attrs.bg != Color::Default => break 'lines,
                    (Some(b'\r'), Some(b'\n')) => {
                        let line = Line {
                            start: run.end,
                            rows: wraps + 1,
                            attrs: line_attrs,
                            printed: last.is_some(),
                        };
                        if let Some(slot) = self.ring.get_mut(run.lines % rows) {
                            *slot = line;
                        }
                        i += 2;
                        run.end = i;
                        run.lines += 1;
                        run.rows += line.rows;
                        last_at = last.or(last_at);
                        continue 'lines;
                    }
                    (Some(0x1b), _) if sgr => match apply_sgr(bytes, i, &mut attrs) {
                        Some(next) => i = next,
                        None => break 'lines,
                    },
                    // Non-ASCII text, and the ASCII mixed in with it (spaces, digits).
                    (Some(0x80..), _) => {
                        match advance_text(
                            rest.get(k..).unwrap_or_default(),
                            &mut col,
                            &mut wraps,
                            cols,
                        ) {
                            (0, _) => break 'lines,
                            (n, text_last) => {
                                last = text_last.map(|at| i + at).or(last);
                                i += n;
                            }
                        }
                    }
                    _ => break 'lines,
                }
            }
        }
        run.last_char = last_at.and_then(|at| char_at(bytes.get(at..).unwrap_or_default()));
        run
    }

    /// Encodes the rows of `bytes` (complete lines of the grammar, starting with the SGR
    /// state `attrs`) as `RowCapture` would have, handing each to `push(text, runs, wrapped)`.
    /// Returns the attributes of the last cell written, if any.
    fn store(
        &mut self,
        bytes: &[u8],
        cols: usize,
        mut attrs: Style,
        mut push: impl FnMut(&[u8], &[(u16, Style)], bool),
    ) -> Option<Style> {
        let mut last_cell = None;
        let mut i = 0;
        while i < bytes.len() {
            let rest = bytes.get(i..).unwrap_or_default();
            let mut k = printable_prefix(rest);
            // A line of text without SGR that fits its row: every character takes at most as
            // many columns as bytes, so a line of at most `cols` bytes never wraps, and its
            // row holds it as it came (a wide cell's text, then nothing for the cell it
            // covers, as `RowCapture` encodes it). `bench/compare.py`'s CJK lines (95 to 140
            // bytes) are all such: stored without decoding them again.
            let mut one_row = false;
            if rest.get(k).is_some_and(|&b| b >= 0x80) {
                if let Some(end) = memchr::memchr2(b'\r', 0x1b, rest.get(..=cols).unwrap_or(rest))
                    .filter(|&end| rest.get(end) == Some(&b'\r'))
                {
                    k = end;
                    one_row = true;
                }
            }
            if rest.get(k) == Some(&b'\r') {
                // No SGR in the line: rows are slices of it, all in one style (a blank line
                // writes no cell, so it has no style run).
                let line = rest.get(..k).unwrap_or_default();
                let one = [(0, attrs)];
                let runs: &[(u16, Style)] = if attrs.is_default() { &[] } else { &one };
                if line.is_empty() {
                    push(&[], &[], false);
                } else {
                    last_cell = Some(attrs);
                }
                if one_row {
                    push(line, runs, false);
                } else {
                    let mut chunks = line.chunks(cols).peekable();
                    while let Some(row) = chunks.next() {
                        push(row, runs, chunks.peek().is_some());
                    }
                }
                i += k + 2;
                continue;
            }
            // With SGRs or other than ASCII: cell by cell. A row's style runs start from the
            // default style, as `parse_row` compares them; they start at columns.
            self.text.clear();
            self.runs.clear();
            let mut style = Style::default();
            let mut col = 0;
            while let Some(&b) = bytes.get(i) {
                let (len, width) = match b {
                    0x20..=0x7e => (1, 1),
                    // `scan` accepted every sequence here; a failure can't happen, and
                    // skipping the byte at least ends the loop.
                    0x1b => {
                        i = apply_sgr(bytes, i, &mut attrs).unwrap_or(i + 1);
                        continue;
                    }
                    b'\r' => {
                        // `\r\n`.
                        push(&self.text, &self.runs, false);
                        i += 2;
                        break;
                    }
                    _ => match text_char(bytes.get(i..).unwrap_or_default()) {
                        Some((_, len, width)) => (len, width),
                        None => {
                            i += 1;
                            continue;
                        }
                    },
                };
                let wrap;
                (col, wrap) = advance(col, width, cols);
                if let Some(wrapped) = wrap {
                    push(&self.text, &self.runs, wrapped);
                    self.text.clear();
                    self.runs.clear();
                    style = Style::default();
                }
                if attrs != style {
                    self.runs.push(((col - width) as u16, attrs));
                    style = attrs;
                }
                self.text
                    .extend_from_slice(bytes.get(i..i + len).unwrap_or_default());
                last_cell = Some(attrs);
                i += len;
            }
        }
        last_cell
    }
}

/// Moves the cursor column `col` (`cols` with a wrap pending) past a character `width`
/// columns wide, as vt100's `Grid::col_wrap` does. Returns the new column and, when the
/// character starts a new row, the wrapped flag of the row it left: set only when that row's
/// last cell was written (a wide character meeting one free column leaves it empty).
fn advance(col: usize, width: usize, cols: usize) -> (usize, Option<bool>) {
    if col + width > cols {
        (width, Some(col == cols))
    } else {
        (col + width, None)
    }
}

/// `advance` over `n` ASCII characters at once; `wraps` counts the rows started.
fn advance_ascii(col: usize, wraps: usize, n: usize, cols: usize) -> (usize, usize) {
    let end = col + n;
    if end <= cols {
        return (end, wraps);
    }
    // The first character past the last column starts a row, then every `cols` more.
    let extra = end - cols;
    let rows = extra.div_ceil(cols);
    (extra - (rows - 1) * cols, wraps + rows)
}

/// The SGR state vt100 draws new characters with.
fn screen_style(s: &vt100::Screen) -> Style {
    Style {
        fg: s.fgcolor(),
        bg: s.bgcolor(),
        bold: s.bold(),
        dim: s.dim(),
        italic: s.italic(),
        underline: s.underline(),
        inverse: s.inverse(),
    }
}

/// Whether the last row is what vt100 scrolls in: default cells (`Cell::DEFAULT` is not
/// public: no text, not wide, default attributes), not wrapped.
fn bottom_row_is_blank(s: &vt100::Screen, rows: usize, cols: usize) -> bool {
    let row = rows as u16 - 1;
    !s.row_wrapped(row)
        && (0..cols as u16).all(|col| {
            s.cell(row, col).is_some_and(|c| {
                !c.has_contents()
                    && !c.is_wide()
                    && !c.is_wide_continuation()
                    && c.fgcolor() == Color::Default
                    && c.bgcolor() == Color::Default
                    && !(c.bold() || c.dim() || c.italic() || c.underline() || c.inverse())
            })
        })
}

/// Appends an SGR sequence setting exactly `s` from any state. Once per run of plain lines
/// (up to 64 KiB of output): the small string it goes through costs nothing measurable.
fn push_sgr(out: &mut Vec<u8>, s: &Style) {
    let mut seq = String::with_capacity(32);
    super::scrollback::style::write_sgr(&mut seq, s);
    out.extend_from_slice(seq.as_bytes());
}

/// Length of the prefix of `s` made of printable ASCII (0x20..=0x7e). Eight bytes at a
/// time: a byte below 0x20 borrows when 0x20 is subtracted and a byte of 0x7f or more has
/// its top bit set once 1 is added; carries and borrows only travel towards later bytes,
/// from bytes that are flagged themselves, so the first flagged byte is exact.
fn printable_prefix(s: &[u8]) -> usize {
    const LO: u64 = u64::from_le_bytes([0x01; 8]);
    const HI: u64 = u64::from_le_bytes([0x80; 8]);
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let m = ((w.wrapping_sub(LO * 0x20) & !w) | w | w.wrapping_add(LO)) & HI;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + s
        .get(i..)
        .unwrap_or_default()
        .iter()
        .position(|&b| !(0x20..=0x7e).contains(&b))
        .unwrap_or(s.len() - i)
}

/// 16: more parameters than any SGR the grammar accepts needs (two RGB colours and five
/// modes are 15); longer ones end the run.
const MAX_SGR_PARAMS: usize = 16;

/// Applies the SGR sequence `ESC [ params m` at `bytes[at]` (an ESC) to `attrs` exactly as
/// vt100 0.18.1's `Screen::sgr` would, and returns the offset after it; `None` (and `attrs`
/// untouched) for anything outside the grammar: another sequence, one cut off by the end
/// of the input, sub-parameters (`:`), or a parameter vt100 ignores or half-applies (it
/// stops at an out-of-range colour, and reports unknown ones as unhandled).
fn apply_sgr(bytes: &[u8], at: usize, attrs: &mut Style) -> Option<usize> {
    if bytes.get(at + 1) != Some(&b'[') {
        return None;
    }
    let mut params = [0u16; MAX_SGR_PARAMS];
    let mut n = 0;
    let mut cur: u16 = 0;
    let mut i = at + 2;
    loop {
        let b = *bytes.get(i)?;
        i += 1;
        match b {
            // vte saturates parameters at 65535.
            b'0'..=b'9' => cur = cur.saturating_mul(10).saturating_add(u16::from(b - b'0')),
            b';' | b'm' => {
                *params.get_mut(n)? = cur;
                n += 1;
                cur = 0;
                if b == b'm' {
                    break;
                }
            }
            _ => return None,
        }
    }
    *attrs = super::scrollback::style::apply_sgr_params(params.get(..n)?, *attrs)?;
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_prefix_matches_a_plain_loop() {
        let mut s: Vec<u8> = (0..=255u8).collect();
        s.extend((0..=255u8).rev());
        for start in 0..s.len() {
            for len in [0, 1, 7, 8, 9, 17, 40] {
                let Some(slice) = s.get(start..start + len) else {
                    continue;
                };
                let want = slice
                    .iter()
                    .position(|&b| !(0x20..=0x7e).contains(&b))
                    .unwrap_or(slice.len());
                assert_eq!(printable_prefix(slice), want, "{slice:?}");
            }
        }
        let text = b"hello world, a plain line of text!!\r\n";
        assert_eq!(printable_prefix(text), text.len() - 2);
    }

    #[test]
    fn sgr_grammar() {
        let mut a = Style::default();
        let s = b"\x1b[01;38;5;200;48;2;1;2;3;4mx";
        assert_eq!(apply_sgr(s, 0, &mut a), Some(s.len() - 1));
        assert_eq!(
            a,
            Style {
                fg: Color::Idx(200),
                bg: Color::Rgb(1, 2, 3),
                bold: true,
                underline: true,
                ..Style::default()
            }
        );
        let before = a;
        // Why each is outside the grammar, and the sequence.
        for (why, bad) in [
            ("a mode vt100 ignores (blink)", &b"\x1b[5m"[..]),
            ("a colour index out of range", b"\x1b[38;5;256m"),
            ("a colour cut short", b"\x1b[38;5m"),
            ("sub-parameters", b"\x1b[38:5:1m"),
            ("no final byte", b"\x1b[31"),
            ("a private marker", b"\x1b[?31m"),
            ("another CSI sequence", b"\x1b[1K"),
            ("not a CSI sequence", b"\x1b(B"),
        ] {
            assert_eq!(apply_sgr(bad, 0, &mut a), None, "{why}: {bad:?}");
            assert_eq!(a, before, "{why}: {bad:?}");
        }
        assert_eq!(apply_sgr(b"\x1b[m", 0, &mut a), Some(3));
        assert!(a.is_default());
    }

    #[test]
    fn sgr_round_trip() {
        let s = Style {
            fg: Color::Rgb(9, 8, 7),
            bg: Color::Idx(3),
            dim: true,
            italic: true,
            inverse: true,
            ..Style::default()
        };
        let mut seq = Vec::new();
        push_sgr(&mut seq, &s);
        let mut a = Style {
            bold: true,
            ..Style::default()
        };
        assert_eq!(apply_sgr(&seq, 0, &mut a), Some(seq.len()));
        assert_eq!(a, s);
    }
}
