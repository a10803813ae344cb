//! CSI parameters as vte collects them, the modes the filter tracks, and which finals and
//! SGR parameters it must act on.

use super::VTE_MAX_PARAMS;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum CsiSub {
    #[default]
    Entry,
    Param,
    Inter,
    Ignore,
}

pub(super) const MODE_47: u16 = 1;
pub(super) const MODE_1049: u16 = 2;
pub(super) const MODE_1047: u16 = 4;
/// IRM without `?`; DECAWM with it.
pub(super) const MODE_4: u16 = 8;
pub(super) const MODE_5: u16 = 16;
pub(super) const MODE_6: u16 = 32;
pub(super) const MODE_7: u16 = 64;
/// DECCOLM.
pub(super) const MODE_3: u16 = 128;
/// Parameter bytes kept for rewriting an SGR (`CsiParams::raw`): two colon-form direct
/// colours with a colour space take 35.
pub(super) const RAW_CAP: usize = 64;

#[derive(Clone, Copy, Debug)]
pub(super) struct Raw(pub(super) [u8; RAW_CAP]);

impl Default for Raw {
    fn default() -> Self {
        Raw([0; RAW_CAP])
    }
}

/// What vte's CSI states collect, reduced to what vt100 looks at for the sequences the filter
/// acts on. Mirrors vte's `Params` push/extend rules, including saturation at 65535 and the
/// 32-entry limit, so the values match what vt100 receives.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct CsiParams {
    pub(super) sub: CsiSub,
    /// vte's `Params::len`: parameters plus sub-parameters stored so far.
    pub(super) len: u8,
    /// The number being accumulated (vte's `param`).
    pub(super) cur: u16,
    /// Groups (`;`-separated parameters) closed so far.
    pub(super) groups: u8,
    /// Values stored in the open group (it has sub-parameters if this is > 0).
    pub(super) items: u8,
    /// First value of each of the first three groups: vt100's `canonicalize_params_*` and
    /// `CSI 8 t` look at no more.
    pub(super) first: [u16; 3],
    /// First value of the open group, for the case where the 32-entry limit leaves it open.
    pub(super) open_first: u16,
    pub(super) ninter: u8,
    pub(super) inter0: u8,
    /// Single-value groups seen among the modes the filter tracks (`MODE_*`).
    pub(super) modes: u16,
    /// The parameter bytes as they came, for rewriting an SGR; `raw_len > RAW_CAP`: too long.
    pub(super) raw: Raw,
    pub(super) raw_len: u8,
}

impl CsiParams {
    /// One byte of the sequence's body (never the final byte), as vte's
    /// `advance_csi_{entry,param,intermediate,ignore}` would handle it.
    pub(super) fn step(&mut self, b: u8) {
        if let Some(slot) = self.raw.0.get_mut(usize::from(self.raw_len)) {
            *slot = b;
        }
        self.raw_len = self.raw_len.saturating_add(1);
        match (self.sub, b) {
            (CsiSub::Ignore, _) => {}
            (CsiSub::Entry | CsiSub::Param, b'0'..=b'9') => {
                self.sub = CsiSub::Param;
                if self.len < VTE_MAX_PARAMS {
                    self.cur = self
                        .cur
                        .saturating_mul(10)
                        .saturating_add(u16::from(b - b'0'));
                }
            }
            (CsiSub::Entry | CsiSub::Param, b':') => {
                self.sub = CsiSub::Param;
                self.extend();
            }
            (CsiSub::Entry | CsiSub::Param, b';') => {
                self.sub = CsiSub::Param;
                self.push();
            }
            (CsiSub::Entry, 0x3c..=0x3f) => {
                self.collect(b);
                self.sub = CsiSub::Param;
            }
            (CsiSub::Param | CsiSub::Inter, 0x30..=0x3f) => self.sub = CsiSub::Ignore,
            (_, 0x20..=0x2f) => {
                self.collect(b);
                self.sub = CsiSub::Inter;
            }
            // C0 controls are executed without leaving the sequence; DEL and bytes >= 0x80
            // are ignored in every CSI state.
            _ => {}
        }
    }

    pub(super) fn collect(&mut self, b: u8) {
        if self.ninter == 0 {
            self.inter0 = b;
        }
        // vte keeps 2 and sets its (unused by vt100) ignore flag for more.
        self.ninter = self.ninter.saturating_add(1);
    }

    pub(super) fn record_first(&mut self) {
        if let Some(slot) = self.first.get_mut(usize::from(self.groups)) {
            *slot = self.cur;
        }
    }

    pub(super) fn extend(&mut self) {
        if self.len == VTE_MAX_PARAMS {
            return;
        }
        if self.items == 0 {
            self.record_first();
            self.open_first = self.cur;
        }
        self.len += 1;
        self.items += 1;
        self.cur = 0;
    }

    pub(super) fn push(&mut self) {
        if self.len == VTE_MAX_PARAMS {
            return;
        }
        if self.items == 0 {
            self.record_first();
            self.note_mode(self.cur);
        }
        self.len += 1;
        self.groups += 1;
        self.items = 0;
        self.cur = 0;
    }

    pub(super) fn note_mode(&mut self, v: u16) {
        match v {
            47 => self.modes |= MODE_47,
            1049 => self.modes |= MODE_1049,
            1047 => self.modes |= MODE_1047,
            4 => self.modes |= MODE_4,
            5 => self.modes |= MODE_5,
            6 => self.modes |= MODE_6,
            7 => self.modes |= MODE_7,
            3 => self.modes |= MODE_3,
            _ => {}
        }
    }

    /// vte's `action_csi_dispatch`: store the last parameter unless full. Returns false if vte
    /// would not dispatch at all (the sequence ended in CSI ignore).
    pub(super) fn finish(&mut self) -> bool {
        if self.sub == CsiSub::Ignore {
            return false;
        }
        if self.len == VTE_MAX_PARAMS {
            if self.items == 1 {
                self.note_mode(self.open_first);
            }
        } else {
            self.push();
        }
        true
    }

    /// First value of group `g` as vt100 sees it; `None` if the group is absent.
    pub(super) fn group(&self, g: usize) -> Option<u16> {
        let present = usize::from(self.groups) + usize::from(self.items > 0);
        if g < present {
            self.first.get(g).copied()
        } else {
            None
        }
    }
}

/// CSI finals the filter may act on: REP, window ops, mode set/reset, DECSTR, DECSTBM; with
/// fidelity also ICH, IL, DL, DCH, SU, SD (background colour erase), CHT, CBT, TBC, SCOSC,
/// SCORC.
pub(super) fn acts_on(fin: u8) -> bool {
    matches!(
        fin,
        b'b' | b't'
            | b'h'
            | b'l'
            | b'p'
            | b'r'
            | b'@'
            | b'L'
            | b'M'
            | b'P'
            | b'S'
            | b'T'
            | b'I'
            | b'Z'
            | b'g'
            | b's'
            | b'u'
    )
}

/// A CSI parameter as vte reads it: digits, saturating at 65535; empty is `None`.
pub(super) fn parse_num(s: &[u8]) -> Option<u16> {
    if s.is_empty() {
        return None;
    }
    Some(s.iter().fold(0u16, |v, &b| {
        v.saturating_mul(10)
            .saturating_add(u16::from(b.wrapping_sub(b'0').min(9)))
    }))
}

pub(super) fn fmt_num(mut v: u16, digits: &mut [u8; 5]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &digits[i..]
}

/// SGR parameters the filter must look at with fidelity: a group `4x` (a background, 48),
/// `10x` (backgrounds 100..107), `21`, any colon (`4:n`, colon colours), and the attributes
/// vt100 cannot store: strikethrough, blink, hidden, overline, underline colour (`9 5 6 8
/// 53 58` and their resets `29 25 28 55 59`). The values of `38;5;n` and `38;2;r;g;b` are
/// skipped (a `5` there is no blink); those of `48;...` need not be, a background is looked
/// at anyway.
pub(super) fn sgr_notable(params: &[u8]) -> bool {
    let mut groups = params.split(|&b| b == b';');
    while let Some(g) = groups.next() {
        match g {
            [b'4', _] | b"21" | [b'1', b'0', _] => return true,
            b"9" | b"5" | b"6" | b"8" | b"53" | b"58" | b"29" | b"25" | b"28" | b"55" | b"59" => {
                return true;
            }
            b"38" => match groups.next() {
                Some(b"5") => {
                    groups.next();
                }
                Some(b"2") => {
                    groups.nth(2);
                }
                Some(v) if v.contains(&b':') => return true,
                _ => {}
            },
            _ if g.contains(&b':') => return true,
            _ => {}
        }
    }
    false
}

/// Whether an SGR's parameters set or reset an attribute vt100 cannot store (see
/// `sgr_notable`), colour values skipped.
pub(super) fn sgr_has_extras(params: &[u8]) -> bool {
    let mut groups = params.split(|&b| b == b';');
    while let Some(g) = groups.next() {
        let first = g.split(|&b| b == b':').next().and_then(parse_num);
        match first {
            Some(9 | 5 | 6 | 8 | 53 | 58 | 29 | 25 | 28 | 55 | 59) => return true,
            Some(38 | 48) if !g.contains(&b':') => match groups.next().and_then(parse_num) {
                Some(5) => {
                    groups.next();
                }
                Some(2) => {
                    groups.nth(2);
                }
                _ => {}
            },
            _ => {}
        }
    }
    false
}
