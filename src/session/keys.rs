//! crossterm input events -> the bytes xterm would send to the program in a pane.
//!
//! The reference is xterm with its default resources: `modifyCursorKeys: 2`,
//! `modifyFunctionKeys: 2`, no `modifyOtherKeys`, `metaSendsEscape: true`, and the
//! backarrow key sending DEL. Programs inside memmux see the pane as an xterm (that is
//! what vt100 emulates), so anything else would confuse their key parsers.
//!
//! The encoders are pure: they read only the event and the pane's [`InputModes`], and
//! append to a caller-owned buffer so one keystroke costs no allocation.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};
use vt100::{MouseProtocolEncoding, MouseProtocolMode};

const ESC: u8 = 0x1b;

/// Bracketed-paste markers; also what a malicious paste would embed to escape the bracket.
const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// The largest 1-based coordinate the legacy `CSI M` encoding can carry: each value is
/// sent as one byte `value + 32`.
const DEFAULT_ENCODING_LIMIT: u32 = 255 - 32;
/// The largest value (after adding 32) that xterm writes in the `?1005` encoding: it
/// stops at two-byte UTF-8 sequences.
const UTF8_ENCODING_LIMIT: u32 = 2047;

/// The terminal modes of one pane that change what its input must look like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputModes {
    /// DECCKM, `CSI ? 1 h`: unmodified cursor keys send `SS3` instead of `CSI`.
    pub application_cursor: bool,
    /// DECKPAM, `ESC =`: keypad keys send `SS3` sequences (only when crossterm can tell a
    /// key came from the keypad; see [`encode_key`]).
    pub application_keypad: bool,
    /// `CSI ? 2004 h`: pastes are wrapped in `CSI 200 ~` ... `CSI 201 ~`.
    pub bracketed_paste: bool,
    /// Which mouse events the program asked for.
    pub mouse_mode: MouseProtocolMode,
    /// How the program wants mouse events written.
    pub mouse_encoding: MouseProtocolEncoding,
    /// `CSI ? 1004 h`. vt100 does not track it, so memmux has to and passes it in.
    pub focus_reporting: bool,
}

impl InputModes {
    /// The input modes the program in `screen` has set. `focus_reporting` comes from the
    /// caller because vt100 parses `CSI ? 1004 h` without recording it.
    pub fn from_screen(screen: &vt100::Screen, focus_reporting: bool) -> Self {
        Self {
            application_cursor: screen.application_cursor(),
            application_keypad: screen.application_keypad(),
            bracketed_paste: screen.bracketed_paste(),
            mouse_mode: screen.mouse_protocol_mode(),
            mouse_encoding: screen.mouse_protocol_encoding(),
            focus_reporting,
        }
    }
}

/// Appends the bytes for `key` to `out`; returns false when nothing is to be sent (key
/// release, keys xterm sends nothing for).
///
/// crossterm cannot tell apart keys that the outer terminal already sent as the same
/// byte (Tab and Ctrl-I, Enter and Ctrl-M, Esc and Ctrl-[, Backspace-with-Ctrl and
/// Ctrl-H): whichever it reports, the program gets the byte xterm sends for both.
pub fn encode_key(key: &KeyEvent, modes: &InputModes, out: &mut Vec<u8>) -> bool {
    if key.kind == KeyEventKind::Release {
        return false;
    }
    let mods = key.modifiers;
    let alt = mods.intersects(KeyModifiers::ALT | KeyModifiers::META);
    let ctrl = mods.contains(KeyModifiers::CONTROL);
    let shift = mods.contains(KeyModifiers::SHIFT);
    let param = modifier_param(mods);

    match key.code {
        KeyCode::Char(c) if key.state.contains(KeyEventState::KEYPAD) => {
            encode_keypad_char(c, key.state, alt, modes, out);
        }
        KeyCode::Char(c) => encode_char(c, ctrl, shift, alt, out),
        KeyCode::Enter if key.state.contains(KeyEventState::KEYPAD) => {
            encode_keypad_char('\r', key.state, alt, modes, out);
        }
        KeyCode::Enter => with_meta(alt, b"\r", out),
        // Some terminals (and crossterm's CSI-u path when Shift is reported without the
        // shifted key) deliver Shift-Tab as Tab + SHIFT; xterm sends CSI Z for it.
        KeyCode::Tab if shift => out.extend_from_slice(b"\x1b[Z"),
        KeyCode::Tab => with_meta(alt, b"\t", out),
        // xterm sends CSI Z for ISO_Left_Tab whatever else is held: the meta prefix only
        // applies to single-character keys and there is no modifier parameter for it
        // without modifyOtherKeys.
        KeyCode::BackTab => out.extend_from_slice(b"\x1b[Z"),
        // The backarrow key sends DEL and Control flips it to BS (xterm's DECBKM logic).
        KeyCode::Backspace => with_meta(alt, if ctrl { b"\x08" } else { b"\x7f" }, out),
        KeyCode::Esc => with_meta(alt, b"\x1b", out),
        KeyCode::Null => with_meta(alt, b"\0", out),
        KeyCode::Up => cursor_key(b'A', param, modes, out),
        KeyCode::Down => cursor_key(b'B', param, modes, out),
        KeyCode::Right => cursor_key(b'C', param, modes, out),
        KeyCode::Left => cursor_key(b'D', param, modes, out),
        KeyCode::Home => cursor_key(b'H', param, modes, out),
        KeyCode::End => cursor_key(b'F', param, modes, out),
        // Keypad 5 with NumLock off: xterm's KP_Begin is a cursor key with final E.
        KeyCode::KeypadBegin => cursor_key(b'E', param, modes, out),
        KeyCode::Insert => tilde_key(2, param, out),
        KeyCode::Delete => tilde_key(3, param, out),
        KeyCode::PageUp => tilde_key(5, param, out),
        KeyCode::PageDown => tilde_key(6, param, out),
        // xterm maps the Menu keysym to the DEC "Do" key, like F16.
        KeyCode::Menu => tilde_key(29, param, out),
        KeyCode::F(n @ 1..=4) => {
            let fin = b'P' + (n - 1);
            if param > 1 {
                csi_modified(1, param, fin, out);
            } else {
                out.extend_from_slice(&[ESC, b'O', fin]);
            }
        }
        KeyCode::F(n) => match function_key_number(n) {
            Some(code) => tilde_key(code, param, out),
            None => return false,
        },
        // Lock, media and lone modifier keys produce no input in xterm.
        KeyCode::CapsLock
        | KeyCode::ScrollLock
        | KeyCode::NumLock
        | KeyCode::PrintScreen
        | KeyCode::Pause
        | KeyCode::Media(_)
        | KeyCode::Modifier(_) => return false,
    }
    true
}

/// xterm's modifier parameter: 1 + Shift 1 + Alt 2 + Ctrl 4 + Meta 8. crossterm names
/// the 8 bit SUPER when it parses xterm sequences and reserves META for kitty's 32 bit;
/// either way the program should see xterm's Meta. Hyper has no xterm equivalent.
fn modifier_param(mods: KeyModifiers) -> u8 {
    let mut param = 1;
    if mods.contains(KeyModifiers::SHIFT) {
        param += 1;
    }
    if mods.contains(KeyModifiers::ALT) {
        param += 2;
    }
    if mods.contains(KeyModifiers::CONTROL) {
        param += 4;
    }
    if mods.intersects(KeyModifiers::SUPER | KeyModifiers::META) {
        param += 8;
    }
    param
}

/// metaSendsEscape: the key's bytes preceded by ESC when Alt (or Meta) is held.
fn with_meta(alt: bool, bytes: &[u8], out: &mut Vec<u8>) {
    if alt {
        out.push(ESC);
    }
    out.extend_from_slice(bytes);
}

fn encode_char(c: char, ctrl: bool, shift: bool, alt: bool, out: &mut Vec<u8>) {
    // crossterm already reports Shift-a as 'A'; a lowercase letter with SHIFT only comes
    // from protocols that report the base key, where xterm would have sent the shifted
    // letter. Shifted symbols depend on the keyboard layout and cannot be recovered.
    let c = if shift && c.is_lowercase() {
        single_uppercase(c).unwrap_or(c)
    } else {
        c
    };
    // No let-chains: the crate's rust-version (1.85) predates them.
    if let Some(byte) = control_byte(c).filter(|_| ctrl) {
        with_meta(alt, &[byte], out);
        return;
    }
    let mut buf = [0u8; 4];
    with_meta(alt, c.encode_utf8(&mut buf).as_bytes(), out);
}

fn single_uppercase(c: char) -> Option<char> {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => Some(u),
        _ => None,
    }
}

/// The byte X11 (`XLookupString`) and xterm produce for Control + `c`, or None when
/// Control leaves the character unchanged.
fn control_byte(c: char) -> Option<u8> {
    let byte = match c {
        // '@'..='~' covers the letters, `@[\]^_` and their lowercase-column twins
        // (`` ` {|}~ ``), all of which keep only their low five bits.
        ' ' => 0x00,
        '@'..='~' => (c as u8) & 0x1f,
        '2' => 0x00,
        '3'..='7' => (c as u8) - b'3' + 0x1b,
        '8' => 0x7f,
        // xterm special-cases Ctrl-? to DEL, the traditional "^?".
        '?' => 0x7f,
        '/' => 0x1f,
        _ => return None,
    };
    Some(byte)
}

/// A key crossterm flagged as coming from the numeric keypad (only possible with the
/// kitty keyboard protocol). xterm sends `SS3` + a letter in application keypad mode,
/// except that NumLock forces the plain character; crossterm reports NumLock in `state`.
fn encode_keypad_char(
    c: char,
    state: KeyEventState,
    alt: bool,
    modes: &InputModes,
    out: &mut Vec<u8>,
) {
    let application = modes.application_keypad && !state.contains(KeyEventState::NUM_LOCK);
    if let Some(fin) = keypad_application_final(c).filter(|_| application) {
        out.extend_from_slice(&[ESC, b'O', fin]);
        return;
    }
    // xterm's numeric keypad ignores Control (Ctrl-KP8 is '8', not DEL), so these skip
    // `control_byte`.
    let mut buf = [0u8; 4];
    with_meta(alt, c.encode_utf8(&mut buf).as_bytes(), out);
}

/// xterm's `kypd_apl` table: the final byte of `SS3 x` for each keypad key.
fn keypad_application_final(c: char) -> Option<u8> {
    Some(match c {
        '0'..='9' => b'p' + (c as u8 - b'0'),
        '\r' => b'M',
        '*' => b'j',
        '+' => b'k',
        ',' => b'l',
        '-' => b'm',
        '.' => b'n',
        '/' => b'o',
        '=' => b'X',
        _ => return None,
    })
}

/// Arrows, Home, End, Begin: `CSI x` / `SS3 x` unmodified (by DECCKM), and
/// `CSI 1 ; m x` modified in either mode (modifyCursorKeys: 2).
fn cursor_key(fin: u8, param: u8, modes: &InputModes, out: &mut Vec<u8>) {
    if param > 1 {
        csi_modified(1, param, fin, out);
    } else if modes.application_cursor {
        out.extend_from_slice(&[ESC, b'O', fin]);
    } else {
        out.extend_from_slice(&[ESC, b'[', fin]);
    }
}

/// The DEC editing and function keys: `CSI n ~`, or `CSI n ; m ~` when modified.
fn tilde_key(code: u8, param: u8, out: &mut Vec<u8>) {
    if param > 1 {
        csi_modified(code, param, b'~', out);
    } else {
        out.extend_from_slice(&[ESC, b'[']);
        push_decimal(u32::from(code), out);
        out.push(b'~');
    }
}

fn csi_modified(code: u8, param: u8, fin: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&[ESC, b'[']);
    push_decimal(u32::from(code), out);
    out.push(b';');
    push_decimal(u32::from(param), out);
    out.push(fin);
}

/// xterm's `decfuncvalue` for F5..F35 (F1..F4 are handled as PF keys). The gaps (16,
/// 22, 27, 30, 35..41) are the VT220's unused codes.
fn function_key_number(n: u8) -> Option<u8> {
    Some(match n {
        5 => 15,
        6..=10 => n + 11,
        11..=14 => n + 12,
        15..=16 => n + 13,
        17..=20 => n + 14,
        21..=35 => n + 21,
        _ => return None,
    })
}

fn push_decimal(mut value: u32, out: &mut Vec<u8>) {
    let mut digits = [0u8; 10];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (value % 10) as u8;
        len += 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend(digits[..len].iter().rev());
}

/// Appends a paste of `text`. Line breaks become CR, as xterm sends them; in bracketed
/// mode the text is wrapped in the paste markers, and any markers inside the text are
/// removed so the paste cannot end its own bracket and have the rest read as typed keys.
pub fn encode_paste(text: &str, modes: &InputModes, out: &mut Vec<u8>) {
    if modes.bracketed_paste {
        out.extend_from_slice(PASTE_START);
    }
    let body_start = out.len();
    let mut bytes = text.bytes().peekable();
    while let Some(byte) = bytes.next() {
        let byte = match byte {
            b'\r' => {
                bytes.next_if_eq(&b'\n');
                b'\r'
            }
            b'\n' => b'\r',
            other => other,
        };
        out.push(byte);
        // Removing a marker as soon as it is complete also catches one assembled from
        // the pieces around an earlier removed marker ("\e[20\e[201~1~").
        if modes.bracketed_paste {
            let body = &out[body_start..];
            if body.ends_with(PASTE_END) || body.ends_with(PASTE_START) {
                out.truncate(out.len() - PASTE_END.len());
            }
        }
    }
    if modes.bracketed_paste {
        out.extend_from_slice(PASTE_END);
    }
}

/// Appends the report of mouse event `ev` at the 0-based pane position (`col`, `row`).
/// Returns false when the program did not ask for this event, or it cannot be encoded
/// (a position beyond the encoding's range); memmux may then use the event itself.
pub fn encode_mouse(
    ev: &MouseEvent,
    col: u16,
    row: u16,
    modes: &InputModes,
    out: &mut Vec<u8>,
) -> bool {
    let Some((code, release)) = mouse_code(ev, modes.mouse_mode) else {
        return false;
    };
    let x = u32::from(col) + 1;
    let y = u32::from(row) + 1;
    match modes.mouse_encoding {
        MouseProtocolEncoding::Default => {
            if x > DEFAULT_ENCODING_LIMIT || y > DEFAULT_ENCODING_LIMIT {
                return false;
            }
            // The legacy release code 3 cannot say which button went up.
            let code = if release { (code & !0b11) | 3 } else { code };
            out.extend_from_slice(b"\x1b[M");
            for value in [code, x, y] {
                // Each value is at most 223 + 32 here, so it fits a byte.
                out.push((value + 32) as u8);
            }
        }
        MouseProtocolEncoding::Utf8 => {
            if x + 32 > UTF8_ENCODING_LIMIT || y + 32 > UTF8_ENCODING_LIMIT {
                return false;
            }
            let code = if release { (code & !0b11) | 3 } else { code };
            out.extend_from_slice(b"\x1b[M");
            for value in [code, x, y] {
                // Below 2048 there are no surrogates, so every value is a char.
                if let Some(c) = char::from_u32(value + 32) {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        MouseProtocolEncoding::Sgr => {
            out.extend_from_slice(b"\x1b[<");
            push_decimal(code, out);
            out.push(b';');
            push_decimal(x, out);
            out.push(b';');
            push_decimal(y, out);
            out.push(if release { b'm' } else { b'M' });
        }
    }
    true
}

/// The button code (with modifier and motion bits) for `ev` under `mode`, and whether
/// it is a release; None when `mode` does not report this kind of event.
fn mouse_code(ev: &MouseEvent, mode: MouseProtocolMode) -> Option<(u32, bool)> {
    use MouseEventKind as K;
    use MouseProtocolMode as M;

    let (code, release) = match (mode, ev.kind) {
        (M::None, _) => return None,
        // X10 compatibility: presses of the three buttons only, with no modifier bits
        // (xterm's EditorButton writes `' ' + button` and ignores wheel "buttons").
        (M::Press, K::Down(button)) => return Some((button_number(button), false)),
        (M::Press, _) => return None,
        (_, K::Down(button)) => (button_number(button), false),
        (_, K::Up(button)) => (button_number(button), true),
        (_, K::ScrollUp) => (64, false),
        (_, K::ScrollDown) => (65, false),
        (_, K::ScrollLeft) => (66, false),
        (_, K::ScrollRight) => (67, false),
        (M::ButtonMotion | M::AnyMotion, K::Drag(button)) => (32 + button_number(button), false),
        (M::AnyMotion, K::Moved) => (32 + 3, false),
        (M::PressRelease, K::Drag(_) | K::Moved) | (M::ButtonMotion, K::Moved) => return None,
    };
    Some((code | mouse_modifier_bits(ev.modifiers), release))
}

fn button_number(button: MouseButton) -> u32 {
    match button {
        MouseButton::Left => 0,
        MouseButton::Middle => 1,
        MouseButton::Right => 2,
    }
}

fn mouse_modifier_bits(mods: KeyModifiers) -> u32 {
    let mut bits = 0;
    if mods.contains(KeyModifiers::SHIFT) {
        bits |= 4;
    }
    if mods.intersects(KeyModifiers::ALT | KeyModifiers::META) {
        bits |= 8;
    }
    if mods.contains(KeyModifiers::CONTROL) {
        bits |= 16;
    }
    bits
}

/// Appends the focus report (`CSI I` gained, `CSI O` lost) if the program asked for
/// them with `CSI ? 1004 h`; returns whether anything was appended.
pub fn encode_focus(gained: bool, modes: &InputModes, out: &mut Vec<u8>) -> bool {
    if !modes.focus_reporting {
        return false;
    }
    out.extend_from_slice(if gained { b"\x1b[I" } else { b"\x1b[O" });
    true
}
