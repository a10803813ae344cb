//! A session's terminal: the vt100 parser, its callbacks (replies to queries, title, bell,
//! scrolled-off rows), and what it tells the rest of memmux.

use std::num::NonZeroU16;
use std::sync::Arc;

mod damage;
pub mod fastpath;
pub mod fidelity;
pub mod filter;
pub mod keys;
pub mod palette;
pub mod park;
mod reflow;
pub mod scrollback;
mod vt100_input;

pub use damage::{Changes, Damage};
use fastpath::FastPath;
use fidelity::{Fidelity, Stage};
use filter::Filter;
use palette::Palette;
use scrollback::{Budget, Limits, RowCapture, Scrollback};
use vt100_input::{FFFD_STAND_IN, Utf8Seam};

/// Largest size memmux gives a screen in either direction; programs can't ask for more.
pub const MAX_DIM: u16 = 1000;
/// Titles are cut to this many bytes (a program can't make the tab bar hold megabytes).
pub const MAX_TITLE_BYTES: usize = 256;

/// What the parser's callbacks collect between two looks from the UI.
#[derive(Debug, Default)]
pub struct TermEvents {
    /// Title set by the program (OSC 0/2), cleaned of control characters.
    pub title: Option<String>,
    /// A bell rang since the UI last looked.
    pub bell: bool,
    /// Bytes to send back to the program: answers to its queries, never program-controlled text.
    pub replies: Vec<u8>,
    /// The program asked for focus in/out reports (`CSI ? 1004 h`); vt100 does not track it.
    pub focus_reporting: bool,
    /// Base64 text the program asked to put on the system clipboard (OSC 52), when allowed.
    pub clipboard: Option<Vec<u8>>,
}

/// The vt100 callbacks of one session.
pub struct Callbacks {
    pub events: TermEvents,
    /// Rows pushed off the top of the main screen.
    pub history: Scrollback,
    pub(super) capture: RowCapture,
    /// Mirror of vt100's count of rows scrolled off the main screen that it would pull back if
    /// the screen grew. vt100 keeps no rows (capacity 0), so it inserts that many blank rows
    /// at the top instead.
    pub(super) unbounded: usize,
    /// Blank rows vt100 inserted at the top when the screen grew: their content is already in
    /// history, so when they scroll off again, blank, they are not stored a second time.
    pub(super) phantom: usize,
    /// Blank rows the fast path scrolls off only to keep vt100's count of scrolled rows
    /// exact (their content went to history directly): counted, not stored. See `fastpath`.
    pub(super) swallow: usize,
    /// The last swallowed row goes through `RowCapture::absorb`.
    pub(super) absorb: bool,
    /// Rows vt100 pushes off while the screen is re-wrapped (`reflow`): their text is
    /// printed again into the resized screen, so they are counted, not stored. (Also while a
    /// parked screen is drawn again: `park`.)
    pub(super) discard: bool,
    /// Largest OSC 52 clipboard write passed on, in base64 bytes; `None`: none are.
    pub osc52_max: Option<usize>,
    /// Colours the program set (OSC 4/10/11), applied when the tab is drawn.
    pub palette: Palette,
}

impl Callbacks {
    pub(super) fn new(history: Scrollback) -> Self {
        Callbacks {
            events: TermEvents::default(),
            history,
            capture: RowCapture::new(),
            unbounded: 0,
            phantom: 0,
            swallow: 0,
            absorb: false,
            discard: false,
            osc52_max: None,
            palette: Palette::default(),
        }
    }

    /// What survives a parser rebuild: history and the title; modes start afresh with the
    /// new parser.
    fn survivor(self) -> Callbacks {
        let mut c = Callbacks::new(self.history);
        c.events.title = self.events.title;
        c.osc52_max = self.osc52_max;
        c.palette = self.palette;
        c
    }

    fn reply(&mut self, bytes: std::fmt::Arguments<'_>) {
        use std::io::Write;
        // Writing to a Vec cannot fail.
        let _ = self.events.replies.write_fmt(bytes);
    }
}

/// Bidirectional formatting characters: invisible, and able to make a title read backwards
/// (spoofing another program's name in the tab bar).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Removes control characters and caps the length, so a title can't carry escapes into the
/// outer terminal or grow without bound.
pub fn clean_title(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::new();
    for c in text
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
    {
        if out.len() + c.len_utf8() > MAX_TITLE_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

impl vt100::Callbacks for Callbacks {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.events.bell = true;
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.events.title = Some(clean_title(title));
    }

    // OSC 52 writes pass on only when the user allowed them (`osc52-copy`), and only up to the
    // configured size; vt100 has already checked the data is base64. Reads (`OSC 52 ; c ; ?`)
    // are never answered: `paste_from_clipboard` keeps its default, which does nothing.
    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, _ty: &[u8], data: &[u8]) {
        if self.osc52_max.is_some_and(|max| data.len() <= max) {
            self.events.clipboard = Some(data.to_vec());
        }
    }

    // Palette and default colours (OSC 4/104/10/11/110/111): kept for the renderer; queries
    // answered with numbers only.
    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        self.palette.osc(params, &mut self.events.replies);
    }

    // Program resize requests (`CSI 8 ; h ; w t`) are ignored: the pane's size is the user's.
    fn resize(&mut self, _: &mut vt100::Screen, _request: (u16, u16)) {}

    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let first = params.first().and_then(|p| p.first()).copied().unwrap_or(0);
        match (i1, c) {
            // DSR: status, cursor position. Replies hold only numbers memmux computed.
            (None, 'n') if first == 5 => self.reply(format_args!("\x1b[0n")),
            (None, 'n') if first == 6 => {
                let (row, col) = report_position(screen);
                self.reply(format_args!("\x1b[{};{}R", row + 1, col + 1));
            }
            (Some(b'?'), 'n') if first == 6 => {
                let (row, col) = report_position(screen);
                self.reply(format_args!("\x1b[?{};{}R", row + 1, col + 1));
            }
            // Primary DA: a VT220 with ANSI colour, as tmux and many xterm setups answer.
            (None, 'c') if first == 0 => self.reply(format_args!("\x1b[?62;22c")),
            // Secondary DA: VT220, firmware 10, no ROM cartridge.
            (Some(b'>'), 'c') if first == 0 => self.reply(format_args!("\x1b[>1;10;0c")),
            // Text area size in characters.
            (None, 't') if first == 18 => {
                let (rows, cols) = screen.size();
                self.reply(format_args!("\x1b[8;{};{}t", rows.get(), cols.get()));
            }
            (Some(b'?'), 'h' | 'l') if params.iter().any(|p| p.first() == Some(&1004)) => {
                self.events.focus_reporting = c == 'h';
            }
            _ => {}
        }
    }

    fn on_scroll(&mut self, contents: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        // Rows of the alternate screen (vim, less, htop) are not history.
        if alternate_screen {
            return;
        }
        self.unbounded += 1;
        if self.discard {
            return;
        }
        if self.swallow > 0 {
            self.swallow -= 1;
            if self.swallow == 0 && std::mem::take(&mut self.absorb) {
                self.capture.absorb(contents);
            }
            return;
        }
        let drop_blank = self.phantom > 0;
        self.phantom = self.phantom.saturating_sub(1);
        self.capture
            .capture_unless_blank(contents, &mut self.history, drop_blank);
    }
}

/// Hooks for the test suite only (cargo feature `test-hooks`, never in a normal build).
#[cfg(feature = "test-hooks")]
mod test_hooks {
    use std::sync::OnceLock;

    /// `MEMMUX_TEST_PANIC_ON=TEXT`: a tab whose output contains TEXT panics in its parser, so
    /// the containment path can be tested on the real binary.
    pub fn maybe_panic(bytes: &[u8]) {
        static TRIGGER: OnceLock<Option<Vec<u8>>> = OnceLock::new();
        let trigger = TRIGGER.get_or_init(|| {
            std::env::var_os("MEMMUX_TEST_PANIC_ON")
                .map(|v| v.into_encoded_bytes())
                .filter(|v| !v.is_empty())
        });
        if let Some(t) = trigger {
            if bytes.windows(t.len()).any(|w| w == t.as_slice()) {
                panic!("test hook: output contained the MEMMUX_TEST_PANIC_ON text");
            }
        }
    }
}

/// The cursor as a position report gives it: vt100 leaves the column at `cols` after a
/// character is printed in the last column (the pending wrap); xterm reports the last column.
fn report_position(screen: &vt100::Screen) -> (u16, u16) {
    let (row, col) = screen.cursor_position();
    (row, col.min(screen.size().1.get() - 1))
}

/// What to draw for a cell's contents: U+FFFD for its stand-in, and an emoji ZWJ sequence
/// without its joiners. vt100 gives each emoji of such a sequence its own cell (two columns
/// each, as `wcwidth` counts them for programs); drawn with the joiners, the outer terminal
/// may join them into one glyph two columns wide and then draw everything after it out of
/// step with memmux's cells.
pub fn shown(contents: &str) -> std::borrow::Cow<'_, str> {
    // Both need at least 4 bytes: ASCII and most CJK cells skip the checks.
    if contents.len() < 4 {
        return contents.into();
    }
    if contents.starts_with(FFFD_STAND_IN) {
        return contents.replacen(FFFD_STAND_IN, "\u{fffd}", 1).into();
    }
    if contents.contains('\u{200d}') {
        return contents.replace('\u{200d}', "").into();
    }
    contents.into()
}

/// Clamps a requested size to what a screen may be.
pub fn clamp_dim(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n.clamp(1, MAX_DIM)).unwrap_or(NonZeroU16::MIN)
}

/// One session's terminal state. Lives behind a mutex: the reader thread feeds it, the UI reads it.
pub struct Term {
    pub parser: vt100::Parser<Callbacks>,
    /// Caps hostile sequences and translates line-drawing characters before vt100 sees them.
    pub(super) filter: Filter,
    panics: u32,
    /// Whether floods of plain lines take the fast path (`fastpath`); on unless a test
    /// turns it off to compare.
    fast_path: bool,
    pub(super) fast: FastPath,
    /// Keeps vte from seeing a UTF-8 sequence cut in two (see `vt100_input::Utf8Seam`).
    pub(super) seam: Utf8Seam,
    /// What the stage making up for vt100's gaps keeps (tab stops; see `fidelity`).
    fid: Fidelity,
    /// Which screen rows changed, for every reader (`damage`): each keeps its own place.
    changes: Changes,
    /// The screen while the tab is parked (`park`); `parser` then holds a 1x1 screen.
    pub(super) parked: Option<Parked>,
}

/// A parked screen (`park`): the escapes that draw it again on a fresh parser of its size.
pub struct Parked {
    pub(super) state: Box<[u8]>,
    pub(super) rows: NonZeroU16,
    pub(super) cols: NonZeroU16,
    /// vt100's count of rows scrolled off the main screen, capped at `MAX_DIM`: it only
    /// decides how many blank rows a growing screen gets at the top (at most the growth, and
    /// a screen never exceeds `MAX_DIM` rows), so the cap changes nothing visible.
    pub(super) scrolled: usize,
}

/// 256 bytes: longer output is not an echo; it is not scanned and counts as changing every row.
const SMALL_OUTPUT: usize = 256;

/// Whether `bytes`, fed in ground state, can change only the cursor's row: printable ASCII,
/// BEL, BS, CR and erase-in-line (`CSI n K`), with the cursor never reaching the last column
/// (where the next character would wrap, perhaps scrolling). Returns the columns printed.
fn row_local(bytes: &[u8]) -> Option<usize> {
    let mut printed = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0x20..=0x7e => printed += 1,
            0x07 | 0x08 | 0x0d => {}
            0x1b => {
                if bytes.get(i + 1) != Some(&b'[') {
                    return None;
                }
                i += 2;
                while bytes.get(i).is_some_and(|b| b.is_ascii_digit()) {
                    i += 1;
                }
                if bytes.get(i) != Some(&b'K') {
                    return None;
                }
            }
            _ => return None,
        }
        i += 1;
    }
    Some(printed)
}

impl Term {
    /// A terminal with 10,000 lines / 16 MiB of history in a 64 MiB budget: the one the
    /// engine's unit tests (term, reflow, park) build.
    #[cfg(test)]
    pub(crate) fn for_tests(rows: u16, cols: u16) -> Term {
        use scrollback::{Budget, Limits};
        Term::new(
            rows,
            cols,
            Limits::new(10_000, 16 << 20),
            Budget::new(64 << 20),
        )
    }

    pub fn new(rows: u16, cols: u16, limits: Limits, budget: Arc<Budget>) -> Term {
        Term {
            parser: vt100::Parser::new_with_callbacks(
                clamp_dim(rows),
                clamp_dim(cols),
                0,
                Callbacks::new(Scrollback::new(limits, budget)),
            ),
            filter: {
                let mut f = Filter::new();
                f.set_fidelity(true);
                f.set_width(cols);
                f.set_height(rows);
                f
            },
            panics: 0,
            fast_path: true,
            fast: FastPath::default(),
            seam: Utf8Seam::default(),
            fid: Fidelity::default(),
            changes: Changes::default(),
            parked: None,
        }
    }

    /// The change log of the screen. Every reader (each view's frames, each view's direct
    /// draws) keeps the number it last drew ([`Changes::seq`]) and asks what changed since
    /// ([`Changes::since`]); nothing is taken away from the others.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// The row `bytes` can change when it is the cursor's row alone.
    fn local_row(&self, bytes: &[u8]) -> Option<u16> {
        if bytes.len() > SMALL_OUTPUT || !self.filter.is_transparent() || !self.seam.is_empty() {
            return None;
        }
        let printed = row_local(bytes)?;
        let screen = self.parser.screen();
        let (row, col) = screen.cursor_position();
        // A cursor in the last column may have a wrap pending: then even one more
        // character starts a new row.
        (usize::from(col) + printed < usize::from(screen.size().1.get())).then_some(row)
    }

    /// Feeds program output to the parser.
    pub fn process(&mut self, bytes: &[u8]) {
        match self.local_row(bytes) {
            Some(row) => self.changes.row(row),
            None => self.changes.all(),
        }
        #[cfg(feature = "test-hooks")]
        test_hooks::maybe_panic(bytes);
        if self.fast_path {
            fastpath::process(self, bytes);
        } else {
            self.process_normal(bytes);
        }
        let reverse = self.filter.reverse_video();
        let palette = &mut self.parser.callbacks_mut().palette;
        if palette.reverse() != reverse {
            palette.set_reverse(reverse);
        }
        palette.set_tags(&self.fid.tags);
    }

    /// Feeds program output through the filter to the parser, byte by byte as it came.
    pub(super) fn process_normal(&mut self, bytes: &[u8]) {
        let mut stage = Stage {
            parser: &mut self.parser,
            seam: &mut self.seam,
            fid: &mut self.fid,
        };
        self.filter.feed_sink(bytes, &mut stage);
    }

    /// Turns the throughput fast path on or off (tests compare the two; it changes nothing
    /// visible).
    #[doc(hidden)]
    pub fn set_fast_path(&mut self, on: bool) {
        self.fast_path = on;
    }

    /// Runs the fast path took and the rows it stored directly, since the start.
    #[doc(hidden)]
    pub fn fast_path_stats(&self) -> (u64, u64) {
        (self.fast.taken, self.fast.direct_rows)
    }

    /// Replaces the parser after it panicked, keeping the size, and tells the user in the pane.
    pub fn rebuild(&mut self) {
        // The newest row's wrapped flag (and trailing blanks) would otherwise stay unsettled
        // for good: the new parser's capture starts afresh. (The fast path settles it when
        // it runs, so without this the two paths would keep different rows.)
        self.settle_history();
        let (rows, cols) = self.parser.screen().size();
        let budget = Arc::clone(self.history().budget());
        let empty = Scrollback::new(self.history().limits(), budget);
        let old = std::mem::replace(self.parser.callbacks_mut(), Callbacks::new(empty));
        self.parser = vt100::Parser::new_with_callbacks(rows, cols, 0, old.survivor());
        self.filter.reset();
        self.seam.clear();
        // History rows may hold tag colours: the table stays.
        let tags = std::mem::take(&mut self.fid.tags);
        self.fid = Fidelity::default();
        self.fid.tags = tags;
        self.panics += 1;
        self.changes.all();
        self.parser.process(
            b"\r\n\x1b[1;31m[memmux: the terminal parser failed on this output and was restarted; \
              scrollback kept; details in the log]\x1b[m\r\n",
        );
    }

    /// Times the parser was rebuilt after a panic.
    pub fn panics(&self) -> u32 {
        self.panics
    }

    /// Resizes the screen. A width change on the main screen re-wraps its text and the
    /// history's (see `reflow`); the alternate screen is cut, and redrawn by its program.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let (old_rows, old_cols) = self.parser.screen().size();
        let rows = clamp_dim(rows);
        if clamp_dim(cols) != old_cols && !self.parser.screen().alternate_screen() {
            self.rewrap(rows, clamp_dim(cols));
            return;
        }
        if rows > old_rows {
            // vt100 fills the top with as many blank rows as it would have pulled back.
            let cb = self.parser.callbacks_mut();
            let pulled = cb.unbounded.min(usize::from(rows.get() - old_rows.get()));
            cb.unbounded -= pulled;
            cb.phantom += pulled;
        }
        self.parser.set_size(rows, clamp_dim(cols));
        self.changes.all();
        self.filter.set_width(cols);
        self.filter.set_height(rows.get());
    }

    /// Resizes the main screen to a new width, re-laying the history and the screen's text
    /// at it. The newest history line is printed again with the screen when it goes on
    /// there, and when the text filled the screen (output flowing off the top) enough
    /// history comes back to fill it again, as tmux does.
    fn rewrap(&mut self, rows: NonZeroU16, cols: NonZeroU16) {
        self.settle_history();
        let text = reflow::capture(self.parser.screen());
        let attrs = self.parser.screen().attributes_formatted();
        let pull = if text.full {
            usize::from(rows.get())
        } else {
            0
        };
        let join = self
            .history()
            .len()
            .checked_sub(1)
            .is_some_and(|last| self.history().is_wrapped(last));
        let (history, before) = self.history().rewrapped(cols.get(), pull);
        let (old_rows, _) = self.parser.screen().size();
        let cb = self.parser.callbacks_mut();
        cb.history = history;
        cb.capture.reset();
        cb.phantom = 0;
        if rows > old_rows {
            // vt100 pulls back (as blank rows) what it counts as scrolled off; mirrored.
            let pulled = cb.unbounded.min(usize::from(rows.get() - old_rows.get()));
            cb.unbounded -= pulled;
        }
        cb.discard = true;
        self.parser.set_size(rows, cols);
        self.parser.callbacks_mut().discard = false;
        reflow::replay(&mut self.parser, &before, join, &text, &attrs, |p| {
            p.callbacks().unbounded
        });
        self.filter.forget_printed();
        self.changes.all();
        self.filter.set_width(cols.get());
        self.filter.set_height(rows.get());
    }

    pub fn history(&self) -> &Scrollback {
        &self.parser.callbacks().history
    }

    pub fn history_mut(&mut self) -> &mut Scrollback {
        &mut self.parser.callbacks_mut().history
    }

    /// Settles the newest stored row's wrapped flag (vt100 tells it only with the next row);
    /// call before searching or copying history.
    pub fn settle_history(&mut self) {
        let cb = self.parser.callbacks_mut();
        cb.capture.settle(&mut cb.history);
    }

    /// Frees the whole history.
    pub fn clear_history(&mut self) {
        let cb = self.parser.callbacks_mut();
        cb.history.clear();
        cb.capture.reset();
        cb.phantom = 0;
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// Colours the program set for this tab (OSC 4/10/11).
    pub fn palette(&self) -> &Palette {
        &self.parser.callbacks().palette
    }

    /// The program asked for the whole screen in reverse video (DECSCNM, `CSI ? 5 h`).
    pub fn reverse_video(&self) -> bool {
        self.filter.reverse_video()
    }

    pub fn events(&mut self) -> &mut TermEvents {
        &mut self.parser.callbacks_mut().events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(rows: u16, cols: u16) -> Term {
        Term::for_tests(rows, cols)
    }

    #[test]
    fn an_echo_damages_only_the_cursor_row_and_anything_else_all_rows() {
        let mut t = term(5, 10);
        // A reader's place in the change log: what changed since it looked last, then the
        // number it keeps.
        let mut seen = 0;
        let mut take = |t: &Term| {
            let d = t.changes().since(seen);
            seen = t.changes().seq();
            d
        };
        t.process(b"\x1b[3;1H$ ");
        assert_eq!(take(&t), Damage::ALL, "a new terminal is drawn whole");
        assert_eq!(take(&t), Damage::NONE);
        t.process(b"l");
        t.process(b"s\x08 \x08\x1b[K\x07");
        let d = take(&t);
        assert!(d.contains(2) && !d.contains(1) && !d.contains(3), "{d:?}");
        // Anything but printable ASCII, BEL, BS, CR and erase in line (`row_local`) counts as
        // a change of every row.
        for (what, bytes) in [
            ("a newline", &b"\r\n"[..]),
            ("a cursor move", b"\x1b[H"),
            ("a reverse index", b"\x1bM"),
            ("a clear", b"\x1b[2J"),
            ("a character beyond ASCII", "é".as_bytes()),
            ("a title", b"\x1b]0;title\x07"),
        ] {
            t.process(bytes);
            assert_eq!(take(&t), Damage::ALL, "{what}: {bytes:?}");
        }
        // Printing up to the last column is one row; one more character would wrap.
        t.process(b"\x1b[5;1H");
        take(&t);
        t.process(b"123456789");
        assert!(!take(&t).contains(3));
        t.process(b"0");
        assert_eq!(take(&t), Damage::ALL, "reaches the last column");
        // Right after a change of every row, an echo is one row again.
        t.process(b"\x1b[2;1H");
        take(&t);
        t.process(b"x");
        let d = take(&t);
        assert!(d.contains(1) && !d.is_all(), "{d:?}");
        // Mid-sequence at the start of a chunk: the bytes mean something else.
        t.process(b"\x1b[");
        take(&t);
        t.process(b"2J");
        assert_eq!(take(&t), Damage::ALL);
        t.resize(6, 10);
        assert_eq!(take(&t), Damage::ALL);
    }

    #[test]
    fn answers_cursor_position_and_attributes() {
        let mut t = term(24, 80);
        t.process(b"ab\r\ncd\x1b[6n");
        assert_eq!(std::mem::take(&mut t.events().replies), b"\x1b[2;3R");
        t.process(b"\x1b[5n\x1b[c\x1b[>c\x1b[18t");
        assert_eq!(
            String::from_utf8_lossy(&t.events().replies),
            "\x1b[0n\x1b[?62;22c\x1b[>1;10;0c\x1b[8;24;80t"
        );
    }

    #[test]
    fn never_echoes_program_strings() {
        let mut t = term(24, 80);
        // Title report, DECRQSS, OSC 50 font query, OSC 52 clipboard read: no reply at all.
        t.process(b"\x1b]2;evil\x07\x1b[21t\x1bP$qm\x1b\\\x1b]50;?\x07\x1b]52;c;?\x07");
        assert!(t.events().replies.is_empty());
        assert_eq!(t.events().title.as_deref(), Some("evil"));
    }

    #[test]
    fn titles_are_cleaned_and_capped() {
        assert_eq!(clean_title(b"a\x1b[31mb\x07c"), "a[31mbc");
        assert_eq!(clean_title("a\u{202E}txt.exe".as_bytes()), "atxt.exe");
        let long = vec![b'x'; 1000];
        assert_eq!(clean_title(&long).len(), MAX_TITLE_BYTES);
    }

    #[test]
    fn focus_reporting_is_tracked() {
        let mut t = term(24, 80);
        t.process(b"\x1b[?1004h");
        assert!(t.events().focus_reporting);
        t.process(b"\x1b[?1;1004l");
        assert!(!t.events().focus_reporting);
    }

    #[test]
    fn resize_requests_are_ignored_and_sizes_clamped() {
        let mut t = term(24, 80);
        t.process(b"\x1b[8;100;300t");
        let (r, c) = t.screen().size();
        assert_eq!((r.get(), c.get()), (24, 80));
        t.resize(0, 5000);
        let (r, c) = t.screen().size();
        assert_eq!((r.get(), c.get()), (1, MAX_DIM));
    }
}

#[cfg(test)]
mod history_tests {
    use super::*;

    fn term(rows: u16, cols: u16) -> Term {
        Term::new(rows, cols, Limits::new(100, 1 << 20), Budget::new(64 << 20))
    }

    fn rows_text(t: &Term) -> Vec<String> {
        (0..t.history().len())
            .map(|i| {
                let mut s = String::new();
                t.history().row_text(i, &mut s);
                s
            })
            .collect()
    }

    #[test]
    fn scrolled_rows_are_kept_in_order_and_alternate_screen_rows_are_not() {
        let mut t = term(3, 20);
        t.process(b"one\r\ntwo\r\nthree\r\nfour\r\n");
        assert_eq!(rows_text(&t), ["one", "two"]);
        t.process(b"\x1b[?1049h");
        for i in 0..10 {
            t.process(format!("alt{i}\r\n").as_bytes());
        }
        t.process(b"\x1b[?1049l");
        assert_eq!(rows_text(&t), ["one", "two"]);
        t.process(b"five\r\nsix\r\n");
        assert_eq!(rows_text(&t).len(), 4);
    }

    #[test]
    fn shrinking_then_growing_does_not_store_blank_copies() {
        let mut t = term(10, 20);
        for i in 0..30 {
            t.process(format!("line{i}\r\n").as_bytes());
        }
        let before = rows_text(&t);
        // Shrink: top rows go to history. Grow: vt100 inserts blank rows at the top.
        for _ in 0..5 {
            t.resize(4, 20);
            t.resize(10, 20);
        }
        t.resize(4, 20);
        let after = rows_text(&t);
        assert!(
            after.iter().all(|r| !r.is_empty()),
            "blank rows stored: {after:?}"
        );
        assert_eq!(&after[..before.len()], &before[..]);
        // Output pushes the blank top rows off: still no blank copies.
        t.resize(10, 20);
        for i in 30..50 {
            t.process(format!("line{i}\r\n").as_bytes());
        }
        let all = rows_text(&t);
        assert!(
            all.iter().all(|r| !r.is_empty()),
            "blank rows stored: {all:?}"
        );
        let nums: Vec<u32> = all
            .iter()
            .filter_map(|r| r.strip_prefix("line")?.parse().ok())
            .collect();
        assert!(
            nums.windows(2).all(|w| w[1] == w[0] + 1),
            "gaps or repeats: {nums:?}"
        );
    }

    #[test]
    fn clearing_history_frees_it() {
        let mut t = term(3, 20);
        for i in 0..50 {
            t.process(format!("line{i}\r\n").as_bytes());
        }
        assert!(t.history().bytes() > 0);
        t.clear_history();
        assert_eq!(t.history().len(), 0);
        assert_eq!(t.history().bytes(), 0);
    }
}
