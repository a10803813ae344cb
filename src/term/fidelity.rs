//! The stage between the input filter and vt100 that makes up for what vt100 0.18.1 lacks
//! (see "Fidelity around vt100" in the design notes): the filter picks out the control
//! functions (`filter::Op`); here the bytes owed so far have reached vt100, so its screen
//! tells the cursor, the current background and the size, and each function becomes
//! sequences vt100 does handle:
//!
//! * background colour erase: after a scroll, an inserted or deleted line or cell, the blank
//!   area is erased again with EL / ECH, which vt100 does in the current background;
//! * tab stops (HTS, TBC, CHT, CBT, HT) are kept here and become CHA;
//! * insert mode is ICH before each character; autowrap off is CHA back to the last column;
//! * REP is bounded by what changes the screen; DECALN is drawn; `?47` / `?1047` keep the
//!   cursor where it was, as xterm shares it between the screens.
//! * strikethrough, blink, hidden, overline and underline colour ride in the foreground
//!   colour as a tag (`palette::Tags`), which the renderer resolves.
//!
//! Nothing here runs for plain text or SGRs without a background: the filter hands those
//! on as bytes.

use std::io::Write as _;

use vt100::Color;

use super::filter::{Margins, Op, Sink};
use super::palette::{BLINK, Extra, HIDDEN, OVERLINE, STRIKE, Tags};
use super::vt100_input::{Utf8Seam, feed_vt100, utf8_len};

/// memmux's largest screen width (`term::MAX_DIM`) fits in these bits.
const STOP_WORDS: usize = 16;

/// What this stage keeps between calls.
#[derive(Debug, Clone)]
pub struct Fidelity {
    /// Tab stops, bit c = column c; every 8 columns until a program sets its own.
    stops: [u64; STOP_WORDS],
    /// The start of a UTF-8 character cut at the end of a text op.
    partial: [u8; 4],
    partial_len: usize,
    /// Scratch for the sequences handed to vt100.
    seq: Vec<u8>,
    /// Attributes vt100 cannot store, carried in tagged foreground colours.
    pub tags: Tags,
}

impl Default for Fidelity {
    fn default() -> Self {
        Fidelity {
            stops: DEFAULT_STOPS,
            partial: [0; 4],
            partial_len: 0,
            seq: Vec::new(),
            tags: Tags::default(),
        }
    }
}

/// A stop every 8 columns: bit 0 of each byte.
const DEFAULT_STOPS: [u64; STOP_WORDS] = [0x0101_0101_0101_0101; STOP_WORDS];

impl Fidelity {
    fn is_stop(&self, col: u16) -> bool {
        let c = usize::from(col);
        self.stops
            .get(c / 64)
            .is_some_and(|w| w & (1 << (c % 64)) != 0)
    }

    fn set_stop(&mut self, col: u16, on: bool) {
        let c = usize::from(col);
        if let Some(w) = self.stops.get_mut(c / 64) {
            if on {
                *w |= 1 << (c % 64);
            } else {
                *w &= !(1 << (c % 64));
            }
        }
    }

    /// The first stop after `col`, or the last column.
    fn next_stop(&self, col: u16, cols: u16) -> u16 {
        (col + 1..cols)
            .find(|&c| self.is_stop(c))
            .unwrap_or(cols - 1)
    }

    /// The last stop before `col`, or column 0.
    fn prev_stop(&self, col: u16) -> u16 {
        (1..col).rev().find(|&c| self.is_stop(c)).unwrap_or(0)
    }

    /// Forgets a cut character (the parser was rebuilt).
    pub fn clear(&mut self) {
        self.partial_len = 0;
    }
}

/// The sink `Term` hands the filter: vt100 (through the UTF-8 seam) and this stage's state.
pub struct Stage<'a, C: vt100::Callbacks> {
    pub parser: &'a mut vt100::Parser<C>,
    pub seam: &'a mut Utf8Seam,
    pub fid: &'a mut Fidelity,
}

impl<C: vt100::Callbacks> Sink for Stage<'_, C> {
    fn bytes(&mut self, bytes: &[u8]) {
        self.flush_partial();
        self.seam.process(self.parser, bytes);
    }

    fn op(&mut self, op: Op<'_>, m: Margins) {
        if !matches!(op, Op::Text { .. }) {
            self.flush_partial();
        }
        self.seam.flush(self.parser);
        match op {
            Op::Newline => self.newline(m),
            Op::Tab => self.tab(1),
            Op::TabForward(n) => self.tab(n),
            Op::TabBack(n) => self.back_tab(n),
            Op::SetTabStop => {
                let (_, col) = self.cursor();
                let col = col.min(self.cols() - 1);
                self.fid.set_stop(col, true);
            }
            Op::ClearTabStops(0) => {
                let (_, col) = self.cursor();
                self.fid.set_stop(col, false);
            }
            Op::ClearTabStops(3) => self.fid.stops = [0; STOP_WORDS],
            Op::ClearTabStops(_) => {}
            Op::ResetTabStops => self.fid.stops = DEFAULT_STOPS,
            Op::Blank(fin, n) => self.blank(fin, n, m),
            Op::Repeat(n) => self.repeat(n),
            Op::Align => self.align(),
            Op::Text {
                bytes,
                insert,
                autowrap,
            } => self.text(bytes, insert, autowrap),
            Op::AltScreen { enter, clear } => self.alt_screen(enter, clear),
            Op::Sgr { sgr, params } => self.sgr(sgr, params),
        }
    }

    fn background_set(&self) -> bool {
        self.parser.screen().bgcolor() != Color::Default
    }
}

impl<C: vt100::Callbacks> Stage<'_, C> {
    fn cursor(&self) -> (u16, u16) {
        self.parser.screen().cursor_position()
    }

    fn cols(&self) -> u16 {
        self.parser.screen().size().1.get()
    }

    fn rows(&self) -> u16 {
        self.parser.screen().size().0.get()
    }

    /// Hands `self.fid.seq` to vt100.
    fn run_seq(&mut self) {
        let seq = std::mem::take(&mut self.fid.seq);
        self.parser.process(&seq);
        self.fid.seq = seq;
        self.fid.seq.clear();
    }

    fn seq(&mut self, args: std::fmt::Arguments<'_>) {
        // Writing to a Vec cannot fail.
        let _ = self.fid.seq.write_fmt(args);
    }

    fn flush_partial(&mut self) {
        if self.fid.partial_len > 0 {
            let held = self.fid.partial;
            let n = std::mem::take(&mut self.fid.partial_len);
            self.seam.process(self.parser, &held[..n]);
        }
    }

    /// Moves the cursor to (row, col), absolute, through CUP (relative to the top margin in
    /// origin mode). The pending-wrap column is not reachable this way: the last column is.
    fn goto(&mut self, row: u16, col: u16, m: Margins) {
        let r = if m.origin {
            row.saturating_sub(m.top)
        } else {
            row
        };
        let c = col.min(self.cols() - 1);
        self.seq(format_args!("\x1b[{};{}H", r + 1, c + 1));
    }

    fn newline(&mut self, m: Margins) {
        let (row, col) = self.cursor();
        let bg = self.background_set();
        self.parser.process(b"\n");
        if !bg || row != m.bottom {
            return;
        }
        // The row scrolled in: erased again in the current background, the cursor put
        // back in its column (in the pending-wrap column by printing the last cell anew).
        let cols = self.cols();
        self.seq(format_args!("\r\x1b[{cols}X"));
        if col >= cols {
            self.seq(format_args!("\x1b[{cols}G "));
        } else if col > 0 {
            self.seq(format_args!("\x1b[{}G", col + 1));
        }
        self.run_seq();
    }

    fn tab(&mut self, n: u16) {
        let (_, col) = self.cursor();
        let cols = self.cols();
        // In the pending-wrap column HT does nothing: the wrap stays pending (xterm).
        if col >= cols {
            return;
        }
        let mut to = col;
        for _ in 0..n {
            to = self.fid.next_stop(to, cols);
        }
        if to != col {
            self.seq(format_args!("\x1b[{}G", to + 1));
            self.run_seq();
        }
    }

    fn back_tab(&mut self, n: u16) {
        let (_, col) = self.cursor();
        let mut to = col.min(self.cols() - 1);
        for _ in 0..n {
            to = self.fid.prev_stop(to);
        }
        self.seq(format_args!("\x1b[{}G", to + 1));
        self.run_seq();
    }

    /// ICH, IL, DL, DCH, SU, SD: vt100 does them; with a background set, the blank cells or
    /// lines they leave are erased again in it.
    fn blank(&mut self, fin: u8, n: u16, m: Margins) {
        self.seq(format_args!("\x1b[{n}{}", char::from(fin)));
        self.run_seq();
        if !self.background_set() {
            return;
        }
        let (row, col) = self.cursor();
        let cols = self.cols();
        let height = m.bottom - m.top + 1;
        let in_region = (m.top..=m.bottom).contains(&row);
        let lines = match fin {
            b'S' => Some((m.bottom + 1 - n.min(height), m.bottom)),
            b'T' => Some((m.top, m.top + n.min(height) - 1)),
            b'L' if in_region => Some((row, (row + n - 1).min(m.bottom))),
            b'M' if in_region => Some((m.bottom + 1 - n.min(m.bottom - row + 1), m.bottom)),
            _ => None,
        };
        if let Some((first, last)) = lines {
            for r in first..=last {
                self.goto(r, 0, m);
                self.seq(format_args!("\x1b[2K"));
            }
            self.goto(row, col, m);
        } else if col < cols {
            let k = n.min(cols - col);
            match fin {
                b'@' => self.seq(format_args!("\x1b[{k}X")),
                b'P' => self.seq(format_args!(
                    "\x1b[{}G\x1b[{k}X\x1b[{}G",
                    cols - k + 1,
                    col + 1
                )),
                _ => {}
            }
        }
        self.run_seq();
    }

    /// REP after a printed character: repetitions past a screenful only scroll rows of that
    /// character through the screen, so beyond the rest of the screen a count keeps only
    /// its remainder modulo the width: the screen ends the same as with xterm's full count
    /// (history keeps at most a screenful of those rows), and the cost is bounded by the
    /// screen size, as for every other sequence.
    fn repeat(&mut self, n: u16) {
        let (_, col) = self.cursor();
        let (rows, cols) = (u32::from(self.rows()), u32::from(self.cols()));
        let screenful = cols - u32::from(col).min(cols) + cols * rows;
        let n = u32::from(n);
        let n = if n > screenful {
            screenful + (n - screenful) % cols
        } else {
            n
        };
        self.seq(format_args!("\x1b[{n}b"));
        self.run_seq();
    }

    /// DECALN: margins reset, the screen filled with `E` in default attributes, the cursor
    /// home, the current attributes kept.
    fn align(&mut self) {
        let s = self.parser.screen();
        let keep = s.attributes_formatted();
        let (rows, cols) = (self.rows(), self.cols());
        self.seq(format_args!("\x1b[r\x1b[m"));
        for r in 1..=rows {
            self.seq(format_args!("\x1b[{r};1HE"));
            if cols > 1 {
                self.seq(format_args!("\x1b[{}b", cols - 1));
            }
        }
        self.fid.seq.extend_from_slice(keep.as_bytes());
        self.seq(format_args!("\x1b[H"));
        self.run_seq();
    }

    fn alt_screen(&mut self, enter: bool, clear: bool) {
        if self.parser.screen().alternate_screen() == enter {
            return;
        }
        let (row, col) = self.cursor();
        if !enter && clear {
            self.seq(format_args!("\x1b[2J"));
        }
        self.seq(format_args!("\x1b[?47{}", if enter { 'h' } else { 'l' }));
        // The other screen's origin mode is not known here: in it this lands relative to
        // that screen's top margin (rare: programs set origin mode on one screen).
        let m = Margins {
            top: 0,
            bottom: self.rows() - 1,
            origin: false,
        };
        self.goto(row, col, m);
        self.run_seq();
    }

    /// Text in insert mode (ICH before each character) or with autowrap off (a character
    /// that would wrap goes in the last columns instead).
    fn text(&mut self, bytes: &[u8], insert: bool, autowrap: bool) {
        let mut rest = bytes;
        while !rest.is_empty() {
            // Complete the character held from the previous op, or start one.
            let (n, lead) = if self.fid.partial_len > 0 {
                (self.fid.partial_len, self.fid.partial[0])
            } else {
                (0, rest[0])
            };
            let need = utf8_len(lead);
            let take = (need - n).min(rest.len());
            self.fid.partial[n..n + take].copy_from_slice(&rest[..take]);
            rest = &rest[take..];
            if n + take < need {
                self.fid.partial_len = n + take;
                return;
            }
            self.fid.partial_len = 0;
            let ch = self.fid.partial;
            self.char_at_cursor(&ch[..need], insert, autowrap);
        }
    }

    fn char_at_cursor(&mut self, ch: &[u8], insert: bool, autowrap: bool) {
        let width = std::str::from_utf8(ch)
            .ok()
            .and_then(|s| s.chars().next())
            .map_or(1, |c| {
                unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
            });
        let width = width.min(2) as u16;
        if width > 0 {
            let (_, col) = self.cursor();
            let cols = self.cols();
            if !autowrap && col + width > cols && cols >= width {
                self.seq(format_args!("\x1b[{}G", cols - width + 1));
            }
            if insert {
                self.seq(format_args!("\x1b[{width}@"));
            }
        }
        self.run_seq();
        // Through the guard against vt100's U+FE0F panic in the pending-wrap column.
        feed_vt100(self.parser, ch);
        if !autowrap {
            let (_, col) = self.cursor();
            let cols = self.cols();
            if col >= cols {
                // xterm leaves the cursor on the last column, nothing pending.
                self.seq(format_args!("\x1b[{cols}G"));
                self.run_seq();
            }
        }
    }
}

/// SGR attributes vt100 cannot store ride in the foreground colour (`palette::Tags`).
impl<C: vt100::Callbacks> Stage<'_, C> {
    /// Applies an SGR (`Op::Sgr`): vt100 takes what it knows, then the foreground becomes
    /// the tag for (foreground, extra attributes), or the plain foreground when none is left.
    fn sgr(&mut self, sgr: &[u8], params: &[u8]) {
        let before = self.parser.screen().fgcolor();
        let mut extra = self.fid.tags.get(before).unwrap_or(Extra {
            fg: before,
            bits: 0,
            underline: Color::Default,
        });
        self.parser.process(sgr);
        let after = self.parser.screen().fgcolor();
        if after != before {
            // The SGR set the foreground (or reset everything).
            extra.fg = after;
        }
        apply_extras(params, &mut extra);
        let want = self.fid.tags.colour_for(extra).unwrap_or(extra.fg);
        if want != after {
            match want {
                Color::Default => self.seq(format_args!("\x1b[39m")),
                Color::Idx(i) => self.seq(format_args!("\x1b[38;5;{i}m")),
                Color::Rgb(r, g, b) => self.seq(format_args!("\x1b[38;2;{r};{g};{b}m")),
            }
            self.run_seq();
        }
    }
}

/// Applies the extra attributes an SGR's parameters set or reset, in order (`0` or no
/// parameter resets them all).
fn apply_extras(params: &[u8], e: &mut Extra) {
    if params.is_empty() {
        e.bits = 0;
        e.underline = Color::Default;
        return;
    }
    let num = |g: &[u8]| -> Option<u16> { std::str::from_utf8(g).ok()?.parse().ok() };
    let mut groups = params.split(|&b| b == b';');
    while let Some(g) = groups.next() {
        let mut items = g.split(|&b| b == b':');
        let first = items
            .next()
            .and_then(|f| if f.is_empty() { Some(0) } else { num(f) });
        let colon = g.contains(&b':');
        match first {
            Some(0) => {
                e.bits = 0;
                e.underline = Color::Default;
            }
            Some(9) => e.bits |= STRIKE,
            Some(29) => e.bits &= !STRIKE,
            Some(5 | 6) => e.bits |= BLINK,
            Some(25) => e.bits &= !BLINK,
            Some(8) => e.bits |= HIDDEN,
            Some(28) => e.bits &= !HIDDEN,
            Some(53) => e.bits |= OVERLINE,
            Some(55) => e.bits &= !OVERLINE,
            Some(59) => e.underline = Color::Default,
            Some(n @ (38 | 48 | 58)) => {
                // The colour's values: after colons in the same group, else the groups that
                // follow (`5;n`, `2;r;g;b`).
                let values: Vec<Option<u16>> = if colon {
                    items.map(num).collect()
                } else {
                    let kind = groups.next().and_then(num);
                    let more = match kind {
                        Some(5) => 1,
                        Some(2) => 3,
                        _ => 0,
                    };
                    std::iter::once(kind)
                        .chain((0..more).map(|_| groups.next().and_then(num)))
                        .collect()
                };
                if n == 58 {
                    if let Some(c) = colour_of(&values) {
                        e.underline = c;
                    }
                }
            }
            _ => {}
        }
    }
}

/// `5, n` or `2, [space,] r, g, b` as a colour.
fn colour_of(v: &[Option<u16>]) -> Option<Color> {
    let byte = |x: Option<u16>| x.and_then(|x| u8::try_from(x).ok());
    match v {
        [Some(5), n, ..] => Some(Color::Idx(byte(*n)?)),
        [Some(2), _, r, g, b] => Some(Color::Rgb(byte(*r)?, byte(*g)?, byte(*b)?)),
        [Some(2), r, g, b] => Some(Color::Rgb(byte(*r)?, byte(*g)?, byte(*b)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Term;
    use super::super::palette::{BLINK, Extra, HIDDEN, OVERLINE, STRIKE};
    use super::super::scrollback::{Budget, Limits};
    use vt100::Color;

    fn term(input: &[u8]) -> Term {
        let mut t = Term::new(4, 20, Limits::new(100, 1 << 20), Budget::new(1 << 30));
        t.process(input);
        t
    }

    /// What cell (row, col) carries: its foreground and extra attributes.
    fn extra(t: &Term, row: u16, col: u16) -> Extra {
        let fg = t
            .screen()
            .cell(row, col)
            .map(|c| c.fgcolor())
            .unwrap_or_default();
        t.palette().tags.get(fg).unwrap_or(Extra {
            fg,
            bits: 0,
            underline: Color::Default,
        })
    }

    fn e(fg: Color, bits: u8, underline: Color) -> Extra {
        Extra {
            fg,
            bits,
            underline,
        }
    }

    #[test]
    fn strikethrough_blink_hidden_overline_ride_with_the_cells() {
        let t = term(b"\x1b[9;31ma\x1b[5mb\x1b[29mc\x1b[25;8md\x1b[28;53me\x1b[me");
        assert_eq!(extra(&t, 0, 0), e(Color::Idx(1), STRIKE, Color::Default));
        assert_eq!(
            extra(&t, 0, 1),
            e(Color::Idx(1), STRIKE | BLINK, Color::Default)
        );
        assert_eq!(extra(&t, 0, 2), e(Color::Idx(1), BLINK, Color::Default));
        assert_eq!(extra(&t, 0, 3), e(Color::Idx(1), HIDDEN, Color::Default));
        assert_eq!(extra(&t, 0, 4), e(Color::Idx(1), OVERLINE, Color::Default));
        // Reset: a plain default cell, no tag.
        assert_eq!(
            t.screen().cell(0, 5).map(|c| c.fgcolor()),
            Some(Color::Default)
        );
    }

    #[test]
    fn a_colour_change_keeps_the_attributes_and_the_colour() {
        let t = term(b"\x1b[9mx\x1b[32my\x1b[38;2;10;20;30mz\x1b[39mw\x1b[1mv");
        assert_eq!(extra(&t, 0, 0), e(Color::Default, STRIKE, Color::Default));
        assert_eq!(extra(&t, 0, 1), e(Color::Idx(2), STRIKE, Color::Default));
        assert_eq!(
            extra(&t, 0, 2),
            e(Color::Rgb(10, 20, 30), STRIKE, Color::Default)
        );
        assert_eq!(extra(&t, 0, 3), e(Color::Default, STRIKE, Color::Default));
        assert_eq!(extra(&t, 0, 4), e(Color::Default, STRIKE, Color::Default));
        assert!(t.screen().cell(0, 4).is_some_and(|c| c.bold()));
    }

    #[test]
    fn underline_colour_in_every_form() {
        let t = term(
            b"\x1b[4;58;5;3ma\x1b[58:2::1:2:3mb\x1b[58;2;4;5;6mc\x1b[58:5:9md\x1b[59me\x1b[4:3;58:5:1mf",
        );
        assert_eq!(extra(&t, 0, 0), e(Color::Default, 0, Color::Idx(3)));
        assert_eq!(extra(&t, 0, 1), e(Color::Default, 0, Color::Rgb(1, 2, 3)));
        assert_eq!(extra(&t, 0, 2), e(Color::Default, 0, Color::Rgb(4, 5, 6)));
        assert_eq!(extra(&t, 0, 3), e(Color::Default, 0, Color::Idx(9)));
        assert_eq!(extra(&t, 0, 4), e(Color::Default, 0, Color::Default));
        assert_eq!(extra(&t, 0, 5), e(Color::Default, 0, Color::Idx(1)));
        for col in 0..6 {
            assert!(
                t.screen().cell(0, col).is_some_and(|c| c.underline()),
                "{col}"
            );
        }
    }

    #[test]
    fn colour_values_are_not_attributes() {
        // `38;5;9` is colour 9, not strikethrough; `38;2;5;8;53` not blink, hidden, overline.
        let t = term(b"\x1b[38;5;9ma\x1b[38;2;5;8;53mb");
        assert_eq!(extra(&t, 0, 0), e(Color::Idx(9), 0, Color::Default));
        assert_eq!(extra(&t, 0, 1), e(Color::Rgb(5, 8, 53), 0, Color::Default));
        assert!(t.palette().tags.is_empty());
    }

    #[test]
    fn saved_cursor_and_scrolling_keep_the_attributes() {
        let t = term(b"\x1b[9;33m\x1b7\x1b[m\x1b8x\r\n\n\ny\n");
        // `x` and `y` were printed after DECRC brought the struck yellow back; the last LF
        // scrolled `y` up a row (and `x` off into the history).
        assert_eq!(extra(&t, 2, 0), e(Color::Idx(3), STRIKE, Color::Default));
        assert_eq!(
            t.screen()
                .cell(2, 0)
                .map(|c| c.contents().to_string())
                .as_deref(),
            Some("y")
        );
    }

    #[test]
    fn later_functions_do_not_replay_the_attributes() {
        // An IL with a background (background colour erase goes through the stage) after
        // blink was set and reset: the line inserted and what follows are plain.
        let t = term(b"\x1b[5ma\x1b[m\x1b[44m\x1b[L\x1b[49mb");
        assert_eq!(extra(&t, 0, 0), e(Color::Default, 0, Color::Default));
        assert_eq!(t.screen().fgcolor(), Color::Default);
    }

    #[test]
    fn split_anywhere_reads_the_same() {
        let input: &[u8] = b"\x1b[9;31ma\x1b[32mb\x1b[58:5:4;4mc\x1b[0md";
        let whole = term(input);
        let want: Vec<Extra> = (0..4).map(|c| extra(&whole, 0, c)).collect();
        for cut in 1..input.len() {
            let mut t = term(&input[..cut]);
            t.process(&input[cut..]);
            let got: Vec<Extra> = (0..4).map(|c| extra(&t, 0, c)).collect();
            assert_eq!(got, want, "cut at {cut}");
        }
    }
}
