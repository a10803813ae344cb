//! The bytes the user's terminal sends, turned into key, mouse, paste and focus events.
//!
//! memmux reads the tty itself rather than through crossterm's event reader because that
//! reader loses keys: it takes `CSI 1 ; 2 R` (Shift-F3, and every modified F3) for a cursor
//! position report and drops it, and it has no numeric keypad in application mode (`SS3 p`
//! .. `SS3 y`, `SS3 M`, ...), so DECKPAM could never reach a program. memmux never asks the
//! outer terminal for its cursor position, so `CSI 1 ; m R` is always a key here; a report
//! for another row (`CSI r ; c R`, r > 1) is dropped. termina's parser (a crossterm fork)
//! shares both gaps, and termwiz brings a large dependency tree for one parser.
//!
//! Events keep crossterm's types, so the rest of memmux (key bindings, `term::keys`, the
//! fast path) is unchanged. The decoding follows xterm's documented input sequences
//! (ctlseqs: "PC-Style Function Keys", "VT220-Style Function Keys", "Mouse Tracking").
//!
//! A sequence split between two reads waits for the rest: [`TtyParser::feed`] keeps the
//! tail, and the reader calls [`TtyParser::flush`] when nothing more came within
//! [`SEQUENCE_WAIT`]. A lone ESC at the end of a read is the Escape key at once, as with
//! crossterm (a terminal writes a whole sequence at once; waiting would delay every Escape).

use std::time::Duration;

use crate::term::palette::{Rgb, parse_spec};

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};

/// How long the reader waits for the rest of a sequence split between reads before it takes
/// the bytes as typed (`ESC [` then becomes Alt-[). 50 ms: a sequence's bytes come in one
/// write of the terminal, and over ssh within one packet; a person typing Alt-[ and then a
/// digit is slower than that.
pub const SEQUENCE_WAIT: Duration = Duration::from_millis(50);

/// How long a bracketed paste may stall before what came so far is delivered as the paste
/// (a terminal that never sends the end marker must not swallow the keyboard).
pub const PASTE_WAIT: Duration = Duration::from_secs(1);

/// A sequence longer than this (other than a paste) is garbage: its bytes are dropped.
const MAX_SEQUENCE: usize = 256;

const ESC: u8 = 0x1b;
const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// Outcome of decoding at the start of a slice.
enum Step {
    /// An event (or nothing, for a report memmux ignores) taking this many bytes.
    Done(Option<Event>, usize),
    /// The bytes may be the start of a longer sequence.
    Partial,
    /// The start of a bracketed paste, this many bytes.
    PasteStart(usize),
    /// The outer terminal's reply to `OSC 10 ; ?` or `OSC 11 ; ?`, this many bytes.
    Colour(u8, Rgb, usize),
}

/// The incremental decoder; holds an unfinished sequence or paste between reads.
#[derive(Default)]
pub struct TtyParser {
    pending: Vec<u8>,
    /// Inside a bracketed paste: the text so far.
    paste: Option<Vec<u8>>,
    /// The outer terminal's default colours it reported (OSC 10 / 11 and the colour), for
    /// the reader to hand on (`term::palette::OUTER`).
    pub colours: Vec<(u8, Rgb)>,
}

impl TtyParser {
    /// Decodes `bytes` (one read) after whatever was left over; complete events go to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        while at < self.pending.len() {
            if let Some(paste) = self.paste.as_mut() {
                let rest = &self.pending[at..];
                match find(rest, PASTE_END) {
                    Some(end) => {
                        paste.extend_from_slice(&rest[..end]);
                        at += end + PASTE_END.len();
                        let text = String::from_utf8_lossy(paste).into_owned();
                        self.paste = None;
                        out.push(Event::Paste(text));
                    }
                    None => {
                        // Keep a tail that may be the start of the end marker.
                        let keep = partial_suffix(rest, PASTE_END);
                        paste.extend_from_slice(&rest[..rest.len() - keep]);
                        at = self.pending.len() - keep;
                        break;
                    }
                }
                continue;
            }
            let rest = &self.pending[at..];
            match decode(rest) {
                Step::Done(ev, used) => {
                    out.extend(ev);
                    at += used;
                }
                Step::PasteStart(used) => {
                    self.paste = Some(Vec::new());
                    at += used;
                }
                Step::Colour(which, rgb, used) => {
                    self.colours.push((which, rgb));
                    at += used;
                }
                // A lone ESC ending the read is the Escape key (see the module comment).
                Step::Partial if rest == [ESC] => {
                    out.push(key(KeyCode::Esc, KeyModifiers::NONE));
                    at += 1;
                }
                Step::Partial if rest.len() > MAX_SEQUENCE => at += 1,
                Step::Partial => break,
            }
        }
        self.pending.drain(..at);
    }

    /// How long the reader should wait for more bytes before calling [`Self::flush`]
    /// (`None`: nothing is pending, wait for ever).
    pub fn wait(&self) -> Option<Duration> {
        if self.paste.is_some() {
            Some(PASTE_WAIT)
        } else if self.pending.is_empty() {
            None
        } else {
            Some(SEQUENCE_WAIT)
        }
    }

    /// Nothing more came: a pending paste is delivered as it is, and an unfinished sequence
    /// is taken as typed keys (`ESC x` Alt-x, a lone `ESC` Escape, other bytes as keys).
    pub fn flush(&mut self, out: &mut Vec<Event>) {
        if let Some(mut paste) = self.paste.take() {
            paste.append(&mut self.pending);
            out.push(Event::Paste(String::from_utf8_lossy(&paste).into_owned()));
            return;
        }
        let rest = std::mem::take(&mut self.pending);
        let mut at = 0;
        while at < rest.len() {
            if rest[at] == ESC {
                match rest.get(at + 1) {
                    None => {
                        out.push(key(KeyCode::Esc, KeyModifiers::NONE));
                        at += 1;
                    }
                    Some(_) => {
                        let (ev, used) = single_byte_key(&rest[at + 1..]);
                        out.extend(ev.map(with_alt));
                        at += 1 + used;
                    }
                }
            } else {
                let (ev, used) = single_byte_key(&rest[at..]);
                out.extend(ev);
                at += used;
            }
        }
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(code, modifiers))
}

fn keypad(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new_with_kind_and_state(
        code,
        KeyModifiers::NONE,
        KeyEventKind::Press,
        KeyEventState::KEYPAD,
    ))
}

fn with_alt(ev: Event) -> Event {
    match ev {
        Event::Key(mut k) => {
            k.modifiers |= KeyModifiers::ALT;
            Event::Key(k)
        }
        other => other,
    }
}

fn with_modifiers(ev: Event, mods: KeyModifiers) -> Event {
    match ev {
        Event::Key(mut k) => {
            k.modifiers |= mods;
            Event::Key(k)
        }
        other => other,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest suffix of `hay` that is a proper prefix of `needle`.
fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    (1..needle.len().min(hay.len() + 1))
        .rev()
        .find(|&n| hay.ends_with(&needle[..n]))
        .unwrap_or(0)
}

/// One event from the start of `s` (not empty).
fn decode(s: &[u8]) -> Step {
    if s[0] != ESC {
        return match utf8_char(s) {
            Utf8::Char(c, used) => Step::Done(Some(char_key(c)), used),
            Utf8::Partial => Step::Partial,
            Utf8::Invalid => Step::Done(None, 1),
            Utf8::Control(b) => Step::Done(control_key(b), 1),
        };
    }
    let Some(&second) = s.get(1) else {
        return Step::Partial;
    };
    match second {
        b'[' => csi(s),
        b'O' => ss3(s),
        // An OSC string: a reply to a query, skipped whole. `ESC ]` ending a read is Alt-],
        // like a lone ESC (a reply comes in one write). memmux sends no DCS query, so
        // `ESC P` is always Alt-P.
        b']' if s.get(2).is_some_and(u8::is_ascii_digit) => string(s),
        // ESC ESC: Alt and the key of the sequence the second ESC starts (Alt-Up as
        // `ESC CSI A`), or else Alt-Escape (what follows is a key of its own).
        ESC => match s.get(2) {
            Some(b'[' | b'O') => match decode(&s[1..]) {
                Step::Done(ev, used) => Step::Done(ev.map(with_alt), used + 1),
                Step::Partial => Step::Partial,
                // A paste after a lone ESC: the ESC is the Escape key.
                Step::PasteStart(_) | Step::Colour(..) => {
                    Step::Done(Some(key(KeyCode::Esc, KeyModifiers::NONE)), 1)
                }
            },
            _ => Step::Done(Some(key(KeyCode::Esc, KeyModifiers::ALT)), 2),
        },
        // Meta sends escape: ESC and a character or control byte.
        _ => {
            let (ev, used) = match utf8_char(&s[1..]) {
                Utf8::Partial => return Step::Partial,
                _ => single_byte_key(&s[1..]),
            };
            Step::Done(ev.map(with_alt), used + 1)
        }
    }
}

/// A character or control byte from the start of `s`; an incomplete or invalid UTF-8
/// sequence loses its first byte.
fn single_byte_key(s: &[u8]) -> (Option<Event>, usize) {
    match utf8_char(s) {
        Utf8::Char(c, used) => (Some(char_key(c)), used),
        Utf8::Control(b) => (control_key(b), 1),
        Utf8::Partial | Utf8::Invalid => (None, 1),
    }
}

enum Utf8 {
    Char(char, usize),
    Control(u8),
    Partial,
    Invalid,
}

fn utf8_char(s: &[u8]) -> Utf8 {
    let b = s[0];
    if b < 0x20 || b == 0x7f {
        return Utf8::Control(b);
    }
    let need = match b {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Utf8::Invalid,
    };
    if s.len() < need {
        return if s[1..].iter().all(|&c| c & 0xc0 == 0x80) {
            Utf8::Partial
        } else {
            Utf8::Invalid
        };
    }
    match std::str::from_utf8(&s[..need])
        .ok()
        .and_then(|t| t.chars().next())
    {
        Some(c) => Utf8::Char(c, need),
        None => Utf8::Invalid,
    }
}

/// A printable character; uppercase carries Shift, as crossterm reports it.
fn char_key(c: char) -> Event {
    let mods = if c.is_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    key(KeyCode::Char(c), mods)
}

/// The C0 byte as a key, the way crossterm named it (the key bindings were written for it):
/// CR Enter, HT Tab, DEL Backspace, NUL Ctrl-Space, 0x01-0x1a Ctrl-letter (BS is Ctrl-H,
/// LF Ctrl-J in raw mode), 0x1c-0x1f Ctrl-4 .. Ctrl-7.
fn control_key(b: u8) -> Option<Event> {
    Some(match b {
        b'\r' => key(KeyCode::Enter, KeyModifiers::NONE),
        b'\t' => key(KeyCode::Tab, KeyModifiers::NONE),
        0x7f => key(KeyCode::Backspace, KeyModifiers::NONE),
        0x00 => key(KeyCode::Char(' '), KeyModifiers::CONTROL),
        0x01..=0x1a => key(KeyCode::Char((b - 1 + b'a') as char), KeyModifiers::CONTROL),
        ESC => key(KeyCode::Esc, KeyModifiers::NONE),
        0x1c..=0x1f => key(
            KeyCode::Char((b - 0x1c + b'4') as char),
            KeyModifiers::CONTROL,
        ),
        _ => return None,
    })
}

/// xterm's modifier parameter (1 + Shift 1, Alt 2, Ctrl 4, Meta 8; kitty adds Hyper 16 and
/// Meta 32), with crossterm's names: it calls xterm's Meta bit SUPER.
fn modifiers(param: u16) -> KeyModifiers {
    let bits = param.saturating_sub(1);
    let mut mods = KeyModifiers::NONE;
    for (bit, m) in [
        (1, KeyModifiers::SHIFT),
        (2, KeyModifiers::ALT),
        (4, KeyModifiers::CONTROL),
        (8, KeyModifiers::SUPER),
        (16, KeyModifiers::HYPER),
        (32, KeyModifiers::META),
    ] {
        if bits & bit != 0 {
            mods |= m;
        }
    }
    mods
}

/// `SS3 x`, or `SS3 m x` with a modifier (older xterm for F1-F4 and the keypad).
fn ss3(s: &[u8]) -> Step {
    let mut at = 2;
    while s.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    let Some(&fin) = s.get(at) else {
        return if at > 6 {
            Step::Done(None, at)
        } else {
            Step::Partial
        };
    };
    let param = parse_num(&s[2..at]).unwrap_or(1);
    let ev = match fin {
        b'A' => key(KeyCode::Up, KeyModifiers::NONE),
        b'B' => key(KeyCode::Down, KeyModifiers::NONE),
        b'C' => key(KeyCode::Right, KeyModifiers::NONE),
        b'D' => key(KeyCode::Left, KeyModifiers::NONE),
        b'H' => key(KeyCode::Home, KeyModifiers::NONE),
        b'F' => key(KeyCode::End, KeyModifiers::NONE),
        b'E' => key(KeyCode::KeypadBegin, KeyModifiers::NONE),
        b'P'..=b'S' => key(KeyCode::F(fin - b'P' + 1), KeyModifiers::NONE),
        // The numeric keypad in application mode (xterm's kypd_apl table).
        b'p'..=b'y' => keypad(KeyCode::Char((fin - b'p' + b'0') as char)),
        b'M' => keypad(KeyCode::Enter),
        b'j' => keypad(KeyCode::Char('*')),
        b'k' => keypad(KeyCode::Char('+')),
        b'l' => keypad(KeyCode::Char(',')),
        b'm' => keypad(KeyCode::Char('-')),
        b'n' => keypad(KeyCode::Char('.')),
        b'o' => keypad(KeyCode::Char('/')),
        b'X' => keypad(KeyCode::Char('=')),
        b' ' => keypad(KeyCode::Char(' ')),
        b'I' => keypad(KeyCode::Tab),
        // Not a sequence: Alt-Shift-O and what follows it.
        _ if at == 2 => {
            return Step::Done(
                Some(key(
                    KeyCode::Char('O'),
                    KeyModifiers::SHIFT | KeyModifiers::ALT,
                )),
                2,
            );
        }
        _ => return Step::Done(None, at + 1),
    };
    Step::Done(Some(with_modifiers(ev, modifiers(param))), at + 1)
}

fn parse_num(s: &[u8]) -> Option<u16> {
    if s.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for &b in s {
        n = n * 10 + u32::from(b.checked_sub(b'0').filter(|d| *d < 10)?);
        if n > u32::from(u16::MAX) {
            return Some(u16::MAX);
        }
    }
    u16::try_from(n).ok()
}

/// A control sequence: `ESC [`, a private marker, parameters, intermediates, a final byte.
fn csi(s: &[u8]) -> Step {
    // X10 mouse: `CSI M` and three bytes (button, column, row, each + 32).
    if s.get(2) == Some(&b'M') {
        if s.len() < 6 {
            return Step::Partial;
        }
        return Step::Done(x10_mouse(s[3], s[4], s[5]), 6);
    }
    // The Linux console's F1-F5: `CSI [ A` .. `CSI [ E`.
    if s.get(2) == Some(&b'[') {
        return match s.get(3) {
            None => Step::Partial,
            Some(&b @ b'A'..=b'E') => {
                Step::Done(Some(key(KeyCode::F(b - b'A' + 1), KeyModifiers::NONE)), 4)
            }
            Some(_) => Step::Done(None, 4),
        };
    }
    let mut at = 2;
    let private = match s.get(at) {
        Some(&b @ (b'<' | b'=' | b'>' | b'?')) => {
            at += 1;
            Some(b)
        }
        Some(_) => None,
        None => return Step::Partial,
    };
    let params_start = at;
    while s.get(at).is_some_and(|b| (0x30..=0x3f).contains(b)) {
        at += 1;
    }
    let params_end = at;
    while s.get(at).is_some_and(|b| (0x20..=0x2f).contains(b)) {
        at += 1;
    }
    let Some(&fin) = s.get(at) else {
        return Step::Partial;
    };
    let used = at + 1;
    if !(0x40..=0x7e).contains(&fin) {
        // Broken off by another byte: drop what was read; that byte starts afresh.
        return Step::Done(None, at);
    }
    let raw = &s[params_start..params_end];
    if &s[..used] == PASTE_START {
        return Step::PasteStart(used);
    }
    let intermediates = params_end < at;
    if intermediates {
        return Step::Done(None, used);
    }
    match private {
        Some(b'<') if matches!(fin, b'M' | b'm') => Step::Done(sgr_mouse(raw, fin == b'm'), used),
        // Replies to queries (device attributes, modes): memmux asks none.
        Some(_) => Step::Done(None, used),
        None => Step::Done(csi_key(raw, fin), used),
    }
}

/// Parameters split at `;`; each one's first `:` sub-parameter (kitty's alternates follow).
fn params(raw: &[u8]) -> Vec<Option<u16>> {
    raw.split(|&b| b == b';')
        .map(|p| parse_num(p.split(|&b| b == b':').next().unwrap_or(&[])))
        .collect()
}

fn csi_key(raw: &[u8], fin: u8) -> Option<Event> {
    let p = params(raw);
    let first = p.first().copied().flatten();
    let mods = modifiers(p.get(1).copied().flatten().unwrap_or(1));
    // `CSI x` and `CSI 1 ; m x`: the PC-style keys take no other first parameter.
    let plain_form = raw.is_empty() || (first == Some(1) && p.len() <= 2);
    let code = match fin {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'E' => KeyCode::KeypadBegin,
        b'P' => KeyCode::F(1),
        b'Q' => KeyCode::F(2),
        // A cursor position report for row 1 has this form too; memmux never asks for one.
        b'R' => KeyCode::F(3),
        b'S' => KeyCode::F(4),
        b'Z' => {
            return plain_form.then(|| key(KeyCode::BackTab, KeyModifiers::SHIFT | mods));
        }
        b'I' if raw.is_empty() => return Some(Event::FocusGained),
        b'O' if raw.is_empty() => return Some(Event::FocusLost),
        b'~' => return tilde_key(&p),
        b'u' => return kitty_key(&p),
        b'M' | b'm' if p.len() == 3 => return rxvt_mouse(&p),
        _ => return None,
    };
    plain_form.then(|| key(code, mods))
}

/// `CSI n ~` and `CSI n ; m ~` (VT220-style keys), and xterm's modifyOtherKeys form
/// `CSI 27 ; m ; code ~`.
fn tilde_key(p: &[Option<u16>]) -> Option<Event> {
    let n = p.first().copied().flatten()?;
    let mods = modifiers(p.get(1).copied().flatten().unwrap_or(1));
    if n == 27 {
        let c = char::from_u32(u32::from(p.get(2).copied().flatten()?))?;
        return Some(with_modifiers(codepoint_key(c), mods));
    }
    let code = match n {
        1 | 7 => KeyCode::Home,
        2 => KeyCode::Insert,
        3 => KeyCode::Delete,
        4 | 8 => KeyCode::End,
        5 => KeyCode::PageUp,
        6 => KeyCode::PageDown,
        11..=15 => KeyCode::F((n - 10) as u8),
        17..=21 => KeyCode::F((n - 11) as u8),
        23..=26 => KeyCode::F((n - 12) as u8),
        28..=29 => KeyCode::F((n - 13) as u8),
        31..=34 => KeyCode::F((n - 14) as u8),
        42..=56 => KeyCode::F((n - 21) as u8),
        _ => return None,
    };
    Some(key(code, mods))
}

/// A key named by its code point (modifyOtherKeys, kitty): the C0 names for the keys that
/// have one.
fn codepoint_key(c: char) -> Event {
    match c {
        '\r' => key(KeyCode::Enter, KeyModifiers::NONE),
        '\t' => key(KeyCode::Tab, KeyModifiers::NONE),
        '\x1b' => key(KeyCode::Esc, KeyModifiers::NONE),
        '\x7f' | '\x08' => key(KeyCode::Backspace, KeyModifiers::NONE),
        c => key(KeyCode::Char(c), KeyModifiers::NONE),
    }
}

/// `CSI code ; m u`: xterm's modifyOtherKeys with formatOtherKeys 1, and kitty's basic form
/// (memmux does not turn kitty's protocol on; a user's terminal may be set to send it).
fn kitty_key(p: &[Option<u16>]) -> Option<Event> {
    let c = char::from_u32(u32::from(p.first().copied().flatten()?))?;
    let mods = modifiers(p.get(1).copied().flatten().unwrap_or(1));
    Some(with_modifiers(codepoint_key(c), mods))
}

/// Button bits of xterm's mouse reports: low two bits the button (3: none or release),
/// 4 Shift, 8 Meta, 16 Control, 32 motion, 64 wheel.
fn mouse(cb: u16, col: u16, row: u16, release: bool) -> Option<Event> {
    let mut mods = KeyModifiers::NONE;
    if cb & 4 != 0 {
        mods |= KeyModifiers::SHIFT;
    }
    if cb & 8 != 0 {
        mods |= KeyModifiers::ALT;
    }
    if cb & 16 != 0 {
        mods |= KeyModifiers::CONTROL;
    }
    let button = match cb & 3 {
        0 => Some(MouseButton::Left),
        1 => Some(MouseButton::Middle),
        2 => Some(MouseButton::Right),
        _ => None,
    };
    let kind = if cb & 128 != 0 {
        // Buttons 8-11 (back, forward): crossterm has no name for them.
        return None;
    } else if cb & 64 != 0 {
        match cb & 3 {
            0 => MouseEventKind::ScrollUp,
            1 => MouseEventKind::ScrollDown,
            2 => MouseEventKind::ScrollLeft,
            _ => MouseEventKind::ScrollRight,
        }
    } else if cb & 32 != 0 {
        match button {
            Some(b) => MouseEventKind::Drag(b),
            None => MouseEventKind::Moved,
        }
    } else if release {
        MouseEventKind::Up(button.unwrap_or(MouseButton::Left))
    } else {
        match button {
            Some(b) => MouseEventKind::Down(b),
            // X10's release: which button is not said.
            None => MouseEventKind::Up(MouseButton::Left),
        }
    };
    Some(Event::Mouse(MouseEvent {
        kind,
        column: col.saturating_sub(1),
        row: row.saturating_sub(1),
        modifiers: mods,
    }))
}

fn sgr_mouse(raw: &[u8], release: bool) -> Option<Event> {
    let p = params(raw);
    match p.as_slice() {
        [Some(cb), Some(x), Some(y)] => mouse(*cb, *x, *y, release),
        _ => None,
    }
}

fn rxvt_mouse(p: &[Option<u16>]) -> Option<Event> {
    match p {
        [Some(cb), Some(x), Some(y)] => mouse(cb.checked_sub(32)?, *x, *y, false),
        _ => None,
    }
}

fn x10_mouse(cb: u8, cx: u8, cy: u8) -> Option<Event> {
    mouse(
        u16::from(cb.checked_sub(32)?),
        u16::from(cx.checked_sub(32)?),
        u16::from(cy.checked_sub(32)?),
        false,
    )
}

/// An OSC string up to BEL or ST: a default colour report, or else skipped.
fn string(s: &[u8]) -> Step {
    let done = |body: &[u8], used: usize| {
        let colour = [(10, &b"10;"[..]), (11, b"11;")]
            .into_iter()
            .find_map(|(which, head)| Some((which, parse_spec(body.strip_prefix(head)?)?)));
        match colour {
            Some((which, rgb)) => Step::Colour(which, rgb, used),
            None => Step::Done(None, used),
        }
    };
    for i in 2..s.len() {
        if s[i] == 0x07 {
            return done(&s[2..i], i + 1);
        }
        if s[i] == ESC && s.get(i + 1) == Some(&b'\\') {
            return done(&s[2..i], i + 2);
        }
        if s[i] == ESC && i + 1 < s.len() {
            // Broken off: drop what was read, the ESC starts afresh.
            return Step::Done(None, i);
        }
    }
    if s.len() > MAX_SEQUENCE {
        Step::Done(None, s.len())
    } else {
        Step::Partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::keys::test_mods::*;
    use crate::term::keys::{InputModes, encode_key};

    fn parse(bytes: &[u8]) -> Vec<Event> {
        let mut p = TtyParser::default();
        let mut out = Vec::new();
        p.feed(bytes, &mut out);
        assert_eq!(p.wait(), None, "nothing left pending after {bytes:?}");
        out
    }

    fn one(bytes: &[u8]) -> Event {
        let evs = parse(bytes);
        assert_eq!(evs.len(), 1, "{bytes:?} gave {evs:?}");
        evs.into_iter().next().unwrap()
    }

    fn k(code: KeyCode, mods: KeyModifiers) -> Event {
        key(code, mods)
    }

    #[test]
    fn modified_f1_to_f4_are_keys_not_cursor_reports() {
        assert_eq!(one(b"\x1b[1;2R"), k(KeyCode::F(3), SHIFT));
        assert_eq!(one(b"\x1b[1;5R"), k(KeyCode::F(3), CTRL));
        assert_eq!(one(b"\x1b[1;3P"), k(KeyCode::F(1), ALT));
        assert_eq!(one(b"\x1b[1;6Q"), k(KeyCode::F(2), SHIFT | CTRL));
        assert_eq!(one(b"\x1b[1;2S"), k(KeyCode::F(4), SHIFT));
        // A cursor position report for another row is not a key.
        assert_eq!(parse(b"\x1b[12;40R"), vec![]);
    }

    #[test]
    fn application_keypad_keys_carry_the_keypad_flag() {
        for (fin, c) in [
            (b'p', '0'),
            (b'u', '5'),
            (b'y', '9'),
            (b'k', '+'),
            (b'j', '*'),
        ] {
            assert_eq!(one(&[ESC, b'O', fin]), keypad(KeyCode::Char(c)));
        }
        assert_eq!(one(b"\x1bOM"), keypad(KeyCode::Enter));
        assert_eq!(one(b"\x1bOX"), keypad(KeyCode::Char('=')));
        assert_eq!(one(b"\x1bOn"), keypad(KeyCode::Char('.')));
    }

    #[test]
    fn cursor_function_and_tilde_keys() {
        for (bytes, key) in [
            // SS3: cursor and function keys.
            (&b"\x1bOA"[..], k(KeyCode::Up, NONE)),
            (b"\x1bOD", k(KeyCode::Left, NONE)),
            (b"\x1bOH", k(KeyCode::Home, NONE)),
            (b"\x1bOP", k(KeyCode::F(1), NONE)),
            (b"\x1bOS", k(KeyCode::F(4), NONE)),
            (b"\x1bO2R", k(KeyCode::F(3), SHIFT)),
            (b"\x1bOE", k(KeyCode::KeypadBegin, NONE)),
            // CSI: cursor keys with and without modifiers.
            (b"\x1b[A", k(KeyCode::Up, NONE)),
            (b"\x1b[1;5C", k(KeyCode::Right, CTRL)),
            (b"\x1b[1;3D", k(KeyCode::Left, ALT)),
            (b"\x1b[1;2F", k(KeyCode::End, SHIFT)),
            (b"\x1b[E", k(KeyCode::KeypadBegin, NONE)),
            (b"\x1b[1;9A", k(KeyCode::Up, KeyModifiers::SUPER)),
            (b"\x1b[Z", k(KeyCode::BackTab, SHIFT)),
            // `~` keys, and `u` (a key by its code).
            (b"\x1b[2~", k(KeyCode::Insert, NONE)),
            (b"\x1b[3;5~", k(KeyCode::Delete, CTRL)),
            (b"\x1b[5~", k(KeyCode::PageUp, NONE)),
            (b"\x1b[6;2~", k(KeyCode::PageDown, SHIFT)),
            (b"\x1b[1~", k(KeyCode::Home, NONE)),
            (b"\x1b[4~", k(KeyCode::End, NONE)),
            (b"\x1b[15~", k(KeyCode::F(5), NONE)),
            (b"\x1b[17~", k(KeyCode::F(6), NONE)),
            (b"\x1b[24;2~", k(KeyCode::F(12), SHIFT)),
            (b"\x1b[29~", k(KeyCode::F(16), NONE)),
            (b"\x1b[34~", k(KeyCode::F(20), NONE)),
            (b"\x1b[27;5;9~", k(KeyCode::Tab, CTRL)),
            (b"\x1b[27;6;65~", k(KeyCode::Char('A'), SHIFT | CTRL)),
            (b"\x1b[97;5u", k(KeyCode::Char('a'), CTRL)),
        ] {
            assert_eq!(one(bytes), key, "{bytes:?}");
        }
        // Another first parameter is no key; nor is an unknown number before `~`.
        assert_eq!(parse(b"\x1b[2;5A"), vec![]);
        assert_eq!(parse(b"\x1b[99~"), vec![]);
    }

    /// Every key `term::keys` can send, read back as the same bytes: what the outer
    /// terminal sends for a key reaches the program unchanged.
    #[test]
    fn what_the_encoder_sends_decodes_to_the_same_bytes() {
        let modes = [
            InputModes::default(),
            InputModes {
                application_cursor: true,
                application_keypad: true,
                ..InputModes::default()
            },
        ];
        let mut codes = vec![
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::Insert,
            KeyCode::Delete,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::KeypadBegin,
            KeyCode::Enter,
            KeyCode::Backspace,
            KeyCode::Char('a'),
            KeyCode::Char('é'),
            KeyCode::Char('界'),
        ];
        codes.extend((1..=35).map(KeyCode::F));
        let mod_sets = [NONE, SHIFT, ALT, CTRL, SHIFT | CTRL, ALT | CTRL | SHIFT];
        let mut checked = 0;
        for m in &modes {
            for &code in &codes {
                for &mods in &mod_sets {
                    let mut sent = Vec::new();
                    if !encode_key(&KeyEvent::new(code, mods), m, &mut sent) {
                        continue;
                    }
                    let evs = parse(&sent);
                    assert_eq!(
                        evs.len(),
                        1,
                        "{code:?} {mods:?} sent {sent:?}, read {evs:?}"
                    );
                    let Event::Key(back) = &evs[0] else {
                        panic!("{sent:?} read as {evs:?}");
                    };
                    let mut again = Vec::new();
                    assert!(encode_key(back, m, &mut again));
                    assert_eq!(again, sent, "{code:?} {mods:?} read back as {back:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 400, "{checked}");
    }

    #[test]
    fn keypad_keys_are_forwarded_as_the_program_wants_them() {
        let app = InputModes {
            application_keypad: true,
            ..InputModes::default()
        };
        let Event::Key(kp5) = one(b"\x1bOu") else {
            panic!()
        };
        let mut out = Vec::new();
        assert!(encode_key(&kp5, &app, &mut out));
        assert_eq!(out, b"\x1bOu");
        out.clear();
        assert!(encode_key(&kp5, &InputModes::default(), &mut out));
        assert_eq!(out, b"5");
    }

    #[test]
    fn characters_and_control_bytes_as_crossterm_named_them() {
        assert_eq!(
            parse("aZ€😀".as_bytes()),
            vec![
                k(KeyCode::Char('a'), NONE),
                k(KeyCode::Char('Z'), SHIFT),
                k(KeyCode::Char('€'), NONE),
                k(KeyCode::Char('😀'), NONE),
            ]
        );
        assert_eq!(one(b"\r"), k(KeyCode::Enter, NONE));
        assert_eq!(one(b"\t"), k(KeyCode::Tab, NONE));
        assert_eq!(one(b"\x7f"), k(KeyCode::Backspace, NONE));
        assert_eq!(one(b"\x02"), k(KeyCode::Char('b'), CTRL));
        assert_eq!(one(b"\x08"), k(KeyCode::Char('h'), CTRL));
        assert_eq!(one(b"\x00"), k(KeyCode::Char(' '), CTRL));
        assert_eq!(one(b"\x1c"), k(KeyCode::Char('4'), CTRL));
        // Invalid UTF-8 is dropped; what follows is kept.
        assert_eq!(
            parse(b"\xff\xc3(x"),
            vec![k(KeyCode::Char('('), NONE), k(KeyCode::Char('x'), NONE)]
        );
    }

    #[test]
    fn escape_and_alt() {
        assert_eq!(one(b"\x1b"), k(KeyCode::Esc, NONE));
        assert_eq!(one(b"\x1bx"), k(KeyCode::Char('x'), ALT));
        assert_eq!(one(b"\x1bX"), k(KeyCode::Char('X'), SHIFT | ALT));
        assert_eq!(one(b"\x1b\x02"), k(KeyCode::Char('b'), CTRL | ALT));
        assert_eq!(one(b"\x1b\r"), k(KeyCode::Enter, ALT));
        assert_eq!(one(b"\x1b\x1b"), k(KeyCode::Esc, ALT));
        assert_eq!(
            parse(b"\x1b\x1bx"),
            vec![k(KeyCode::Esc, ALT), k(KeyCode::Char('x'), NONE)]
        );
        assert_eq!(
            parse(b"\x1b\x1b[200~p\x1b[201~"),
            vec![k(KeyCode::Esc, NONE), Event::Paste("p".into())]
        );
        assert_eq!(one(b"\x1b\x1b[A"), k(KeyCode::Up, ALT));
        assert_eq!(one("\x1bé".as_bytes()), k(KeyCode::Char('é'), ALT));
        assert_eq!(
            parse(b"\x1bOz"),
            vec![
                k(KeyCode::Char('O'), SHIFT | ALT),
                k(KeyCode::Char('z'), NONE)
            ]
        );
    }

    #[test]
    fn focus_and_paste() {
        assert_eq!(one(b"\x1b[I"), Event::FocusGained);
        assert_eq!(one(b"\x1b[O"), Event::FocusLost);
        assert_eq!(
            parse(b"a\x1b[200~x\x1b[Ay\r\n\x1b[201~b"),
            vec![
                k(KeyCode::Char('a'), NONE),
                Event::Paste("x\x1b[Ay\r\n".into()),
                k(KeyCode::Char('b'), NONE),
            ]
        );
    }

    #[test]
    fn a_paste_split_anywhere_is_one_paste() {
        let all = b"\x1b[200~hello \xc3\xa9 world\x1b[201~";
        // Cut after the first byte, the lone ESC is the Escape key by design.
        for cut in 2..all.len() {
            let (_, out) = fed(&[&all[..cut], &all[cut..]]);
            let paste = vec![Event::Paste("hello é world".into())];
            assert_eq!(out, paste, "cut at {cut}");
        }
    }

    /// A parser fed `reads` one after the other, and the events it gave.
    fn fed(reads: &[&[u8]]) -> (TtyParser, Vec<Event>) {
        let mut p = TtyParser::default();
        let mut out = Vec::new();
        for read in reads {
            p.feed(read, &mut out);
        }
        (p, out)
    }

    #[test]
    fn a_paste_without_its_end_is_delivered_on_flush() {
        let (mut p, mut out) = fed(&[b"\x1b[200~abc\x1b[20"]);
        assert!(out.is_empty());
        assert_eq!(p.wait(), Some(PASTE_WAIT));
        p.flush(&mut out);
        assert_eq!(out, vec![Event::Paste("abc\x1b[20".into())]);
        assert_eq!(p.wait(), None);
    }

    #[test]
    fn a_sequence_split_between_reads_waits_for_its_rest() {
        let all: &[u8] = b"\x1b[1;2R\x1bOp\x1b[<0;5;7M\x1b[3;5~\xe2\x82\xac";
        let whole = parse(all);
        assert_eq!(whole.len(), 5);
        for cut in 1..all.len() {
            // A lone ESC ending a read is the Escape key by design.
            if all[cut - 1] == ESC {
                continue;
            }
            let (_, out) = fed(&[&all[..cut], &all[cut..]]);
            assert_eq!(out, whole, "cut at {cut}");
        }
    }

    #[test]
    fn an_unfinished_sequence_is_typed_keys_when_flushed() {
        let mut p = TtyParser::default();
        // The read, and the keys it is once flushed (half a UTF-8 character is none).
        for (read, keys) in [
            (&b"\x1b["[..], vec![k(KeyCode::Char('['), ALT)]),
            (b"\x1bO", vec![k(KeyCode::Char('O'), SHIFT | ALT)]),
            (b"\xe2\x82", vec![]),
        ] {
            let mut out = Vec::new();
            p.feed(read, &mut out);
            assert!(out.is_empty(), "{read:?} gave {out:?} before the flush");
            assert_eq!(p.wait(), Some(SEQUENCE_WAIT), "{read:?}");
            p.flush(&mut out);
            assert_eq!(out, keys, "{read:?}");
            assert_eq!(p.wait(), None, "{read:?}");
        }
    }

    #[test]
    fn garbage_never_grows_the_buffer() {
        let mut p = TtyParser::default();
        let mut out = Vec::new();
        let mut junk = b"\x1b[".to_vec();
        junk.extend(std::iter::repeat_n(b'1', 1000));
        p.feed(&junk, &mut out);
        assert!(p.pending.len() <= MAX_SEQUENCE + 1, "{}", p.pending.len());
        p.feed(b"x", &mut out);
        p.flush(&mut out);
        assert_eq!(out.last(), Some(&k(KeyCode::Char('x'), NONE)));
    }

    fn m(kind: MouseEventKind, column: u16, row: u16, modifiers: KeyModifiers) -> Event {
        Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers,
        })
    }

    #[test]
    fn sgr_mouse_reports() {
        use MouseButton::*;
        use MouseEventKind::*;
        assert_eq!(one(b"\x1b[<0;10;5M"), m(Down(Left), 9, 4, NONE));
        assert_eq!(one(b"\x1b[<0;10;5m"), m(Up(Left), 9, 4, NONE));
        assert_eq!(one(b"\x1b[<2;1;1M"), m(Down(Right), 0, 0, NONE));
        assert_eq!(one(b"\x1b[<32;3;4M"), m(Drag(Left), 2, 3, NONE));
        assert_eq!(one(b"\x1b[<35;3;4M"), m(Moved, 2, 3, NONE));
        assert_eq!(one(b"\x1b[<64;3;4M"), m(ScrollUp, 2, 3, NONE));
        assert_eq!(one(b"\x1b[<65;3;4M"), m(ScrollDown, 2, 3, NONE));
        assert_eq!(one(b"\x1b[<20;3;4M"), m(Down(Left), 2, 3, SHIFT | CTRL));
        assert_eq!(one(b"\x1b[<1;300;200M"), m(Down(Middle), 299, 199, NONE));
    }

    #[test]
    fn x10_and_rxvt_mouse_reports() {
        use MouseButton::*;
        use MouseEventKind::*;
        assert_eq!(one(b"\x1b[M !!"), m(Down(Left), 0, 0, NONE));
        assert_eq!(one(b"\x1b[M#!!"), m(Up(Left), 0, 0, NONE));
        assert_eq!(one(b"\x1b[32;10;5M"), m(Down(Left), 9, 4, NONE));
    }

    #[test]
    fn default_colour_reports_are_kept() {
        let mut p = TtyParser::default();
        let mut out = Vec::new();
        p.feed(
            b"\x1b]11;rgb:ffff/ffff/dddd\x1b\\\x1b]10;rgb:00/00/00\x07x",
            &mut out,
        );
        p.feed(b"\x1b]11;rgb:1212/3434/5656", &mut out);
        p.feed(b"\x1b\\", &mut out);
        assert_eq!(out, vec![k(KeyCode::Char('x'), NONE)]);
        assert_eq!(
            p.colours,
            vec![
                (11, (255, 255, 0xdd)),
                (10, (0, 0, 0)),
                (11, (0x12, 0x34, 0x56))
            ]
        );
        // Another OSC, or a colour it cannot read, is only skipped.
        p.colours.clear();
        p.feed(b"\x1b]11;red\x07\x1b]4;1;rgb:00/00/00\x07", &mut out);
        assert!(p.colours.is_empty());
    }

    #[test]
    fn replies_to_queries_are_dropped_whole() {
        assert_eq!(parse(b"\x1b[?62;22c"), vec![]);
        assert_eq!(parse(b"\x1b[>0;95;0c"), vec![]);
        assert_eq!(
            parse(b"\x1b]11;rgb:0000/0000/0000\x1b\\x"),
            vec![k(KeyCode::Char('x'), NONE)]
        );
        assert_eq!(parse(b"\x1b]10;rgb:ffff/ffff/ffff\x07"), vec![]);
        // Alt-] and Alt-P are keys.
        assert_eq!(one(b"\x1b]"), k(KeyCode::Char(']'), ALT));
        assert_eq!(one(b"\x1bP"), k(KeyCode::Char('P'), SHIFT | ALT));
    }
}
