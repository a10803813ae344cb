//! DEC Special Graphics and the UK set: the glyphs xterm shows for them, and the G0/G1
//! state that xterm's DECSC saves and vt100 does not track.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Charset {
    #[default]
    Ascii,
    DecGraphics,
    /// British: ASCII with `#` shown as `£`.
    Uk,
}

/// The part of the cursor state that xterm's DECSC saves and that vt100 does not track.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Charsets {
    pub(super) g0: Charset,
    pub(super) g1: Charset,
    /// SO was the last shift: GL is G1.
    pub(super) shifted: bool,
}

impl Charsets {
    pub(super) fn gl(self) -> Charset {
        if self.shifted { self.g1 } else { self.g0 }
    }
}

/// Glyphs for 0x5f..=0x7e in DEC Special Graphics, as xterm maps them.
pub(super) const DEC_GLYPHS: [&str; 32] = [
    "\u{a0}", "\u{25c6}", "\u{2592}", "\u{2409}", "\u{240c}", "\u{240d}", "\u{240a}", "\u{b0}",
    "\u{b1}", "\u{2424}", "\u{240b}", "\u{2518}", "\u{2510}", "\u{250c}", "\u{2514}", "\u{253c}",
    "\u{23ba}", "\u{23bb}", "\u{2500}", "\u{23bc}", "\u{23bd}", "\u{251c}", "\u{2524}", "\u{2534}",
    "\u{252c}", "\u{2502}", "\u{2264}", "\u{2265}", "\u{3c0}", "\u{2260}", "\u{a3}", "\u{b7}",
];
pub(super) const POUND: &str = "\u{a3}";

/// The glyph `b` stands for in character set `gl`, if it is not itself.
pub(super) fn glyph(gl: Charset, b: u8) -> Option<&'static str> {
    match (gl, b) {
        (Charset::DecGraphics, 0x5f..=0x7e) => Some(DEC_GLYPHS[usize::from(b - 0x5f)]),
        (Charset::Uk, b'#') => Some(POUND),
        _ => None,
    }
}
