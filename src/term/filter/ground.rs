//! The ground state: runs of text passed on whole, C0 controls the filter acts on (tabs,
//! line feeds under a set background, charset shifts) and text translated through the
//! designated character set.

use super::charset::{Charset, DEC_GLYPHS, POUND, glyph};
use super::csi::{acts_on, sgr_notable};
use super::scan::{BLOCK, find_ground, plain_prefix, skip_params};
use super::{Filter, Op, Sink};

use super::{ESC, SI, SO};

impl Filter {
    /// Ground with GL = ASCII: nothing to rewrite, so skip to the next ESC/SO/SI. A complete
    /// `ESC [ <0x30..=0x3f>* final` whose final the filter does not act on (SGR, cursor
    /// motion: most of what programs send) is skipped here too, without going through the
    /// general state machine, for which it would need no tracking anyway. Whole 64-byte
    /// blocks of such text go at once (`plain_prefix`); the per-sequence loop below handles
    /// what stops a block and the last 63 bytes.
    pub(super) fn ground_ascii(
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
    pub(super) fn tab(&mut self, input: &[u8], j: usize, run: &mut usize, out: &mut impl Sink) {
        self.flush(input, run, j, out);
        out.op(Op::Tab, self.margins());
        *run = j + 1;
    }

    /// Ground while LF must be watched (a background may be set: background colour erase)
    /// or text needs the screen (insert mode, autowrap off): controls and text one by one.
    pub(super) fn ground_slow(
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

    pub(super) fn text_op<'a>(&self, bytes: &'a [u8]) -> Op<'a> {
        Op::Text {
            bytes,
            insert: self.insert,
            autowrap: !self.no_autowrap,
        }
    }

    /// Ground with GL = DEC graphics or UK: translate printable bytes. Bytes >= 0x80 are UTF-8
    /// text to vte 0.15 (never C1 controls that could start a sequence) and pass unchanged;
    /// an ASCII byte is always a character of its own, even after a broken UTF-8 prefix.
    pub(super) fn ground_translate(
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

    /// LF for IND/NEL: an op while a background may be set.
    pub(super) fn newline(&mut self, out: &mut impl Sink) {
        if self.watch {
            out.op(Op::Newline, self.margins());
            self.watch = out.background_set();
        } else {
            out.bytes(b"\n");
        }
    }
}
