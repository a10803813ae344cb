//! Byte encodings: LEB128 varints and the compact style of a run.
//!
//! A style is one tag byte, then the payloads it announces:
//!
//! ```text
//! tag bits 0-1  fg kind: 0 default, 1 indexed (1 byte), 2 RGB (3 bytes)
//! tag bits 2-3  bg kind, same
//! tag bit  4    a flags byte follows (bold 1, dim 2, italic 4, underline 8, inverse 16)
//! ```
//!
//! So a 16-colour foreground costs 2 bytes and bold + colour 3 bytes.

use super::Style;
use vt100::Color;

const KIND_DEFAULT: u8 = 0;
const KIND_IDX: u8 = 1;
const KIND_RGB: u8 = 2;
const TAG_FLAGS: u8 = 0x10;

const BOLD: u8 = 1;
const DIM: u8 = 2;
const ITALIC: u8 = 4;
const UNDERLINE: u8 = 8;
const INVERSE: u8 = 16;

pub(super) fn push_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn varint_len(mut v: u32) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Reads a varint at `*pos`, advancing it; `None` on truncated input.
#[inline]
pub(super) fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut v: u32 = 0;
    let mut shift = 0;
    loop {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u32::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
    }
}

fn color_kind(c: Color) -> u8 {
    match c {
        Color::Default => KIND_DEFAULT,
        Color::Idx(_) => KIND_IDX,
        Color::Rgb(..) => KIND_RGB,
    }
}

fn push_color(out: &mut Vec<u8>, c: Color) {
    match c {
        Color::Default => {}
        Color::Idx(i) => out.push(i),
        Color::Rgb(r, g, b) => out.extend_from_slice(&[r, g, b]),
    }
}

fn flags(s: &Style) -> u8 {
    let mut f = 0;
    if s.bold {
        f |= BOLD;
    }
    if s.dim {
        f |= DIM;
    }
    if s.italic {
        f |= ITALIC;
    }
    if s.underline {
        f |= UNDERLINE;
    }
    if s.inverse {
        f |= INVERSE;
    }
    f
}

pub(super) fn push_style(out: &mut Vec<u8>, s: &Style) {
    let f = flags(s);
    let mut tag = color_kind(s.fg) | color_kind(s.bg) << 2;
    if f != 0 {
        tag |= TAG_FLAGS;
    }
    out.push(tag);
    push_color(out, s.fg);
    push_color(out, s.bg);
    if f != 0 {
        out.push(f);
    }
}

fn read_color(bytes: &[u8], pos: &mut usize, kind: u8) -> Option<Color> {
    match kind {
        KIND_IDX => {
            let i = *bytes.get(*pos)?;
            *pos += 1;
            Some(Color::Idx(i))
        }
        KIND_RGB => {
            let rgb = bytes.get(*pos..*pos + 3)?;
            *pos += 3;
            Some(Color::Rgb(rgb[0], rgb[1], rgb[2]))
        }
        _ => Some(Color::Default),
    }
}

pub(super) fn read_style(bytes: &[u8], pos: &mut usize) -> Option<Style> {
    let tag = *bytes.get(*pos)?;
    *pos += 1;
    let fg = read_color(bytes, pos, tag & 3)?;
    let bg = read_color(bytes, pos, (tag >> 2) & 3)?;
    let f = if tag & TAG_FLAGS != 0 {
        let f = *bytes.get(*pos)?;
        *pos += 1;
        f
    } else {
        0
    };
    Some(Style {
        fg,
        bg,
        bold: f & BOLD != 0,
        dim: f & DIM != 0,
        italic: f & ITALIC != 0,
        underline: f & UNDERLINE != 0,
        inverse: f & INVERSE != 0,
    })
}

/// Appends one run (column delta + style) to an encoded run list.
pub(super) fn push_run(out: &mut Vec<u8>, delta: u16, s: &Style) {
    push_varint(out, u32::from(delta));
    push_style(out, s);
}

/// Walks an encoded run list, yielding (start column, style).
pub(super) struct Runs<'a> {
    bytes: &'a [u8],
    pos: usize,
    col: u32,
}

impl<'a> Runs<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            col: 0,
        }
    }
}

impl Iterator for Runs<'_> {
    type Item = (u32, Style);

    #[inline]
    fn next(&mut self) -> Option<(u32, Style)> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let delta = read_varint(self.bytes, &mut self.pos)?;
        let style = read_style(self.bytes, &mut self.pos)?;
        self.col = self.col.saturating_add(delta);
        Some((self.col, style))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_round_trip() {
        let styles = [
            Style::default(),
            Style {
                fg: Color::Idx(4),
                bold: true,
                ..Style::default()
            },
            Style {
                fg: Color::Rgb(1, 2, 3),
                bg: Color::Idx(200),
                dim: true,
                italic: true,
                underline: true,
                inverse: true,
                ..Style::default()
            },
            Style {
                bg: Color::Rgb(255, 0, 128),
                ..Style::default()
            },
        ];
        let mut out = Vec::new();
        for (i, s) in styles.iter().enumerate() {
            push_run(&mut out, i as u16 * 300, s);
        }
        let got: Vec<_> = Runs::new(&out).collect();
        let want: Vec<_> = styles
            .iter()
            .enumerate()
            .scan(0u32, |col, (i, s)| {
                *col += i as u32 * 300;
                Some((*col, *s))
            })
            .collect();
        assert_eq!(got, want);
        // 16-colour foreground: tag + index.
        let mut one = Vec::new();
        push_style(
            &mut one,
            &Style {
                fg: Color::Idx(1),
                ..Style::default()
            },
        );
        assert_eq!(one.len(), 2);
    }

    #[test]
    fn varints() {
        for v in [0u32, 1, 127, 128, 300, 65_535, u32::MAX] {
            let mut out = Vec::new();
            push_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v));
            let mut pos = 0;
            assert_eq!(read_varint(&out, &mut pos), Some(v));
            assert_eq!(pos, out.len());
        }
        let mut pos = 0;
        assert_eq!(read_varint(&[0x80], &mut pos), None);
    }
}
