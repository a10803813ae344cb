//! The characters the fast path takes as text, decoded and measured as vt100 would: printable
//! ASCII and UTF-8 characters of width 1 or 2.
//!
//! Speed matters here: every byte of a flood of non-ASCII text goes through `advance_text`
//! once (`FastPath::scan`). Measured with perf on `bench/compare.py`'s UTF-8 workload (50 MB
//! of CJK, Hangul, kana and accented text in a shown 200x50 tab), the character-at-a-time
//! decoder this replaces (`text_char` called from `scan` and again from `store`, with
//! `printable_prefix` tried before every character) took 36 % of memmux's CPU.

use unicode_width::UnicodeWidthChar as _;

/// Moves a cursor at column `col` (`cols` with a wrap pending; `wraps` rows started so far)
/// over the text at the start of `s`, as vt100's `Grid::col_wrap` moves it: printable ASCII
/// and the UTF-8 characters `text_char` accepts, up to the first byte that is neither (a
/// control, an escape, a character the fast path leaves to vt100) or a character wider than
/// the row. Returns the bytes moved over and the offset of the last character among them.
#[inline]
pub(super) fn advance_text(
    s: &[u8],
    col: &mut usize,
    wraps: &mut usize,
    cols: usize,
) -> (usize, Option<usize>) {
    let mut i = 0;
    let mut last = None;
    while let Some(&b) = s.get(i) {
        let (len, width) = if b < 0x80 {
            if !(0x20..0x7f).contains(&b) {
                break;
            }
            (1, 1)
        } else if matches!(b, 0xe4..=0xe9 | 0xeb..=0xec)
            && s.get(i + 1).is_some_and(|&c| c & 0xc0 == 0x80)
            && s.get(i + 2).is_some_and(|&c| c & 0xc0 == 0x80)
        {
            // U+4000..U+9FFF (CJK ideographs) and U+B000..U+CFFF (Hangul syllables): every
            // character these lead bytes start is 2 columns wide, and none is overlong or a
            // surrogate. Most of a CJK or Korean text, measured without decoding it.
            (3, 2)
        } else {
            match sequence(s.get(i..).unwrap_or_default()) {
                Some((c, len)) => match accepted_width(c) {
                    Some(w) => (len, w),
                    None => break,
                },
                None => break,
            }
        };
        // vt100 drops a character wider than the screen: the normal path's business.
        if width > cols {
            break;
        }
        if *col + width > cols {
            *wraps += 1;
            *col = width;
        } else {
            *col += width;
        }
        last = Some(i);
        i += len;
    }
    (i, last)
}

/// The character a UTF-8 sequence at the start of `s` encodes, its length in bytes and its
/// width in columns as vt100 computes it (`Screen::calculate_width`, with the same
/// `unicode-width`), if it is one the fast path reproduces: well formed and 1 or 2 columns
/// wide. C1 controls (U+0080..U+009F, which vt100 ignores) have no width; characters of
/// width 0 (combining marks, ZWJ, U+FE0F) change the cell before them: both go the normal
/// way. `None` for ASCII too.
pub(super) fn text_char(s: &[u8]) -> Option<(char, usize, usize)> {
    let (c, len) = sequence(s)?;
    let width = accepted_width(c)?;
    Some((char::from_u32(c)?, len, width))
}

/// The character at the start of `s`, ASCII or UTF-8.
pub(super) fn char_at(s: &[u8]) -> Option<char> {
    match *s.first()? {
        b @ 0..0x80 => Some(char::from(b)),
        _ => char::from_u32(sequence(s)?.0),
    }
}

/// The code point a well-formed UTF-8 sequence of 2 to 4 bytes at the start of `s` encodes,
/// and its length; `None` for ASCII, an overlong form, a surrogate, a value past U+10FFFF
/// or a sequence cut short. By hand: `str::from_utf8` on each character took 38 % of the
/// time of CJK text through `Term::process` (perf, when the fast path first took UTF-8).
#[inline(always)]
fn sequence(s: &[u8]) -> Option<(u32, usize)> {
    let lead = u32::from(*s.first()?);
    let cont = |k: usize| {
        s.get(k)
            .filter(|&&b| b & 0xc0 == 0x80)
            .map(|&b| u32::from(b & 0x3f))
    };
    let (c, len, min) = match lead {
        0xc2..=0xdf => (((lead & 0x1f) << 6) | cont(1)?, 2, 0x80),
        0xe0..=0xef => (((lead & 0x0f) << 12) | (cont(1)? << 6) | cont(2)?, 3, 0x800),
        0xf0..=0xf4 => (
            ((lead & 0x07) << 18) | (cont(1)? << 12) | (cont(2)? << 6) | cont(3)?,
            4,
            0x1_0000,
        ),
        _ => return None,
    };
    if c < min || (0xd800..=0xdfff).contains(&c) || c > 0x10_ffff {
        return None;
    }
    Some((c, len))
}

/// The width of `c` if it is 1 or 2. `char_width` answers the ranges most text is in
/// without the table.
#[inline(always)]
fn accepted_width(c: u32) -> Option<usize> {
    match char_width(c)? {
        w @ (1 | 2) => Some(w),
        _ => None,
    }
}

/// `unicode-width`'s width of the code point `c`, with the blocks most non-ASCII text is
/// written in answered by range: Latin-1 and Latin Extended (but the soft hyphen, width 0),
/// Greek and Cyrillic letters (1); kana, CJK ideographs (with Extension A and Yi) and Hangul
/// syllables (2). Checked exhaustively against `unicode-width` (tests below).
#[inline(always)]
fn char_width(c: u32) -> Option<usize> {
    match c {
        0xa0..=0xac | 0xae..=0x2ff | 0x370..=0x482 => Some(1),
        0x3041..=0x3096 | 0x309b..=0x30ff | 0x3250..=0xa48c | 0xac00..=0xd7a3 => Some(2),
        _ => char::from_u32(c)?.width(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_decoding_matches_the_standard_library() {
        let others = [
            0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff,
        ];
        for b0 in 0x80..=0xffu8 {
            for b1 in 0..=0xffu8 {
                for b2 in others {
                    for b3 in others {
                        let s = [b0, b1, b2, b3];
                        let want = (2..=4)
                            .find_map(|n| std::str::from_utf8(&s[..n]).ok())
                            .and_then(|t| t.chars().next().map(|c| (u32::from(c), c.len_utf8())));
                        assert_eq!(sequence(&s), want, "{s:x?}");
                    }
                }
            }
        }
        for c in ('\u{80}'..=char::MAX).step_by(7) {
            let mut b = [0; 4];
            let s = c.encode_utf8(&mut b).as_bytes();
            assert_eq!(sequence(s), Some((u32::from(c), c.len_utf8())));
            assert_eq!(char_at(s), Some(c));
        }
        assert_eq!(char_at(b"x"), Some('x'));
    }

    #[test]
    fn widths_by_range_match_unicode_width() {
        for c in '\u{80}'..=char::MAX {
            assert_eq!(char_width(u32::from(c)), c.width(), "{c:?}");
        }
    }

    /// Every character alone, at the start and in the middle of a row: `advance_text` takes
    /// it, with its width, exactly when the rule does (the lead bytes it measures without
    /// decoding included).
    #[test]
    fn advance_text_takes_every_character_as_the_rule_does() {
        for c in '\u{80}'..=char::MAX {
            let mut b = [0; 4];
            let s = c.encode_utf8(&mut b).as_bytes();
            let want = c.width().filter(|w| (1..=2).contains(w));
            for start in [0, 1] {
                let (mut col, mut wraps) = (start, 0);
                let got = advance_text(s, &mut col, &mut wraps, 80);
                match want {
                    Some(w) => assert_eq!((got, col), ((s.len(), Some(0)), start + w), "{c:?}"),
                    None => assert_eq!((got, col), ((0, None), start), "{c:?}"),
                }
            }
        }
    }

    /// `advance_text` against the rule it implements, one character at a time with the
    /// standard library's decoder and `unicode-width`, on text mixing every kind of
    /// character it takes or stops at, at every column of a few row widths.
    #[test]
    fn advance_text_moves_as_vt100_does() {
        let text =
            "ab 漢字 한국 éß Привет ─┼ 😀🚀 か テ ɐ ͱ Ꭰ \u{ad} x e\u{301} \u{fe0f} \u{85} \u{200b}";
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for cols in [1, 2, 3, 7, 80] {
            for start_col in 0..=cols {
                for &(from, _) in &chars {
                    let s = &text.as_bytes()[from..];
                    let (mut col, mut wraps) = (start_col, 0);
                    let got = advance_text(s, &mut col, &mut wraps, cols);
                    // The rule, spelled out.
                    let (mut c2, mut w2, mut end, mut last) = (start_col, 0, 0, None);
                    for (at, ch) in text[from..].char_indices() {
                        let w = match ch.width() {
                            Some(w @ (1 | 2))
                                if w <= cols && (ch as u32) >= 0x20 && ch != '\u{7f}' =>
                            {
                                w
                            }
                            _ => break,
                        };
                        if c2 + w > cols {
                            w2 += 1;
                            c2 = w;
                        } else {
                            c2 += w;
                        }
                        last = Some(at);
                        end = at + ch.len_utf8();
                    }
                    assert_eq!(
                        (got, col, wraps),
                        ((end, last), c2, w2),
                        "{cols} {start_col} {from}"
                    );
                }
            }
        }
        // Stops at controls, escapes and broken sequences.
        let stops: [&[u8]; 6] = [
            b"\r",
            b"\x1b[m",
            b"\xe4",
            b"\xe4\xb8",
            b"\xc0\x80",
            b"\xed\xa0\x80",
        ];
        for stop in stops {
            let mut s = "漢a".as_bytes().to_vec();
            s.extend_from_slice(stop);
            s.extend_from_slice("字".as_bytes());
            let (mut col, mut wraps) = (0, 0);
            assert_eq!(
                advance_text(&s, &mut col, &mut wraps, 80),
                (4, Some(3)),
                "{stop:?}"
            );
        }
    }
}
