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
///
/// Likewise crossterm reports a keypad key as the ordinary key (digit, operator, Enter)
/// unless the kitty keyboard protocol is on, which sets `KeyEventState::KEYPAD`; only
/// then can DECKPAM's `SS3` keypad sequences be sent.
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
            encode_keypad_char(c, key.state, param, modes, out);
        }
        KeyCode::Char(c) => encode_char(c, ctrl, shift, alt, out),
        KeyCode::Enter if key.state.contains(KeyEventState::KEYPAD) => {
            encode_keypad_char('\r', key.state, param, modes, out);
        }
        KeyCode::Enter => with_meta(alt, b"\r", out),
        // crossterm normally turns Shift-Tab into BackTab, but a Tab + SHIFT report is
        // still Shift-Tab to xterm.
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
        ' ' => 0x00,
        // The letters, `@[\]^_` and their lowercase-column twins (`` ` {|}~ ``) all keep
        // only their low five bits.
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
/// kitty keyboard protocol). In application keypad mode xterm sends `SS3` + a letter,
/// with the modifier parameter between them (`SS3 5 k` for Ctrl-KP+); NumLock forces
/// the numeric keypad, and crossterm reports NumLock in `state`. The numeric keypad
/// sends the bare character: xterm ignores every modifier there, Alt included.
fn encode_keypad_char(
    c: char,
    state: KeyEventState,
    param: u8,
    modes: &InputModes,
    out: &mut Vec<u8>,
) {
    let application = modes.application_keypad && !state.contains(KeyEventState::NUM_LOCK);
    if let Some(fin) = keypad_application_final(c).filter(|_| application) {
        out.extend_from_slice(&[ESC, b'O']);
        if param > 1 {
            push_decimal(u32::from(param), out);
        }
        out.push(fin);
        return;
    }
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
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

/// Short names for modifier sets, for tables of keys in tests (here and in `input::tty`).
#[cfg(test)]
pub(crate) mod test_mods {
    use crossterm::event::KeyModifiers;

    pub const NONE: KeyModifiers = KeyModifiers::NONE;
    pub const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
    pub const ALT: KeyModifiers = KeyModifiers::ALT;
    pub const CTRL: KeyModifiers = KeyModifiers::CONTROL;
}

#[cfg(test)]
mod tests {
    use super::test_mods::*;
    use super::*;

    const SUPER: KeyModifiers = KeyModifiers::SUPER;
    const META: KeyModifiers = KeyModifiers::META;
    const HYPER: KeyModifiers = KeyModifiers::HYPER;

    fn normal() -> InputModes {
        InputModes::default()
    }

    fn app_cursor() -> InputModes {
        InputModes {
            application_cursor: true,
            ..InputModes::default()
        }
    }

    fn app_keypad() -> InputModes {
        InputModes {
            application_keypad: true,
            ..InputModes::default()
        }
    }

    /// The bytes sent for `key`, or None when `encode_key` says nothing is sent (in which
    /// case it must also have appended nothing).
    fn send(key: KeyEvent, modes: &InputModes) -> Option<Vec<u8>> {
        let mut out = b"prefix".to_vec();
        let sent = encode_key(&key, modes, &mut out);
        assert!(out.starts_with(b"prefix"), "{key:?} clobbered the buffer");
        let bytes = out.split_off(6);
        if sent {
            assert!(!bytes.is_empty(), "{key:?} claimed to send nothing");
            Some(bytes)
        } else {
            assert!(
                bytes.is_empty(),
                "{key:?} returned false but wrote {bytes:?}"
            );
            None
        }
    }

    fn press(code: KeyCode, mods: KeyModifiers) -> Option<Vec<u8>> {
        send(KeyEvent::new(code, mods), &normal())
    }

    fn check_keys(modes: &InputModes, table: &[(KeyCode, KeyModifiers, &[u8])]) {
        for &(code, mods, want) in table {
            assert_eq!(
                send(KeyEvent::new(code, mods), modes).as_deref(),
                Some(want),
                "{code:?} with {mods:?} in {modes:?}"
            );
        }
    }

    #[test]
    fn printable_characters_are_utf8() {
        check_keys(
            &normal(),
            &[
                (KeyCode::Char('a'), NONE, b"a"),
                (KeyCode::Char(' '), NONE, b" "),
                (KeyCode::Char('~'), NONE, b"~"),
                // crossterm reports Shift-a as 'A' + SHIFT.
                (KeyCode::Char('A'), SHIFT, b"A"),
                // Protocols that report the base key: xterm would send the shifted letter.
                (KeyCode::Char('a'), SHIFT, b"A"),
                // A shifted symbol's base key cannot be mapped without the layout.
                (KeyCode::Char('1'), SHIFT, b"1"),
                (KeyCode::Char('!'), SHIFT, b"!"),
                (KeyCode::Char('é'), NONE, "é".as_bytes()),
                (KeyCode::Char('é'), SHIFT, "É".as_bytes()),
                // 'ß' uppercases to two characters: keep it as reported.
                (KeyCode::Char('ß'), SHIFT, "ß".as_bytes()),
                (KeyCode::Char('€'), NONE, "€".as_bytes()),
                (KeyCode::Char('😀'), NONE, "😀".as_bytes()),
                // Super and Hyper do not change a character in xterm.
                (KeyCode::Char('x'), SUPER, b"x"),
                (KeyCode::Char('x'), HYPER, b"x"),
            ],
        );
    }

    #[test]
    fn editing_keys() {
        check_keys(
            &normal(),
            &[
                (KeyCode::Enter, NONE, b"\r"),
                (KeyCode::Enter, SHIFT, b"\r"),
                (KeyCode::Enter, CTRL, b"\r"),
                (KeyCode::Enter, ALT, b"\x1b\r"),
                (KeyCode::Tab, NONE, b"\t"),
                (KeyCode::Tab, CTRL, b"\t"),
                (KeyCode::Tab, ALT, b"\x1b\t"),
                (KeyCode::Tab, SHIFT, b"\x1b[Z"),
                (KeyCode::BackTab, SHIFT, b"\x1b[Z"),
                (KeyCode::BackTab, NONE, b"\x1b[Z"),
                (KeyCode::BackTab, SHIFT | ALT, b"\x1b[Z"),
                (KeyCode::BackTab, SHIFT | CTRL, b"\x1b[Z"),
                (KeyCode::Backspace, NONE, b"\x7f"),
                (KeyCode::Backspace, SHIFT, b"\x7f"),
                (KeyCode::Backspace, CTRL, b"\x08"),
                (KeyCode::Backspace, ALT, b"\x1b\x7f"),
                (KeyCode::Backspace, CTRL | ALT, b"\x1b\x08"),
                (KeyCode::Esc, NONE, b"\x1b"),
                (KeyCode::Esc, CTRL, b"\x1b"),
                (KeyCode::Esc, ALT, b"\x1b\x1b"),
                (KeyCode::Null, NONE, b"\0"),
            ],
        );
        // Cursor and keypad modes do not affect these keys.
        let all = InputModes {
            application_cursor: true,
            application_keypad: true,
            ..InputModes::default()
        };
        check_keys(
            &all,
            &[
                (KeyCode::Enter, NONE, b"\r"),
                (KeyCode::Tab, NONE, b"\t"),
                (KeyCode::BackTab, SHIFT, b"\x1b[Z"),
                (KeyCode::Backspace, NONE, b"\x7f"),
                (KeyCode::Esc, NONE, b"\x1b"),
            ],
        );
    }

    #[test]
    fn alt_prefixes_escape() {
        check_keys(
            &normal(),
            &[
                (KeyCode::Char('a'), ALT, b"\x1ba"),
                (KeyCode::Char('a'), META, b"\x1ba"),
                // crossterm's report of ESC X: Alt-Shift-x.
                (KeyCode::Char('X'), ALT | SHIFT, b"\x1bX"),
                (KeyCode::Char('x'), ALT | SHIFT, b"\x1bX"),
                (KeyCode::Char('.'), ALT, b"\x1b."),
                (KeyCode::Char(' '), ALT, b"\x1b "),
                (KeyCode::Char('é'), ALT, "\x1bé".as_bytes()),
                (KeyCode::Char('a'), CTRL | ALT, b"\x1b\x01"),
                (KeyCode::Char(' '), CTRL | ALT, b"\x1b\x00"),
                (KeyCode::Char('/'), CTRL | ALT, b"\x1b\x1f"),
            ],
        );
    }

    #[test]
    fn ctrl_letters_are_c0_controls() {
        for (i, (lower, upper)) in ('a'..='z').zip('A'..='Z').enumerate() {
            let want = vec![i as u8 + 1];
            for (c, mods) in [
                (lower, CTRL),
                (upper, CTRL),
                (lower, CTRL | SHIFT),
                (upper, CTRL | SHIFT),
            ] {
                assert_eq!(
                    press(KeyCode::Char(c), mods),
                    Some(want.clone()),
                    "{c:?} {mods:?}"
                );
            }
        }
    }

    #[test]
    fn ctrl_symbols() {
        let table: &[(char, &[u8])] = &[
            (' ', b"\x00"),
            ('@', b"\x00"),
            ('2', b"\x00"),
            ('`', b"\x00"),
            ('[', b"\x1b"),
            ('3', b"\x1b"),
            ('{', b"\x1b"),
            ('\\', b"\x1c"),
            ('4', b"\x1c"),
            ('|', b"\x1c"),
            (']', b"\x1d"),
            ('5', b"\x1d"),
            ('}', b"\x1d"),
            ('^', b"\x1e"),
            ('6', b"\x1e"),
            ('~', b"\x1e"),
            ('_', b"\x1f"),
            ('7', b"\x1f"),
            ('/', b"\x1f"),
            ('8', b"\x7f"),
            ('?', b"\x7f"),
            // Control leaves every other character alone.
            ('1', b"1"),
            ('9', b"9"),
            ('0', b"0"),
            ('-', b"-"),
            ('=', b"="),
            (';', b";"),
            ('\'', b"'"),
            (',', b","),
            ('.', b"."),
            ('!', b"!"),
            ('é', "é".as_bytes()),
        ];
        for &(c, want) in table {
            assert_eq!(
                press(KeyCode::Char(c), CTRL).as_deref(),
                Some(want),
                "Ctrl-{c:?}"
            );
            // Shift changes nothing once the character is known (Ctrl-Shift-2 is '@'),
            // except that it uppercases a lowercase letter.
            if c.is_lowercase() {
                continue;
            }
            assert_eq!(
                press(KeyCode::Char(c), CTRL | SHIFT).as_deref(),
                Some(want),
                "Ctrl-Shift-{c:?}"
            );
        }
    }

    /// The modifier combinations and xterm's parameter for each.
    const MODIFIED: &[(KeyModifiers, u8)] = &[
        (SHIFT, 2),
        (ALT, 3),
        (KeyModifiers::SHIFT.union(KeyModifiers::ALT), 4),
        (CTRL, 5),
        (KeyModifiers::SHIFT.union(KeyModifiers::CONTROL), 6),
        (KeyModifiers::ALT.union(KeyModifiers::CONTROL), 7),
        (
            KeyModifiers::SHIFT
                .union(KeyModifiers::ALT)
                .union(KeyModifiers::CONTROL),
            8,
        ),
        // crossterm's name for xterm's Meta bit (parameter 9) is SUPER.
        (SUPER, 9),
        (META, 9),
        (KeyModifiers::SUPER.union(KeyModifiers::SHIFT), 10),
        (KeyModifiers::all().difference(KeyModifiers::HYPER), 16),
        // Hyper has no xterm bit.
        (HYPER, 1),
    ];

    #[test]
    fn cursor_keys_in_both_modes() {
        let keys = [
            (KeyCode::Up, 'A'),
            (KeyCode::Down, 'B'),
            (KeyCode::Right, 'C'),
            (KeyCode::Left, 'D'),
            (KeyCode::Home, 'H'),
            (KeyCode::End, 'F'),
            (KeyCode::KeypadBegin, 'E'),
        ];
        for (code, fin) in keys {
            assert_eq!(
                send(KeyEvent::new(code, NONE), &normal()),
                Some(format!("\x1b[{fin}").into_bytes()),
                "{code:?}"
            );
            assert_eq!(
                send(KeyEvent::new(code, NONE), &app_cursor()),
                Some(format!("\x1bO{fin}").into_bytes()),
                "{code:?} in application mode"
            );
            for &(mods, param) in MODIFIED {
                let want = if param == 1 {
                    // Unmodified after all: plain form.
                    [format!("\x1b[{fin}"), format!("\x1bO{fin}")]
                } else {
                    // Modified keys use CSI 1 ; m in both modes (SS3 takes no parameters).
                    [
                        format!("\x1b[1;{param}{fin}"),
                        format!("\x1b[1;{param}{fin}"),
                    ]
                };
                for (modes, want) in [normal(), app_cursor()].iter().zip(want) {
                    assert_eq!(
                        send(KeyEvent::new(code, mods), modes),
                        Some(want.into_bytes()),
                        "{code:?} {mods:?} {modes:?}"
                    );
                }
            }
        }
        // A few spelled out in full, in case the loop above and the code agree on a bug.
        check_keys(
            &normal(),
            &[
                (KeyCode::Up, NONE, b"\x1b[A"),
                (KeyCode::Left, CTRL, b"\x1b[1;5D"),
                (KeyCode::Right, SHIFT | ALT, b"\x1b[1;4C"),
                (KeyCode::Home, NONE, b"\x1b[H"),
                (KeyCode::End, SHIFT, b"\x1b[1;2F"),
            ],
        );
        check_keys(
            &app_cursor(),
            &[
                (KeyCode::Down, NONE, b"\x1bOB"),
                (KeyCode::Down, CTRL, b"\x1b[1;5B"),
                (KeyCode::Home, NONE, b"\x1bOH"),
                (KeyCode::End, NONE, b"\x1bOF"),
                (KeyCode::Up, ALT | CTRL, b"\x1b[1;7A"),
            ],
        );
    }

    #[test]
    fn editing_keypad_tilde_keys() {
        for (code, n) in [
            (KeyCode::Insert, 2),
            (KeyCode::Delete, 3),
            (KeyCode::PageUp, 5),
            (KeyCode::PageDown, 6),
            (KeyCode::Menu, 29),
        ] {
            for modes in [normal(), app_cursor(), app_keypad()] {
                assert_eq!(
                    send(KeyEvent::new(code, NONE), &modes),
                    Some(format!("\x1b[{n}~").into_bytes()),
                    "{code:?} {modes:?}"
                );
                for &(mods, param) in MODIFIED {
                    let want = if param == 1 {
                        format!("\x1b[{n}~")
                    } else {
                        format!("\x1b[{n};{param}~")
                    };
                    assert_eq!(
                        send(KeyEvent::new(code, mods), &modes),
                        Some(want.into_bytes()),
                        "{code:?} {mods:?} {modes:?}"
                    );
                }
            }
        }
        check_keys(
            &normal(),
            &[
                (KeyCode::Insert, NONE, b"\x1b[2~"),
                (KeyCode::Delete, NONE, b"\x1b[3~"),
                (KeyCode::Delete, CTRL, b"\x1b[3;5~"),
                (KeyCode::PageUp, SHIFT, b"\x1b[5;2~"),
                (KeyCode::PageDown, ALT, b"\x1b[6;3~"),
            ],
        );
    }

    #[test]
    fn function_keys() {
        /// Key number, then its bytes unmodified, with Shift, and with Ctrl-Alt.
        type Row = (u8, &'static [u8], &'static [u8], &'static [u8]);
        let table: &[Row] = &[
            (1, b"\x1bOP", b"\x1b[1;2P", b"\x1b[1;7P"),
            (2, b"\x1bOQ", b"\x1b[1;2Q", b"\x1b[1;7Q"),
            (3, b"\x1bOR", b"\x1b[1;2R", b"\x1b[1;7R"),
            (4, b"\x1bOS", b"\x1b[1;2S", b"\x1b[1;7S"),
            (5, b"\x1b[15~", b"\x1b[15;2~", b"\x1b[15;7~"),
            (6, b"\x1b[17~", b"\x1b[17;2~", b"\x1b[17;7~"),
            (7, b"\x1b[18~", b"\x1b[18;2~", b"\x1b[18;7~"),
            (8, b"\x1b[19~", b"\x1b[19;2~", b"\x1b[19;7~"),
            (9, b"\x1b[20~", b"\x1b[20;2~", b"\x1b[20;7~"),
            (10, b"\x1b[21~", b"\x1b[21;2~", b"\x1b[21;7~"),
            (11, b"\x1b[23~", b"\x1b[23;2~", b"\x1b[23;7~"),
            (12, b"\x1b[24~", b"\x1b[24;2~", b"\x1b[24;7~"),
            (13, b"\x1b[25~", b"\x1b[25;2~", b"\x1b[25;7~"),
            (14, b"\x1b[26~", b"\x1b[26;2~", b"\x1b[26;7~"),
            (15, b"\x1b[28~", b"\x1b[28;2~", b"\x1b[28;7~"),
            (16, b"\x1b[29~", b"\x1b[29;2~", b"\x1b[29;7~"),
            (17, b"\x1b[31~", b"\x1b[31;2~", b"\x1b[31;7~"),
            (18, b"\x1b[32~", b"\x1b[32;2~", b"\x1b[32;7~"),
            (19, b"\x1b[33~", b"\x1b[33;2~", b"\x1b[33;7~"),
            (20, b"\x1b[34~", b"\x1b[34;2~", b"\x1b[34;7~"),
            (21, b"\x1b[42~", b"\x1b[42;2~", b"\x1b[42;7~"),
            (24, b"\x1b[45~", b"\x1b[45;2~", b"\x1b[45;7~"),
            (35, b"\x1b[56~", b"\x1b[56;2~", b"\x1b[56;7~"),
        ];
        for &(n, plain, shift, ctrl_alt) in table {
            for modes in [normal(), app_cursor(), app_keypad()] {
                check_keys(
                    &modes,
                    &[
                        (KeyCode::F(n), NONE, plain),
                        (KeyCode::F(n), SHIFT, shift),
                        (KeyCode::F(n), CTRL | ALT, ctrl_alt),
                    ],
                );
            }
        }
        for &(mods, param) in MODIFIED {
            let (f1, f12) = if param == 1 {
                ("\x1bOP".to_string(), "\x1b[24~".to_string())
            } else {
                (format!("\x1b[1;{param}P"), format!("\x1b[24;{param}~"))
            };
            assert_eq!(
                press(KeyCode::F(1), mods),
                Some(f1.into_bytes()),
                "{mods:?}"
            );
            assert_eq!(
                press(KeyCode::F(12), mods),
                Some(f12.into_bytes()),
                "{mods:?}"
            );
        }
        // Keys xterm has no code for.
        for n in [0, 36, 255] {
            assert_eq!(press(KeyCode::F(n), NONE), None, "F{n}");
        }
    }

    #[test]
    fn key_event_kinds() {
        let mut repeat = KeyEvent::new(KeyCode::Char('a'), NONE);
        repeat.kind = KeyEventKind::Repeat;
        assert_eq!(send(repeat, &normal()), Some(b"a".to_vec()));
        let mut repeat = KeyEvent::new(KeyCode::Up, CTRL);
        repeat.kind = KeyEventKind::Repeat;
        assert_eq!(send(repeat, &normal()), Some(b"\x1b[1;5A".to_vec()));
        for code in [
            KeyCode::Char('a'),
            KeyCode::Enter,
            KeyCode::Up,
            KeyCode::F(5),
            KeyCode::Esc,
        ] {
            let mut release = KeyEvent::new(code, NONE);
            release.kind = KeyEventKind::Release;
            assert_eq!(send(release, &normal()), None, "release of {code:?}");
        }
    }

    #[test]
    fn keys_xterm_sends_nothing_for() {
        use crossterm::event::{MediaKeyCode, ModifierKeyCode};
        for code in [
            KeyCode::CapsLock,
            KeyCode::ScrollLock,
            KeyCode::NumLock,
            KeyCode::PrintScreen,
            KeyCode::Pause,
            KeyCode::Media(MediaKeyCode::PlayPause),
            KeyCode::Media(MediaKeyCode::RaiseVolume),
            KeyCode::Modifier(ModifierKeyCode::LeftShift),
            KeyCode::Modifier(ModifierKeyCode::RightControl),
        ] {
            assert_eq!(press(code, NONE), None, "{code:?}");
            assert_eq!(press(code, CTRL), None, "{code:?} with Ctrl");
        }
    }

    fn keypad(code: KeyCode, mods: KeyModifiers, state: KeyEventState) -> KeyEvent {
        KeyEvent::new_with_kind_and_state(code, mods, KeyEventKind::Press, state)
    }

    #[test]
    fn keypad_keys_when_crossterm_can_tell() {
        let kp = KeyEventState::KEYPAD;
        let kp_num = KeyEventState::KEYPAD | KeyEventState::NUM_LOCK;
        // Checked against xterm 379 (Ctrl-KP+ in application mode is `SS3 5 k`).
        /// Key, then its bytes in application mode, there with Ctrl, and numeric.
        type Row = (KeyCode, &'static [u8], &'static [u8], &'static [u8]);
        let table: &[Row] = &[
            (KeyCode::Char('0'), b"\x1bOp", b"\x1bO5p", b"0"),
            (KeyCode::Char('5'), b"\x1bOu", b"\x1bO5u", b"5"),
            (KeyCode::Char('9'), b"\x1bOy", b"\x1bO5y", b"9"),
            (KeyCode::Char('*'), b"\x1bOj", b"\x1bO5j", b"*"),
            (KeyCode::Char('+'), b"\x1bOk", b"\x1bO5k", b"+"),
            (KeyCode::Char(','), b"\x1bOl", b"\x1bO5l", b","),
            (KeyCode::Char('-'), b"\x1bOm", b"\x1bO5m", b"-"),
            (KeyCode::Char('.'), b"\x1bOn", b"\x1bO5n", b"."),
            (KeyCode::Char('/'), b"\x1bOo", b"\x1bO5o", b"/"),
            (KeyCode::Char('='), b"\x1bOX", b"\x1bO5X", b"="),
            (KeyCode::Enter, b"\x1bOM", b"\x1bO5M", b"\r"),
        ];
        for &(code, app, app_ctrl, num) in table {
            let key = keypad(code, NONE, kp);
            assert_eq!(send(key, &app_keypad()).as_deref(), Some(app), "{code:?}");
            assert_eq!(send(key, &normal()).as_deref(), Some(num), "{code:?}");
            let ctrl = keypad(code, CTRL, kp);
            assert_eq!(
                send(ctrl, &app_keypad()).as_deref(),
                Some(app_ctrl),
                "{code:?}"
            );
            // NumLock forces the character even in application keypad mode.
            let locked = keypad(code, NONE, kp_num);
            assert_eq!(
                send(locked, &app_keypad()).as_deref(),
                Some(num),
                "{code:?}"
            );
            // The numeric keypad ignores all modifiers.
            for mods in [CTRL, ALT, SHIFT | ALT | CTRL] {
                let key = keypad(code, mods, kp);
                assert_eq!(
                    send(key, &normal()).as_deref(),
                    Some(num),
                    "{code:?} {mods:?}"
                );
                let key = keypad(code, mods, kp_num);
                assert_eq!(
                    send(key, &app_keypad()).as_deref(),
                    Some(num),
                    "{code:?} {mods:?}"
                );
            }
        }
        let alt_enter = keypad(KeyCode::Enter, ALT, kp);
        assert_eq!(send(alt_enter, &app_keypad()), Some(b"\x1bO3M".to_vec()));
        let shift_div = keypad(KeyCode::Char('/'), SHIFT, kp);
        assert_eq!(send(shift_div, &app_keypad()), Some(b"\x1bO2o".to_vec()));
        // Navigation keys from the keypad are the editing keys.
        let up = keypad(KeyCode::Up, NONE, kp);
        assert_eq!(send(up, &app_keypad()), Some(b"\x1b[A".to_vec()));
        let del = keypad(KeyCode::Delete, NONE, kp);
        assert_eq!(send(del, &app_keypad()), Some(b"\x1b[3~".to_vec()));
        let begin = keypad(KeyCode::KeypadBegin, NONE, kp);
        assert_eq!(send(begin, &app_keypad()), Some(b"\x1b[E".to_vec()));
        // Without the KEYPAD flag a digit is a digit, whatever the mode.
        let five = KeyEvent::new(KeyCode::Char('5'), NONE);
        assert_eq!(send(five, &app_keypad()), Some(b"5".to_vec()));
        let enter = KeyEvent::new(KeyCode::Enter, NONE);
        assert_eq!(send(enter, &app_keypad()), Some(b"\r".to_vec()));
    }

    fn paste(text: &str, bracketed: bool) -> Vec<u8> {
        let modes = InputModes {
            bracketed_paste: bracketed,
            ..InputModes::default()
        };
        let mut out = b"prefix".to_vec();
        encode_paste(text, &modes, &mut out);
        assert!(out.starts_with(b"prefix"));
        out.split_off(6)
    }

    #[test]
    fn paste_plain() {
        let table: &[(&str, &[u8])] = &[
            ("hello", b"hello"),
            ("", b""),
            ("a\r\nb\nc\rd", b"a\rb\rc\rd"),
            ("\r\n\r\n", b"\r\r"),
            ("\n\r", b"\r\r"),
            ("\n\n", b"\r\r"),
            ("tab\there", b"tab\there"),
            ("h\u{e9}llo \u{1f600}", "h\u{e9}llo \u{1f600}".as_bytes()),
            // Without brackets the program cannot tell a paste from typing, so there is
            // nothing to protect and the text goes as it is.
            ("a\x1b[201~b", b"a\x1b[201~b"),
        ];
        for &(text, want) in table {
            assert_eq!(paste(text, false), want, "{text:?}");
        }
    }

    #[test]
    fn paste_bracketed() {
        let table: &[(&str, &[u8])] = &[
            ("hello", b"\x1b[200~hello\x1b[201~"),
            ("", b"\x1b[200~\x1b[201~"),
            ("a\r\nb\nc\rd", b"\x1b[200~a\rb\rc\rd\x1b[201~"),
            ("line\n", b"\x1b[200~line\r\x1b[201~"),
            (
                "\u{e9}\u{1f600}",
                "\x1b[200~\u{e9}\u{1f600}\x1b[201~".as_bytes(),
            ),
            // Injection: the text tries to close the bracket and run a command.
            (
                "x\x1b[201~rm -rf ~\n",
                b"\x1b[200~xrm -rf ~\r\x1b[201~".as_slice(),
            ),
            ("a\x1b[200~b", b"\x1b[200~ab\x1b[201~"),
            ("\x1b[201~\x1b[200~", b"\x1b[200~\x1b[201~"),
            // A marker assembled from the pieces around a removed one.
            ("\x1b[20\x1b[201~1~evil", b"\x1b[200~evil\x1b[201~"),
            // Other escapes are the program's business, as in xterm.
            ("\x1b[A", b"\x1b[200~\x1b[A\x1b[201~"),
            ("\x1b[201", b"\x1b[200~\x1b[201\x1b[201~"),
        ];
        for &(text, want) in table {
            assert_eq!(paste(text, true), want, "{text:?}");
        }
    }

    #[test]
    fn paste_injection_leaves_one_closing_marker() {
        let out = paste("x\x1b[201~rm -rf ~\n", true);
        assert_eq!(out, b"\x1b[200~xrm -rf ~\r\x1b[201~");
        let closers = out.windows(PASTE_END.len()).filter(|w| *w == PASTE_END);
        assert_eq!(closers.count(), 1);
    }

    fn mouse_modes(mode: MouseProtocolMode, encoding: MouseProtocolEncoding) -> InputModes {
        InputModes {
            mouse_mode: mode,
            mouse_encoding: encoding,
            ..InputModes::default()
        }
    }

    fn mouse_event(kind: MouseEventKind, mods: KeyModifiers) -> MouseEvent {
        // The event's own position is the outer terminal's; only the pane position counts.
        MouseEvent {
            kind,
            column: 77,
            row: 66,
            modifiers: mods,
        }
    }

    fn mouse(ev: MouseEvent, col: u16, row: u16, modes: &InputModes) -> Option<Vec<u8>> {
        let mut out = b"prefix".to_vec();
        let sent = encode_mouse(&ev, col, row, modes, &mut out);
        assert!(out.starts_with(b"prefix"));
        let bytes = out.split_off(6);
        if sent {
            assert!(!bytes.is_empty());
            Some(bytes)
        } else {
            assert!(
                bytes.is_empty(),
                "{ev:?} returned false but wrote {bytes:?}"
            );
            None
        }
    }

    const ENCODINGS: [MouseProtocolEncoding; 3] = [
        MouseProtocolEncoding::Default,
        MouseProtocolEncoding::Utf8,
        MouseProtocolEncoding::Sgr,
    ];

    #[test]
    fn mouse_modes_choose_which_events_are_reported() {
        use MouseEventKind as K;
        use MouseProtocolMode as M;
        let left = MouseButton::Left;
        // event, then reported in: None, Press (X10), PressRelease, ButtonMotion, AnyMotion
        let table = [
            (K::Down(left), [false, true, true, true, true]),
            (K::Down(MouseButton::Right), [false, true, true, true, true]),
            (K::Up(left), [false, false, true, true, true]),
            (K::Drag(left), [false, false, false, true, true]),
            (K::Moved, [false, false, false, false, true]),
            (K::ScrollUp, [false, false, true, true, true]),
            (K::ScrollDown, [false, false, true, true, true]),
            (K::ScrollLeft, [false, false, true, true, true]),
            (K::ScrollRight, [false, false, true, true, true]),
        ];
        let modes = [
            M::None,
            M::Press,
            M::PressRelease,
            M::ButtonMotion,
            M::AnyMotion,
        ];
        for (kind, reported) in table {
            for (mode, reported) in modes.into_iter().zip(reported) {
                for encoding in ENCODINGS {
                    for mods in [NONE, SHIFT | CTRL] {
                        let got =
                            mouse(mouse_event(kind, mods), 3, 4, &mouse_modes(mode, encoding));
                        assert_eq!(
                            got.is_some(),
                            reported,
                            "{kind:?} {mods:?} {mode:?} {encoding:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn mouse_bytes_in_each_encoding() {
        use MouseEventKind as K;
        let (l, m, r) = (MouseButton::Left, MouseButton::Middle, MouseButton::Right);
        // At pane column 9, row 4: x = 10 (byte '*'), y = 5 (byte '%').
        let table: &[(K, KeyModifiers, &[u8], &[u8])] = &[
            // event, modifiers, default and UTF-8 encodings (identical below 128), SGR
            (K::Down(l), NONE, b"\x1b[M *%", b"\x1b[<0;10;5M"),
            (K::Down(m), NONE, b"\x1b[M!*%", b"\x1b[<1;10;5M"),
            (K::Down(r), NONE, b"\x1b[M\"*%", b"\x1b[<2;10;5M"),
            (K::Down(l), SHIFT, b"\x1b[M$*%", b"\x1b[<4;10;5M"),
            (K::Down(l), ALT, b"\x1b[M(*%", b"\x1b[<8;10;5M"),
            (K::Down(l), META, b"\x1b[M(*%", b"\x1b[<8;10;5M"),
            (K::Down(l), CTRL, b"\x1b[M0*%", b"\x1b[<16;10;5M"),
            (
                K::Down(r),
                SHIFT | ALT | CTRL,
                b"\x1b[M>*%",
                b"\x1b[<30;10;5M",
            ),
            // The legacy release says only "a button went up"; SGR keeps the button.
            (K::Up(l), NONE, b"\x1b[M#*%", b"\x1b[<0;10;5m"),
            (K::Up(m), NONE, b"\x1b[M#*%", b"\x1b[<1;10;5m"),
            (K::Up(r), NONE, b"\x1b[M#*%", b"\x1b[<2;10;5m"),
            (K::Up(r), CTRL, b"\x1b[M3*%", b"\x1b[<18;10;5m"),
            (K::Up(l), SHIFT | ALT, b"\x1b[M/*%", b"\x1b[<12;10;5m"),
            (K::Drag(l), NONE, b"\x1b[M@*%", b"\x1b[<32;10;5M"),
            (K::Drag(m), NONE, b"\x1b[MA*%", b"\x1b[<33;10;5M"),
            (K::Drag(r), NONE, b"\x1b[MB*%", b"\x1b[<34;10;5M"),
            (K::Drag(l), CTRL, b"\x1b[MP*%", b"\x1b[<48;10;5M"),
            (K::Moved, NONE, b"\x1b[MC*%", b"\x1b[<35;10;5M"),
            (K::Moved, ALT, b"\x1b[MK*%", b"\x1b[<43;10;5M"),
            (
                K::Moved,
                SHIFT | ALT | CTRL,
                b"\x1b[M_*%",
                b"\x1b[<63;10;5M",
            ),
            (K::ScrollUp, NONE, b"\x1b[M`*%", b"\x1b[<64;10;5M"),
            (K::ScrollDown, NONE, b"\x1b[Ma*%", b"\x1b[<65;10;5M"),
            (K::ScrollLeft, NONE, b"\x1b[Mb*%", b"\x1b[<66;10;5M"),
            (K::ScrollRight, NONE, b"\x1b[Mc*%", b"\x1b[<67;10;5M"),
            (K::ScrollUp, CTRL, b"\x1b[Mp*%", b"\x1b[<80;10;5M"),
            (K::ScrollDown, SHIFT, b"\x1b[Me*%", b"\x1b[<69;10;5M"),
            (
                K::ScrollRight,
                SHIFT | ALT | CTRL,
                b"\x1b[M\x7f*%",
                b"\x1b[<95;10;5M",
            ),
        ];
        for &(kind, mods, legacy, sgr) in table {
            let ev = mouse_event(kind, mods);
            for (encoding, want) in ENCODINGS.into_iter().zip([legacy, legacy, sgr]) {
                let modes = mouse_modes(MouseProtocolMode::AnyMotion, encoding);
                assert_eq!(
                    mouse(ev, 9, 4, &modes).as_deref(),
                    Some(want),
                    "{kind:?} {mods:?} {encoding:?}"
                );
            }
        }
    }

    #[test]
    fn mouse_bytes_do_not_depend_on_mode() {
        use MouseEventKind as K;
        use MouseProtocolMode as M;
        let ev = mouse_event(K::Down(MouseButton::Left), CTRL);
        let drag = mouse_event(K::Drag(MouseButton::Right), SHIFT);
        for encoding in ENCODINGS {
            let any = mouse(ev, 0, 0, &mouse_modes(M::AnyMotion, encoding));
            let any_drag = mouse(drag, 0, 0, &mouse_modes(M::AnyMotion, encoding));
            for mode in [M::PressRelease, M::ButtonMotion] {
                assert_eq!(mouse(ev, 0, 0, &mouse_modes(mode, encoding)), any);
            }
            assert_eq!(
                mouse(drag, 0, 0, &mouse_modes(M::ButtonMotion, encoding)),
                any_drag
            );
        }
        let top_left = mouse(
            ev,
            0,
            0,
            &mouse_modes(M::PressRelease, MouseProtocolEncoding::Default),
        );
        assert_eq!(top_left, Some(b"\x1b[M0!!".to_vec()));
    }

    #[test]
    fn x10_mode_reports_bare_presses() {
        use MouseProtocolMode as M;
        let table: &[(MouseButton, &[u8], &[u8])] = &[
            (MouseButton::Left, b"\x1b[M *%", b"\x1b[<0;10;5M"),
            (MouseButton::Middle, b"\x1b[M!*%", b"\x1b[<1;10;5M"),
            (MouseButton::Right, b"\x1b[M\"*%", b"\x1b[<2;10;5M"),
        ];
        for &(button, legacy, sgr) in table {
            // X10 reports carry no modifier bits.
            for mods in [NONE, SHIFT, ALT | CTRL] {
                let ev = mouse_event(MouseEventKind::Down(button), mods);
                for (encoding, want) in ENCODINGS.into_iter().zip([legacy, legacy, sgr]) {
                    assert_eq!(
                        mouse(ev, 9, 4, &mouse_modes(M::Press, encoding)).as_deref(),
                        Some(want),
                        "{button:?} {mods:?} {encoding:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn mouse_coordinate_limits() {
        use MouseProtocolEncoding as E;
        let press = mouse_event(MouseEventKind::Down(MouseButton::Left), NONE);
        let release = mouse_event(MouseEventKind::Up(MouseButton::Left), NONE);
        let any = |encoding| mouse_modes(MouseProtocolMode::AnyMotion, encoding);
        // Default: 1-based 223 is the last coordinate a byte can carry (223 + 32 = 255).
        assert_eq!(
            mouse(press, 222, 0, &any(E::Default)),
            Some(b"\x1b[M \xff!".to_vec())
        );
        assert_eq!(
            mouse(press, 0, 222, &any(E::Default)),
            Some(b"\x1b[M !\xff".to_vec())
        );
        assert_eq!(mouse(press, 223, 0, &any(E::Default)), None);
        assert_eq!(mouse(press, 0, 223, &any(E::Default)), None);
        assert_eq!(mouse(release, 300, 0, &any(E::Default)), None);
        assert_eq!(mouse(press, u16::MAX, u16::MAX, &any(E::Default)), None);
        // UTF-8: values past 127 become two-byte characters, up to U+07FF.
        assert_eq!(
            mouse(press, 222, 0, &any(E::Utf8)),
            Some(b"\x1b[M \xc3\xbf!".to_vec())
        );
        assert_eq!(
            mouse(press, 300, 4, &any(E::Utf8)),
            Some(b"\x1b[M \xc5\x8d%".to_vec())
        );
        assert_eq!(
            mouse(press, 2014, 2014, &any(E::Utf8)),
            Some(b"\x1b[M \xdf\xbf\xdf\xbf".to_vec())
        );
        assert_eq!(mouse(press, 2015, 0, &any(E::Utf8)), None);
        assert_eq!(mouse(press, 0, 2015, &any(E::Utf8)), None);
        // SGR has no limit.
        assert_eq!(
            mouse(press, 299, 4, &any(E::Sgr)),
            Some(b"\x1b[<0;300;5M".to_vec())
        );
        assert_eq!(
            mouse(release, 300, 4, &any(E::Sgr)),
            Some(b"\x1b[<0;301;5m".to_vec())
        );
        assert_eq!(
            mouse(press, u16::MAX, u16::MAX, &any(E::Sgr)),
            Some(b"\x1b[<0;65536;65536M".to_vec())
        );
    }

    #[test]
    fn focus_reports_only_when_asked() {
        let on = InputModes {
            focus_reporting: true,
            ..InputModes::default()
        };
        for (gained, modes, want) in [
            (true, on, Some(b"\x1b[I".as_slice())),
            (false, on, Some(b"\x1b[O".as_slice())),
            (true, normal(), None),
            (false, normal(), None),
        ] {
            let mut out = Vec::new();
            let sent = encode_focus(gained, &modes, &mut out);
            assert_eq!(sent, want.is_some());
            assert_eq!(out, want.unwrap_or_default(), "{gained} {modes:?}");
        }
    }

    #[test]
    fn modes_from_a_real_parser() {
        let mut parser = vt100::Parser::default();
        assert_eq!(
            InputModes::from_screen(parser.screen(), false),
            InputModes::default()
        );
        parser.process(b"\x1b[?1h\x1b[?2004h\x1b[?1002h\x1b[?1006h");
        assert_eq!(
            InputModes::from_screen(parser.screen(), true),
            InputModes {
                application_cursor: true,
                application_keypad: false,
                bracketed_paste: true,
                mouse_mode: MouseProtocolMode::ButtonMotion,
                mouse_encoding: MouseProtocolEncoding::Sgr,
                focus_reporting: true,
            }
        );
        parser.process(b"\x1b=\x1b[?1l\x1b[?1003h\x1b[?1005h");
        let modes = InputModes::from_screen(parser.screen(), false);
        assert!(modes.application_keypad);
        assert!(!modes.application_cursor);
        assert!(!modes.focus_reporting);
        assert_eq!(modes.mouse_mode, MouseProtocolMode::AnyMotion);
        assert_eq!(modes.mouse_encoding, MouseProtocolEncoding::Utf8);
        // The modes drive the encoders end to end.
        let mut out = Vec::new();
        assert!(encode_key(
            &KeyEvent::new(KeyCode::Up, NONE),
            &InputModes::from_screen(parser.screen(), false),
            &mut out
        ));
        assert_eq!(out, b"\x1b[A");
    }
}
