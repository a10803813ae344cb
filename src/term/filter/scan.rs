//! Scanners over bytes: SWAR and SIMD searches for the end of plain text, of a string body
//! and of CSI parameters, so most bytes are passed on without the state machine.

use super::csi::{acts_on, sgr_notable};
use super::{ESC, HT, SI, ST_C1};

/// SWAR over 16 bytes at a time: SGRs and the words between them are mostly shorter than
/// 16 bytes, so one step usually finds the end, and the branch is predictable.
pub(super) type Word = u128;
pub(super) const STEP: usize = 16;
pub(super) const LO: Word = Word::from_le_bytes([0x01; STEP]);
pub(super) const HI: Word = Word::from_le_bytes([0x80; STEP]);

/// High bit set in each byte of `v` that is zero. Borrows can also flag bytes above a zero
/// byte, never below one, so the lowest flagged byte is always exact.
#[inline(always)]
pub(super) fn zero_bytes(v: Word) -> Word {
    v.wrapping_sub(LO) & !v & HI
}

/// `STEP` bytes starting at `s[i]` as a little-endian word (so byte order = bit order).
#[inline(always)]
pub(super) fn word(s: &[u8], i: usize) -> Word {
    let mut w = [0u8; STEP];
    w.copy_from_slice(&s[i..i + STEP]);
    Word::from_le_bytes(w)
}

/// Index of the first ESC, SO, SI or HT in `s`, or `s.len()`: the only bytes that change
/// what the filter does in ground with an ASCII GL.
pub(super) fn find_ground(s: &[u8]) -> usize {
    let mut i = 0;
    while i + STEP <= s.len() {
        let w = word(s, i);
        // SO and SI differ only in bit 0.
        let m = zero_bytes(w ^ (LO * Word::from(ESC)))
            | zero_bytes((w | LO) ^ (LO * Word::from(SI)))
            | zero_bytes(w ^ (LO * Word::from(HT)));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += STEP;
    }
    i + s[i..]
        .iter()
        .position(|&b| b == ESC || b | 1 == SI || b == HT)
        .unwrap_or(s.len() - i)
}

/// Bytes per `plain_prefix` block: one bit per byte in a `u64` mask.
pub(super) const BLOCK: usize = 64;

/// Bit k of a mask describes byte k of a block.
#[derive(Clone, Copy)]
pub(super) enum Class {
    Esc,
    /// SO, SI or HT.
    Shift,
    Bracket,
    /// CSI parameter bytes, 0x30..=0x3f.
    Param,
}

/// How many bytes at the start of `block` (`BLOCK` bytes of ground, GL = ASCII) are text and
/// complete CSIs the filter does not act on; `BLOCK` if all of them. The masks are computed
/// for the whole block at once, and every CSI's final byte is found at once with an
/// addition: adding a bit at the first parameter position carries through the run of
/// parameter bytes and stops at the first byte after it. This keeps each sequence from
/// waiting on the search for the previous one, which is what the per-sequence loop costs.
/// With `fid` (fidelity), SGRs `sgr_notable` picks out stop the block too; with `all_sgr`
/// every SGR does.
pub(super) fn plain_prefix(block: &[u8], fid: bool, all_sgr: bool) -> usize {
    let esc = mask(block, Class::Esc);
    let shift = mask(block, Class::Shift);
    if esc == 0 {
        return if shift == 0 {
            BLOCK
        } else {
            shift.trailing_zeros() as usize
        };
    }
    let param = mask(block, Class::Param);
    // `ESC [` with the first parameter position still inside the block.
    let csi = esc & (mask(block, Class::Bracket) >> 1) & (u64::MAX >> 2);
    let (sum, past_end) = (csi << 2).overflowing_add(param);
    let finals = sum & !param;
    // Everything else that needs the general path: other escapes, SO/SI.
    let mut stop = (esc & !csi) | shift;
    // The start of the CSI ending at or after byte `k`: the last CSI start below `k`.
    let start_before = |k: u32| {
        let below = csi & ((1u64 << k) - 1);
        below.checked_ilog2().map_or(1, |e| 1u64 << e)
    };
    if past_end {
        // The last CSI's parameters run to the end of the block.
        stop |= start_before(63);
    }
    let mut f = finals;
    while f != 0 {
        let k = f.trailing_zeros();
        let fin = block[k as usize];
        if !(0x40..=0x7e).contains(&fin) || acts_on(fin) {
            stop |= start_before(k);
            break;
        }
        if fid && fin == b'm' {
            let start = start_before(k);
            if all_sgr || sgr_in_block_notable(block, start, k) {
                stop |= start;
                break;
            }
        }
        f &= f - 1;
    }
    if stop == 0 {
        BLOCK
    } else {
        stop.trailing_zeros() as usize
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(super) fn mask(block: &[u8], class: Class) -> u64 {
    // SAFETY: `sse2_mask` only requires SSE2, which the cfg above guarantees is enabled for
    // the whole build (it is part of the x86_64 baseline).
    unsafe { sse2_mask(block, class) }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
pub(super) fn sse2_mask(block: &[u8], class: Class) -> u64 {
    use std::arch::x86_64::{
        _mm_and_si128, _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };
    let half = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&block[i..i + 8]);
        i64::from_le_bytes(w)
    };
    let splat = |b: u8| _mm_set1_epi8(b as i8);
    let mut m = 0;
    for q in 0..BLOCK / 16 {
        let v = _mm_set_epi64x(half(q * 16 + 8), half(q * 16));
        let hits = match class {
            Class::Esc => _mm_cmpeq_epi8(v, splat(ESC)),
            Class::Shift => _mm_or_si128(
                _mm_cmpeq_epi8(_mm_or_si128(v, splat(1)), splat(SI)),
                _mm_cmpeq_epi8(v, splat(HT)),
            ),
            Class::Bracket => _mm_cmpeq_epi8(v, splat(b'[')),
            Class::Param => _mm_cmpeq_epi8(_mm_and_si128(v, splat(0xf0)), splat(0x30)),
        };
        m |= u64::from(_mm_movemask_epi8(hits) as u16) << (16 * q);
    }
    m
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
pub(super) fn mask(block: &[u8], class: Class) -> u64 {
    let mut m = 0;
    for (k, &b) in block.iter().enumerate().take(BLOCK) {
        let hit = match class {
            Class::Esc => b == ESC,
            Class::Shift => b | 1 == SI || b == HT,
            Class::Bracket => b == b'[',
            Class::Param => b & 0xf0 == 0x30,
        };
        m |= u64::from(hit) << k;
    }
    m
}

/// `sgr_notable` for the CSI starting at bit `start` and ending at byte `k` of a block; out
/// of line, so `plain_prefix` stays small enough to inline.
#[inline(never)]
pub(super) fn sgr_in_block_notable(block: &[u8], start: u64, k: u32) -> bool {
    let p0 = start.trailing_zeros() as usize + 2;
    sgr_notable(block.get(p0..k as usize).unwrap_or_default())
}

/// Length of the prefix of `s` made of CSI parameter bytes (0x30..=0x3f: digits, `:;<=>?`).
pub(super) fn skip_params(s: &[u8]) -> usize {
    let mut i = 0;
    while i + STEP <= s.len() {
        // Non-zero bytes mark bytes outside 0x30..=0x3f.
        let x = (word(s, i) & (LO * 0xf0)) ^ (LO * 0x30);
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += STEP;
    }
    i + s[i..]
        .iter()
        .position(|&b| b & 0xf0 != 0x30)
        .unwrap_or(s.len() - i)
}

/// Index of the first C0 control (or 0x9c if `c1_st`) in `s`, or `s.len()`: candidates for
/// ending a string body.
pub(super) fn find_string_end(s: &[u8], c1_st: bool) -> usize {
    let mut i = 0;
    while i + STEP <= s.len() {
        let w = word(s, i);
        // Bytes below 0x20: same borrow argument as `zero_bytes`.
        let mut m = w.wrapping_sub(LO * 0x20) & !w & HI;
        if c1_st {
            m |= zero_bytes(w ^ (LO * Word::from(ST_C1)));
        }
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += STEP;
    }
    i + s[i..]
        .iter()
        .position(|&b| b < 0x20 || (c1_st && b == ST_C1))
        .unwrap_or(s.len() - i)
}
