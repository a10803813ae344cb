//! Input filter between a tab's pty output and `vt100::Parser::process`.
//!
//! It shadows the DEC/VT500 parser state machine exactly as vte 0.15 implements it (vte
//! 0.15.0 `src/lib.rs`), so it always knows whether the next byte is text, part of an
//! escape/CSI sequence, or part of an OSC/DCS/SOS/PM/APC string, and then:
//!
//! 1. caps string bodies at [`MAX_STRING`] bytes: vte with its `std` feature (which vt100
//!    enables) buffers an OSC body in a `Vec` without limit and only `clear()`s it afterwards,
//!    so the capacity stays allocated;
//! 2. clamps the few CSI parameters whose cost in vt100 0.18.1 is not bounded by the screen
//!    size: REP (`CSI Ps b`) and the window resize request (`CSI 8 ; rows ; cols t`);
//! 3. implements G0/G1 designation of DEC Special Graphics and the UK set, SO/SI, and
//!    DECSC/DECRC of that state, which vt100 ignores, by rewriting printable bytes to the
//!    Unicode glyphs xterm uses;
//!
//! while passing everything else through as slices borrowed from the input.
//!
//! CSI parameters need no general cap: vte 0.15 keeps them in fixed arrays, saturates each
//! value at 65535 and stores at most 32 (past that it sets an `ignore` flag, which vt100
//! disregards, and dispatches the first 32). Of vt100 0.18.1's CSI handlers only REP loops
//! on its parameter; ICH/DCH/ECH/IL/DL/SU/SD/CU*/CUP/DECSTBM all clamp to the screen, and
//! none of them panics for any value (see `tests/integration/filter_vt100.rs`).
//!
//! How rewrites are spliced in: bytes are passed on as soon as they are read, so by the time a
//! CSI's final byte shows that it needs rewriting, the start of the sequence (possibly from an
//! earlier `feed`) has been passed on already. The filter then withholds the final byte and
//! emits a fresh `ESC [ ... final`: in every CSI state vte treats ESC as "abort the sequence
//! without dispatching and start a new escape", so the parser performs exactly one, rewritten,
//! dispatch, and the output does not depend on where the input was split.

mod charset;
mod csi;
mod dispatch;
mod ground;
// SSE2 intrinsics: unsafe by nature.
#[allow(unsafe_code)]
mod scan;
mod strings;

use charset::{Charset, Charsets};
use csi::CsiParams;

/// Where the filter's output goes: bytes for vt100, and (with `Filter::set_fidelity`) the
/// control functions vt100 0.18.1 lacks or gets wrong, for a stage that can read the screen
/// (`term::fidelity`). `Filter::feed` takes a closure: a sink that gets only bytes.
pub trait Sink {
    fn bytes(&mut self, bytes: &[u8]);

    /// A control function withheld from the byte stream (vte has been sent CAN, so it is
    /// in its ground state). `m`: the active screen's margins as vt100 applies them.
    fn op(&mut self, op: Op<'_>, m: Margins) {
        let _ = (op, m);
    }

    /// Whether the current background is not the default: LF, VT and FF go to `op` while it
    /// may be (background colour erase). Without a screen to ask: no.
    fn background_set(&self) -> bool {
        false
    }
}

struct BytesOnly<F>(F);

impl<F: FnMut(&[u8])> Sink for BytesOnly<F> {
    fn bytes(&mut self, bytes: &[u8]) {
        (self.0)(bytes)
    }
}

/// Scroll margins (0-based rows, inclusive) and origin mode of the active screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Margins {
    pub top: u16,
    pub bottom: u16,
    pub origin: bool,
}

/// The control functions `Filter::set_fidelity` hands to `Sink::op` instead of vt100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op<'a> {
    /// LF, VT, FF or IND while the background may be set: down a row, scrolling at the
    /// bottom margin.
    Newline,
    /// HT.
    Tab,
    /// CHT (`CSI n I`), count >= 1.
    TabForward(u16),
    /// CBT (`CSI n Z`), count >= 1.
    TabBack(u16),
    /// HTS (`ESC H`).
    SetTabStop,
    /// TBC (`CSI n g`) with its parameter.
    ClearTabStops(u16),
    /// RIS or DECSTR: a stop every 8 columns again.
    ResetTabStops,
    /// A CSI that leaves blank cells or lines (`@ L M P S T`) with its count (>= 1).
    Blank(u8, u16),
    /// REP (`CSI n b`), count >= 1, right after a printed character.
    Repeat(u16),
    /// DECALN (`ESC # 8`).
    Align,
    /// Printable text (complete or partial UTF-8) while insert mode is on or autowrap off.
    Text {
        bytes: &'a [u8],
        insert: bool,
        autowrap: bool,
    },
    /// `CSI ? 47 h/l` or `CSI ? 1047 h/l`: the alternate screen, with the cursor shared;
    /// `clear`: 1047, which clears the alternate screen on leaving it.
    AltScreen { enter: bool, clear: bool },
    /// An SGR with attributes vt100 cannot store (strikethrough, blink, hidden, overline,
    /// underline colour), or any SGR once such attributes were used: `sgr` is the sequence
    /// for vt100 (those attributes taken out where vt100 would misread them), `params` the
    /// parameters as the program sent them.
    Sgr { sgr: &'a [u8], params: &'a [u8] },
}

/// Longest OSC/DCS/SOS/PM/APC body passed on; 1 MiB, tmux's cap on OSC strings.
pub const MAX_STRING: usize = 1 << 20;

/// Internal output buffer: translated glyphs (3 bytes at most each) and rewritten CSIs (15
/// bytes at most: `ESC [ 8 ; 1000 ; 1000 t`).
const BUF_CAP: usize = 64;
/// memmux never sizes a screen beyond 1000 rows or columns (see `set_width`).
const MAX_DIM: u16 = 1000;
/// Largest slice handed on at once: 8 KiB, a quarter of a 32 KiB L1 data cache, so the parser
/// reads bytes the filter has just loaded. With 64 KiB pty reads of SGR-heavy text this took
/// filter+parse from 92% to 99% of the parser's throughput alone.
const WINDOW: usize = 8 << 10;
/// Size assumed until `set_width`/`set_height` are called: vt100's `Parser::default()` size.
const DEFAULT_COLS: u16 = 80;
const DEFAULT_ROWS: u16 = 24;
/// vte 0.15 `params::MAX_PARAMS`: parameters plus sub-parameters it stores per sequence.
const VTE_MAX_PARAMS: u8 = 32;

const BEL: u8 = 0x07;
const HT: u8 = 0x09;
const SO: u8 = 0x0e;
const SI: u8 = 0x0f;
const CAN: u8 = 0x18;
const SUB: u8 = 0x1a;
const ESC: u8 = 0x1b;
/// C1 String Terminator. vte honours the raw byte only in DCS passthrough.
const ST_C1: u8 = 0x9c;

/// Sent when a string hits the cap. CAN takes vte from every string state to ground and
/// vt100 prints nothing for it. For OSC, vte dispatches the buffered body on CAN (it has no
/// way to abort an OSC), so two `;` go first: they make the parameter list either start with
/// the whole (1 MiB, so unrecognisable) body, or have at least 4 parameters, and vt100 acts
/// only on OSC 0/1/2 with exactly 2 parameters and OSC 52 with exactly 3.
const CAP_OSC: &[u8] = b";;\x18";
const CAP_OTHER: &[u8] = b"\x18";

/// Where vte 0.15 is: its `State` enum, with the four CSI states folded into `Csi` (they
/// differ only in how parameters are collected, which `CsiParams` tracks), plus `DropEsc`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    Escape,
    EscInter,
    Csi,
    DcsEntry,
    DcsParam,
    DcsInter,
    DcsPass,
    DcsIgnore,
    Osc,
    SosPmApc,
    /// A capped string ended with ESC, which was withheld: if `\` follows, the pair was the
    /// string terminator and is dropped; otherwise the ESC is emitted and starts a sequence.
    DropEsc,
}

/// Small fixed buffer for bytes the filter produces itself.
#[derive(Debug)]
struct Buf {
    bytes: [u8; BUF_CAP],
    len: usize,
}

impl Default for Buf {
    fn default() -> Self {
        Buf {
            bytes: [0; BUF_CAP],
            len: 0,
        }
    }
}

impl Buf {
    fn room(&self) -> usize {
        BUF_CAP - self.len
    }

    /// Callers check `room()` first; a too-long write is truncated rather than panicking.
    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.room());
        self.bytes[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }

    fn push_num(&mut self, v: u16) {
        let mut digits = [0u8; 5];
        self.push(csi::fmt_num(v, &mut digits));
    }

    fn flush(&mut self, out: &mut impl Sink) {
        if self.len > 0 {
            out.bytes(&self.bytes[..self.len]);
            self.len = 0;
        }
    }
}

/// Stateful filter; see the module documentation. Holds no heap memory.
#[derive(Debug, Default)]
pub struct Filter {
    state: State,
    /// The current string went over the cap: its bytes are being dropped.
    dropping: bool,
    /// Body bytes of the current string passed on so far.
    str_len: usize,
    csi: CsiParams,
    /// Index into the current `feed` input of the first CSI body byte not yet given to
    /// `csi.step` (they are replayed lazily, only for finals the filter acts on).
    csi_from: usize,
    esc_inter0: u8,
    esc_ninter: u8,
    cs: Charsets,
    /// `cs.gl()`, cached for the ground-state fast path.
    gl: Charset,
    /// DECSC slots, one per screen (main, alternate) like xterm and vt100's cursor.
    saved: [Charsets; 2],
    alt: bool,
    /// A scroll region other than the whole screen is set (DECSTBM), per screen (main,
    /// alternate) like vt100's grids; for the throughput fast path, which needs full-screen
    /// scrolling (see `term::fastpath`).
    region: [Option<(u16, u16)>; 2],
    /// Origin mode (DECOM) per screen like vt100's grids, and as DECSC saved it.
    origin: [bool; 2],
    saved_origin: [bool; 2],
    /// Hand what vt100 lacks to `Sink::op` (`set_fidelity`); off: only the caps and the
    /// character sets, as for a bare vt100.
    fid: bool,
    /// An SGR may have set a background: LF, VT and FF go to `Sink::op` (background colour
    /// erase) until one finds the background default again.
    watch: bool,
    /// A program used attributes vt100 cannot store (`Op::Sgr`): from then on every SGR goes
    /// to `Sink::op`, as a colour change must keep them (they ride in the foreground colour).
    extras: bool,
    /// IRM (`CSI 4 h`) and autowrap off (`CSI ? 7 l`): text goes to `Sink::op`.
    insert: bool,
    no_autowrap: bool,
    /// DECSCNM (`CSI ? 5 h`): the screen is drawn in reverse video.
    reverse: bool,
    /// The previous window ended in ground state after a printed character (REP repeats
    /// only that); see `printed_before`.
    printed: bool,
    /// The current window began inside an escape or control sequence.
    began_in_seq: bool,
    /// What `printed_before` said when the current escape sequence started.
    esc_printed: bool,
    /// 0 until set: then `DEFAULT_COLS`/`DEFAULT_ROWS` apply.
    cols: u16,
    rows: u16,
    buf: Buf,
    /// Lower string cap so unit tests can exercise it with small inputs; 0 = `MAX_STRING`.
    #[cfg(test)]
    test_cap: usize,
}

impl Filter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Screen width, for clamping REP etc. Called on every resize. 1..=1000.
    pub fn set_width(&mut self, cols: u16) {
        let cols = cols.clamp(1, MAX_DIM);
        if cols != self.cols {
            // vt100's `Grid::set_size` resets both screens' scroll regions on a size change.
            self.region = [None; 2];
        }
        self.cols = cols;
    }

    /// Screen height, for clamping the resize request. 1..=1000.
    pub fn set_height(&mut self, rows: u16) {
        let rows = rows.clamp(1, MAX_DIM);
        if rows != self.rows {
            self.region = [None; 2];
        }
        self.rows = rows;
    }

    /// Hands the control functions vt100 lacks to `Sink::op` (what `term` does);
    /// off by default, so a bare vt100 behind the filter sees what it handles unchanged.
    pub fn set_fidelity(&mut self, on: bool) {
        self.fid = on;
    }

    /// DECSCNM: the program asked for the whole screen in reverse video.
    pub fn reverse_video(&self) -> bool {
        self.reverse
    }

    /// A program used attributes vt100 cannot store (blink, strikethrough, ...; only RIS
    /// forgets it): every SGR then goes to `Sink::op`, which keeps them in the foreground
    /// colour, so the fast path must not hand one to vt100 itself.
    pub fn sgr_extras(&self) -> bool {
        self.extras
    }

    /// Output went to vt100 around the filter (the fast path's lines, each ending in CR
    /// LF): REP after it repeats nothing.
    pub fn forget_printed(&mut self) {
        self.printed = false;
    }

    fn margins(&self) -> Margins {
        let a = usize::from(self.alt);
        let (top, bottom) = self.region[a].unwrap_or((0, self.rows() - 1));
        Margins {
            top,
            bottom,
            origin: self.origin[a],
        }
    }

    /// Whether the ground-state byte before `input[j]` was a printed character: not a
    /// control, not the end of an escape or control sequence. Looks back within `input`
    /// (a CSI: parameters and `ESC [`; an escape: ESC and intermediates); at its start,
    /// what the previous window ended with.
    fn printed_before(&self, input: &[u8], j: usize) -> bool {
        let Some(k) = j.checked_sub(1) else {
            return self.printed;
        };
        let b = input[k];
        if b >= 0x80 {
            return true;
        }
        if b < 0x20 || b == 0x7f {
            return false;
        }
        let mut m = k;
        if (0x40..=0x7e).contains(&b) || (0x30..=0x3f).contains(&b) {
            // CSI final (or escape final): parameters and intermediates before it.
            while m > 0 && (0x20..=0x3f).contains(&input[m - 1]) {
                m -= 1;
            }
            if m >= 2 && input[m - 1] == b'[' && input[m - 2] == ESC {
                return false;
            }
        }
        // An escape sequence: ESC, intermediates (0x20..=0x2f), final.
        let mut e = k;
        while e > 0 && (0x20..=0x2f).contains(&input[e - 1]) {
            e -= 1;
        }
        if e > 0 && input[e - 1] == ESC {
            return false;
        }
        if m == 0 || e == 0 {
            // The lookback reached the window's start: those bytes end a sequence begun in
            // the previous window, or they are text.
            return !self.began_in_seq;
        }
        true
    }

    /// In ground state with GL = ASCII and nothing withheld, not in insert mode nor with
    /// autowrap off: printable ASCII and complete SGR sequences would pass through
    /// unchanged, and vte is in its ground state too.
    pub fn is_transparent(&self) -> bool {
        self.state == State::Ground
            && self.gl == Charset::Ascii
            && self.buf.len == 0
            && !self.insert
            && !self.no_autowrap
    }

    /// Whether the main screen has a scroll region other than the whole screen (DECSTBM as
    /// vt100 0.18.1 applies it; RIS and size changes reset it; vt100 ignores DECSTR).
    pub fn main_scroll_region(&self) -> bool {
        self.region[0].is_some()
    }

    /// Back to ground state, G0=G1=ASCII, GL=G0 (used when the parser is rebuilt after a
    /// panic). The new parser has no saved cursor and is on the main screen, so those go too.
    pub fn reset(&mut self) {
        let (cols, rows, fid) = (self.cols, self.rows, self.fid);
        #[cfg(test)]
        let test_cap = self.test_cap;
        *self = Self::default();
        self.cols = cols;
        self.rows = rows;
        self.fid = fid;
        #[cfg(test)]
        {
            self.test_cap = test_cap;
        }
    }

    /// Filter `input`, calling `out` with the filtered stream in order: slices borrowed from
    /// `input` wherever bytes pass unchanged, and from a small internal buffer where they are
    /// replaced. State carries across calls: a sequence may be split at any byte.
    pub fn feed(&mut self, input: &[u8], out: &mut impl FnMut(&[u8])) {
        self.feed_sink(input, &mut BytesOnly(out));
    }

    /// `feed`, with the control functions `set_fidelity` picks out going to `out.op`.
    pub fn feed_sink(&mut self, input: &[u8], out: &mut impl Sink) {
        // See WINDOW: keep what the parser reads next in L1.
        for window in input.chunks(WINDOW) {
            self.feed_window(window, out);
        }
    }

    fn feed_window(&mut self, input: &[u8], out: &mut impl Sink) {
        let mut run = 0; // input[run..i] is passed on but not yet handed to `out`
        let mut i = 0;
        self.csi_from = 0;
        self.began_in_seq = self.state != State::Ground;
        while i < input.len() {
            i = match self.state {
                State::Ground => {
                    if self.watch || self.insert || self.no_autowrap {
                        self.ground_slow(input, i, &mut run, out)
                    } else if self.gl == Charset::Ascii {
                        self.ground_ascii(input, i, &mut run, out)
                    } else {
                        self.ground_translate(input, i, &mut run, out)
                    }
                }
                State::Escape => {
                    self.escape(input, i, &mut run, out);
                    i + 1
                }
                State::EscInter => {
                    self.esc_inter(input, i, &mut run, out);
                    i + 1
                }
                State::Csi => self.csi(input, i, &mut run, out),
                State::DropEsc => {
                    if input[i] == b'\\' {
                        self.state = State::Ground;
                        run = i + 1;
                        i + 1
                    } else {
                        // Not ST: the ESC starts a sequence, so vte must see it. The byte is
                        // then read again in the escape state.
                        self.flush(input, &mut run, i, out);
                        out.bytes(&[ESC]);
                        self.enter_escape();
                        i
                    }
                }
                State::DcsEntry
                | State::DcsParam
                | State::DcsInter
                | State::DcsPass
                | State::DcsIgnore
                | State::Osc
                | State::SosPmApc => self.string(input, i, &mut run, out),
            };
        }
        if self.state == State::Csi {
            self.replay_csi(&input[self.csi_from.min(input.len())..]);
        }
        if self.fid {
            self.printed = self.state == State::Ground && self.printed_before(input, input.len());
        }
        self.flush(input, &mut run, input.len(), out);
    }

    #[cfg(not(test))]
    fn cap(&self) -> usize {
        MAX_STRING
    }

    #[cfg(test)]
    fn cap(&self) -> usize {
        if self.test_cap == 0 {
            MAX_STRING
        } else {
            self.test_cap
        }
    }

    fn cols(&self) -> u16 {
        if self.cols == 0 {
            DEFAULT_COLS
        } else {
            self.cols
        }
    }

    fn rows(&self) -> u16 {
        if self.rows == 0 {
            DEFAULT_ROWS
        } else {
            self.rows
        }
    }

    /// Hands on the internal buffer, then `input[run..i]`: the buffer only ever holds bytes
    /// that precede `input[run..]`.
    fn flush(&mut self, input: &[u8], run: &mut usize, i: usize, out: &mut impl Sink) {
        self.buf.flush(out);
        if *run < i {
            out.bytes(&input[*run..i]);
        }
        *run = i;
    }

    fn set_charsets(&mut self, cs: Charsets) {
        self.cs = cs;
        self.gl = cs.gl();
    }

    /// SO/SI, wherever vte executes C0 controls (ground, escape and CSI states).
    fn shift(&mut self, b: u8) {
        match b {
            SO => self.set_charsets(Charsets {
                shifted: true,
                ..self.cs
            }),
            SI => self.set_charsets(Charsets {
                shifted: false,
                ..self.cs
            }),
            _ => {}
        }
    }

    fn enter_escape(&mut self) {
        self.state = State::Escape;
        self.esc_ninter = 0;
        self.esc_printed = false;
    }

    /// An escape sequence starts at `input[j]` (ground state).
    fn enter_escape_at(&mut self, input: &[u8], j: usize) {
        self.enter_escape();
        if self.fid {
            self.esc_printed = self.printed_before(input, j);
        }
    }

    /// Withholds the final byte at `input[j]` of a sequence vte has started: what came
    /// before is passed on, then CAN, which takes vte back to ground without a dispatch
    /// (vt100 does nothing for CAN).
    fn withhold(&mut self, input: &[u8], j: usize, run: &mut usize, out: &mut impl Sink) {
        self.flush(input, run, j, out);
        out.bytes(&[CAN]);
        *run = j + 1;
    }

    /// Passes on everything through the final byte at `input[j]`.
    fn pass_through(&mut self, input: &[u8], j: usize, run: &mut usize, out: &mut impl Sink) {
        self.flush(input, run, j + 1, out);
    }

    fn save_cursor(&mut self) {
        let a = usize::from(self.alt);
        self.saved[a] = self.cs;
        self.saved_origin[a] = self.origin[a];
    }

    fn restore_cursor(&mut self) {
        let a = usize::from(self.alt);
        self.set_charsets(self.saved[a]);
        self.origin[a] = self.saved_origin[a];
        // The saved attributes may have a background.
        self.watch = self.fid;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Body,
    Ground,
    Escape,
}

#[cfg(test)]
mod tests;
