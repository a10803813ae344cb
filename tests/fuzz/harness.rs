//! The fuzzing harness for a session's terminal, shared by `tests/fuzz_term.rs` (the
//! deterministic test) and the cargo-fuzz targets in `fuzz/` (which include this file with
//! `#[path]`, so there is one copy of the generator and of the invariants).
//!
//! * [`Source`]: where random choices come from: a seeded PRNG ([`Rng`]) for the test, the
//!   fuzzer's input ([`Bytes`]) for the grammar target, so libFuzzer's mutations steer the
//!   grammar.
//! * [`piece`]: one grammar-built chunk of program output (text, controls, CSI, SGR, modes,
//!   queries, OSC/DCS/APC strings, charsets, resets, dictionary tokens, junk).
//! * [`Plan`] / [`Op`]: what happens to one to three terminals sharing a budget: output cut at
//!   random places, resizes, parser rebuilds, history limits, budget enforcement, rendering,
//!   history reads and searches.
//! * [`run`]: executes a plan and checks every invariant after every operation; the first
//!   violation (or a panic) comes back as a [`Failure`]. [`minimize`] shrinks a failing plan.

#![allow(dead_code)] // Each including binary uses a different part.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use memmux::term::scrollback::{Budget, Limits, Pos};
use memmux::term::{MAX_DIM, MAX_TITLE_BYTES, Term};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

// --- heap accounting --------------------------------------------------------------------------

/// Counting allocator for the including binary (`#[global_allocator]`). Counts per thread:
/// the test harness runs tests on parallel threads, and a terminal lives on one thread, so
/// a thread's count is exactly what its own terminals hold (nothing here crosses threads).
pub struct CountingAlloc;

thread_local! {
    // `const` and no destructor: usable from inside the allocator without allocating.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|c| c.set(c.get() + delta));
}

/// Heap bytes allocated and not yet freed by the current thread.
pub fn live_heap() -> isize {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: delegates every call to `System` unchanged; only counts sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

// --- randomness -------------------------------------------------------------------------------

/// Where the generator's choices come from.
pub trait Source {
    fn next_u64(&mut self) -> u64;

    /// Whether every further choice will be 0 (a drained fuzzer input): plans end there.
    fn drained(&self) -> bool {
        false
    }

    /// 0..n (0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// lo..=hi.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability 1/n. A drained [`Bytes`] answers true, which ends loops.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// One of `xs` (byte strings of different lengths).
    fn pick_bytes<'a>(&mut self, xs: &[&'a [u8]]) -> &'a [u8] {
        xs[self.below(xs.len())]
    }

    fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }
}

/// SplitMix64: any seed works (0 included), and consecutive seeds give unrelated streams.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Source for Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The fuzzer's input as a source: each choice eats up to 8 bytes; once drained every
/// choice is 0, so generation ends quickly (every loop stops on 0).
pub struct Bytes<'a>(pub &'a [u8]);

impl Source for Bytes<'_> {
    fn drained(&self) -> bool {
        self.0.is_empty()
    }

    fn next_u64(&mut self) -> u64 {
        // Small choices dominate, so one byte per choice keeps mutations local; a byte
        // >= 0xf0 widens the choice to the next 4 bytes for the rare large value.
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        if b < 0xf0 {
            return u64::from(b);
        }
        let n = rest.len().min(4);
        let mut v = 0u64;
        for &x in &rest[..n] {
            v = v << 8 | u64::from(x);
        }
        self.0 = &rest[n..];
        v
    }
}

// --- the dictionary ---------------------------------------------------------------------------

/// Escape sequences programs really send, and hostile ones. The generator splices them in; the
/// libFuzzer dictionary `tests/fuzz/escapes.dict` is written from this list (a test checks
/// that the file is current).
pub const DICT: &[&[u8]] = &[
    // Queries: must be answered only with the fixed reply shapes.
    b"\x1b[5n",
    b"\x1b[6n",
    b"\x1b[?6n",
    b"\x1b[c",
    b"\x1b[0c",
    b"\x1b[>c",
    b"\x1b[>0c",
    b"\x1b[=c",
    b"\x1b[18t",
    b"\x1b[14t",
    b"\x1b[19t",
    b"\x1b[21t",
    b"\x1b[20t",
    b"\x1b[>q",
    b"\x1b[?u",
    b"\x1b[?1$p",
    b"\x1b[?2004$p",
    b"\x1bP$qm\x1b\\",
    b"\x1bP$q\"p\x1b\\",
    b"\x1bP+q544e\x1b\\",
    b"\x1b]10;?\x07",
    b"\x1b]11;?\x1b\\",
    b"\x1b]4;1;?\x07",
    b"\x1b]52;c;?\x07",
    b"\x1b]50;?\x07",
    b"\x1bZ",
    b"\x05",
    // Titles and other OSC.
    b"\x1b]0;",
    b"\x1b]1;",
    b"\x1b]2;",
    b"\x1b]52;c;",
    b"\x1b]7;file://host/tmp\x07",
    b"\x1b]8;;https://example.com\x1b\\",
    b"\x1b]8;;\x1b\\",
    b"\x1b]133;A\x07",
    b"\x1b]1337;",
    b"\x07",
    b"\x1b\\",
    b"\x9c",
    b"\x18",
    b"\x1a",
    // Strings.
    b"\x1bP",
    b"\x1bPq",
    b"\x1b_",
    b"\x1b^",
    b"\x1bX",
    b"\x1b_Gf=100;",
    // Modes.
    b"\x1b[?1h",
    b"\x1b[?6h",
    b"\x1b[?6l",
    b"\x1b[?7l",
    b"\x1b[?7h",
    b"\x1b[?25l",
    b"\x1b[?47h",
    b"\x1b[?47l",
    b"\x1b[?1000h",
    b"\x1b[?1002h",
    b"\x1b[?1003h",
    b"\x1b[?1005h",
    b"\x1b[?1006h",
    b"\x1b[?1004h",
    b"\x1b[?1049h",
    b"\x1b[?1049l",
    b"\x1b[?2004h",
    b"\x1b[4h",
    b"\x1b[20h",
    b"\x1b=",
    b"\x1b>",
    // Scrolling and editing.
    b"\x1b[r",
    b"\x1b[1;1r",
    b"\x1b[2;5r",
    b"\x1b[65535;1r",
    b"\x1b[L",
    b"\x1b[M",
    b"\x1b[@",
    b"\x1b[P",
    b"\x1b[X",
    b"\x1b[S",
    b"\x1b[T",
    b"\x1b[65535b",
    b"\x1b[b",
    b"\x1b[J",
    b"\x1b[2J",
    b"\x1b[3J",
    b"\x1b[?2J",
    b"\x1b[K",
    b"\x1b[1K",
    b"\x1b[?1K",
    b"\x1bD",
    b"\x1bE",
    b"\x1bM",
    b"\x1b#8",
    // Cursor.
    b"\x1b[H",
    b"\x1b[65535;65535H",
    b"\x1b[999C",
    b"\x1b[999B",
    b"\x1b[G",
    b"\x1b[d",
    b"\x1b[E",
    b"\x1b[F",
    b"\x1b7",
    b"\x1b8",
    b"\x1b[s",
    b"\x1b[u",
    b"\x1b[8;100;300t",
    b"\x1b[8;0;0t",
    b"\x1b[3 q",
    // Attributes.
    b"\x1b[m",
    b"\x1b[0m",
    b"\x1b[1;4;7m",
    b"\x1b[38;5;196m",
    b"\x1b[48;5;21m",
    b"\x1b[38;2;255;128;0m",
    b"\x1b[48;2;1;2;3m",
    b"\x1b[38:2::10:20:30m",
    b"\x1b[4:3m",
    b"\x1b[58;5;1m",
    // Charsets.
    b"\x1b(0",
    b"\x1b(B",
    b"\x1b(A",
    b"\x1b)0",
    b"\x1b*0",
    b"\x1b(%5",
    b"\x0e",
    b"\x0f",
    b"lqqqqk",
    b"x  x",
    // Resets.
    b"\x1bc",
    b"\x1b[!p",
    // Text that stresses width handling.
    "\u{6f22}\u{5b57}".as_bytes(),
    "e\u{301}\u{302}\u{303}".as_bytes(),
    "\u{1f600}".as_bytes(),
    "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}".as_bytes(),
    "\u{1f1fa}\u{1f1f8}".as_bytes(),
    "\u{2764}\u{fe0f}".as_bytes(),
    "\u{200b}".as_bytes(),
    "\u{feff}".as_bytes(),
    b"\xff\xfe",
    b"\xe6\xbc",
    b"\r\n",
];

/// The dictionary in libFuzzer's format (`name="bytes"` with `\xNN` escapes).
pub fn dict_file() -> String {
    let mut s = String::from(
        "# libFuzzer dictionary for the memmux fuzz targets: escape sequences and text that\n\
         # terminals see. Written from DICT in tests/fuzz/harness.rs; regenerate with\n\
         # MEMMUX_FUZZ_BLESS=1 cargo test --test fuzz_term dictionary\n",
    );
    for (i, entry) in DICT.iter().enumerate() {
        let _ = write!(s, "d{i}=\"");
        for &b in *entry {
            if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
                s.push(b as char);
            } else {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
        s.push_str("\"\n");
    }
    s
}

// --- the grammar ------------------------------------------------------------------------------

/// A CSI parameter: mostly small, sometimes around the screen size, sometimes huge (vte
/// saturates at 65535), sometimes empty or zero-padded.
fn num(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    let v: String = match s.below(20) {
        0..=7 => s.below(10).to_string(),
        8..=10 => s.below(usize::from(rows.max(cols)) + 8).to_string(),
        11..=12 => s.range(100, 1100).to_string(),
        13..=15 => (*s.pick(&[
            "255",
            "256",
            "999",
            "1000",
            "1001",
            "9999",
            "32767",
            "32768",
            "65534",
            "65535",
            "65536",
            "99999",
            "4294967295",
            "18446744073709551616",
            "00000000000000000000001",
        ]))
        .to_string(),
        16..=17 => String::new(),
        _ => s.next_u64().to_string(),
    };
    out.extend_from_slice(v.as_bytes());
}

fn params(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    let n = match s.below(10) {
        0..=5 => s.below(3),
        6..=8 => s.range(3, 8),
        // Past vte's 32-entry limit.
        _ => s.range(20, 60),
    };
    for k in 0..n {
        if k > 0 {
            out.push(if s.one_in(8) { b':' } else { b';' });
        }
        num(s, out, rows, cols);
    }
}

const TEXT: &[&str] = &[
    "hello",
    "world",
    " ",
    "  ",
    "\t",
    "$ ls -la",
    "total 42",
    "drwxr-xr-x",
    "caf\u{e9}",
    "\u{fc}ber",
    "\u{444}\u{430}\u{439}\u{43b}",
    "\u{6f22}\u{5b57}",
    "\u{65e5}\u{672c}\u{8a9e}\u{30c6}\u{30ad}\u{30b9}\u{30c8}",
    "\u{d55c}\u{ad6d}\u{c5b4}",
    "\u{ff21}\u{ff22}",
    "e\u{301}",
    "a\u{300}\u{301}\u{302}\u{303}\u{304}\u{305}\u{306}\u{307}\u{308}\u{309}",
    "\u{301}",
    "\u{20dd}",
    "\u{1f600}",
    "\u{1f44d}\u{1f3fd}",
    "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f466}",
    "\u{1f1fa}\u{1f1f8}",
    "\u{2764}\u{fe0f}",
    "\u{fe0f}",
    "\u{200b}",
    "\u{200d}",
    "\u{feff}",
    "\u{202e}evil",
    "\u{a0}",
    "\u{2500}\u{2502}\u{250c}",
    "\u{fffd}",
    "\u{10ffff}",
    "#",
    "lqkxjmtuvwn",
];

fn text(s: &mut impl Source, out: &mut Vec<u8>) {
    for _ in 0..s.range(1, 12) {
        match s.below(8) {
            0..=3 => {
                for _ in 0..s.range(1, 20) {
                    out.push(*s.pick(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-_/#~|{}[]()<>=+*&^%$@!?:;'\"`\\"));
                }
            }
            4..=6 => out.extend_from_slice(s.pick(TEXT).as_bytes()),
            _ => {
                // Any scalar value, including unassigned and private-use ones.
                let c = char::from_u32(s.below(0x11_0000) as u32).unwrap_or('\u{fffd}');
                let mut b = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

/// Many rows at once, so the screen scrolls and history fills: plain lines, coloured lines,
/// lines longer than the screen (soft wraps), blank lines.
fn lines(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    let n = s.range(1, usize::from(rows).min(200) + 10);
    let style = s.below(4);
    for i in 0..n {
        match style {
            0 => {
                let _ = write!(VecWriter(out), "line {i} ");
                text(s, out);
            }
            1 => {
                let _ = write!(VecWriter(out), "\x1b[3{}m{i:>5}\x1b[m ", i % 8);
                text(s, out);
            }
            2 => {
                let len = s.below(usize::from(cols) * 3 + 2);
                out.extend(std::iter::repeat_n(*s.pick(b"x=#-"), len));
            }
            _ => {}
        }
        out.extend_from_slice(if s.one_in(4) { b"\n" } else { b"\r\n" });
    }
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn csi(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\x1b[");
}

fn random_csi(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    csi(out);
    if s.one_in(3) {
        out.push(*s.pick(b"?><="));
    }
    params(s, out, rows, cols);
    if s.one_in(8) {
        // Controls inside a CSI are executed without ending it; 0x7f and high bytes ignored.
        out.push(*s.pick(b"\x00\x07\x08\n\r\x0e\x0f\x7f\x85\xc3\xff"));
        params(s, out, rows, cols);
    }
    for _ in 0..s.below(3) {
        if s.one_in(2) {
            out.push(*s.pick(b" !\"#$%&'()*+,-./"));
        }
    }
    if s.one_in(30) {
        // Cut short, by another sequence or a cancel.
        out.extend_from_slice(s.pick_bytes(&[&b"\x1b"[..], b"\x18", b"\x1a", b"\x1b["]));
        return;
    }
    out.push(s.range(0x40, 0x7e) as u8);
}

fn sgr(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    csi(out);
    for k in 0..s.range(1, 6) {
        if k > 0 {
            out.push(b';');
        }
        match s.below(10) {
            0..=3 => {
                let _ = write!(
                    VecWriter(out),
                    "{}",
                    s.pick(&[
                        0, 1, 2, 3, 4, 5, 7, 8, 9, 21, 22, 23, 24, 27, 39, 49, 53, 58, 59
                    ])
                );
            }
            4..=5 => {
                let _ = write!(
                    VecWriter(out),
                    "{}",
                    s.pick(&[30, 40, 90, 100]) + s.below(8)
                );
            }
            6 => {
                let sep = if s.one_in(4) { ':' } else { ';' };
                let _ = write!(
                    VecWriter(out),
                    "{}{sep}5{sep}{}",
                    s.pick(&[38, 48, 58]),
                    s.below(300)
                );
            }
            7 => {
                let sep = if s.one_in(4) { ':' } else { ';' };
                let colon_space = if sep == ':' && s.one_in(2) { ":" } else { "" };
                let _ = write!(
                    VecWriter(out),
                    "{}{sep}2{sep}{colon_space}{}{sep}{}{sep}{}",
                    s.pick(&[38, 48]),
                    s.below(300),
                    s.below(300),
                    s.below(300)
                );
            }
            8 => {
                // Truncated colour specs.
                let _ = write!(
                    VecWriter(out),
                    "{}{}",
                    s.pick(&[38, 48]),
                    s.pick(&["", ";5", ";2", ";2;1", ";2;1;2", ";5;"])
                );
            }
            _ => num(s, out, rows, cols),
        }
    }
    out.push(b'm');
}

const MODES: &[u16] = &[
    1, 3, 4, 5, 6, 7, 12, 25, 40, 45, 47, 66, 69, 80, 1000, 1001, 1002, 1003, 1004, 1005, 1006,
    1007, 1015, 1016, 1034, 1036, 1047, 1048, 1049, 2004, 2026, 9, 95,
];

fn modes(s: &mut impl Source, out: &mut Vec<u8>) {
    csi(out);
    if !s.one_in(8) {
        out.push(b'?');
    }
    for k in 0..s.range(1, 4) {
        if k > 0 {
            out.push(b';');
        }
        let _ = write!(VecWriter(out), "{}", s.pick(MODES));
    }
    out.push(*s.pick(b"hhhllls"));
}

fn decstbm(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    csi(out);
    match s.below(4) {
        0 => {}
        1 => {
            let top = s.range(1, usize::from(rows));
            let bottom = s.range(top, usize::from(rows));
            let _ = write!(VecWriter(out), "{top};{bottom}");
        }
        _ => {
            num(s, out, rows, cols);
            out.push(b';');
            num(s, out, rows, cols);
        }
    }
    out.push(b'r');
}

/// Insert/delete/erase/scroll/repeat with counts around and beyond the screen size.
fn edit(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    csi(out);
    let fin = *s.pick(b"LMPX@STbJKJKb");
    if matches!(fin, b'J' | b'K') && s.one_in(3) {
        out.push(b'?');
    }
    num(s, out, rows, cols);
    out.push(fin);
}

fn cursor(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    match s.below(6) {
        0 => {
            let _ = write!(
                VecWriter(out),
                "\x1b[{};{}{}",
                s.below(usize::from(rows) + 3),
                s.below(usize::from(cols) + 3),
                s.pick(&["H", "f"])
            );
        }
        1 => {
            csi(out);
            num(s, out, rows, cols);
            out.push(*s.pick(b"ABCDEFGHdaej`"));
        }
        2 => out.extend_from_slice(s.pick_bytes(&[
            &b"\x1b7"[..],
            b"\x1b8",
            b"\x1b[s",
            b"\x1b[u",
            b"\x1bD",
            b"\x1bE",
            b"\x1bM",
            b"\x1bM\x1bM\x1bM",
        ])),
        3 => {
            for _ in 0..s.range(1, 10) {
                out.push(*s.pick(b"\x08\t\n\r\x0b\x0c"));
            }
        }
        4 => {
            // Fill to the right margin, then one more: the pending-wrap state.
            let n = usize::from(cols).saturating_sub(s.below(3));
            let _ = write!(VecWriter(out), "\x1b[{};1H", s.range(1, usize::from(rows)));
            out.extend(std::iter::repeat_n(b'W', n));
            if s.one_in(2) {
                out.extend_from_slice(s.pick(TEXT).as_bytes());
            }
        }
        _ => {
            // A wide character or a combining mark at the last column.
            let _ = write!(VecWriter(out), "\x1b[{}G", usize::from(cols) - s.below(2));
            out.extend_from_slice(s.pick(TEXT).as_bytes());
        }
    }
}

fn query(s: &mut impl Source, out: &mut Vec<u8>) {
    out.extend_from_slice(s.pick_bytes(&DICT[..27]));
}

fn string_body(s: &mut impl Source, out: &mut Vec<u8>) {
    match s.below(10) {
        0..=4 => {
            for _ in 0..s.below(40) {
                out.push(s.range(0x20, 0x7e) as u8);
            }
        }
        5..=6 => text(s, out),
        7 => {
            // Anything, controls and escapes included: the string may end early.
            for _ in 0..s.below(40) {
                out.push(s.byte());
            }
        }
        8 => {
            // Escape sequences inside a title: must come out as plain text or not at all.
            out.extend_from_slice(b"a\x1b[31mb\x9b31mc\x1b]0;d\x07e\x08\x7f\x85");
        }
        _ => {
            let n = s.range(200, 5000);
            out.extend(std::iter::repeat_n(*s.pick(b"AZ;\xc3"), n));
        }
    }
}

fn terminator(s: &mut impl Source, out: &mut Vec<u8>) {
    out.extend_from_slice(s.pick_bytes(&[
        &b"\x07"[..],
        b"\x07",
        b"\x1b\\",
        b"\x1b\\",
        b"\x9c",
        b"\x18",
        b"\x1a",
        b"\x1b",
        b"",
    ]));
}

fn osc(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    out.extend_from_slice(b"\x1b]");
    match s.below(8) {
        0..=3 => {
            let _ = write!(
                VecWriter(out),
                "{};",
                s.pick(&[0, 1, 2, 2, 0, 52, 7, 8, 10, 11, 50, 133, 1337])
            );
        }
        4 => out.extend_from_slice(b"52;c;"),
        5 => {
            params(s, out, rows, cols);
            out.push(b';');
        }
        _ => {}
    }
    string_body(s, out);
    terminator(s, out);
}

/// DCS, SOS, PM, APC.
fn string_seq(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16) {
    out.push(0x1b);
    let kind = *s.pick(b"PPX^__");
    out.push(kind);
    if kind == b'P' {
        if s.one_in(2) {
            params(s, out, rows, cols);
        }
        if s.one_in(3) {
            out.push(*s.pick(b" $+!"));
        }
        out.push(*s.pick(b"qpz|{$"));
    }
    string_body(s, out);
    terminator(s, out);
}

fn charset(s: &mut impl Source, out: &mut Vec<u8>) {
    match s.below(5) {
        0 => {
            out.push(0x1b);
            out.push(*s.pick(b"()*+-./"));
            if s.one_in(6) {
                out.push(*s.pick(b"%\"&"));
            }
            out.push(*s.pick(b"0AB0B<>456"));
        }
        1 => out.push(*s.pick(b"\x0e\x0f")),
        2 => out.extend_from_slice(b"\x1b(0lqqqqqwqqqk\r\nx    x    x\r\nmqqqqqvqqqj\x1b(B"),
        3 => out.extend_from_slice(b"\x1b)0\x0elqk\x0f\x1b7\x1b(0x\x1b8x"),
        _ => out.extend_from_slice(b"\x1b(A#1\x1b(B#2"),
    }
}

fn reset(s: &mut impl Source, out: &mut Vec<u8>) {
    out.extend_from_slice(s.pick_bytes(&[
        &b"\x1bc"[..],
        b"\x1b[!p",
        b"\x1b#8",
        b"\x1b[?1049h\x1b[2J\x1b[Halt",
        b"\x1b[?1049l",
        b"\x1b[?47h",
        b"\x1b[?47l",
        b"\x1b[?1047h",
        b"\x1b[?1047l",
    ]));
}

/// Arbitrary bytes weighted to one representative of each byte class vte distinguishes.
fn junk(s: &mut impl Source, out: &mut Vec<u8>) {
    const BYTES: &[u8] = b"\x00\x05\x07\x08\x0a\x0d\x0e\x0f\x18\x1a\x1b\x1b\x1b /0159:;<=>?@ABHPX[\\]^_`bchlmnpqrt~\x7f\x80\x90\x9b\x9c\x9d\xc3\xa9\xe2\xe6\xf0\x9f\xff";
    for _ in 0..s.range(1, 60) {
        if s.one_in(4) {
            out.push(s.byte());
        } else {
            out.push(*s.pick(BYTES));
        }
    }
}

/// A rare, expensive piece: a string or text past the filter's 1 MiB cap, or a huge line.
fn huge(s: &mut impl Source, out: &mut Vec<u8>) {
    let n = if s.one_in(2) {
        memmux::term::filter::MAX_STRING + s.below(4096)
    } else {
        s.range(64 << 10, 256 << 10)
    };
    out.extend_from_slice(s.pick_bytes(&[
        &b"\x1b]0;"[..],
        b"\x1b]52;c;",
        b"\x1bPq",
        b"\x1b_",
        b"\x1b^",
        b"\x1b[31m",
    ]));
    out.extend(std::iter::repeat_n(*s.pick(b"Aa;/"), n));
    terminator(s, out);
}

/// Appends one grammar-built piece of program output for a `rows` x `cols` screen.
pub fn piece(s: &mut impl Source, out: &mut Vec<u8>, rows: u16, cols: u16, allow_huge: bool) {
    match s.below(100) {
        0..=15 => text(s, out),
        16..=21 => lines(s, out, rows, cols),
        22..=27 => {
            for _ in 0..s.range(1, 4) {
                out.push(s.below(0x20) as u8);
            }
        }
        28..=37 => random_csi(s, out, rows, cols),
        38..=45 => sgr(s, out, rows, cols),
        46..=51 => modes(s, out),
        52..=55 => decstbm(s, out, rows, cols),
        56..=62 => edit(s, out, rows, cols),
        63..=69 => cursor(s, out, rows, cols),
        70..=74 => query(s, out),
        75..=79 => osc(s, out, rows, cols),
        80..=82 => string_seq(s, out, rows, cols),
        83..=86 => charset(s, out),
        87..=88 => reset(s, out),
        89..=93 => out.extend_from_slice(s.pick_bytes(DICT)),
        94..=98 => junk(s, out),
        _ if allow_huge && s.one_in(40) => huge(s, out),
        _ => text(s, out),
    }
}

// --- plans ------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub enum Op {
    /// Program output for terminal `t`, exactly as one pty read would deliver it.
    Feed {
        t: usize,
        bytes: Vec<u8>,
    },
    /// The pane was resized (sizes outside 1..=1000 are clamped by `Term`).
    Resize {
        t: usize,
        rows: u16,
        cols: u16,
    },
    /// What the reader thread does after a parser panic.
    Rebuild {
        t: usize,
    },
    ClearHistory {
        t: usize,
    },
    SetLimits {
        t: usize,
        limits: Limits,
    },
    SettleHistory {
        t: usize,
    },
    /// `Registry::enforce_budget`: evict the largest store's oldest chunk while over budget.
    EnforceBudget,
    /// The tab closed and another opened in its place.
    Replace {
        t: usize,
        rows: u16,
        cols: u16,
        limits: Limits,
    },
    /// Draw the screen as the pane does, into a `w` x `h` area.
    Render {
        t: usize,
        w: u16,
        h: u16,
    },
    /// Read history rows and search for text taken from one of them.
    ReadHistory {
        t: usize,
        pick: u64,
    },
    /// Send `QUERIES[q]` after CAN (ground state from anywhere) and check the exact reply.
    Query {
        t: usize,
        q: usize,
    },
}

/// Queries and what memmux must answer; `None`: must not answer at all (they would echo
/// program-controlled text, or memmux does not implement them); `Colour`: this prefix and
/// a colour report (`check_replies` checks its shape; the colour depends on what the
/// input set).
#[derive(Clone, Copy, Debug)]
enum Answer {
    Fixed(&'static [u8]),
    Colour(&'static [u8]),
    Cpr,
    DecCpr,
    Size,
    None,
}

const QUERIES: &[(&[u8], Answer)] = &[
    (b"\x1b[5n", Answer::Fixed(b"\x1b[0n")),
    (b"\x1b[6n", Answer::Cpr),
    (b"\x1b[?6n", Answer::DecCpr),
    (b"\x1b[c", Answer::Fixed(b"\x1b[?62;22c")),
    (b"\x1b[0c", Answer::Fixed(b"\x1b[?62;22c")),
    (b"\x1b[>c", Answer::Fixed(b"\x1b[>1;10;0c")),
    (b"\x1b[>0c", Answer::Fixed(b"\x1b[>1;10;0c")),
    (b"\x1b[18t", Answer::Size),
    (b"\x1b[21t", Answer::None),
    (b"\x1b[20t", Answer::None),
    (b"\x1b[14t", Answer::None),
    (b"\x1bP$qm\x1b\\", Answer::None),
    (b"\x1b]52;c;?\x07", Answer::None),
    (b"\x1b]10;?\x07", Answer::Colour(b"\x1b]10;")),
    (b"\x1b]11;?\x1b\\", Answer::Colour(b"\x1b]11;")),
    (b"\x1b]4;7;?\x07", Answer::Colour(b"\x1b]4;7;")),
    (b"\x1bZ", Answer::None),
    (b"\x05", Answer::None),
];

#[derive(Clone, Debug)]
pub struct TermSpec {
    pub rows: u16,
    pub cols: u16,
    pub limits: Limits,
}

/// One scenario: terminals sharing a budget, and what happens to them.
#[derive(Clone, Debug)]
pub struct Plan {
    pub terms: Vec<TermSpec>,
    pub budget: usize,
    pub ops: Vec<Op>,
}

impl Plan {
    pub fn bytes(&self) -> usize {
        self.ops
            .iter()
            .map(|op| match op {
                Op::Feed { bytes, .. } => bytes.len(),
                _ => 0,
            })
            .sum()
    }
}

/// A screen size: mostly everyday panes, sometimes tiny, rarely up to 1000, and now and then
/// out of range (memmux clamps).
pub fn dims(s: &mut impl Source) -> (u16, u16) {
    let (rows, cols) = match s.below(100) {
        0..=79 => (s.range(1, 100) as u16, s.range(1, 300) as u16),
        80..=89 => (s.range(1, 3) as u16, s.range(1, 4) as u16),
        90..=94 => (s.range(1, 60) as u16, s.range(1, 1000) as u16),
        95..=96 => (s.range(1, 1000) as u16, s.range(1, 120) as u16),
        97 => (s.range(1, 1000) as u16, s.range(1, 1000) as u16),
        _ => (
            *s.pick(&[0, 1, 1001, 5000, u16::MAX]),
            *s.pick(&[0, 2, 1001, 5000, u16::MAX]),
        ),
    };
    (rows, cols)
}

pub fn limits(s: &mut impl Source) -> Limits {
    Limits {
        lines: *s.pick(&[0, 1, 3, 50, 1000, 10_000, 10_000]),
        bytes: *s.pick(&[0, 1, 700, 4096, 64 << 10, 1 << 20, 16 << 20]),
    }
}

/// Generates a plan of roughly `target` bytes of output. `allow_huge` permits pieces past
/// 1 MiB (the deterministic test allows them in its long mode only: they dominate run time).
pub fn gen_plan(s: &mut impl Source, target: usize, allow_huge: bool) -> Plan {
    let nterms = s.range(1, 3);
    let mut terms = Vec::new();
    for _ in 0..nterms {
        let (rows, cols) = dims(s);
        terms.push(TermSpec {
            rows,
            cols,
            limits: limits(s),
        });
    }
    let mut size: Vec<(u16, u16)> = terms.iter().map(|t| clamp(t.rows, t.cols)).collect();
    let budget = *s.pick(&[0, 4096, 100 << 10, 1 << 20, 64 << 20]);
    let mut ops = Vec::new();
    let mut total = 0;
    let mut stream = Vec::new();
    while total < target {
        let t = s.below(nterms);
        let (rows, cols) = size[t];
        match s.below(100) {
            0..=69 => {
                stream.clear();
                for _ in 0..s.range(1, 24) {
                    piece(s, &mut stream, rows, cols, allow_huge);
                }
                total += stream.len();
                // Cut where a pty read might: anywhere, mid-sequence and mid-character
                // included; mostly a few pieces, sometimes single bytes.
                let mut rest = &stream[..];
                while !rest.is_empty() {
                    let n = match s.below(10) {
                        0 => 1,
                        1..=3 => s.range(1, 16),
                        4..=6 => s.range(1, 512),
                        _ => rest.len(),
                    }
                    .min(rest.len());
                    ops.push(Op::Feed {
                        t,
                        bytes: rest[..n].to_vec(),
                    });
                    rest = &rest[n..];
                }
            }
            70..=84 => {
                let (r, c) = dims(s);
                size[t] = clamp(r, c);
                ops.push(Op::Resize {
                    t,
                    rows: r,
                    cols: c,
                });
            }
            85..=87 => ops.push(Op::Render {
                t,
                w: s.range(1, 320) as u16,
                h: s.range(1, 120) as u16,
            }),
            88..=90 => ops.push(Op::ReadHistory {
                t,
                pick: s.next_u64(),
            }),
            91 => ops.push(Op::Query {
                t,
                q: s.below(QUERIES.len()),
            }),
            92 => ops.push(Op::EnforceBudget),
            93 => ops.push(Op::SettleHistory { t }),
            94 => ops.push(Op::Rebuild { t }),
            95 => ops.push(Op::ClearHistory { t }),
            96..=97 => ops.push(Op::SetLimits {
                t,
                limits: limits(s),
            }),
            _ => {
                let (r, c) = dims(s);
                size[t] = clamp(r, c);
                ops.push(Op::Replace {
                    t,
                    rows: r,
                    cols: c,
                    limits: limits(s),
                });
            }
        }
        // A drained fuzzer input gives 0 forever: stop rather than pad with `a`s.
        if s.drained() || ops.len() > 20_000 {
            break;
        }
    }
    Plan { terms, budget, ops }
}

/// Turns raw fuzzer bytes into a plan: the bytes are the program output, unchanged (so the
/// dictionary's tokens arrive intact); where they are cut and when the pane is resized
/// follow from a hash of the input.
pub fn raw_plan(data: &[u8]) -> Plan {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data.iter().take(64) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let mut s = Rng(h ^ data.len() as u64);
    let (rows, cols) = match s.below(4) {
        0 => (24, 80),
        1 => (s.range(1, 5) as u16, s.range(1, 10) as u16),
        _ => dims(&mut s),
    };
    let lim = if s.one_in(2) {
        Limits::new(20, 2048)
    } else {
        limits(&mut s)
    };
    let mut ops = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = match s.below(4) {
            0 => s.range(1, 8),
            1 => s.range(1, 128),
            _ => rest.len(),
        }
        .min(rest.len());
        ops.push(Op::Feed {
            t: 0,
            bytes: rest[..n].to_vec(),
        });
        rest = &rest[n..];
        if s.one_in(3) {
            let (r, c) = if s.one_in(2) {
                (s.range(1, 8) as u16, s.range(1, 12) as u16)
            } else {
                dims(&mut s)
            };
            ops.push(Op::Resize {
                t: 0,
                rows: r,
                cols: c,
            });
        }
        if s.one_in(8) {
            ops.push(Op::ReadHistory {
                t: 0,
                pick: s.next_u64(),
            });
        }
        if s.one_in(8) {
            ops.push(Op::Query {
                t: 0,
                q: s.below(QUERIES.len()),
            });
        }
    }
    let (r, c) = clamp(rows, cols);
    ops.push(Op::Render { t: 0, w: c, h: r });
    ops.push(Op::ReadHistory { t: 0, pick: h });
    Plan {
        terms: vec![TermSpec {
            rows,
            cols,
            limits: lim,
        }],
        budget: 64 << 10,
        ops,
    }
}

fn clamp(rows: u16, cols: u16) -> (u16, u16) {
    (rows.clamp(1, MAX_DIM), cols.clamp(1, MAX_DIM))
}

// --- running and checking ---------------------------------------------------------------------

/// The first invariant broken: which, after which operation, and how.
#[derive(Clone, Debug)]
pub struct Failure {
    pub op: usize,
    pub kind: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} after op {}: {}", self.kind, self.op, self.detail)
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub ops: usize,
    pub bytes: usize,
    pub reply_bytes: usize,
    pub titles: usize,
    pub scrolled_rows: u64,
    pub max_history_bytes: usize,
    /// Largest heap held beyond the run's start, and the bound it was checked against then.
    pub peak_heap: isize,
    pub peak_bound: isize,
    pub renders: usize,
    pub searches: usize,
    /// Queries whose exact answer was checked.
    pub queries: usize,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.ops += o.ops;
        self.bytes += o.bytes;
        self.reply_bytes += o.reply_bytes;
        self.titles += o.titles;
        self.scrolled_rows += o.scrolled_rows;
        self.max_history_bytes = self.max_history_bytes.max(o.max_history_bytes);
        if o.peak_heap > self.peak_heap {
            self.peak_heap = o.peak_heap;
            self.peak_bound = o.peak_bound;
        }
        self.renders += o.renders;
        self.searches += o.searches;
        self.queries += o.queries;
    }
}

/// What may be stored beyond `Limits::bytes`: "exceeded by at most one chunk", and a chunk
/// is at most 64 KiB unless one row needs more; a 1000-column row is at most 1000 cells of
/// 22 bytes of text (vt100's `Cell` limit) plus a run of 11 bytes each, under 64 KiB. The
/// chunk directory (a `VecDeque` of 40-byte entries, counted in `bytes()`) may have just
/// doubled.
const HISTORY_SLACK: usize = (64 << 10) + 4096;

/// vt100 0.18.1 cell size (asserted by vt100 itself).
const CELL: usize = 32;

struct Slot {
    term: Term,
    limits: Limits,
    /// Largest rows and columns this terminal's grids have had: vt100 keeps row capacity
    /// after shrinking (`Vec::truncate`), so memory is bounded by the largest area, not the
    /// current one.
    max_rows: usize,
    max_cols: usize,
    /// See `WORK_AROUND_VS16`.
    held: Vec<u8>,
}

/// KNOWN BUG (see `vs16_at_the_right_margin_*` in tests/fuzz_term.rs): vt100 0.18.1 widens a
/// cell for U+FE0F (emoji presentation) even where the cell has no room: with the cursor
/// past the last column of the scroll region's bottom row the wide cell is left in the last
/// column of the row that scrolled up (a later write there panics), and on a one-column
/// screen the parser panics at once or puts the cursor past the edge. While it is open,
/// `Slot::feed` applies the fix proposed for `Term::process` (drop U+FE0F when the cursor is
/// in the pending-wrap column), so the search goes on past it; set to `false` once fixed.
pub const WORK_AROUND_VS16: bool = false;

const VS16: &[u8] = "\u{fe0f}".as_bytes();

impl Slot {
    fn new(rows: u16, cols: u16, limits: Limits, budget: &Arc<Budget>) -> Slot {
        let (r, c) = clamp(rows, cols);
        Slot {
            term: Term::new(rows, cols, limits, Arc::clone(budget)),
            limits,
            max_rows: usize::from(r),
            max_cols: usize::from(c),
            held: Vec::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        if !WORK_AROUND_VS16 {
            self.term.process(bytes);
            return;
        }
        // A U+FE0F cut by the read boundary is held back until its last byte arrives.
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(bytes);
        let keep = if data.ends_with(&VS16[..2]) {
            2
        } else {
            usize::from(data.ends_with(&VS16[..1]))
        };
        let (now, later) = data.split_at(data.len() - keep);
        let mut from = 0;
        let mut at = 0;
        while let Some(k) = now[at..].windows(3).position(|w| w == VS16) {
            let start = at + k;
            self.term.process(&now[from..start]);
            let cols = self.term.screen().size().1.get();
            if self.term.screen().cursor_position().1 < cols {
                self.term.process(VS16);
            }
            from = start + 3;
            at = from;
        }
        self.term.process(&now[from..]);
        self.held = later.to_vec();
    }

    /// Heap this terminal may hold. Two grids (main, alternate) of the largest area seen,
    /// each row's `Vec<Cell>` up to twice its length (`Vec::resize` grows by doubling);
    /// history within its limit plus one chunk; vte's OSC buffer (the filter caps the body
    /// at 1 MiB, its `Vec` then doubles once to 2 MiB); the capture's scratch buffers; and
    /// 256 KiB for everything small (title, callbacks, parser).
    fn heap_bound(&self) -> usize {
        let grids = 2 * self.max_rows * (2 * self.max_cols * CELL + 64);
        let history = self.limits.bytes + HISTORY_SLACK;
        let osc = 2 << 20;
        let scratch = 3 * (64 << 10);
        grids + history + osc + scratch + (256 << 10)
    }
}

thread_local! {
    /// Set while `run` executes an operation: the panic hook then records the message here
    /// instead of printing it (the minimizer provokes the same panic hundreds of times).
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static PANIC_MSG: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that stays silent for panics `run` catches and
/// defers to the default hook for everything else.
pub fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                PANIC_MSG.with(|m| *m.borrow_mut() = Some(format!("{msg}{at}")));
            } else {
                default(info);
            }
        }));
    });
}

/// How `run` treats a panic inside memmux.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnPanic {
    /// Catch it and report it as a `Failure` (the deterministic test).
    Report,
    /// Let it propagate (the fuzz targets: libFuzzer records the crash).
    Propagate,
}

#[derive(Clone, Copy, Debug)]
pub struct RunOpts {
    pub on_panic: OnPanic,
    /// Check the heap bound (needs `CountingAlloc` as the global allocator).
    pub heap: bool,
}

/// Executes `plan`, checking every invariant after every operation.
pub fn run(plan: &Plan, opts: RunOpts) -> Result<Stats, Failure> {
    let base = live_heap();
    let mut stats = Stats::default();
    let result = {
        let budget = Budget::new(plan.budget);
        let mut slots: Vec<Slot> = plan
            .terms
            .iter()
            .map(|t| Slot::new(t.rows, t.cols, t.limits, &budget))
            .collect();
        let mut res = Ok(());
        for (i, op) in plan.ops.iter().enumerate() {
            let step = match opts.on_panic {
                OnPanic::Propagate => Ok(apply(op, &mut slots, &budget, &mut stats)),
                OnPanic::Report => {
                    QUIET.with(|q| q.set(true));
                    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        apply(op, &mut slots, &budget, &mut stats)
                    }));
                    QUIET.with(|q| q.set(false));
                    r.map_err(|_| {
                        PANIC_MSG
                            .with(|m| m.borrow_mut().take())
                            .unwrap_or_default()
                    })
                }
            };
            let checked = match step {
                Err(msg) => Err(("panic", format!("{msg} (in {})", describe(op)))),
                Ok(r) => r.and_then(|()| check(op, &mut slots, &budget, base, opts, &mut stats)),
            };
            if let Err((kind, detail)) = checked {
                res = Err(Failure {
                    op: i,
                    kind,
                    detail,
                });
                break;
            }
            stats.ops += 1;
        }
        drop(slots);
        if res.is_ok() && budget.total() != 0 {
            res = Err(Failure {
                op: plan.ops.len(),
                kind: "budget",
                detail: format!(
                    "{} bytes still counted after every store was dropped",
                    budget.total()
                ),
            });
        }
        res
    };
    // Nothing may outlive the terminals (the budget and all stores are gone now).
    let leaked = live_heap() - base;
    match result {
        Err(f) => Err(f),
        Ok(()) if opts.heap && leaked > 0 => Err(Failure {
            op: plan.ops.len(),
            kind: "leak",
            detail: format!("{leaked} heap bytes still held after dropping every terminal"),
        }),
        Ok(()) => Ok(stats),
    }
}

fn describe(op: &Op) -> String {
    match op {
        Op::Feed { t, bytes } => format!("Feed t{t} {} bytes", bytes.len()),
        other => format!("{other:?}"),
    }
}

type Check = Result<(), (&'static str, String)>;

fn apply(op: &Op, slots: &mut [Slot], budget: &Arc<Budget>, stats: &mut Stats) -> Check {
    match *op {
        Op::Feed { t, ref bytes } => {
            slots[t].feed(bytes);
            stats.bytes += bytes.len();
        }
        Op::Resize { t, rows, cols } => {
            let slot = &mut slots[t];
            slot.term.resize(rows, cols);
            let (r, c) = clamp(rows, cols);
            slot.max_rows = slot.max_rows.max(usize::from(r));
            slot.max_cols = slot.max_cols.max(usize::from(c));
            let (sr, sc) = slot.term.screen().size();
            if (sr.get(), sc.get()) != (r, c) {
                return Err((
                    "resize",
                    format!("asked {rows}x{cols}, screen is {sr}x{sc}"),
                ));
            }
        }
        Op::Rebuild { t } => slots[t].term.rebuild(),
        Op::ClearHistory { t } => {
            slots[t].term.clear_history();
            if slots[t].term.history().bytes() != 0 || !slots[t].term.history().is_empty() {
                return Err(("history", "clear_history left rows or bytes".into()));
            }
        }
        Op::SetLimits { t, limits } => {
            slots[t].limits = limits;
            slots[t].term.history_mut().set_limits(limits);
        }
        Op::SettleHistory { t } => slots[t].term.settle_history(),
        Op::EnforceBudget => {
            // As `Registry::enforce_budget` does, one store at a time.
            loop {
                if !budget.is_exceeded() {
                    break;
                }
                let Some(largest) = slots.iter_mut().max_by_key(|s| s.term.history().bytes())
                else {
                    break;
                };
                if largest.term.history_mut().evict_oldest_chunk() == 0 {
                    break;
                }
            }
            let held: usize = slots.iter().map(|s| s.term.history().bytes()).sum();
            if budget.is_exceeded() && held > 0 {
                return Err((
                    "budget",
                    format!(
                        "still over budget after enforcing: total {} > limit {}, stores hold {held}",
                        budget.total(),
                        budget.limit()
                    ),
                ));
            }
        }
        Op::Replace {
            t,
            rows,
            cols,
            limits,
        } => {
            let before = budget.total();
            let freed = slots[t].term.history().bytes();
            // Drop the old terminal first, as closing a tab does.
            slots[t] = Slot::new(1, 1, limits, budget);
            if budget.total() != before - freed {
                return Err((
                    "budget",
                    format!(
                        "dropping a store of {freed} bytes took total {before} -> {}",
                        budget.total()
                    ),
                ));
            }
            slots[t] = Slot::new(rows, cols, limits, budget);
        }
        Op::Render { t, w, h } => {
            let screen = slots[t].term.screen();
            // `ui::Layout` never gives the pane less than 1x1 (`render_screen` indexes the
            // buffer at the area's origin, so an empty area would panic in ratatui), nor,
            // in practice, more than a screen plus some margin.
            let (w, h) = (w.clamp(1, MAX_DIM + 20), h.clamp(1, MAX_DIM + 20));
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            memmux::ui::pane::render_screen(screen, area, &mut buf);
            if let Some((x, y)) = memmux::ui::pane::cursor_position(screen, area) {
                if x >= w || y >= h {
                    return Err(("render", format!("cursor ({x},{y}) outside a {w}x{h} area")));
                }
            }
            stats.renders += 1;
        }
        Op::ReadHistory { t, pick } => {
            read_history(&slots[t].term, pick, stats)?;
        }
        Op::Query { t, q } => {
            let slot = &mut slots[t];
            // Earlier replies were checked and taken after the previous operation.
            let (query, answer) = QUERIES[q % QUERIES.len()];
            slot.feed(b"\x18");
            slot.feed(query);
            let screen = slot.term.screen();
            let (rows, cols) = screen.size();
            let (row, col) = screen.cursor_position();
            // See `KNOWN_CPR_SLACK`: until fixed, the unclamped column is what comes back.
            let col = if KNOWN_CPR_SLACK.with(Cell::get) > 0 {
                col
            } else {
                col.min(cols.get() - 1)
            };
            let want: Vec<u8> = match answer {
                Answer::Fixed(b) => b.to_vec(),
                Answer::Cpr => format!("\x1b[{};{}R", row + 1, col + 1).into_bytes(),
                Answer::DecCpr => format!("\x1b[?{};{}R", row + 1, col + 1).into_bytes(),
                Answer::Size => format!("\x1b[8;{rows};{cols}t").into_bytes(),
                Answer::None | Answer::Colour(_) => Vec::new(),
            };
            let got = std::mem::take(&mut slot.term.events().replies);
            stats.reply_bytes += got.len();
            stats.queries += 1;
            let right = match answer {
                Answer::Colour(prefix) => {
                    got.starts_with(prefix) && colour_report(&got) == Some(got.len())
                }
                _ => got == want,
            };
            if !right {
                return Err((
                    "reply",
                    format!(
                        "query {} answered {} instead of {}",
                        show(query),
                        show(&got),
                        show(&want)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Decodes a few history rows and searches for text taken from one of them.
fn read_history(term: &Term, pick: u64, stats: &mut Stats) -> Check {
    let h = term.history();
    let len = h.len();
    if len == 0 {
        return Ok(());
    }
    let mut s = Rng(pick);
    let mut text = String::new();
    for index in [0, len - 1, s.below(len), s.below(len)] {
        text.clear();
        h.row_text(index, &mut text);
        let mut next = 0u32;
        let mut cells = Vec::new();
        h.row_cells(index, |col, sym, width, _| {
            cells.push((col, sym.to_string(), width));
        });
        for (col, _, width) in &cells {
            if u32::from(*col) < next {
                return Err((
                    "history",
                    format!("row {index}: cell columns go back: {cells:?}"),
                ));
            }
            next = u32::from(*col) + u32::from(*width);
        }
        if next > u32::from(MAX_DIM) {
            return Err(("history", format!("row {index} is {next} columns wide")));
        }
        let _ = h.is_wrapped(index);
        // A run of printing cells of this row, searched for from past the end backwards:
        // it is there, so the search must find it, on this row or a newer one.
        let printing: Vec<&str> = cells.iter().map(|(_, sym, _)| sym.as_str()).collect();
        if printing.is_empty() {
            continue;
        }
        let from = s.below(printing.len());
        let n = s.range(1, 6).min(printing.len() - from);
        let run = &printing[from..from + n];
        if run.iter().any(|c| c.trim().is_empty()) {
            continue;
        }
        let query: String = run.concat();
        stats.searches += 1;
        match h.find(&query, Pos::new(usize::MAX, 0), true) {
            Some(m) if m.start.row >= index && m.start.row < len => {}
            other => {
                return Err((
                    "search",
                    format!(
                        "backward search for {query:?} (on row {index} of {len}: {text:?}) gave {other:?}"
                    ),
                ));
            }
        }
        let _ = h.text_between(Pos::new(index, 0), Pos::new(index + 1, 0));
    }
    Ok(())
}

fn check(
    op: &Op,
    slots: &mut [Slot],
    budget: &Arc<Budget>,
    base: isize,
    opts: RunOpts,
    stats: &mut Stats,
) -> Check {
    let t = match *op {
        Op::Feed { t, .. }
        | Op::Resize { t, .. }
        | Op::Rebuild { t }
        | Op::ClearHistory { t }
        | Op::SetLimits { t, .. }
        | Op::SettleHistory { t }
        | Op::Replace { t, .. }
        | Op::Render { t, .. }
        | Op::ReadHistory { t, .. }
        | Op::Query { t, .. } => Some(t),
        Op::EnforceBudget => None,
    };
    if let Some(t) = t {
        let fed = match op {
            Op::Feed { bytes, .. } => bytes.len(),
            _ => 0,
        };
        check_term(&mut slots[t], fed, stats)?;
    }
    let sum: usize = slots.iter().map(|s| s.term.history().bytes()).sum();
    if budget.total() != sum {
        return Err((
            "budget",
            format!(
                "budget total {} != sum of stores' bytes {sum}",
                budget.total()
            ),
        ));
    }
    if opts.heap {
        let held = live_heap() - base;
        let bound = slots.iter().map(Slot::heap_bound).sum::<usize>() as isize + (1 << 20);
        if held > stats.peak_heap {
            stats.peak_heap = held;
            stats.peak_bound = bound;
        }
        if held > bound {
            return Err(("heap", format!("{held} bytes held, bound {bound}")));
        }
    }
    Ok(())
}

fn check_term(slot: &mut Slot, fed: usize, stats: &mut Stats) -> Check {
    let term = &mut slot.term;
    let (rows, cols) = term.screen().size();
    let (rows, cols) = (rows.get(), cols.get());
    // vt100 leaves the column at `cols` after printing in the last column (the pending
    // wrap); any other position off the grid is a bug.
    let (r, c) = term.screen().cursor_position();
    if r >= rows || c > cols {
        return Err((
            "cursor",
            format!("cursor at ({r},{c}) on a {rows}x{cols} screen"),
        ));
    }

    let replies = std::mem::take(&mut term.events().replies);
    stats.reply_bytes += replies.len();
    // The biggest reply per query byte: a palette query's `;n;?` (4 bytes) -> its colour
    // report (at most 30); the first one also ends the OSC, which may be all that came.
    if replies.len() > 8 * fed + 32 {
        return Err((
            "reply",
            format!("{} reply bytes for {fed} input bytes", replies.len()),
        ));
    }
    check_replies(&replies, rows, cols).map_err(|e| ("reply", e))?;

    if let Some(title) = term.events().title.take() {
        stats.titles += 1;
        if title.len() > MAX_TITLE_BYTES || title.chars().any(char::is_control) {
            return Err(("title", format!("title {title:?} ({} bytes)", title.len())));
        }
    }

    let h = term.history();
    stats.max_history_bytes = stats.max_history_bytes.max(h.bytes());
    if h.len() > slot.limits.lines {
        return Err((
            "history-lines",
            format!("{} rows kept, limit {}", h.len(), slot.limits.lines),
        ));
    }
    if h.bytes() > slot.limits.bytes + HISTORY_SLACK {
        return Err((
            "history-bytes",
            format!(
                "{} bytes held, limit {} (+{HISTORY_SLACK})",
                h.bytes(),
                slot.limits.bytes
            ),
        ));
    }
    if h.limits() != slot.limits {
        return Err((
            "history",
            format!("limits {:?} became {:?}", slot.limits, h.limits()),
        ));
    }
    stats.scrolled_rows = stats.scrolled_rows.max(h.evicted() + h.len() as u64);
    Ok(())
}

/// Checks that `replies` is a sequence of the fixed reply shapes, with numbers memmux
/// computed: the cursor on the screen, the screen's own size.
pub fn check_replies(replies: &[u8], rows: u16, cols: u16) -> Result<(), String> {
    let mut i = 0;
    while i < replies.len() {
        match match_reply(&replies[i..], rows, cols) {
            Ok(n) => i += n,
            Err(why) => {
                return Err(format!(
                    "{why} at byte {i} of replies {} ({rows}x{cols} screen)",
                    show(replies)
                ));
            }
        }
    }
    Ok(())
}

/// Length of the colour report at the start of `r` (OSC 4/10/11, as `term::palette`
/// writes them: `ESC ] 4;n | 10 | 11 ; rgb:` three 16-bit channels that are 8-bit values
/// times 257, `ESC \`), if it is one.
fn colour_report(r: &[u8]) -> Option<usize> {
    let body = r.strip_prefix(b"\x1b]")?;
    let (what, rest) = if let Some(rest) = body.strip_prefix(b"4;") {
        let (n, k) = digits(rest)?;
        if n > 255 {
            return None;
        }
        (2 + k, &rest[k..])
    } else if body.starts_with(b"10") || body.starts_with(b"11") {
        (2, &body[2..])
    } else {
        return None;
    };
    let rest = rest.strip_prefix(b";rgb:")?;
    let chan = |c: &[u8]| {
        c.len() == 4 && c.iter().all(|b| b"0123456789abcdef".contains(b)) && c[..2] == c[2..]
    };
    let (a, rest) = rest.split_at_checked(4)?;
    let rest = rest.strip_prefix(b"/")?;
    let (b, rest) = rest.split_at_checked(4)?;
    let rest = rest.strip_prefix(b"/")?;
    let (c, rest) = rest.split_at_checked(4)?;
    (chan(a) && chan(b) && chan(c) && rest.starts_with(b"\x1b\\")).then_some(2 + what + 5 + 14 + 2)
}

fn match_reply(r: &[u8], rows: u16, cols: u16) -> Result<usize, String> {
    if let Some(n) = colour_report(r) {
        return Ok(n);
    }
    let body = r.strip_prefix(b"\x1b[").ok_or("not a CSI")?;
    let size = format!("8;{rows};{cols}t");
    for fixed in [&b"0n"[..], b"?62;22c", b">1;10;0c", size.as_bytes()] {
        if body.starts_with(fixed) {
            return Ok(2 + fixed.len());
        }
    }
    // CPR, plain or DEC (`?`).
    let q = usize::from(body.first() == Some(&b'?'));
    let rest = &body[q..];
    let (row, a) = digits(rest).ok_or("unknown reply")?;
    let rest = &rest[a..];
    let rest = rest.strip_prefix(b";").ok_or("unknown reply")?;
    let (col, b) = digits(rest).ok_or("unknown reply")?;
    if rest.get(b) != Some(&b'R') {
        return Err("unknown reply".into());
    }
    // KNOWN BUG (see `cpr_in_pending_wrap_reports_a_column_past_the_edge` in
    // tests/fuzz_term.rs): vt100 keeps the cursor at column `cols` after a character is
    // printed in the last column, and the reply says `cols + 1`. Tolerated here so the
    // search goes on; drop `+ KNOWN_CPR_SLACK` once fixed.
    let max_col = u64::from(cols) + KNOWN_CPR_SLACK.with(Cell::get);
    if !(1..=u64::from(rows)).contains(&row) || !(1..=max_col).contains(&col) {
        return Err(format!("cursor report {row};{col} off the screen"));
    }
    Ok(2 + q + a + 1 + b + 1)
}

thread_local! {
    /// Extra column tolerated in cursor reports (see `match_reply`); a regression test sets
    /// it to 0 for its thread.
    pub static KNOWN_CPR_SLACK: Cell<u64> = const { Cell::new(0) };
}

/// A run of 1 to 5 ASCII digits without a leading zero, and its value.
fn digits(b: &[u8]) -> Option<(u64, usize)> {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 5 || (n > 1 && b[0] == b'0') {
        return None;
    }
    let v = std::str::from_utf8(&b[..n]).ok()?.parse().ok()?;
    Some((v, n))
}

/// Bytes as a Rust byte-string literal body.
pub fn show(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s
}

// --- minimizing -------------------------------------------------------------------------------

/// Shrinks a failing plan while it still fails the same way (same `kind`): drops operations,
/// then cuts bytes out of the remaining feeds, then simplifies sizes. Stops after `budget`
/// runs.
pub fn minimize(plan: &Plan, failure: &Failure, opts: RunOpts, budget: usize) -> (Plan, Failure) {
    let mut best = plan.clone();
    best.ops.truncate(failure.op + 1);
    let mut best_failure = failure.clone();
    let mut runs = 0;
    let mut try_plan = |cand: &Plan, best: &mut Plan, best_failure: &mut Failure| -> bool {
        if runs >= budget {
            return false;
        }
        runs += 1;
        match run(cand, opts) {
            Err(f) if f.kind == best_failure.kind => {
                let mut c = cand.clone();
                c.ops.truncate(f.op + 1);
                *best = c;
                *best_failure = f;
                true
            }
            _ => false,
        }
    };
    // Drop runs of operations, halving the run length.
    let mut chunk = best.ops.len().max(1);
    while chunk >= 1 {
        let mut at = 0;
        while at < best.ops.len() {
            let mut cand = best.clone();
            let end = (at + chunk).min(cand.ops.len());
            cand.ops.drain(at..end);
            if !try_plan(&cand, &mut best, &mut best_failure) {
                at += chunk;
            }
        }
        if chunk == 1 {
            break;
        }
        chunk /= 2;
    }
    // Smaller screens: every run gets cheaper, and the report clearer.
    for i in 0..best.ops.len() + best.terms.len() {
        for _ in 0..12 {
            let mut cand = best.clone();
            let changed = match (i.checked_sub(cand.terms.len()), cand.terms.get_mut(i)) {
                (None, Some(t)) => shrink_dims(&mut t.rows, &mut t.cols),
                (Some(k), _) => match cand.ops.get_mut(k) {
                    Some(Op::Resize { rows, cols, .. } | Op::Replace { rows, cols, .. }) => {
                        shrink_dims(rows, cols)
                    }
                    _ => false,
                },
                _ => false,
            };
            if !changed || !try_plan(&cand, &mut best, &mut best_failure) {
                break;
            }
        }
    }
    cut_feeds(&mut best, &mut best_failure, &mut try_plan);
    // Merge adjacent feeds to the same terminal (fewer, clearer steps).
    let mut i = 0;
    while i + 1 < best.ops.len() {
        let mut cand = best.clone();
        if let (Op::Feed { t: a, .. }, Op::Feed { t: b, .. }) = (&cand.ops[i], &cand.ops[i + 1]) {
            if a == b {
                let Op::Feed { bytes: tail, .. } = cand.ops.remove(i + 1) else {
                    unreachable!()
                };
                if let Op::Feed { bytes, .. } = &mut cand.ops[i] {
                    bytes.extend_from_slice(&tail);
                }
                if try_plan(&cand, &mut best, &mut best_failure) {
                    continue;
                }
            }
        }
        i += 1;
    }
    cut_feeds(&mut best, &mut best_failure, &mut try_plan);
    (best, best_failure)
}

/// Halves the larger of two dimensions (clamped to 1..=1000 first); false if both are 1.
fn shrink_dims(rows: &mut u16, cols: &mut u16) -> bool {
    let (r, c) = clamp(*rows, *cols);
    if r == 1 && c == 1 {
        return false;
    }
    if r >= c {
        *rows = r.div_ceil(2);
        *cols = c;
    } else {
        *rows = r;
        *cols = c.div_ceil(2);
    }
    (*rows, *cols) != (r, c)
}

/// Cuts runs of bytes out of each feed, halving the run length.
fn cut_feeds(
    best: &mut Plan,
    best_failure: &mut Failure,
    try_plan: &mut impl FnMut(&Plan, &mut Plan, &mut Failure) -> bool,
) {
    for i in 0..best.ops.len() {
        let Some(Op::Feed { bytes, .. }) = best.ops.get(i) else {
            continue;
        };
        let mut chunk = bytes.len().max(1);
        loop {
            let mut at = 0;
            while let Some(Op::Feed { bytes, .. }) = best.ops.get(i) {
                if at >= bytes.len() {
                    break;
                }
                let mut cand = best.clone();
                if let Op::Feed { bytes, .. } = &mut cand.ops[i] {
                    let end = (at + chunk).min(bytes.len());
                    bytes.drain(at..end);
                }
                if !try_plan(&cand, best, best_failure) {
                    at += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
    }
}

/// The plan as Rust source for a regression test.
pub fn plan_source(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Plan {{");
    let _ = writeln!(s, "    terms: vec![");
    for t in &plan.terms {
        let _ = writeln!(
            s,
            "        TermSpec {{ rows: {}, cols: {}, limits: Limits {{ lines: {}, bytes: {} }} }},",
            t.rows, t.cols, t.limits.lines, t.limits.bytes
        );
    }
    let _ = writeln!(s, "    ],\n    budget: {},\n    ops: vec![", plan.budget);
    for op in &plan.ops {
        match op {
            Op::Feed { t, bytes } => {
                let _ = writeln!(
                    s,
                    "        Op::Feed {{ t: {t}, bytes: b\"{}\".to_vec() }},",
                    show(bytes)
                );
            }
            other => {
                let _ = writeln!(s, "        Op::{other:?},");
            }
        }
    }
    let _ = writeln!(s, "    ],\n}}");
    s
}
