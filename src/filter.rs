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

/// Where the filter's output goes: bytes for vt100, and (with `Filter::set_fidelity`) the
/// control functions vt100 0.18.1 lacks or gets wrong, for a stage that can read the screen
/// (`session::fidelity`). `Filter::feed` takes a closure: a sink that gets only bytes.
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

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Charset {
    #[default]
    Ascii,
    DecGraphics,
    /// British: ASCII with `#` shown as `£`.
    Uk,
}

/// The part of the cursor state that xterm's DECSC saves and that vt100 does not track.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Charsets {
    g0: Charset,
    g1: Charset,
    /// SO was the last shift: GL is G1.
    shifted: bool,
}

impl Charsets {
    fn gl(self) -> Charset {
        if self.shifted { self.g1 } else { self.g0 }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum CsiSub {
    #[default]
    Entry,
    Param,
    Inter,
    Ignore,
}

const MODE_47: u16 = 1;
const MODE_1049: u16 = 2;
const MODE_1047: u16 = 4;
/// IRM without `?`; DECAWM with it.
const MODE_4: u16 = 8;
const MODE_5: u16 = 16;
const MODE_6: u16 = 32;
const MODE_7: u16 = 64;
/// DECCOLM.
const MODE_3: u16 = 128;
/// Parameter bytes kept for rewriting an SGR (`CsiParams::raw`): two colon-form direct
/// colours with a colour space take 35.
const RAW_CAP: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Raw([u8; RAW_CAP]);

impl Default for Raw {
    fn default() -> Self {
        Raw([0; RAW_CAP])
    }
}

/// What vte's CSI states collect, reduced to what vt100 looks at for the sequences the filter
/// acts on. Mirrors vte's `Params` push/extend rules, including saturation at 65535 and the
/// 32-entry limit, so the values match what vt100 receives.
#[derive(Clone, Copy, Debug, Default)]
struct CsiParams {
    sub: CsiSub,
    /// vte's `Params::len`: parameters plus sub-parameters stored so far.
    len: u8,
    /// The number being accumulated (vte's `param`).
    cur: u16,
    /// Groups (`;`-separated parameters) closed so far.
    groups: u8,
    /// Values stored in the open group (it has sub-parameters if this is > 0).
    items: u8,
    /// First value of each of the first three groups: vt100's `canonicalize_params_*` and
    /// `CSI 8 t` look at no more.
    first: [u16; 3],
    /// First value of the open group, for the case where the 32-entry limit leaves it open.
    open_first: u16,
    ninter: u8,
    inter0: u8,
    /// Single-value groups seen among the modes the filter tracks (`MODE_*`).
    modes: u16,
    /// The parameter bytes as they came, for rewriting an SGR; `raw_len > RAW_CAP`: too long.
    raw: Raw,
    raw_len: u8,
}

impl CsiParams {
    /// One byte of the sequence's body (never the final byte), as vte's
    /// `advance_csi_{entry,param,intermediate,ignore}` would handle it.
    fn step(&mut self, b: u8) {
        if let Some(slot) = self.raw.0.get_mut(usize::from(self.raw_len)) {
            *slot = b;
        }
        self.raw_len = self.raw_len.saturating_add(1);
        match (self.sub, b) {
            (CsiSub::Ignore, _) => {}
            (CsiSub::Entry | CsiSub::Param, b'0'..=b'9') => {
                self.sub = CsiSub::Param;
                if self.len < VTE_MAX_PARAMS {
                    self.cur = self
                        .cur
                        .saturating_mul(10)
                        .saturating_add(u16::from(b - b'0'));
                }
            }
            (CsiSub::Entry | CsiSub::Param, b':') => {
                self.sub = CsiSub::Param;
                self.extend();
            }
            (CsiSub::Entry | CsiSub::Param, b';') => {
                self.sub = CsiSub::Param;
                self.push();
            }
            (CsiSub::Entry, 0x3c..=0x3f) => {
                self.collect(b);
                self.sub = CsiSub::Param;
            }
            (CsiSub::Param | CsiSub::Inter, 0x30..=0x3f) => self.sub = CsiSub::Ignore,
            (_, 0x20..=0x2f) => {
                self.collect(b);
                self.sub = CsiSub::Inter;
            }
            // C0 controls are executed without leaving the sequence; DEL and bytes >= 0x80
            // are ignored in every CSI state.
            _ => {}
        }
    }

    fn collect(&mut self, b: u8) {
        if self.ninter == 0 {
            self.inter0 = b;
        }
        // vte keeps 2 and sets its (unused by vt100) ignore flag for more.
        self.ninter = self.ninter.saturating_add(1);
    }

    fn record_first(&mut self) {
        if let Some(slot) = self.first.get_mut(usize::from(self.groups)) {
            *slot = self.cur;
        }
    }

    fn extend(&mut self) {
        if self.len == VTE_MAX_PARAMS {
            return;
        }
        if self.items == 0 {
            self.record_first();
            self.open_first = self.cur;
        }
        self.len += 1;
        self.items += 1;
        self.cur = 0;
    }

    fn push(&mut self) {
        if self.len == VTE_MAX_PARAMS {
            return;
        }
        if self.items == 0 {
            self.record_first();
            self.note_mode(self.cur);
        }
        self.len += 1;
        self.groups += 1;
        self.items = 0;
        self.cur = 0;
    }

    fn note_mode(&mut self, v: u16) {
        match v {
            47 => self.modes |= MODE_47,
            1049 => self.modes |= MODE_1049,
            1047 => self.modes |= MODE_1047,
            4 => self.modes |= MODE_4,
            5 => self.modes |= MODE_5,
            6 => self.modes |= MODE_6,
            7 => self.modes |= MODE_7,
            3 => self.modes |= MODE_3,
            _ => {}
        }
    }

    /// vte's `action_csi_dispatch`: store the last parameter unless full. Returns false if vte
    /// would not dispatch at all (the sequence ended in CSI ignore).
    fn finish(&mut self) -> bool {
        if self.sub == CsiSub::Ignore {
            return false;
        }
        if self.len == VTE_MAX_PARAMS {
            if self.items == 1 {
                self.note_mode(self.open_first);
            }
        } else {
            self.push();
        }
        true
    }

    /// First value of group `g` as vt100 sees it; `None` if the group is absent.
    fn group(&self, g: usize) -> Option<u16> {
        let present = usize::from(self.groups) + usize::from(self.items > 0);
        if g < present {
            self.first.get(g).copied()
        } else {
            None
        }
    }
}

/// Glyphs for 0x5f..=0x7e in DEC Special Graphics, as xterm maps them.
const DEC_GLYPHS: [&str; 32] = [
    "\u{a0}", "\u{25c6}", "\u{2592}", "\u{2409}", "\u{240c}", "\u{240d}", "\u{240a}", "\u{b0}",
    "\u{b1}", "\u{2424}", "\u{240b}", "\u{2518}", "\u{2510}", "\u{250c}", "\u{2514}", "\u{253c}",
    "\u{23ba}", "\u{23bb}", "\u{2500}", "\u{23bc}", "\u{23bd}", "\u{251c}", "\u{2524}", "\u{2534}",
    "\u{252c}", "\u{2502}", "\u{2264}", "\u{2265}", "\u{3c0}", "\u{2260}", "\u{a3}", "\u{b7}",
];
const POUND: &str = "\u{a3}";

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

    fn push_num(&mut self, mut v: u16) {
        let mut digits = [0u8; 5];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
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
    /// scrolling (see `session::fastpath`).
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

    /// Hands the control functions vt100 lacks to `Sink::op` (what `session::term` does);
    /// off by default, so a bare vt100 behind the filter sees what it handles unchanged.
    pub fn set_fidelity(&mut self, on: bool) {
        self.fid = on;
    }

    /// DECSCNM: the program asked for the whole screen in reverse video.
    pub fn reverse_video(&self) -> bool {
        self.reverse
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

    fn enter_string(&mut self, state: State) {
        self.state = state;
        self.str_len = 0;
        self.dropping = false;
    }

    /// Ground with GL = ASCII: nothing to rewrite, so skip to the next ESC/SO/SI. A complete
    /// `ESC [ <0x30..=0x3f>* final` whose final the filter does not act on (SGR, cursor
    /// motion: most of what programs send) is skipped here too, without going through the
    /// general state machine, for which it would need no tracking anyway. Whole 64-byte
    /// blocks of such text go at once (`plain_prefix`); the per-sequence loop below handles
    /// what stops a block and the last 63 bytes.
    fn ground_ascii(
        &mut self,
        input: &[u8],
        mut i: usize,
        run: &mut usize,
        out: &mut impl Sink,
    ) -> usize {
        loop {
            while let Some(block) = input.get(i..i + BLOCK) {
                let n = plain_prefix(block, self.fid, self.extras);
                i += n;
                if n < BLOCK {
                    break;
                }
            }
            let j = i + find_ground(&input[i..]);
            match input.get(j) {
                Some(&ESC) => {
                    if input.get(j + 1) == Some(&b'[') {
                        let p0 = (j + 2).min(input.len());
                        let k = p0 + skip_params(&input[p0..]);
                        if let Some(&fin) = input.get(k) {
                            if (0x40..=0x7e).contains(&fin)
                                && !acts_on(fin)
                                && !(fin == b'm'
                                    && self.fid
                                    && (self.extras || sgr_notable(&input[p0..k])))
                            {
                                i = k + 1;
                                continue;
                            }
                        }
                    }
                    self.enter_escape_at(input, j);
                }
                Some(&b'\t') => {
                    if self.fid {
                        self.tab(input, j, run, out);
                        return j + 1;
                    }
                    i = j + 1;
                    continue;
                }
                Some(&b) => self.shift(b),
                None => return j,
            }
            return j + 1;
        }
    }

    /// HT at `input[j]`, for the stage that knows the tab stops and the cursor.
    fn tab(&mut self, input: &[u8], j: usize, run: &mut usize, out: &mut impl Sink) {
        self.flush(input, run, j, out);
        out.op(Op::Tab, self.margins());
        *run = j + 1;
    }

    /// An escape sequence starts at `input[j]` (ground state).
    fn enter_escape_at(&mut self, input: &[u8], j: usize) {
        self.enter_escape();
        if self.fid {
            self.esc_printed = self.printed_before(input, j);
        }
    }

    /// Ground while LF must be watched (a background may be set: background colour erase)
    /// or text needs the screen (insert mode, autowrap off): controls and text one by one.
    fn ground_slow(
        &mut self,
        input: &[u8],
        mut i: usize,
        run: &mut usize,
        out: &mut impl Sink,
    ) -> usize {
        let text_op = self.insert || self.no_autowrap;
        while let Some(&b) = input.get(i) {
            match b {
                ESC => {
                    self.enter_escape_at(input, i);
                    return i + 1;
                }
                SO | SI => {
                    self.shift(b);
                    return i + 1;
                }
                b'\n' | 0x0b | 0x0c if self.watch => {
                    self.flush(input, run, i, out);
                    out.op(Op::Newline, self.margins());
                    *run = i + 1;
                    self.watch = out.background_set();
                    return i + 1;
                }
                b'\t' => {
                    self.tab(input, i, run, out);
                    return i + 1;
                }
                0x00..=0x1f | 0x7f => i += 1,
                _ => {
                    if let Some(g) = glyph(self.gl, b) {
                        self.flush(input, run, i, out);
                        if text_op {
                            out.op(self.text_op(g.as_bytes()), self.margins());
                        } else {
                            out.bytes(g.as_bytes());
                        }
                        i += 1;
                        *run = i;
                        continue;
                    }
                    if !text_op {
                        i += 1;
                        continue;
                    }
                    let k = i + input[i..]
                        .iter()
                        .position(|&c| c < 0x20 || c == 0x7f || glyph(self.gl, c).is_some())
                        .unwrap_or(input.len() - i);
                    self.flush(input, run, i, out);
                    out.op(self.text_op(&input[i..k]), self.margins());
                    i = k;
                    *run = k;
                }
            }
        }
        i
    }

    fn text_op<'a>(&self, bytes: &'a [u8]) -> Op<'a> {
        Op::Text {
            bytes,
            insert: self.insert,
            autowrap: !self.no_autowrap,
        }
    }

    /// Ground with GL = DEC graphics or UK: translate printable bytes. Bytes >= 0x80 are UTF-8
    /// text to vte 0.15 (never C1 controls that could start a sequence) and pass unchanged;
    /// an ASCII byte is always a character of its own, even after a broken UTF-8 prefix.
    fn ground_translate(
        &mut self,
        input: &[u8],
        mut i: usize,
        run: &mut usize,
        out: &mut impl Sink,
    ) -> usize {
        while i < input.len() {
            let b = input[i];
            let glyph: &[u8] = match (self.gl, b) {
                (_, ESC) => {
                    self.enter_escape_at(input, i);
                    return i + 1;
                }
                (_, SO | SI) => {
                    self.shift(b);
                    return i + 1;
                }
                (_, b'\t') if self.fid => {
                    self.tab(input, i, run, out);
                    return i + 1;
                }
                (Charset::DecGraphics, 0x5f..=0x7e) => DEC_GLYPHS[usize::from(b - 0x5f)].as_bytes(),
                (Charset::Uk, b'#') => POUND.as_bytes(),
                // Unchanged, but copied while the buffer is in use so the output is not cut
                // into one call per byte.
                _ if self.buf.len > 0 => std::slice::from_ref(&input[i]),
                _ => {
                    i += 1;
                    continue;
                }
            };
            if *run < i {
                self.flush(input, run, i, out);
            }
            if self.buf.room() < glyph.len() {
                self.buf.flush(out);
            }
            self.buf.push(glyph);
            i += 1;
            *run = i;
        }
        i
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

    /// LF for IND/NEL: an op while a background may be set.
    fn newline(&mut self, out: &mut impl Sink) {
        if self.watch {
            out.op(Op::Newline, self.margins());
            self.watch = out.background_set();
        } else {
            out.bytes(b"\n");
        }
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

    fn escape(&mut self, input: &[u8], i: usize, run: &mut usize, out: &mut impl Sink) {
        let b = input[i];
        match b {
            CAN | SUB => self.state = State::Ground,
            ESC => {}
            0x00..=0x1f => self.shift(b),
            0x20..=0x2f => {
                self.esc_inter0 = b;
                self.esc_ninter = 1;
                self.state = State::EscInter;
            }
            b'P' => self.enter_string(State::DcsEntry),
            b'X' | b'^' | b'_' => self.enter_string(State::SosPmApc),
            b']' => self.enter_string(State::Osc),
            b'[' => {
                self.state = State::Csi;
                self.csi = CsiParams::default();
                self.csi_from = i + 1;
            }
            0x30..=0x7e => {
                self.state = State::Ground;
                match b {
                    b'7' => self.save_cursor(),
                    b'8' => self.restore_cursor(),
                    // RIS: vt100 builds a new Screen (main screen, nothing saved).
                    b'c' => {
                        self.saved = Default::default();
                        self.alt = false;
                        self.region = [None; 2];
                        self.origin = [false; 2];
                        self.saved_origin = [false; 2];
                        self.set_charsets(Charsets::default());
                        self.insert = false;
                        self.no_autowrap = false;
                        self.reverse = false;
                        self.watch = false;
                        self.extras = false;
                        if self.fid {
                            self.pass_through(input, i, run, out);
                            out.op(Op::ResetTabStops, self.margins());
                        }
                    }
                    // IND, NEL (vt100 ignores both), HTS.
                    b'D' | b'E' | b'H' if self.fid => {
                        self.withhold(input, i, run, out);
                        match b {
                            b'D' => self.newline(out),
                            b'E' => {
                                out.bytes(b"\r");
                                self.newline(out);
                            }
                            _ => out.op(Op::SetTabStop, self.margins()),
                        }
                    }
                    _ => {}
                }
            }
            // DEL and bytes >= 0x80 are ignored in the escape state.
            _ => {}
        }
    }

    fn esc_inter(&mut self, input: &[u8], i: usize, run: &mut usize, out: &mut impl Sink) {
        let b = input[i];
        match b {
            CAN | SUB => self.state = State::Ground,
            ESC => self.enter_escape(),
            0x00..=0x1f => self.shift(b),
            0x20..=0x2f => self.esc_ninter = self.esc_ninter.saturating_add(1),
            0x30..=0x7e => {
                self.state = State::Ground;
                // A second intermediate (`ESC ( % 5`) names some other 94-character set.
                let set = match (self.esc_ninter, b) {
                    (1, b'0') => Charset::DecGraphics,
                    (1, b'A') => Charset::Uk,
                    _ => Charset::Ascii,
                };
                match self.esc_inter0 {
                    b'(' => self.set_charsets(Charsets { g0: set, ..self.cs }),
                    b')' => self.set_charsets(Charsets { g1: set, ..self.cs }),
                    // DECALN: also resets the margins.
                    b'#' if self.esc_ninter == 1 && b == b'8' && self.fid => {
                        self.withhold(input, i, run, out);
                        self.region[usize::from(self.alt)] = None;
                        out.op(Op::Align, self.margins());
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn replay_csi(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.csi.step(b);
        }
    }

    fn csi(&mut self, input: &[u8], i: usize, run: &mut usize, out: &mut impl Sink) -> usize {
        // Parameter and intermediate bytes, DEL and bytes >= 0x80 keep vte in its CSI states.
        let j = i + input[i..]
            .iter()
            .position(|&b| !(0x20..=0x3f).contains(&b) && b < 0x7f)
            .unwrap_or(input.len() - i);
        let Some(&b) = input.get(j) else {
            return j;
        };
        match b {
            0x40..=0x7e => {
                self.state = State::Ground;
                if acts_on(b) || (b == b'm' && self.fid) {
                    self.replay_csi(&input[self.csi_from.min(j)..j]);
                    self.csi_from = j;
                    if self.csi.finish() {
                        self.csi_dispatch(input, j, run, out);
                    }
                }
            }
            CAN | SUB => self.state = State::Ground,
            ESC => self.enter_escape(),
            _ => self.shift(b),
        }
        j + 1
    }

    /// Acts on a CSI vte is about to dispatch, whose final byte is `input[j]`.
    fn csi_dispatch(&mut self, input: &[u8], j: usize, run: &mut usize, out: &mut impl Sink) {
        let p = self.csi;
        let fin = input[j];
        match (p.ninter, p.inter0, fin) {
            // REP: vt100 prints the last character Ps times (0 means 1); past one screen
            // width every repetition only overwrites what the previous row of them showed.
            // With fidelity, the next stage bounds it by what changes the screen, and it
            // repeats only a character printed just before, as xterm and tmux do.
            (0, _, b'b') if self.fid => {
                self.withhold(input, j, run, out);
                if self.esc_printed {
                    let n = p.group(0).unwrap_or(0).max(1);
                    out.op(Op::Repeat(n), self.margins());
                }
            }
            (0, _, b'b') => {
                let n = p.group(0).unwrap_or(0);
                let cols = self.cols();
                if n > cols {
                    self.rewrite(input, j, run, out, &[cols], b'b');
                }
            }
            (0, _, b'@' | b'L' | b'M' | b'P' | b'S' | b'T' | b'I' | b'Z' | b'g') if self.fid => {
                self.withhold(input, j, run, out);
                let v = p.group(0).unwrap_or(0);
                let op = match fin {
                    b'I' => Op::TabForward(v.max(1)),
                    b'Z' => Op::TabBack(v.max(1)),
                    b'g' => Op::ClearTabStops(v),
                    _ => Op::Blank(fin, v.max(1)),
                };
                out.op(op, self.margins());
            }
            // SCOSC / SCORC: only without parameters (`CSI > 1 u` and the like are other
            // protocols' sequences).
            (0, _, b's' | b'u') if self.fid && p.raw_len == 0 => {
                self.withhold(input, j, run, out);
                if fin == b's' {
                    self.save_cursor();
                    out.bytes(b"\x1b7");
                } else {
                    self.restore_cursor();
                    out.bytes(b"\x1b8");
                }
            }
            (0, _, b'm') => self.sgr(input, j, run, out),
            // IRM: vt100 ignores it; text then goes to the next stage.
            (0, _, b'h' | b'l') if p.modes & MODE_4 != 0 && self.fid => {
                self.insert = fin == b'h';
            }
            // Window resize request, handed to `Callbacks::resize` unchecked: keep it within
            // the sizes memmux supports; 0 ("use the display size" in xterm) becomes the
            // current size. An absent parameter already means the current size to vt100.
            (0, _, b't') if p.group(0) == Some(8) => {
                let fix = |v: u16, cur: u16| if v == 0 { cur } else { v.min(MAX_DIM) };
                let (rows, cols) = (p.group(1), p.group(2));
                let new_rows = rows.map(|v| fix(v, self.rows()));
                let new_cols = cols.map(|v| fix(v, self.cols()));
                if new_rows != rows || new_cols != cols {
                    let mut nums = [8, 0, 0];
                    let mut n = 1;
                    for v in [new_rows, new_cols].into_iter().flatten() {
                        nums[n] = v;
                        n += 1;
                    }
                    self.rewrite(input, j, run, out, &nums[..n], b't');
                }
            }
            (_, b'?', b'h' | b'l') => self.dec_modes(input, j, run, out),
            // DECSTR (soft reset) designates ASCII into G0..G3 and selects G0, turns insert
            // mode off, and (xterm) sets the tab stops back.
            (1, b'!', b'p') => {
                self.set_charsets(Charsets::default());
                if self.fid {
                    self.insert = false;
                    self.pass_through(input, j, run, out);
                    out.op(Op::ResetTabStops, self.margins());
                }
            }
            // DECSTBM, as vt100's `canonicalize_params_decstbm` + `Grid::set_scroll_region`:
            // 0 or absent means 1 / the last row; `top >= bottom` resets to the whole screen.
            (0, _, b'r') => {
                let rows = self.rows();
                let top = p.group(0).filter(|&v| v != 0).unwrap_or(1) - 1;
                let bottom = (p.group(1).filter(|&v| v != 0).unwrap_or(rows) - 1).min(rows - 1);
                self.region[usize::from(self.alt)] =
                    (top < bottom && (top, bottom) != (0, rows - 1)).then_some((top, bottom));
                // vt100 homes the cursor to the region's top row; xterm to the top-left
                // corner (the region's, in origin mode), which `CSI H` does.
                if self.fid {
                    self.pass_through(input, j, run, out);
                    out.bytes(b"\x1b[H");
                }
            }
            _ => {}
        }
    }

    /// `CSI ? Pm h/l`: the modes the filter tracks.
    fn dec_modes(&mut self, input: &[u8], j: usize, run: &mut usize, out: &mut impl Sink) {
        let p = self.csi;
        let set = input[j] == b'h';
        let a = usize::from(self.alt);
        if self.fid {
            if p.modes & MODE_7 != 0 {
                self.no_autowrap = !set;
            }
            if p.modes & MODE_5 != 0 {
                self.reverse = set;
            }
            // Alone, 47 and 1047 go to the next stage: vt100 gives the alternate screen a
            // cursor of its own and does not know 1047.
            let alt_mode = p.modes & (MODE_47 | MODE_1047);
            if alt_mode != 0 && p.len == 1 {
                self.withhold(input, j, run, out);
                self.alt = set;
                let clear = alt_mode == MODE_1047;
                out.op(Op::AltScreen { enter: set, clear }, self.margins());
                return;
            }
        }
        if p.modes & MODE_6 != 0 {
            self.origin[a] = set;
        }
        // DECCOLM (80/132 columns): the width stays the pane's, but as on a VT100 (and in
        // xterm when it honours the mode, and tmux) the screen is erased, the margins reset
        // and the cursor homed; vttest's menu 1 relies on it. vt100 ignores the mode.
        if self.fid && p.modes & MODE_3 != 0 {
            self.pass_through(input, j, run, out);
            self.region[a] = None;
            out.bytes(b"\x1b[r\x1b[H\x1b[2J");
        }
        if set {
            if p.modes & MODE_1049 != 0 {
                // DECSC on the main screen, then a cleared alternate screen (vt100's
                // `Grid::clear` also resets its scroll region and origin mode).
                self.save_cursor();
                self.alt = true;
                self.saved[1] = Charsets::default();
                self.region[1] = None;
                self.origin[1] = false;
                self.saved_origin[1] = false;
            }
            if p.modes & MODE_47 != 0 {
                self.alt = true;
            }
        } else {
            if p.modes & MODE_47 != 0 {
                self.alt = false;
            }
            if p.modes & MODE_1049 != 0 {
                self.alt = false;
                self.restore_cursor();
            }
        }
    }

    /// SGR with fidelity: notes a background (for background colour erase) and rewrites
    /// what vt100 0.18.1 misreads: underline styles `4:n` and `21` (double underline)
    /// become underline (`4:0` none), colon direct colour with a colour space
    /// (`38:2::r:g:b`) loses the space, and underline colour (`58`) is dropped, as vt100
    /// would otherwise read its `5;n` as other attributes.
    fn sgr(&mut self, input: &[u8], j: usize, run: &mut usize, out: &mut impl Sink) {
        let p = self.csi;
        let len = usize::from(p.raw_len);
        let Some(raw) = p.raw.0.get(..len) else {
            // Too long to rewrite: pass it on; it may set a background.
            self.watch = true;
            return;
        };
        let mut new = [0u8; RAW_CAP + 4];
        let mut n = 0;
        let mut changed = false;
        let mut push = |bytes: &[u8], n: &mut usize| {
            for &b in bytes {
                if let Some(slot) = new.get_mut(*n) {
                    *slot = b;
                    *n += 1;
                }
            }
        };
        let mut groups = raw.split(|&b| b == b';').peekable();
        while let Some(group) = groups.next() {
            let mut items = group.split(|&b| b == b':').map(parse_num);
            let first = items.next().flatten().unwrap_or(0);
            let rest: [Option<u16>; 5] = std::array::from_fn(|_| items.next().flatten());
            let subs = group.iter().filter(|&&b| b == b':').count();
            if matches!(first, 40..=49 | 100..=107) {
                self.watch = true;
            }
            let sep = if n > 0 { &b";"[..] } else { &b""[..] };
            match (first, subs) {
                (4, 1..) => {
                    push(sep, &mut n);
                    push(if rest[0] == Some(0) { b"24" } else { b"4" }, &mut n);
                    changed = true;
                }
                (21, 0) => {
                    push(sep, &mut n);
                    push(b"4", &mut n);
                    changed = true;
                }
                (38 | 48, 5) if rest[0] == Some(2) => {
                    push(sep, &mut n);
                    push(if first == 38 { b"38;2" } else { b"48;2" }, &mut n);
                    for v in &rest[2..] {
                        push(b";", &mut n);
                        let mut digits = [0u8; 5];
                        push(fmt_num(v.unwrap_or(0), &mut digits), &mut n);
                    }
                    changed = true;
                }
                (38 | 48, 0) => {
                    // Semicolon form: the `5;n` or `2;r;g;b` that follow are colour values,
                    // not attributes (`48;2;21;..` is not double underline).
                    push(sep, &mut n);
                    push(group, &mut n);
                    let more = match groups.peek().and_then(|g| parse_num(g)) {
                        Some(5) => 2,
                        Some(2) => 4,
                        _ => 0,
                    };
                    for _ in 0..more {
                        if let Some(g) = groups.next() {
                            push(b";", &mut n);
                            push(g, &mut n);
                        }
                    }
                }
                (58, 0) => {
                    // Semicolon form: `5;n` or `2;r;g;b` follow, which vt100 would read
                    // as attributes of their own.
                    let kind = groups.peek().and_then(|g| parse_num(g));
                    let more = match kind {
                        Some(5) => 2,
                        Some(2) => 4,
                        _ => 0,
                    };
                    for _ in 0..more {
                        groups.next();
                    }
                    changed = true;
                }
                (58 | 59, _) => changed = true,
                _ => {
                    push(sep, &mut n);
                    push(group, &mut n);
                }
            }
        }
        let extras = self.extras || sgr_has_extras(raw);
        if !changed && !extras {
            return;
        }
        self.withhold(input, j, run, out);
        let params = if changed {
            new.get(..n).unwrap_or_default()
        } else {
            raw
        };
        if extras {
            self.extras = true;
            let mut sgr = [0u8; RAW_CAP + 7];
            let len = params.len() + 3;
            if let Some(dst) = sgr.get_mut(..len) {
                dst[..2].copy_from_slice(b"\x1b[");
                dst[2..len - 1].copy_from_slice(params);
                dst[len - 1] = b'm';
            }
            // An SGR left with no parameters by the rewrite sets nothing: none for vt100.
            let sgr = if changed && n == 0 {
                &[][..]
            } else {
                sgr.get(..len).unwrap_or_default()
            };
            out.op(Op::Sgr { sgr, params: raw }, self.margins());
        } else if n > 0 {
            out.bytes(b"\x1b[");
            out.bytes(params);
            out.bytes(b"m");
        }
    }

    /// Replaces the CSI whose final byte is `input[j]` with `ESC [ nums final`. Everything
    /// before the final byte has been or will be passed on; the ESC makes vte drop it.
    fn rewrite(
        &mut self,
        input: &[u8],
        j: usize,
        run: &mut usize,
        out: &mut impl Sink,
        nums: &[u16],
        fin: u8,
    ) {
        self.flush(input, run, j, out);
        self.buf.push(b"\x1b[");
        for (k, &v) in nums.iter().enumerate() {
            if k > 0 {
                self.buf.push(b";");
            }
            self.buf.push_num(v);
        }
        self.buf.push(&[fin]);
        self.buf.flush(out);
        *run = j + 1;
    }

    /// OSC, DCS and SOS/PM/APC: count the body, cap it, drop the rest of a capped string.
    fn string(
        &mut self,
        input: &[u8],
        mut i: usize,
        run: &mut usize,
        out: &mut impl Sink,
    ) -> usize {
        let cap = self.cap();
        while i < input.len() {
            if matches!(
                self.state,
                State::Osc | State::DcsPass | State::DcsIgnore | State::SosPmApc
            ) {
                // Bulk body: only C0 controls (and 0x9c in DCS passthrough) can end it.
                let avail = input.len() - i;
                let limit = if self.dropping {
                    avail
                } else {
                    avail.min(cap - self.str_len)
                };
                let k = find_string_end(&input[i..i + limit], self.state == State::DcsPass);
                if !self.dropping {
                    self.str_len += k;
                }
                i += k;
                if i == input.len() {
                    break;
                }
            }
            let b = input[i];
            match self.string_byte(b) {
                Step::Body => {
                    if !self.dropping {
                        if self.str_len < cap {
                            self.str_len += 1;
                        } else {
                            self.flush(input, run, i, out);
                            out.bytes(if self.state == State::Osc {
                                CAP_OSC
                            } else {
                                CAP_OTHER
                            });
                            self.dropping = true;
                        }
                    }
                    i += 1;
                }
                step => {
                    let ground = step == Step::Ground;
                    if self.dropping {
                        // The terminator is dropped with the string; vte is already in ground.
                        self.dropping = false;
                        *run = i + 1;
                        self.state = if ground {
                            State::Ground
                        } else {
                            State::DropEsc
                        };
                    } else if ground {
                        self.state = State::Ground;
                    } else {
                        self.enter_escape();
                    }
                    return i + 1;
                }
            }
        }
        if self.dropping {
            *run = i;
        }
        i
    }

    /// vte's handling of byte `b` in the string states: updates the DCS sub-state and says
    /// whether the string goes on or ends.
    fn string_byte(&mut self, b: u8) -> Step {
        match (self.state, b) {
            (_, CAN | SUB) => return Step::Ground,
            (_, ESC) => return Step::Escape,
            (State::Osc, BEL) | (State::DcsPass, ST_C1) => return Step::Ground,
            (State::DcsEntry, 0x30..=0x3f) => self.state = State::DcsParam,
            (State::DcsParam, 0x3c..=0x3f) | (State::DcsInter, 0x30..=0x3f) => {
                self.state = State::DcsIgnore
            }
            (State::DcsEntry | State::DcsParam, 0x20..=0x2f) => self.state = State::DcsInter,
            (State::DcsEntry | State::DcsParam | State::DcsInter, 0x40..=0x7e) => {
                self.state = State::DcsPass
            }
            _ => {}
        }
        Step::Body
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Body,
    Ground,
    Escape,
}

/// SWAR over 16 bytes at a time: SGRs and the words between them are mostly shorter than
/// 16 bytes, so one step usually finds the end, and the branch is predictable.
type Word = u128;
const STEP: usize = 16;
const LO: Word = Word::from_le_bytes([0x01; STEP]);
const HI: Word = Word::from_le_bytes([0x80; STEP]);

/// High bit set in each byte of `v` that is zero. Borrows can also flag bytes above a zero
/// byte, never below one, so the lowest flagged byte is always exact.
#[inline(always)]
fn zero_bytes(v: Word) -> Word {
    v.wrapping_sub(LO) & !v & HI
}

/// `STEP` bytes starting at `s[i]` as a little-endian word (so byte order = bit order).
#[inline(always)]
fn word(s: &[u8], i: usize) -> Word {
    let mut w = [0u8; STEP];
    w.copy_from_slice(&s[i..i + STEP]);
    Word::from_le_bytes(w)
}

/// Index of the first ESC, SO, SI or HT in `s`, or `s.len()`: the only bytes that change
/// what the filter does in ground with an ASCII GL.
fn find_ground(s: &[u8]) -> usize {
    let mut i = 0;
    while i + STEP <= s.len() {
        let w = word(s, i);
        // SO and SI differ only in bit 0.
        let m = zero_bytes(w ^ (LO * Word::from(ESC)))
            | zero_bytes((w | LO) ^ (LO * Word::from(SI)))
            | zero_bytes(w ^ (LO * Word::from(HT)));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += STEP;
    }
    i + s[i..]
        .iter()
        .position(|&b| b == ESC || b | 1 == SI || b == HT)
        .unwrap_or(s.len() - i)
}

/// Bytes per `plain_prefix` block: one bit per byte in a `u64` mask.
const BLOCK: usize = 64;

/// Bit k of a mask describes byte k of a block.
#[derive(Clone, Copy)]
enum Class {
    Esc,
    /// SO, SI or HT.
    Shift,
    Bracket,
    /// CSI parameter bytes, 0x30..=0x3f.
    Param,
}

/// How many bytes at the start of `block` (`BLOCK` bytes of ground, GL = ASCII) are text and
/// complete CSIs the filter does not act on; `BLOCK` if all of them. The masks are computed
/// for the whole block at once, and every CSI's final byte is found at once with an
/// addition: adding a bit at the first parameter position carries through the run of
/// parameter bytes and stops at the first byte after it. This keeps each sequence from
/// waiting on the search for the previous one, which is what the per-sequence loop costs.
/// With `fid` (fidelity), SGRs `sgr_notable` picks out stop the block too; with `all_sgr`
/// every SGR does.
fn plain_prefix(block: &[u8], fid: bool, all_sgr: bool) -> usize {
    let esc = mask(block, Class::Esc);
    let shift = mask(block, Class::Shift);
    if esc == 0 {
        return if shift == 0 {
            BLOCK
        } else {
            shift.trailing_zeros() as usize
        };
    }
    let param = mask(block, Class::Param);
    // `ESC [` with the first parameter position still inside the block.
    let csi = esc & (mask(block, Class::Bracket) >> 1) & (u64::MAX >> 2);
    let (sum, past_end) = (csi << 2).overflowing_add(param);
    let finals = sum & !param;
    // Everything else that needs the general path: other escapes, SO/SI.
    let mut stop = (esc & !csi) | shift;
    // The start of the CSI ending at or after byte `k`: the last CSI start below `k`.
    let start_before = |k: u32| {
        let below = csi & ((1u64 << k) - 1);
        below.checked_ilog2().map_or(1, |e| 1u64 << e)
    };
    if past_end {
        // The last CSI's parameters run to the end of the block.
        stop |= start_before(63);
    }
    let mut f = finals;
    while f != 0 {
        let k = f.trailing_zeros();
        let fin = block[k as usize];
        if !(0x40..=0x7e).contains(&fin) || acts_on(fin) {
            stop |= start_before(k);
            break;
        }
        if fid && fin == b'm' {
            let start = start_before(k);
            if all_sgr || sgr_in_block_notable(block, start, k) {
                stop |= start;
                break;
            }
        }
        f &= f - 1;
    }
    if stop == 0 {
        BLOCK
    } else {
        stop.trailing_zeros() as usize
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn mask(block: &[u8], class: Class) -> u64 {
    // SAFETY: `sse2_mask` only requires SSE2, which the cfg above guarantees is enabled for
    // the whole build (it is part of the x86_64 baseline).
    unsafe { sse2_mask(block, class) }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn sse2_mask(block: &[u8], class: Class) -> u64 {
    use std::arch::x86_64::{
        _mm_and_si128, _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };
    let half = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&block[i..i + 8]);
        i64::from_le_bytes(w)
    };
    let splat = |b: u8| _mm_set1_epi8(b as i8);
    let mut m = 0;
    for q in 0..BLOCK / 16 {
        let v = _mm_set_epi64x(half(q * 16 + 8), half(q * 16));
        let hits = match class {
            Class::Esc => _mm_cmpeq_epi8(v, splat(ESC)),
            Class::Shift => _mm_or_si128(
                _mm_cmpeq_epi8(_mm_or_si128(v, splat(1)), splat(SI)),
                _mm_cmpeq_epi8(v, splat(HT)),
            ),
            Class::Bracket => _mm_cmpeq_epi8(v, splat(b'[')),
            Class::Param => _mm_cmpeq_epi8(_mm_and_si128(v, splat(0xf0)), splat(0x30)),
        };
        m |= u64::from(_mm_movemask_epi8(hits) as u16) << (16 * q);
    }
    m
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn mask(block: &[u8], class: Class) -> u64 {
    let mut m = 0;
    for (k, &b) in block.iter().enumerate().take(BLOCK) {
        let hit = match class {
            Class::Esc => b == ESC,
            Class::Shift => b | 1 == SI || b == HT,
            Class::Bracket => b == b'[',
            Class::Param => b & 0xf0 == 0x30,
        };
        m |= u64::from(hit) << k;
    }
    m
}

/// CSI finals the filter may act on: REP, window ops, mode set/reset, DECSTR, DECSTBM; with
/// fidelity also ICH, IL, DL, DCH, SU, SD (background colour erase), CHT, CBT, TBC, SCOSC,
/// SCORC.
fn acts_on(fin: u8) -> bool {
    matches!(
        fin,
        b'b' | b't'
            | b'h'
            | b'l'
            | b'p'
            | b'r'
            | b'@'
            | b'L'
            | b'M'
            | b'P'
            | b'S'
            | b'T'
            | b'I'
            | b'Z'
            | b'g'
            | b's'
            | b'u'
    )
}

/// A CSI parameter as vte reads it: digits, saturating at 65535; empty is `None`.
fn parse_num(s: &[u8]) -> Option<u16> {
    if s.is_empty() {
        return None;
    }
    Some(s.iter().fold(0u16, |v, &b| {
        v.saturating_mul(10)
            .saturating_add(u16::from(b.wrapping_sub(b'0').min(9)))
    }))
}

fn fmt_num(mut v: u16, digits: &mut [u8; 5]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &digits[i..]
}

/// `sgr_notable` for the CSI starting at bit `start` and ending at byte `k` of a block; out
/// of line, so `plain_prefix` stays small enough to inline.
#[inline(never)]
fn sgr_in_block_notable(block: &[u8], start: u64, k: u32) -> bool {
    let p0 = start.trailing_zeros() as usize + 2;
    sgr_notable(block.get(p0..k as usize).unwrap_or_default())
}

/// SGR parameters the filter must look at with fidelity: a group `4x` (a background, 48),
/// `10x` (backgrounds 100..107), `21`, any colon (`4:n`, colon colours), and the attributes
/// vt100 cannot store: strikethrough, blink, hidden, overline, underline colour (`9 5 6 8
/// 53 58` and their resets `29 25 28 55 59`). The values of `38;5;n` and `38;2;r;g;b` are
/// skipped (a `5` there is no blink); those of `48;...` need not be, a background is looked
/// at anyway.
fn sgr_notable(params: &[u8]) -> bool {
    let mut groups = params.split(|&b| b == b';');
    while let Some(g) = groups.next() {
        match g {
            [b'4', _] | b"21" | [b'1', b'0', _] => return true,
            b"9" | b"5" | b"6" | b"8" | b"53" | b"58" | b"29" | b"25" | b"28" | b"55" | b"59" => {
                return true;
            }
            b"38" => match groups.next() {
                Some(b"5") => {
                    groups.next();
                }
                Some(b"2") => {
                    groups.nth(2);
                }
                Some(v) if v.contains(&b':') => return true,
                _ => {}
            },
            _ if g.contains(&b':') => return true,
            _ => {}
        }
    }
    false
}

/// Whether an SGR's parameters set or reset an attribute vt100 cannot store (see
/// `sgr_notable`), colour values skipped.
fn sgr_has_extras(params: &[u8]) -> bool {
    let mut groups = params.split(|&b| b == b';');
    while let Some(g) = groups.next() {
        let first = g.split(|&b| b == b':').next().and_then(parse_num);
        match first {
            Some(9 | 5 | 6 | 8 | 53 | 58 | 29 | 25 | 28 | 55 | 59) => return true,
            Some(38 | 48) if !g.contains(&b':') => match groups.next().and_then(parse_num) {
                Some(5) => {
                    groups.next();
                }
                Some(2) => {
                    groups.nth(2);
                }
                _ => {}
            },
            _ => {}
        }
    }
    false
}

/// The glyph `b` stands for in character set `gl`, if it is not itself.
fn glyph(gl: Charset, b: u8) -> Option<&'static str> {
    match (gl, b) {
        (Charset::DecGraphics, 0x5f..=0x7e) => Some(DEC_GLYPHS[usize::from(b - 0x5f)]),
        (Charset::Uk, b'#') => Some(POUND),
        _ => None,
    }
}

/// Length of the prefix of `s` made of CSI parameter bytes (0x30..=0x3f: digits, `:;<=>?`).
fn skip_params(s: &[u8]) -> usize {
    let mut i = 0;
    while i + STEP <= s.len() {
        // Non-zero bytes mark bytes outside 0x30..=0x3f.
        let x = (word(s, i) & (LO * 0xf0)) ^ (LO * 0x30);
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += STEP;
    }
    i + s[i..]
        .iter()
        .position(|&b| b & 0xf0 != 0x30)
        .unwrap_or(s.len() - i)
}

/// Index of the first C0 control (or 0x9c if `c1_st`) in `s`, or `s.len()`: candidates for
/// ending a string body.
fn find_string_end(s: &[u8], c1_st: bool) -> usize {
    let mut i = 0;
    while i + STEP <= s.len() {
        let w = word(s, i);
        // Bytes below 0x20: same borrow argument as `zero_bytes`.
        let mut m = w.wrapping_sub(LO * 0x20) & !w & HI;
        if c1_st {
            m |= zero_bytes(w ^ (LO * Word::from(ST_C1)));
        }
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += STEP;
    }
    i + s[i..]
        .iter()
        .position(|&b| b < 0x20 || (c1_st && b == ST_C1))
        .unwrap_or(s.len() - i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output of one filter over `chunks`, fed in order.
    fn feed_chunks(f: &mut Filter, chunks: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for c in chunks {
            f.feed(c, &mut |s| v.extend_from_slice(s));
        }
        v
    }

    fn filter_with(setup: &impl Fn(&mut Filter)) -> Filter {
        let mut f = Filter::new();
        setup(&mut f);
        f
    }

    fn show(b: &[u8]) -> String {
        b.escape_ascii().to_string()
    }

    /// Filters `input` whole, split in two at every position, and one byte at a time; all
    /// must give exactly `expected`.
    fn check_with(setup: impl Fn(&mut Filter), input: &[u8], expected: &[u8]) {
        let whole = feed_chunks(&mut filter_with(&setup), &[input]);
        assert_eq!(show(&whole), show(expected), "input {}", show(input));
        for i in 0..=input.len() {
            let split = feed_chunks(&mut filter_with(&setup), &[&input[..i], &input[i..]]);
            assert_eq!(show(&split), show(&whole), "split at {i}: {}", show(input));
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let one = feed_chunks(&mut filter_with(&setup), &bytes);
        assert_eq!(show(&one), show(&whole), "byte at a time: {}", show(input));
    }

    fn check(input: &[u8], expected: &[u8]) {
        check_with(|_| {}, input, expected);
    }

    fn cap8(f: &mut Filter) {
        f.test_cap = 8;
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    const HLINE: &[u8] = "\u{2500}".as_bytes();

    // --- pass-through -------------------------------------------------------------------

    #[test]
    fn plain_text_and_sgr_pass_as_one_borrowed_slice() {
        let input =
            b"hello \x1b[38;5;196mworld\x1b[0m\r\n\t\x07caf\xc3\xa9 \x9b\x90\x9c\x18\x1a end";
        let mut f = Filter::new();
        let mut calls = Vec::new();
        f.feed(input, &mut |s| calls.push((s.as_ptr(), s.len())));
        assert_eq!(calls, vec![(input.as_ptr(), input.len())]);
        check(input, input);
    }

    #[test]
    fn large_input_is_handed_on_in_consecutive_borrowed_windows() {
        let input: Vec<u8> = b"\x1b[1mab cd\r\n"
            .iter()
            .copied()
            .cycle()
            .take(100_000)
            .collect();
        let mut f = Filter::new();
        let mut next = input.as_ptr();
        let mut total = 0;
        f.feed(&input, &mut |s| {
            assert_eq!(s.as_ptr(), next);
            assert!(s.len() <= WINDOW);
            next = s.as_ptr_range().end;
            total += s.len();
        });
        assert_eq!(total, input.len());
    }

    #[test]
    fn strings_under_the_cap_pass_unchanged() {
        let input = b"\x1b]0;title\x07\x1b]2;t\x1b\\\x1bPq#0;1\x9c\x1b_apc\x1b\\\x1b^pm\x1b\\x";
        check(input, input);
        // Exactly the cap: still intact.
        let input = b"\x1b]0;abcdef\x07x";
        check_with(cap8, input, input);
    }

    // --- strings capped -------------------------------------------------------------------

    #[test]
    fn osc_over_cap_is_cut_with_two_semicolons_and_can_then_dropped_to_bel() {
        check_with(
            cap8,
            b"\x1b]0;abcdefghijk\x07hello",
            b"\x1b]0;abcdef;;\x18hello",
        );
    }

    #[test]
    fn osc_over_cap_dropped_to_esc_backslash() {
        check_with(
            cap8,
            b"\x1b]0;abcdefghijk\x1b\\hello",
            b"\x1b]0;abcdef;;\x18hello",
        );
    }

    #[test]
    fn osc_over_cap_ended_by_another_sequence_keeps_that_sequence() {
        // vte ends an OSC at any ESC; the ESC [ 1 m that follows must reach the parser.
        check_with(
            cap8,
            b"\x1b]0;abcdefghijk\x1b[1mhello",
            b"\x1b]0;abcdef;;\x18\x1b[1mhello",
        );
        // ESC ESC: the second ESC is just another ESC in the escape state.
        check_with(
            cap8,
            b"\x1b]0;abcdefghijk\x1b\x1b\\x",
            b"\x1b]0;abcdef;;\x18\x1b\x1b\\x",
        );
    }

    #[test]
    fn osc_drop_ignores_c1_st_and_counts_c0_as_body() {
        // vte does not end an OSC at 0x9c, and ignores C0 controls other than BEL/CAN/SUB/ESC.
        check_with(
            cap8,
            b"\x1b]0;ab\r\ncdef\x9cghi\x07x",
            b"\x1b]0;ab\r\ncd;;\x18x",
        );
    }

    #[test]
    fn can_or_sub_end_a_capped_string_and_are_dropped() {
        check_with(cap8, b"\x1b]0;abcdefgh\x18x", b"\x1b]0;abcdef;;\x18x");
        check_with(cap8, b"\x1b_abcdefghij\x1ax", b"\x1b_abcdefgh\x18x");
        // Under the cap, CAN passes: vte aborts the string itself.
        check_with(cap8, b"\x1b_abc\x18x", b"\x1b_abc\x18x");
    }

    #[test]
    fn dcs_capped_in_passthrough_ends_at_c1_st() {
        check_with(cap8, b"\x1bPq#0;1;2;3\x9chello", b"\x1bPq#0;1;2;\x18hello");
        check_with(
            cap8,
            b"\x1bPq#0;1;2;3\x1b\\hello",
            b"\x1bPq#0;1;2;\x18hello",
        );
    }

    #[test]
    fn dcs_capped_in_its_parameters_follows_vte_into_passthrough() {
        // Cut while still collecting parameters; the final `q` then starts passthrough
        // (silently), where 0x9c ends it.
        check_with(cap8, b"\x1bP1;2;3;4;5;6q\xaa\x9cok", b"\x1bP1;2;3;4;\x18ok");
    }

    #[test]
    fn dcs_ignore_does_not_end_at_c1_st() {
        // `1 <` sends vte to DCS ignore, which only CAN/SUB/ESC leave.
        check_with(
            cap8,
            b"\x1bP1<abcdefgh\x9cijk\x1b\\ok",
            b"\x1bP1<abcdef\x18ok",
        );
        // Same bytes under the cap pass unchanged (no special handling of 0x9c).
        check(b"\x1bP1<ab\x9ccd\x1b\\ok", b"\x1bP1<ab\x9ccd\x1b\\ok");
    }

    #[test]
    fn sos_pm_apc_capped_ignore_bel() {
        // BEL ends only OSC; in SOS/PM/APC it is body.
        check_with(
            cap8,
            b"\x1b_abc\x07defghij\x1b\\ok",
            b"\x1b_abc\x07defg\x18ok",
        );
        check_with(cap8, b"\x1b^abcdefghij\x1b\\ok", b"\x1b^abcdefgh\x18ok");
        check_with(cap8, b"\x1bXabcdefghij\x1b\\ok", b"\x1bXabcdefgh\x18ok");
    }

    #[test]
    fn real_cap_is_one_mib() {
        let mut input = b"\x1b]52;c;".to_vec();
        input.resize(2 + MAX_STRING + 100, b'A');
        input.extend_from_slice(b"\x07ok");
        let mut expected = input[..2 + MAX_STRING].to_vec();
        expected.extend_from_slice(b";;\x18ok");
        let mut f = Filter::new();
        let out = feed_chunks(&mut f, &input.chunks(65536).collect::<Vec<_>>());
        assert!(out == expected, "len {} vs {}", out.len(), expected.len());
    }

    // --- CSI clamps -----------------------------------------------------------------------

    #[test]
    fn rep_clamped_to_width() {
        check(b"x\x1b[65535b", b"x\x1b[65535\x1b[80b");
        check_with(|f| f.set_width(10), b"x\x1b[11b", b"x\x1b[11\x1b[10b");
        check_with(|f| f.set_width(10), b"x\x1b[10b", b"x\x1b[10b");
        // vte saturates at 65535, and vt100 only reads the first value of the first group.
        check(b"\x1b[999999999999b", b"\x1b[999999999999\x1b[80b");
        check(b"\x1b[81;1b", b"\x1b[81;1\x1b[80b");
        check(b"\x1b[81:2b", b"\x1b[81:2\x1b[80b");
        check(b"\x1b[0000081b", b"\x1b[0000081\x1b[80b");
        // C0 controls inside the sequence are executed by vte and pass through.
        check(b"\x1b[8\r1b", b"\x1b[8\r1\x1b[80b");
    }

    #[test]
    fn rep_not_dispatched_as_rep_is_left_alone() {
        for input in [
            &b"\x1b[0b"[..],
            b"\x1b[b",
            b"\x1b[1;99b",
            b"\x1b[?999b",
            b"\x1b[999 b",
            b"\x1b[99?9b",
            b"\x1b[9 9b",
            b"\x1b[999\x18b",
            b"\x1b[999\x1b[b",
        ] {
            check(input, input);
        }
    }

    #[test]
    fn rep_with_32_params_still_uses_the_first() {
        let mut input = b"\x1b[500".to_vec();
        for _ in 0..40 {
            input.extend_from_slice(b";1");
        }
        input.push(b'b');
        let mut expected = input[..input.len() - 1].to_vec();
        expected.extend_from_slice(b"\x1b[80b");
        check(&input, &expected);
    }

    #[test]
    fn resize_request_clamped() {
        let setup = |f: &mut Filter| {
            f.set_width(100);
            f.set_height(30);
        };
        check_with(setup, b"\x1b[8;0;5000t", b"\x1b[8;0;5000\x1b[8;30;1000t");
        check_with(setup, b"\x1b[8;2000t", b"\x1b[8;2000\x1b[8;1000t");
        check_with(setup, b"\x1b[8;;t", b"\x1b[8;;\x1b[8;30;100t");
        for ok in [
            &b"\x1b[8;24;80t"[..],
            b"\x1b[8t",
            b"\x1b[14;0;0t",
            b"\x1b[8;50;60;0t",
        ] {
            check_with(setup, ok, ok);
        }
    }

    // --- charsets -------------------------------------------------------------------------

    #[test]
    fn dec_graphics_box() {
        check(
            b"\x1b(0lqqk\x1b(B lqk",
            &cat(&[
                b"\x1b(0",
                "\u{250c}\u{2500}\u{2500}\u{2510}".as_bytes(),
                b"\x1b(B lqk",
            ]),
        );
    }

    #[test]
    fn dec_graphics_full_table() {
        let mut input = b"\x1b(0".to_vec();
        input.extend(0x5f..=0x7e);
        input.extend_from_slice(b"\x1b(B");
        let table = "\u{a0}\u{25c6}\u{2592}\u{2409}\u{240c}\u{240d}\u{240a}\u{b0}\u{b1}\u{2424}\
                     \u{240b}\u{2518}\u{2510}\u{250c}\u{2514}\u{253c}\u{23ba}\u{23bb}\u{2500}\
                     \u{23bc}\u{23bd}\u{251c}\u{2524}\u{2534}\u{252c}\u{2502}\u{2264}\u{2265}\
                     \u{3c0}\u{2260}\u{a3}\u{b7}";
        check(&input, &cat(&[b"\x1b(0", table.as_bytes(), b"\x1b(B"]));
        // Below 0x5f nothing changes, and UTF-8 passes.
        check(b"\x1b(0AZ09 #^\xc3\xa9", b"\x1b(0AZ09 #^\xc3\xa9");
    }

    #[test]
    fn long_dec_runs_are_bounded_by_the_buffer() {
        let mut input = b"\x1b(0".to_vec();
        input.extend(std::iter::repeat_n(b'q', 100));
        let mut f = Filter::new();
        let mut sizes = Vec::new();
        f.feed(&input, &mut |s| sizes.push(s.len()));
        assert_eq!(sizes, vec![3, 63, 63, 63, 63, 300 - 4 * 63]);
        let expected = cat(&[b"\x1b(0", &HLINE.repeat(100)]);
        check(&input, &expected);
    }

    #[test]
    fn so_si_select_g1_g0() {
        check(
            b"\x1b)0q\x0eq\x0fq",
            &cat(&[b"\x1b)0q\x0e", HLINE, b"\x0fq"]),
        );
        // SO/SI executed inside escape and CSI sequences still shift (as in xterm).
        check(
            b"\x1b)0\x1b[1\x0em q\x1b\x0f7q\x1b(\x0eBq",
            &cat(&[b"\x1b)0\x1b[1\x0em ", HLINE, b"\x1b\x0f7q\x1b(\x0eB", HLINE]),
        );
        // ... but not inside strings, where vte ignores C0 controls.
        check(b"\x1b)0\x1b]0;\x0e\x07q", b"\x1b)0\x1b]0;\x0e\x07q");
    }

    #[test]
    fn uk_set_maps_only_hash() {
        check(b"\x1b(A#q\x1b(B#", "\x1b(A\u{a3}q\x1b(B#".as_bytes());
    }

    #[test]
    fn other_designations_are_ascii() {
        check(b"\x1b(0\x1b(Kq", b"\x1b(0\x1b(Kq");
        // A second intermediate names another set even with final 0.
        check(b"\x1b(%0q", b"\x1b(%0q");
        // G2/G3 designations leave G0 alone.
        check(
            b"\x1b*0q\x1b(0\x1b+Bq",
            &cat(&[b"\x1b*0q\x1b(0\x1b+B", HLINE]),
        );
    }

    #[test]
    fn nothing_inside_sequences_or_strings_is_translated() {
        let input = b"\x1b(0\x1b[38;5;1m\x1b]0;lqk\x07\x1bPqlqk\x1b\\\x1b_lqk\x1b\\\x1b7";
        check(input, input);
    }

    #[test]
    fn bytes_above_0x7f_are_ignored_in_escape_and_csi() {
        // ESC 0x9b q: vte ignores 0x9b in the escape state, so `q` is ESC q.
        check(b"\x1b(0\x1b\x9bqq", &cat(&[b"\x1b(0\x1b\x9bq", HLINE]));
        // ... and inside a CSI; DEL too.
        check(
            b"\x1b(0\x1b[1\xff\x7fmq",
            &cat(&[b"\x1b(0\x1b[1\xff\x7fm", HLINE]),
        );
    }

    #[test]
    fn decsc_decrc_save_charsets() {
        check(
            b"\x1b(0\x1b7\x1b(Bq\x1b8q",
            &cat(&[b"\x1b(0\x1b7\x1b(Bq\x1b8", HLINE]),
        );
        // Nothing saved: restore gives the defaults.
        check(b"\x1b(0\x1b8q", b"\x1b(0\x1b8q");
    }

    #[test]
    fn alt_screen_1049_saves_and_restores() {
        check(
            b"\x1b(0\x1b[?1049h\x1b(Bq\x1b7\x1b[?1049lq",
            &cat(&[b"\x1b(0\x1b[?1049h\x1b(Bq\x1b7\x1b[?1049l", HLINE]),
        );
        // ESC 7 on the alternate screen uses its own slot.
        check(
            b"\x1b[?1049h\x1b(0\x1b7\x1b[?1049l\x1b8q",
            b"\x1b[?1049h\x1b(0\x1b7\x1b[?1049l\x1b8q",
        );
        // 1049 among other modes; 1049 as a sub-parameter is not the mode.
        check(
            b"\x1b(0\x1b[?25;1049h\x1b(B\x1b[?1049;25lq\x1b(B\x1b[?1049:1h\x1b(0\x1b[?1049lq",
            &cat(&[
                b"\x1b(0\x1b[?25;1049h\x1b(B\x1b[?1049;25l",
                HLINE,
                b"\x1b(B\x1b[?1049:1h\x1b(0\x1b[?1049l",
                HLINE,
            ]),
        );
    }

    #[test]
    fn ris_and_decstr_reset_charsets() {
        check(b"\x1b)0\x0e\x1bcq", b"\x1b)0\x0e\x1bcq");
        check(b"\x1b(0\x1b[!pq", b"\x1b(0\x1b[!pq");
        check(b"\x1b(0\x1b7\x1bc\x1b8q", b"\x1b(0\x1b7\x1bc\x1b8q");
    }

    #[test]
    fn can_sub_abort_escape_and_csi() {
        check(b"\x1b(0\x1b(\x18Bq", &cat(&[b"\x1b(0\x1b(\x18B", HLINE]));
        check(b"\x1b(0\x1b[\x1aq", &cat(&[b"\x1b(0\x1b[\x1a", HLINE]));
    }

    #[test]
    fn reset_returns_to_ground_and_ascii() {
        let mut f = Filter::new();
        feed_chunks(&mut f, &[b"\x1b(0\x1b]0;abc"]);
        f.reset();
        assert_eq!(feed_chunks(&mut f, &[b"q\x1b[5b"]), b"q\x1b[5b");
    }

    // --- bounds ---------------------------------------------------------------------------

    #[test]
    fn memory_is_the_struct_itself() {
        // No heap fields: everything the filter holds is in the struct (the raw SGR
        // parameters for rewriting one are 64 of these bytes).
        assert!(
            std::mem::size_of::<Filter>() <= 288,
            "{}",
            std::mem::size_of::<Filter>()
        );
        let mut f = Filter::new();
        let mut input = Vec::new();
        for i in 0..200u32 {
            input.extend_from_slice(b"\x1b(0lqk\x1b[65535b\x1b[8;0;0t\x1b(B \x1b]0;");
            input.extend(std::iter::repeat_n(b'a', (i * 7919 % 3000) as usize));
            input.extend_from_slice(b"\x07");
        }
        let range = input.as_ptr_range();
        for chunk in input.chunks(777) {
            let cr = chunk.as_ptr_range();
            f.feed(chunk, &mut |s| {
                let p = s.as_ptr_range();
                let borrowed = p.start >= cr.start && p.end <= cr.end;
                assert!(
                    borrowed || s.len() <= BUF_CAP,
                    "{} bytes not from input",
                    s.len()
                );
                assert!(p.start >= range.start || s.len() <= BUF_CAP);
            });
            assert!(f.buf.len <= BUF_CAP);
        }
    }

    // --- randomized -----------------------------------------------------------------------

    /// xorshift64*: deterministic, no dependencies.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
            xs[self.below(xs.len())]
        }
    }

    /// Filter output for `input` fed in pieces cut at random places.
    fn feed_random_splits(setup: &impl Fn(&mut Filter), input: &[u8], rng: &mut Rng) -> Vec<u8> {
        let mut f = filter_with(setup);
        let mut v = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(40));
            f.feed(&rest[..n], &mut |s| v.extend_from_slice(s));
            rest = &rest[n..];
        }
        v
    }

    /// Text, C0 controls, and CSI/OSC/DCS/SOS/PM/APC/ESC sequences that the filter must not
    /// change: no over-long strings, REP and resize requests within bounds, no charset
    /// switching (SO, SI, `ESC (`, `ESC )`).
    fn gen_benign(rng: &mut Rng, out: &mut Vec<u8>) {
        let body = |rng: &mut Rng, out: &mut Vec<u8>, avoid: &[u8]| {
            for _ in 0..rng.below(60) {
                let b = (rng.next() & 0xff) as u8;
                if !avoid.contains(&b) {
                    out.push(b);
                }
            }
        };
        let params = |rng: &mut Rng, out: &mut Vec<u8>| {
            for k in 0..rng.below(40) {
                if k > 0 {
                    out.push(rng.pick(b";;;:"));
                }
                for _ in 0..rng.below(8) {
                    out.push(b'0' + rng.below(10) as u8);
                }
            }
        };
        match rng.below(12) {
            0..=2 => {
                for _ in 0..rng.below(30) {
                    out.push(rng.pick(b"abcdefghijklmnopqrstuvwxyz    #_`~{|}0123456789"));
                }
            }
            3 => out.extend_from_slice(
                rng.pick(&["\u{e9}", "\u{2500}", "\u{1f600}", "\u{a0}", "\u{9c}"])
                    .as_bytes(),
            ),
            4 => {
                let b = (0x80 + rng.below(0x80)) as u8;
                out.push(b);
            }
            5 => {
                let b = rng.below(0x20) as u8;
                if !matches!(b, ESC | SO | SI) {
                    out.push(b);
                }
            }
            6 => {
                out.extend_from_slice(b"\x1b[");
                if rng.below(3) == 0 {
                    out.push(rng.pick(b"<=>?"));
                }
                params(rng, out);
                if rng.below(4) == 0 {
                    out.push(rng.pick(b"\x00\x07\x08\r\n\x7f\x85\xff"));
                    params(rng, out);
                }
                for _ in 0..rng.below(3) {
                    out.push(rng.pick(b" !\"#$%&'*+,-./"));
                }
                let fin = rng.pick(b"@ABCDEFGHJKLMPSTXZ`acdefghlmnpqrsuvwxyz{|}~");
                out.push(fin);
            }
            7 => {
                let seq = format!(
                    "\x1b[{}b\x1b[8;{};{}t",
                    rng.below(81),
                    1 + rng.below(1000),
                    1 + rng.below(1000)
                );
                out.extend_from_slice(seq.as_bytes());
            }
            8 => {
                out.extend_from_slice(b"\x1b]");
                params(rng, out);
                out.push(b';');
                body(rng, out, &[BEL, CAN, SUB, ESC]);
                out.extend_from_slice(rng.pick(&[&b"\x07"[..], b"\x1b\\"]));
            }
            9 => {
                out.extend_from_slice(b"\x1bP");
                params(rng, out);
                out.push(rng.pick(b"pqz|{"));
                body(rng, out, &[CAN, SUB, ESC, ST_C1]);
                out.extend_from_slice(rng.pick(&[&b"\x9c"[..], b"\x1b\\"]));
            }
            10 => {
                out.push(ESC);
                out.push(rng.pick(b"X^_"));
                body(rng, out, &[CAN, SUB, ESC]);
                out.extend_from_slice(b"\x1b\\");
            }
            _ => {
                out.push(ESC);
                if rng.below(2) == 0 {
                    out.push(rng.pick(b" #%*+-./"));
                }
                out.push(rng.pick(b"0789=>ABDEFHMNOZ\\cgnoz~"));
            }
        }
    }

    #[test]
    fn differential_benign_input_passes_byte_for_byte() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let mut input = Vec::new();
            for _ in 0..rng.below(40) {
                gen_benign(&mut rng, &mut input);
            }
            let whole = feed_chunks(&mut Filter::new(), &[&input]);
            assert!(
                whole == input,
                "round {round}: {} -> {}",
                show(&input),
                show(&whole)
            );
            let split = feed_random_splits(&|_| {}, &input, &mut rng);
            assert!(split == input, "round {round} split: {}", show(&input));
        }
    }

    /// Arbitrary byte soup: one representative of every byte range vte 0.15's tables
    /// distinguish, plus the introducers, so that any path through the state machine is
    /// likely within a few bytes.
    fn gen_junk(rng: &mut Rng, len: usize) -> Vec<u8> {
        const BYTES: &[u8] = b"\x00\x07\x0e\x0f\x18\x1a\x1b\x1b\x1b /0159:;<=?@ABPX[\\]^_`bchlpqt~\
                               \x7f\x80\x90\x9b\x9c\x9c\x9d\xc3\xa9\xe2\xff78!()%#\n";
        const INTRO: &[&[u8]] = &[b"\x1b[", b"\x1b]", b"\x1bP", b"\x1b_", b"\x1b(", b"\x1b)"];
        let mut v = Vec::new();
        while v.len() < len {
            if rng.below(5) == 0 {
                v.extend_from_slice(rng.pick(INTRO));
            } else {
                v.push(rng.pick(BYTES));
            }
        }
        v
    }

    fn cell(p: &vt100::Parser, row: u16, col: u16) -> String {
        p.screen()
            .cell(row, col)
            .map(|c| c.contents().to_string())
            .unwrap_or_default()
    }

    /// Feeds `input` through a fresh filter into a fresh 6x12 parser, then probes: returns
    /// whether the filter said it was in ground, whether vt100 then printed `☃` (vte prints it
    /// only in ground; every other state swallows it), the charset the filter had in GL, and
    /// the cells showing `q#` after CAN (ground from anywhere), home and erase line.
    fn probe(setup: &impl Fn(&mut Filter), input: &[u8]) -> (bool, bool, Charset, String) {
        let rows = std::num::NonZeroU16::new(6).unwrap();
        let cols = std::num::NonZeroU16::new(12).unwrap();
        let mut f = filter_with(setup);
        let mut parser = vt100::Parser::new(rows, cols, 0);
        f.feed(input, &mut |s| parser.process(s));
        let ground = f.state == State::Ground;
        f.feed("\u{2603}".as_bytes(), &mut |s| parser.process(s));
        let printed = parser.screen().contents().contains('\u{2603}');
        let gl = f.gl;
        f.feed(b"\x18\x1b[H\x1b[2Kq#", &mut |s| parser.process(s));
        let row = parser.screen().cursor_position().0;
        let shown = cell(&parser, row, 0) + &cell(&parser, row, 1);
        (ground, printed, gl, shown)
    }

    /// The filter's idea of where vte is must match vte's, after every prefix of arbitrary
    /// input (string cap at 8 bytes, so capping and dropping happen often), and the charset
    /// it believes is in GL must be what shows. Outputs must not depend on splits.
    #[test]
    fn filter_state_tracks_vte_on_random_input() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let setup = |f: &mut Filter| {
            cap8(f);
            f.set_width(12);
            f.set_height(6);
        };
        let (mut probes, mut grounds) = (0, 0);
        for round in 0..3000 {
            let len = rng.below(48);
            let input = gen_junk(&mut rng, len);
            for k in 0..=input.len() {
                let (ground, printed, gl, shown) = probe(&setup, &input[..k]);
                let prefix = show(&input[..k]);
                assert_eq!(printed, ground, "round {round}: {prefix}");
                let expected = match gl {
                    Charset::Ascii => "q#",
                    Charset::DecGraphics => "\u{2500}#",
                    Charset::Uk => "q\u{a3}",
                };
                assert_eq!(shown, expected, "round {round}: {prefix}");
                probes += 1;
                grounds += usize::from(ground);
            }
            let whole = feed_chunks(&mut filter_with(&setup), &[&input]);
            let split = feed_random_splits(&setup, &input, &mut rng);
            assert!(split == whole, "round {round} split: {}", show(&input));
        }
        // The generator must reach both outcomes often.
        assert!(
            grounds > probes / 5 && grounds < probes * 4 / 5,
            "{grounds} of {probes}"
        );
    }

    /// Exhaustive version of the check above for short inputs: every introducer, then every
    /// three bytes drawn from one representative of each byte class vte 0.15 distinguishes,
    /// then suffixes that tell the string and DCS states apart.
    #[test]
    fn filter_state_tracks_vte_exhaustively_on_short_sequences() {
        const INTRO: &[&[u8]] = &[
            b"", b"\x1b", b"\x1b[", b"\x1b]", b"\x1bP", b"\x1b_", b"\x1b(", b"\x1b ",
        ];
        const CLASSES: &[u8] = b"\x00\x07\x0e\x18\x1b /09:;<?@P[\\q\x7f\x9b\x9c\xa9";
        const SUFFIX: &[&[u8]] = &[b"", b"\x07", b"\x9c", b"q\x9c", b"\\"];
        let setup = |f: &mut Filter| {
            cap8(f);
            f.set_width(12);
            f.set_height(6);
        };
        let mut input = Vec::new();
        for intro in INTRO {
            for &a in CLASSES {
                for &b in CLASSES {
                    for &c in CLASSES {
                        for suffix in SUFFIX {
                            input.clear();
                            input.extend_from_slice(intro);
                            input.extend_from_slice(&[a, b, c]);
                            input.extend_from_slice(suffix);
                            let (ground, printed, _, _) = probe(&setup, &input);
                            assert_eq!(printed, ground, "{}", show(&input));
                        }
                    }
                }
            }
        }
    }

    // --- scanners -------------------------------------------------------------------------

    /// The reference for `plain_prefix`: walk the block a sequence at a time.
    fn plain_prefix_naive(b: &[u8], fid: bool) -> usize {
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                ESC => {
                    if b.get(i + 1) != Some(&b'[') {
                        return i;
                    }
                    let mut k = i + 2;
                    while k < b.len() && b[k] & 0xf0 == 0x30 {
                        k += 1;
                    }
                    match b.get(k) {
                        Some(&b'm') if fid && sgr_notable(&b[i + 2..k]) => return i,
                        Some(&f) if (0x40..=0x7e).contains(&f) && !acts_on(f) => i = k + 1,
                        _ => return i,
                    }
                }
                SO | SI | HT => return i,
                _ => i += 1,
            }
        }
        b.len()
    }

    /// Random bytes built from the pieces that matter to the scanners. `plain` in 16 pieces
    /// are text or CSIs that `plain_prefix` passes, so blocks often get to their last bytes.
    fn gen_scan_input(rng: &mut Rng, len: usize, plain: usize) -> Vec<u8> {
        const PLAIN: &[&[u8]] = &[
            b"\x1b[38;5;1m",
            b"\x1b[0m",
            b"\x1b[1;2H",
            b"\x1b[m",
            b"m",
            b"b",
            b"1",
            b";",
            b"?",
            b" ",
            b"\x07",
            b"\x18",
            b"\x9c",
            b"\x1f",
            b"\x7f",
            b"\xff",
            b"abc",
            b"[",
        ];
        const OTHER: &[&[u8]] = &[
            b"\x1b[",
            b"\x1b[38;5;",
            b"\x1b[?25h",
            b"\x1b[5b",
            b"\x1b",
            b"\x1b(0",
            b"\x0e",
            b"\x0f",
            b"\x1b[1\x1b[m",
            b"\x1b[1 q",
            b"\x1b[\x80m",
            b"\x1b[44m",
            b"\x1b[4:3m",
            b"\t",
        ];
        let mut v = Vec::new();
        while v.len() < len {
            let pieces = if rng.below(16) < plain { PLAIN } else { OTHER };
            v.extend_from_slice(rng.pick(pieces));
        }
        v.truncate(len);
        v
    }

    #[test]
    fn plain_prefix_matches_reference() {
        let mut rng = Rng(42);
        for round in 0..200_000 {
            let plain = rng.below(17);
            let block = gen_scan_input(&mut rng, BLOCK, plain);
            for fid in [false, true] {
                assert_eq!(
                    plain_prefix(&block, fid, false),
                    plain_prefix_naive(&block, fid),
                    "round {round}, fidelity {fid}: {}",
                    show(&block)
                );
            }
        }
    }

    #[test]
    fn scanners_match_reference() {
        let mut rng = Rng(7);
        for round in 0..20_000 {
            let len = rng.below(80);
            let v = gen_scan_input(&mut rng, len, 8);
            let first = |p: &dyn Fn(u8) -> bool| v.iter().position(|&b| p(b)).unwrap_or(v.len());
            let ctx = || format!("round {round}: {}", show(&v));
            assert_eq!(
                find_ground(&v),
                first(&|b| b == ESC || b == SO || b == SI || b == HT),
                "{}",
                ctx()
            );
            assert_eq!(
                find_string_end(&v, false),
                first(&|b| b < 0x20),
                "{}",
                ctx()
            );
            assert_eq!(
                find_string_end(&v, true),
                first(&|b| b < 0x20 || b == ST_C1),
                "{}",
                ctx()
            );
            assert_eq!(
                skip_params(&v),
                first(&|b| !(0x30..=0x3f).contains(&b)),
                "{}",
                ctx()
            );
        }
    }

    #[test]
    fn long_inputs_pass_byte_for_byte_at_every_offset() {
        // The block path sees sequences at every position relative to its 64-byte blocks.
        let mut rng = Rng(99);
        for round in 0..2000 {
            let mut input = Vec::new();
            while input.len() < 300 {
                gen_benign(&mut rng, &mut input);
            }
            for skew in [0, 1, 7, 31, 63] {
                let mut skewed = vec![b'a'; skew];
                skewed.extend_from_slice(&input);
                let whole = feed_chunks(&mut Filter::new(), &[&skewed]);
                assert!(
                    whole == skewed,
                    "round {round} skew {skew}: {}",
                    show(&skewed)
                );
            }
        }
    }
}
