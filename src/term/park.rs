//! Parking a hidden, quiet tab: its vt100 screen is replaced by the escapes that draw it
//! again, and brought back on the next lock of the terminal (output, focus, resize, copy
//! mode: every reader of a session goes through `Shared::lock_term`; when to park is
//! `session::park`).
//!
//! Why: vt100 allocates every cell of the screen, 32 bytes each, so an empty 200x50 tab held
//! 312 KiB of blank cells (261 KiB of RSS per extra empty tab in bench/compare.py; tmux 8 KiB,
//! it allocates grid lines lazily). A shell's parked screen is the size of its text: a few
//! hundred bytes to a few KiB.
//!
//! Bit for bit: the escapes carry the cells, wrapped flags, cursor, input modes, cursor style
//! and current attributes (vt100's own `*_formatted`), and what vt100 keeps but does not
//! show, read from the live parser by probes it undoes: the saved cursor (DECSC: position
//! and attributes) and the last printed character (for REP). A tab parks only when a parser
//! rebuilt from them shows the same through every getter vt100 has (each cell by `Cell`'s
//! `==`). What they can't carry keeps the tab live: the alternate screen, a scroll region,
//! a cursor waiting to wrap, a sequence cut in two. Not carried: origin mode (DECOM) with no
//! scroll region, where it moves nothing, and the alternate screen's own saved cursor. The
//! parser's history, capture state, palette and events (`Callbacks`) stay as they are, in a
//! 1x1 parser. The differential tests compare the whole `Debug` of the screens, which holds
//! every field (too slow to run at each park: 22 ms for 200x50).

use std::fmt::Write as _;
use std::num::NonZeroU16;
use std::sync::Arc;

use super::scrollback::Scrollback;
use super::{Callbacks, MAX_DIM, Parked, Term};

impl Term {
    /// Parks the screen when it can be rebuilt exactly; true when parked (or already).
    pub fn park(&mut self) -> bool {
        if self.parked.is_some() {
            return true;
        }
        if !self.filter.is_transparent()
            || !self.seam.is_empty()
            || self.filter.main_scroll_region()
        {
            return false;
        }
        let Some(parked) = capture(&mut self.parser) else {
            return false;
        };
        let cb = self.parser.callbacks();
        let empty = Callbacks::new(Scrollback::new(
            cb.history.limits(),
            Arc::clone(cb.history.budget()),
        ));
        let twin = rebuild(&parked, empty);
        if !looks_the_same(self.parser.screen(), twin.screen()) {
            return false;
        }
        drop(twin);
        let one = NonZeroU16::MIN;
        let cb = self.take_callbacks();
        self.parser = vt100::Parser::new_with_callbacks(one, one, 0, cb);
        self.parked = Some(parked);
        true
    }

    /// Brings a parked screen back; nothing when it is live.
    pub fn wake(&mut self) {
        let Some(parked) = self.parked.take() else {
            return;
        };
        let cb = self.take_callbacks();
        self.parser = rebuild(&parked, cb);
    }

    pub fn is_parked(&self) -> bool {
        self.parked.is_some()
    }

    /// The parked screen's bytes, when parked.
    pub fn parked_bytes(&self) -> Option<usize> {
        self.parked.as_ref().map(|p| p.state.len())
    }

    fn take_callbacks(&mut self) -> Callbacks {
        let cb = self.parser.callbacks();
        let empty = Callbacks::new(Scrollback::new(
            cb.history.limits(),
            Arc::clone(cb.history.budget()),
        ));
        std::mem::replace(self.parser.callbacks_mut(), empty)
    }
}

/// Feeds `bytes` to vt100 alone (no filter), keeping anything it scrolls out of history.
fn feed(parser: &mut vt100::Parser<Callbacks>, bytes: &[u8]) {
    let discard = std::mem::replace(&mut parser.callbacks_mut().discard, true);
    let unbounded = parser.callbacks().unbounded;
    parser.process(bytes);
    let cb = parser.callbacks_mut();
    cb.discard = discard;
    cb.unbounded = unbounded;
}

/// The escapes that rebuild the live screen, or `None` for one they can't (alternate screen;
/// a cursor waiting to wrap; no two blank cells to read the last character on).
fn capture(parser: &mut vt100::Parser<Callbacks>) -> Option<Parked> {
    let screen = parser.screen();
    let (rows, cols) = screen.size();
    let (row, col) = screen.cursor_position();
    if screen.alternate_screen() || col >= cols.get() {
        return None;
    }
    let (r, c) = blank_pair(screen)?;
    let attrs = screen.attributes_formatted();
    let cursor = format!("\x1b[{};{}H{attrs}", row + 1, col + 1);
    // The saved cursor: restored (DECRC), read, and the cursor put back. vt100's DECRC also
    // sets origin mode from the saved one; with no scroll region it moves nothing.
    feed(parser, b"\x1b8");
    let (saved_row, saved_col) = parser.screen().cursor_position();
    let saved_attrs = parser.screen().attributes_formatted();
    feed(parser, cursor.as_bytes());
    // The last printed character: repeated (REP) on two blank cells, read, erased.
    let at = format!("\x1b[{};{}H", r + 1, c + 1);
    feed(parser, format!("\x1b[m{at}\x1b[b").as_bytes());
    let last = parser
        .screen()
        .cell(r, c)
        .map(|cell| cell.contents().to_string())
        .unwrap_or_default();
    feed(parser, format!("{at}\x1b[2X{cursor}").as_bytes());

    let screen = parser.screen();
    let mut state = format!(
        "\x1b[{};{}H{saved_attrs}\x1b7",
        saved_row + 1,
        saved_col + 1
    );
    state.push_str(&screen.contents_formatted());
    if !last.is_empty() {
        let _ = write!(state, "\x1b[m{at}{last}{at}\x1b[2X");
    }
    state.push_str(&screen.input_mode_formatted());
    state.push_str(&cursor);
    if screen.hide_cursor() {
        state.push_str("\x1b[?25l");
    }
    Some(Parked {
        state: state.into_bytes().into_boxed_slice(),
        rows,
        cols,
        scrolled: parser.callbacks().unbounded.min(usize::from(MAX_DIM)),
    })
}

/// A parser of the parked size whose screen the escapes drew, holding `cb`.
fn rebuild(p: &Parked, cb: Callbacks) -> vt100::Parser<Callbacks> {
    let mut parser = vt100::Parser::new_with_callbacks(p.rows, NonZeroU16::MIN, 0, cb);
    // vt100's count of scrolled rows: scrolled off one-column rows (32 bytes each), whole
    // screens at a time, before the screen gets its width.
    let mut left = p.scrolled;
    let mut scroll = String::new();
    while left > 0 {
        let n = left.min(usize::from(p.rows.get()));
        let _ = write!(scroll, "\x1b[{n}S");
        left -= n;
    }
    let unbounded = parser.callbacks().unbounded;
    feed(&mut parser, scroll.as_bytes());
    parser.callbacks_mut().unbounded = unbounded;
    parser.set_size(p.rows, p.cols);
    feed(&mut parser, &p.state);
    parser
}

/// Two blank cells side by side, of default colours and attributes, on one row.
fn blank_pair(screen: &vt100::Screen) -> Option<(u16, u16)> {
    let (rows, cols) = screen.size();
    let blank = |r, c| {
        screen.cell(r, c).is_some_and(|cell| {
            !cell.has_contents()
                && !cell.is_wide_continuation()
                && cell.fgcolor() == vt100::Color::Default
                && cell.bgcolor() == vt100::Color::Default
                && !cell.bold()
                && !cell.dim()
                && !cell.italic()
                && !cell.underline()
                && !cell.inverse()
        })
    };
    (0..rows.get())
        .rev()
        .flat_map(|r| (0..cols.get() - 1).map(move |c| (r, c)))
        .find(|&(r, c)| blank(r, c) && blank(r, c + 1))
}

/// The two screens are the same through every getter vt100 has.
fn looks_the_same(a: &vt100::Screen, b: &vt100::Screen) -> bool {
    let (rows, cols) = a.size();
    a.size() == b.size()
        && a.cursor_position() == b.cursor_position()
        && a.hide_cursor() == b.hide_cursor()
        && a.alternate_screen() == b.alternate_screen()
        && a.application_keypad() == b.application_keypad()
        && a.application_cursor() == b.application_cursor()
        && a.bracketed_paste() == b.bracketed_paste()
        && a.mouse_protocol_mode() == b.mouse_protocol_mode()
        && a.mouse_protocol_encoding() == b.mouse_protocol_encoding()
        && a.cursor_style() == b.cursor_style()
        && a.attributes_formatted() == b.attributes_formatted()
        && (0..rows.get()).all(|r| {
            a.row_wrapped(r) == b.row_wrapped(r)
                && (0..cols.get()).all(|c| a.cell(r, c) == b.cell(r, c))
        })
}

/// (Tests) `Debug` of a screen with each cell's `contents` cut to its `len`, and the scrolled-row
/// count capped.
#[cfg(test)]
fn normal(text: &str) -> String {
    const CONTENTS: &str = "contents: [";
    const LEN: &str = "], len: ";
    const SCROLLED: &str = "unbounded_len: ";
    let mut out = String::with_capacity(text.len() / 2);
    let mut rest = text;
    while let Some(at) = rest.find(CONTENTS) {
        out.push_str(&rest[..at + CONTENTS.len()]);
        rest = &rest[at + CONTENTS.len()..];
        let Some(close) = rest.find(LEN) else { break };
        let digits = rest[close + LEN.len()..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(0);
        let len: usize = rest[close + LEN.len()..close + LEN.len() + digits]
            .parse()
            .unwrap_or(0);
        for (i, byte) in rest[..close].split(", ").take(len).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(byte);
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    let Some(at) = out.find(SCROLLED) else {
        return out;
    };
    let start = at + SCROLLED.len();
    let digits = out[start..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(out.len() - start);
    let n: usize = out[start..start + digits].parse().unwrap_or(0);
    out.replace_range(
        start..start + digits,
        &n.min(usize::from(MAX_DIM)).to_string(),
    );
    out
}

#[cfg(test)]
mod tests;
