//! Turning vt100's scrolled-off rows into stored rows.

use super::cells::columns;
use super::store::{NON_ASCII, WRAPPED};
use super::style::push_run;
use super::{Scrollback, Style};
use std::fmt::Write as _;
use vt100::Color;
use vt100::capture::{BasicFormattedCaptureState, RowContents};

/// 64 KiB: scratch buffers grown past this by one huge row are shrunk back
/// afterwards, so a single 1 MB line does not pin 1 MB per session.
const SCRATCH_KEEP: usize = 64 << 10;

/// Feeds the rows vt100 passes to `Callbacks::on_scroll` into a [`Scrollback`].
///
/// vt100's only public reader, `RowContents::write_formatted_basic`, writes the
/// row as text with SGR escapes that are a diff against the end of the previous
/// row written with the same state, and starts with `\n` iff the previous row was
/// not wrapped. So one state is kept for all rows, the current attributes are
/// tracked here by parsing those escapes, and a row's wrapped flag is filled in
/// when the next row arrives (or on demand by [`RowCapture::settle`]).
#[derive(Debug, Default)]
pub struct RowCapture {
    state: BasicFormattedCaptureState,
    /// Attributes at the end of the last row written with `state`.
    attrs: Style,
    buf: String,
    text: Vec<u8>,
    runs: Vec<u8>,
    /// Absolute number of the newest captured row (its wrapped flag is pending).
    last: Option<u64>,
}

impl RowCapture {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores one scrolled-off row. Allocation-free once the scratch buffers
    /// have grown to the widest row.
    pub fn capture(&mut self, row: RowContents<'_>, store: &mut Scrollback) {
        self.capture_unless_blank(row, store, false);
    }

    /// Like [`capture`](Self::capture), but a row with no text and no style is dropped when
    /// `drop_blank` is set (blank rows vt100 invented when the screen grew). Returns whether
    /// the row was stored.
    pub fn capture_unless_blank(
        &mut self,
        row: RowContents<'_>,
        store: &mut Scrollback,
        drop_blank: bool,
    ) -> bool {
        self.buf.clear();
        if row
            .write_formatted_basic(&mut self.buf, &mut self.state)
            .is_err()
        {
            // Writing to a String cannot fail.
            return false;
        }
        let (prev_wrapped, body) = match self.buf.strip_prefix('\n') {
            Some(rest) => (false, rest),
            None => (true, self.buf.as_str()),
        };
        if let Some(prev) = self.last {
            store.set_wrapped_abs(prev, prev_wrapped);
        }
        let non_ascii = parse_row(body, &mut self.attrs, &mut self.text, &mut self.runs);
        let kept = !(drop_blank && self.text.is_empty() && self.runs.is_empty());
        if kept {
            let header = if non_ascii { NON_ASCII } else { 0 };
            self.last = store.push_encoded(header, &self.runs, &self.text);
        } else {
            // The next row's leading newline describes this dropped row, not the stored one.
            self.last = None;
        }
        if self.buf.capacity() > SCRATCH_KEEP {
            self.buf = String::new();
            self.text = Vec::new();
            self.runs = Vec::new();
        }
        kept
    }

    /// Resolves the newest row's wrapped flag, which vt100 otherwise reveals
    /// only with the next row. Reads the `newline_pending` field from the
    /// state's `Debug` output (into a stack buffer): call on demand (e.g. before
    /// showing or searching the history), not per row.
    pub fn settle(&mut self, store: &mut Scrollback) {
        let Some(last) = self.last else {
            return;
        };
        if let Some(pending) = newline_pending(&self.state) {
            store.set_wrapped_abs(last, !pending);
        }
    }

    /// Settles the newest captured row's wrapped flag and forgets it, so rows can be stored
    /// with [`push_direct`](Self::push_direct): the next captured row's leading newline then
    /// describes the last *captured* row, not the last stored one, and must patch nothing.
    /// The attribute state is kept: it still describes the last row written with `state`.
    pub fn detach(&mut self, store: &mut Scrollback) {
        self.settle(store);
        self.last = None;
    }

    /// Stores a row that never went through vt100 (the throughput fast path), byte for byte
    /// as [`capture`](Self::capture) would have stored the same cells: `runs` are (start
    /// column, style) at each style change, the style before the first being the default.
    /// Like a captured row it is appended untrimmed (so chunks fill up alike) and then has
    /// its wrapped flag set, which drops trailing default-style spaces of a line's last row.
    /// Call [`detach`](Self::detach) first.
    pub fn push_direct(
        &mut self,
        store: &mut Scrollback,
        text: &[u8],
        runs: &[(u16, Style)],
        wrapped: bool,
    ) {
        self.runs.clear();
        let (mut col, mut current) = (0u16, Style::default());
        for &(start, style) in runs {
            if style != current {
                push_run(&mut self.runs, start.saturating_sub(col), &style);
                (col, current) = (start, style);
            }
        }
        let header = if text.is_ascii() { 0 } else { NON_ASCII };
        if wrapped {
            // Same bytes as setting the flag afterwards; nothing is trimmed from a wrapped row.
            store.push_encoded(header | WRAPPED, &self.runs, text);
        } else if let Some(abs) = store.push_encoded(header, &self.runs, text) {
            store.set_wrapped_abs(abs, false);
        }
    }

    /// Writes a row to the capture state without storing it. `write_formatted_basic` writes
    /// never-written cells between written ones as bare spaces, which take the attributes
    /// the *previous* row ended with; after rows were stored with
    /// [`push_direct`](Self::push_direct), the fast path scrolls off one row whose last
    /// written cell has the attributes the last of them ended with, so later rows come out
    /// as they would have.
    pub fn absorb(&mut self, row: RowContents<'_>) {
        self.buf.clear();
        if row
            .write_formatted_basic(&mut self.buf, &mut self.state)
            .is_ok()
        {
            let body = self.buf.strip_prefix('\n').unwrap_or(&self.buf);
            parse_row(body, &mut self.attrs, &mut self.text, &mut self.runs);
        }
    }

    /// Fresh state, e.g. after the parser is rebuilt or the store cleared.
    pub fn reset(&mut self) {
        self.state = BasicFormattedCaptureState::new();
        self.attrs = Style::default();
        self.last = None;
    }
}

/// Parses one row of `write_formatted_basic` output into `text` and encoded
/// `runs`, updating `attrs`. Returns whether the text has non-ASCII bytes.
fn parse_row(body: &str, attrs: &mut Style, text: &mut Vec<u8>, runs: &mut Vec<u8>) -> bool {
    text.clear();
    runs.clear();
    let bytes = body.as_bytes();
    // A stored row starts in the default style; the first run switches away.
    let mut run_style = Style::default();
    let mut run_col = 0u32;
    let mut col = 0u32;
    let mut non_ascii = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b {
            i = apply_sgr(bytes, i, attrs);
            continue;
        }
        let end = body
            .get(i..)
            .and_then(|rest| rest.find('\x1b'))
            .map_or(bytes.len(), |n| i + n);
        // vt100 writes an SGR only right before a cell, so runs start at segment starts.
        if *attrs != run_style {
            let delta = col.saturating_sub(run_col).min(u32::from(u16::MAX)) as u16;
            push_run(runs, delta, attrs);
            run_style = *attrs;
            run_col = col;
        }
        let seg = &bytes[i..end];
        text.extend_from_slice(seg);
        if seg.is_ascii() {
            col += seg.len() as u32;
        } else {
            non_ascii = true;
            col += columns(body.get(i..end).unwrap_or_default());
        }
        i = end;
    }
    non_ascii
}

/// Applies the SGR sequence starting at `bytes[at]` (ESC) and returns the index
/// after it. vt100 emits only `ESC [ params m` with the parameters of
/// `term::Attrs::write_fmt` (0, 1, 2, 22, 3, 23, 4, 24, 7, 27, 30-37, 38;5;n,
/// 38;2;r;g;b, 39, 40-47, 48;.., 49, 90-97, 100-107) or `ESC [ m`.
fn apply_sgr(bytes: &[u8], at: usize, attrs: &mut Style) -> usize {
    // 16: vt100 writes at most 14 parameters (two RGB colours and four modes).
    let mut params = [0u16; 16];
    let mut n = 0;
    let mut cur: u16 = 0;
    let mut i = at + 1;
    if bytes.get(i) != Some(&b'[') {
        return i;
    }
    i += 1;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match b {
            b'0'..=b'9' => cur = cur.saturating_mul(10).saturating_add(u16::from(b - b'0')),
            b';' | b'm' => {
                if n < params.len() {
                    params[n] = cur;
                    n += 1;
                }
                cur = 0;
                if b == b'm' {
                    break;
                }
            }
            _ => return i,
        }
    }
    apply_params(&params[..n], attrs);
    i
}

fn apply_params(params: &[u16], attrs: &mut Style) {
    let mut k = 0;
    while let Some(&p) = params.get(k) {
        k += 1;
        match p {
            0 => *attrs = Style::default(),
            1 => {
                attrs.bold = true;
                attrs.dim = false;
            }
            2 => {
                attrs.dim = true;
                attrs.bold = false;
            }
            22 => {
                attrs.bold = false;
                attrs.dim = false;
            }
            3 => attrs.italic = true,
            23 => attrs.italic = false,
            4 => attrs.underline = true,
            24 => attrs.underline = false,
            7 => attrs.inverse = true,
            27 => attrs.inverse = false,
            30..=37 => attrs.fg = Color::Idx((p - 30) as u8),
            39 => attrs.fg = Color::Default,
            40..=47 => attrs.bg = Color::Idx((p - 40) as u8),
            49 => attrs.bg = Color::Default,
            90..=97 => attrs.fg = Color::Idx((p - 82) as u8),
            100..=107 => attrs.bg = Color::Idx((p - 92) as u8),
            38 | 48 => {
                let color = match params.get(k) {
                    Some(5) => {
                        let c = params.get(k + 1).map(|&i| Color::Idx(i as u8));
                        k += 2;
                        c
                    }
                    Some(2) => {
                        let c = params
                            .get(k + 1..k + 4)
                            .map(|c| Color::Rgb(c[0] as u8, c[1] as u8, c[2] as u8));
                        k += 4;
                        c
                    }
                    _ => None,
                };
                if let Some(c) = color {
                    if p == 38 {
                        attrs.fg = c;
                    } else {
                        attrs.bg = c;
                    }
                }
            }
            _ => {}
        }
    }
}

/// `newline_pending` of the opaque capture state, read from its `Debug` output:
/// `BasicFormattedCaptureState { attrs: .., newline_pending: true }`.
fn newline_pending(state: &BasicFormattedCaptureState) -> Option<bool> {
    // 256: the Debug output is at most ~150 bytes (two RGB colours).
    let mut sink = StackBuf {
        buf: [0; 256],
        len: 0,
    };
    write!(sink, "{state:?}").ok()?;
    let out = sink.buf.get(..sink.len)?;
    const KEY: &[u8] = b"newline_pending: ";
    let at = out.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    match out.get(at) {
        Some(b't') => Some(true),
        Some(b'f') => Some(false),
        _ => None,
    }
}

struct StackBuf {
    buf: [u8; 256],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let dst = self
            .buf
            .get_mut(self.len..self.len + s.len())
            .ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str, attrs: &mut Style) -> (String, Vec<(u32, Style)>) {
        let mut text = Vec::new();
        let mut runs = Vec::new();
        parse_row(body, attrs, &mut text, &mut runs);
        (
            String::from_utf8(text).unwrap(),
            super::super::style::Runs::new(&runs).collect(),
        )
    }

    #[test]
    fn sgr_forms() {
        let mut a = Style::default();
        let (text, runs) = parse(
            "a\x1b[1;31mb\x1b[38;5;200;48;2;1;2;3;2;3;4;7mc\x1b[mdd",
            &mut a,
        );
        assert_eq!(text, "abcdd");
        let b = Style {
            fg: Color::Idx(1),
            bold: true,
            ..Style::default()
        };
        let c = Style {
            fg: Color::Idx(200),
            bg: Color::Rgb(1, 2, 3),
            dim: true,
            italic: true,
            underline: true,
            inverse: true,
            ..Style::default()
        };
        assert_eq!(runs, vec![(1, b), (2, c), (3, Style::default())]);
        assert!(a.is_default());
        // Attributes carry over from the previous row.
        let mut a = Style::default();
        parse("\x1b[94;103mx", &mut a);
        let (_, runs) = parse("y\x1b[39;49;22;23;24;27mz", &mut a);
        let carried = Style {
            fg: Color::Idx(12),
            bg: Color::Idx(11),
            ..Style::default()
        };
        assert_eq!(runs, vec![(0, carried), (1, Style::default())]);
    }

    #[test]
    fn debug_format_is_readable() {
        let state = BasicFormattedCaptureState::new();
        assert_eq!(newline_pending(&state), Some(false));
    }
}
