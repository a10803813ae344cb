//! The seam between reads: a UTF-8 character cut in two by a pty read or a filter window is
//! handed to vte whole.

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
            super::term::feed_vt100(parser, now);
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
                super::term::feed_vt100(parser, held);
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
