//! The text handed to vt100: a UTF-8 character cut in two by a pty read or a filter window
//! is handed on whole (`Utf8Seam`), U+FFFD and invalid UTF-8 kept as a stand-in vt100 stores,
//! U+FE0F dropped (`feed_vt100`).

/// Joins UTF-8 sequences split between two slices handed to vte.
///
/// vte 0.15 mishandles a character split between two `advance` calls when what follows
/// within 3 bytes does not decode (`advance_partial_utf8` returns `valid_bytes - old_bytes`,
/// counting the characters after the completed one as consumed): `"x\u{e9} \u{1F642}"` cut
/// between the two bytes of `é` loses the space. So vt100's output depended on where pty
/// reads and the filter's 8 KiB windows happened to cut the text; the fast path, which
/// starts the normal path's feeds at other offsets, would then differ from it. Holding back
/// an incomplete sequence at the end of a slice and handing it on together with its
/// continuation bytes only moves where the input is cut, which nothing else depends on.
#[derive(Debug, Default)]
pub struct Utf8Seam {
    held: [u8; 4],
    len: usize,
}

impl Utf8Seam {
    /// Nothing is held back.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hands `chunk` to `parser`, keeping back an incomplete UTF-8 sequence at its end.
    pub(super) fn process<C: vt100::Callbacks>(
        &mut self,
        parser: &mut vt100::Parser<C>,
        mut chunk: &[u8],
    ) {
        if self.len > 0 {
            let need = utf8_len(self.held[0]).saturating_sub(self.len);
            let take = chunk
                .iter()
                .take(need)
                .take_while(|&&b| b & 0xc0 == 0x80)
                .count();
            let (cont, rest) = chunk.split_at(take);
            if let Some(dst) = self.held.get_mut(self.len..self.len + take) {
                dst.copy_from_slice(cont);
            }
            self.len += take;
            chunk = rest;
            if take < need && chunk.is_empty() {
                // Still incomplete: wait for more.
                return;
            }
            self.flush(parser);
        }
        let tail = incomplete_utf8_tail(chunk);
        let (now, later) = chunk.split_at(chunk.len() - tail);
        if !now.is_empty() {
            feed_vt100(parser, now);
        }
        if let Some(dst) = self.held.get_mut(..tail) {
            dst.copy_from_slice(later);
        }
        self.len = tail;
    }

    /// Hands on what is held (before bytes that bypass `process`).
    pub(super) fn flush<C: vt100::Callbacks>(&mut self, parser: &mut vt100::Parser<C>) {
        if let Some(held) = self.held.get(..std::mem::take(&mut self.len)) {
            if !held.is_empty() {
                feed_vt100(parser, held);
            }
        }
    }

    /// Forgets what is held (the parser it was for is gone).
    pub(super) fn clear(&mut self) {
        self.len = 0;
    }
}

/// Bytes of the UTF-8 sequence a byte starts (1 for ASCII and for bytes that start none).
pub(super) fn utf8_len(lead: u8) -> usize {
    match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
    }
}

/// Length of the incomplete UTF-8 sequence `s` ends with (a lead byte and fewer continuation
/// bytes than it announces), or 0.
fn incomplete_utf8_tail(s: &[u8]) -> usize {
    for back in 1..=s.len().min(3) {
        let b = s[s.len() - back];
        if b & 0xc0 != 0x80 {
            return if utf8_len(b) > back { back } else { 0 };
        }
    }
    0
}

const VS16: &[u8] = "\u{fe0f}".as_bytes();
const FFFD: &[u8] = "\u{fffd}".as_bytes();

/// Stands in for U+FFFD (REPLACEMENT CHARACTER) in vt100's cells: vt100 0.18.1 drops U+FFFD
/// (it hands it to `Callbacks::unhandled_char`), xterm and tmux show it. A code point of the
/// last private-use plane, one column wide like U+FFFD; `shown` turns it back.
pub const FFFD_STAND_IN: char = '\u{10fffd}';

/// Hands complete UTF-8 text to vt100, with two fixes on the way (both start with byte
/// 0xEF, so one `memchr` finds them):
///
/// * U+FE0F (emoji presentation) is dropped. After a narrow character vt100 0.18.1 widens
///   the cell to two columns for it, while programs count `wcwidth` (one column, as tmux
///   keeps it), so a shell's line editing went out of step; in the last column it even
///   leaves a wide cell there (a later write panics; found by fuzzing). After a wide
///   character it changes nothing.
/// * U+FFFD becomes `FFFD_STAND_IN`, which vt100 keeps.
/// * Invalid UTF-8 (which vte turns into U+FFFD, and vt100 then drops) becomes the stand-in
///   too, one per maximal invalid subsequence (Unicode's recommended practice, as
///   `str::from_utf8` reports them): xterm and tmux show a replacement character there.
///   Valid text costs one validation pass (the standard library's, word at a time on ASCII).
///
/// The caller (`Utf8Seam`) never cuts a character in two, so these are always whole here;
/// an incomplete sequence here is one `Utf8Seam::flush` handed on before other bytes, and is
/// invalid as it stands.
pub(super) fn feed_vt100<C: vt100::Callbacks>(parser: &mut vt100::Parser<C>, mut bytes: &[u8]) {
    loop {
        match std::str::from_utf8(bytes) {
            Ok(_) => return feed_valid(parser, bytes),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                feed_valid(parser, valid);
                let mut stand_in = [0; 4];
                parser.process(FFFD_STAND_IN.encode_utf8(&mut stand_in).as_bytes());
                bytes = rest
                    .get(e.error_len().unwrap_or(rest.len())..)
                    .unwrap_or_default();
            }
        }
    }
}

/// `feed_vt100` for valid UTF-8.
fn feed_valid<C: vt100::Callbacks>(parser: &mut vt100::Parser<C>, mut bytes: &[u8]) {
    let mut from = 0;
    while let Some(k) = memchr::memchr(VS16[0], &bytes[from..]) {
        let at = from + k;
        let rest = &bytes[at..];
        if rest.starts_with(VS16) || rest.starts_with(FFFD) {
            parser.process(&bytes[..at]);
            if rest.starts_with(FFFD) {
                let mut stand_in = [0; 4];
                parser.process(FFFD_STAND_IN.encode_utf8(&mut stand_in).as_bytes());
            }
            bytes = &bytes[at + VS16.len()..];
            from = 0;
        } else {
            from = at + 1;
        }
    }
    if !bytes.is_empty() {
        parser.process(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_cut_anywhere_reads_the_same() {
        let s = "x\u{e9} \u{1F642}b\u{4e2d}!\u{e9}".as_bytes();
        let size = |n| std::num::NonZeroU16::new(n).unwrap_or(std::num::NonZeroU16::MIN);
        let parser = || vt100::Parser::new(size(5), size(20), 0);
        let mut whole = parser();
        whole.process(s);
        for a in 0..=s.len() {
            for b in a..=s.len() {
                let mut p = parser();
                let mut seam = Utf8Seam::default();
                for piece in [&s[..a], &s[a..b], &s[b..]] {
                    seam.process(&mut p, piece);
                }
                seam.flush(&mut p);
                assert_eq!(p.screen().contents(), whole.screen().contents(), "{a} {b}");
            }
        }
        // Without the seam, vte 0.15 drops the space after a cut `é`.
        let mut p = parser();
        p.process(&s[..2]);
        p.process(&s[2..]);
        assert_ne!(p.screen().contents(), whole.screen().contents());
    }
}
