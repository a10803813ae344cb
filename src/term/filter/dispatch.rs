//! Escape and CSI sequences: which pass through as they are, which are clamped or rewritten
//! (REP, window ops, modes, SGR), and which go to the fidelity stage as operations.

use super::charset::{Charset, Charsets};
use super::csi::{
    CsiParams, MODE_3, MODE_4, MODE_5, MODE_6, MODE_7, MODE_47, MODE_1047, MODE_1049, RAW_CAP,
    acts_on, fmt_num, parse_num, sgr_has_extras,
};
use super::{Filter, MAX_DIM, Op, Sink, State};

use super::{CAN, ESC, SUB};

impl Filter {
    pub(super) fn escape(&mut self, input: &[u8], i: usize, run: &mut usize, out: &mut impl Sink) {
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

    pub(super) fn esc_inter(
        &mut self,
        input: &[u8],
        i: usize,
        run: &mut usize,
        out: &mut impl Sink,
    ) {
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

    pub(super) fn replay_csi(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.csi.step(b);
        }
    }

    pub(super) fn csi(
        &mut self,
        input: &[u8],
        i: usize,
        run: &mut usize,
        out: &mut impl Sink,
    ) -> usize {
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
    pub(super) fn csi_dispatch(
        &mut self,
        input: &[u8],
        j: usize,
        run: &mut usize,
        out: &mut impl Sink,
    ) {
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
    pub(super) fn dec_modes(
        &mut self,
        input: &[u8],
        j: usize,
        run: &mut usize,
        out: &mut impl Sink,
    ) {
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
    pub(super) fn sgr(&mut self, input: &[u8], j: usize, run: &mut usize, out: &mut impl Sink) {
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
    pub(super) fn rewrite(
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
}
