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
mod scan;

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

#[cfg(test)]
mod tests;

use charset::{Charset, Charsets, DEC_GLYPHS, POUND, glyph};
use csi::{
    CsiParams, MODE_3, MODE_4, MODE_5, MODE_6, MODE_7, MODE_47, MODE_1047, MODE_1049, RAW_CAP,
    acts_on, fmt_num, parse_num, sgr_has_extras, sgr_notable,
};
use scan::{BLOCK, find_ground, find_string_end, plain_prefix, skip_params};
