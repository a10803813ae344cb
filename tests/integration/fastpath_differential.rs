//! Differential test of the throughput fast path (`memmux::term::fastpath`): the same
//! output, cut into the same chunks, goes to a `Term` with the fast path and to one without
//! it; after every chunk everything a user can see must be equal: every screen cell (text,
//! width, colours, modes), wrap flags, the cursor, the current SGR attributes, the
//! alternate-screen flag, and every stored history row (text, styled cells, wrapped flag),
//! with the history's length, evicted count and heap size.
//!
//! Inputs: random mixes (fixed seeds, a local xorshift, no dependency) of plain lines,
//! SGR-coloured lines, lines that wrap or are exactly as wide as the screen, blank lines,
//! lines with trailing spaces, and everything that ends or prevents the fast path (tabs,
//! CR without LF, UTF-8 and wide characters, cursor motion, erases with colours, alternate
//! screen, scroll regions, origin mode, charsets, REP, RIS, DECSTR, odd SGRs, titles),
//! with resizes between chunks (shrinking then growing makes vt100 insert blank rows);
//! plus recorded output: `seq 1 100000`, `ls --color=always -l /usr/bin`, and a
//! `git log -p --color` style capture generated here.
//!
//! `MEMMUX_FASTPATH_LONG=N` runs N times as many random cases (the default run takes a few
//! seconds in a debug build).

use memmux::term::Term;
use memmux::term::scrollback::{Budget, Limits, Style};

use crate::common::rng::Rng;

#[path = "fastpath_utf8_edges.rs"]
mod utf8_edges;

fn long_factor() -> usize {
    std::env::var("MEMMUX_FASTPATH_LONG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

// --- the pair under test --------------------------------------------------------------------

enum Event {
    Bytes(Vec<u8>),
    Resize(u16, u16),
    /// Settle both histories and compare every row, the newest included.
    Settle,
}

struct Pair {
    fast: Term,
    slow: Term,
    label: String,
    /// Absolute number of the first history row not yet compared as final: every row but
    /// the newest is final (only the newest one's wrapped flag and trailing blanks change).
    checked: u64,
}

impl Pair {
    fn new(rows: u16, cols: u16, limits: Limits, label: String) -> Pair {
        let fast = Term::new(rows, cols, limits, Budget::new(1 << 30));
        let mut slow = Term::new(rows, cols, limits, Budget::new(1 << 30));
        slow.set_fast_path(false);
        Pair {
            fast,
            slow,
            label,
            checked: 0,
        }
    }

    fn apply(&mut self, event: &Event, step: usize) {
        match event {
            Event::Bytes(b) => {
                // vt100 0.18.1 has panics of its own (a wide character meeting the right
                // margin after a resize); memmux rebuilds the parser then, and so does this
                // test, on both sides: they must panic alike.
                let fast = catch_silently(|| self.fast.process(b));
                let slow = catch_silently(|| self.slow.process(b));
                assert_eq!(
                    fast, slow,
                    "{} step {step}: only one side panicked",
                    self.label
                );
                if fast {
                    self.fast.rebuild();
                    self.slow.rebuild();
                }
                self.compare(step, false);
            }
            Event::Resize(r, c) => {
                self.fast.resize(*r, *c);
                self.slow.resize(*r, *c);
                self.compare(step, false);
            }
            Event::Settle => {
                self.fast.settle_history();
                self.slow.settle_history();
                self.compare(step, true);
            }
        }
    }

    fn compare(&mut self, step: usize, settled: bool) {
        let events = |t: &mut Term| {
            let e = t.events();
            (
                e.title.take(),
                std::mem::take(&mut e.bell),
                std::mem::take(&mut e.replies),
            )
        };
        let (a, b) = (events(&mut self.fast), events(&mut self.slow));
        assert_eq!(
            a, b,
            "{} step {step}: title/bell/replies differ",
            self.label
        );
        if let Some(d) = screen_diff(self.fast.screen(), self.slow.screen()) {
            panic!("{} step {step}: screens differ: {d}", self.label);
        }
        match history_diff(&self.fast, &self.slow, self.checked, settled) {
            Ok(checked) => self.checked = checked,
            Err(d) => panic!("{} step {step}: histories differ: {d}", self.label),
        }
    }
}

/// Runs `f`, returning whether it panicked, without printing the panic.
fn catch_silently(f: impl FnOnce()) -> bool {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let vt100 = info.location().is_some_and(|l| l.file().contains("vt100"));
            if !vt100 {
                default(info);
            }
        }));
    });
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
}

type CellView = (String, bool, bool, vt100::Color, vt100::Color, [bool; 5]);

fn cell_view(s: &vt100::Screen, r: u16, c: u16) -> Option<CellView> {
    let cell = s.cell(r, c)?;
    Some((
        cell.contents().to_string(),
        cell.is_wide(),
        cell.is_wide_continuation(),
        cell.fgcolor(),
        cell.bgcolor(),
        [
            cell.bold(),
            cell.dim(),
            cell.italic(),
            cell.underline(),
            cell.inverse(),
        ],
    ))
}

fn screen_diff(a: &vt100::Screen, b: &vt100::Screen) -> Option<String> {
    if a.size() != b.size() {
        return Some(format!("size {:?} vs {:?}", a.size(), b.size()));
    }
    let attrs = |s: &vt100::Screen| {
        (
            s.cursor_position(),
            s.alternate_screen(),
            s.hide_cursor(),
            s.fgcolor(),
            s.bgcolor(),
            [s.bold(), s.dim(), s.italic(), s.underline(), s.inverse()],
        )
    };
    if attrs(a) != attrs(b) {
        return Some(format!(
            "cursor/attrs {:?} vs {:?}\nfast:\n{}\nslow:\n{}",
            attrs(a),
            attrs(b),
            a.contents(),
            b.contents()
        ));
    }
    let (rows, cols) = a.size();
    for r in 0..rows.get() {
        if a.row_wrapped(r) != b.row_wrapped(r) {
            return Some(format!("row {r} wrapped {}", a.row_wrapped(r)));
        }
        for c in 0..cols.get() {
            // `Cell`'s own equality covers text, width flags and every attribute.
            if a.cell(r, c) == b.cell(r, c) {
                continue;
            }
            let (x, y) = (cell_view(a, r, c), cell_view(b, r, c));
            return Some(format!(
                "cell ({r},{c}) {x:?} vs {y:?}\nfast:\n{}\nslow:\n{}",
                a.contents(),
                b.contents()
            ));
        }
    }
    None
}

type RowView = (String, Vec<(u16, String, u8, Style)>, bool);

fn row_view(t: &Term, i: usize) -> RowView {
    let h = t.history();
    let mut text = String::new();
    h.row_text(i, &mut text);
    let mut cells = Vec::new();
    h.row_cells(i, |col, sym, w, style| {
        cells.push((col, sym.to_string(), w, style))
    });
    (text, cells, h.is_wrapped(i))
}

/// A row as text, wrapped flag and style changes, short enough to read in a failure.
fn describe(row: &RowView) -> String {
    let mut runs = Vec::new();
    let mut last = Style::default();
    for (col, _, w, style) in &row.1 {
        if *style != last || *w != 1 {
            runs.push(format!("{col}:{style:?}/{w}"));
            last = *style;
        }
    }
    format!("{:?} wrapped {} runs [{}]", row.0, row.2, runs.join(", "))
}

/// Compares the stores' counts and the rows from absolute number `from` on; the newest row
/// only once settled (until then its wrapped flag and trailing blanks wait for the next
/// row, on the normal path, while a row the fast path stored is final at once). Returns
/// where the next comparison can start.
fn history_diff(a: &Term, b: &Term, from: u64, settled: bool) -> Result<u64, String> {
    let (ha, hb) = (a.history(), b.history());
    let counts = |h: &memmux::term::scrollback::Scrollback| (h.len(), h.evicted(), h.bytes());
    if counts(ha) != counts(hb) {
        return Err(format!(
            "len/evicted/bytes {:?} vs {:?}",
            counts(ha),
            counts(hb)
        ));
    }
    let first = from.saturating_sub(ha.evicted()) as usize;
    let n = ha.len() - usize::from(!settled && !ha.is_empty());
    for i in first.min(n)..n {
        let (x, y) = (row_view(a, i), row_view(b, i));
        if x != y {
            return Err(format!(
                "row {i} of {}:\nfast {}\nslow {}",
                ha.len(),
                describe(&x),
                describe(&y)
            ));
        }
    }
    Ok(ha.evicted() + ha.len().saturating_sub(1) as u64)
}

/// Feeds the events, comparing after each, and settles and compares everything at the end.
fn run_case(pair: &mut Pair, events: &[Event]) {
    for (step, e) in events.iter().enumerate() {
        pair.apply(e, step);
    }
    pair.checked = 0;
    pair.apply(&Event::Settle, events.len());
}

// --- input generation -------------------------------------------------------------------------

const WORDS: &[&str] = &[
    "error",
    "warn",
    "info",
    "the",
    "quick",
    "brown",
    "fox",
    "0x7f3a",
    "GET",
    "/api/v1/items",
    "200",
    "OK",
    "[main]",
    "src/lib.rs:42",
    "--",
    "=",
    "{}",
    "a",
    "memmux",
    "12:00:01.123",
];

fn plain_text(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    while len > 0 && out.len() < len {
        match rng.below(10) {
            0 => out.push(b' '),
            1 => out.push(rng.range(0x20, 0x7e) as u8),
            _ => out.extend_from_slice(rng.pick(WORDS).as_bytes()),
        }
        if rng.chance(70) {
            out.push(b' ');
        }
    }
    out.truncate(len);
}

/// A line length that hits the interesting cases around the width often.
fn line_len(rng: &mut Rng, cols: usize) -> usize {
    match rng.below(12) {
        0 => 0,
        1 => cols,
        2 => cols + 1,
        3 => cols.saturating_sub(1),
        4 => 2 * cols,
        5 => rng.range(cols, 3 * cols),
        6..=8 => rng.range(1, 20),
        _ => rng.range(1, cols.max(2) + cols / 2),
    }
}

/// An SGR the fast path's grammar accepts.
fn good_sgr(rng: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\x1b[");
    let n = rng.range(0, 4);
    for k in 0..n {
        if k > 0 {
            out.push(b';');
        }
        let p = match rng.below(14) {
            0 => "0".to_string(),
            1 => rng.pick(&["1", "01", "2", "3", "4", "7"]).to_string(),
            2 => rng.pick(&["22", "23", "24", "27", "39", "49"]).to_string(),
            3 | 4 => format!("{}", 30 + rng.below(8)),
            5 => format!("{}", 40 + rng.below(8)),
            6 => format!("{}", 90 + rng.below(8)),
            7 => format!("{}", 100 + rng.below(8)),
            8 => format!("38;5;{}", rng.below(256)),
            9 => format!("48;5;{}", rng.below(256)),
            10 => format!(
                "38;2;{};{};{}",
                rng.below(256),
                rng.below(256),
                rng.below(256)
            ),
            11 => format!(
                "48;2;{};{};{}",
                rng.below(256),
                rng.below(256),
                rng.below(256)
            ),
            12 => "".to_string(),
            _ => "00".to_string(),
        };
        out.extend_from_slice(p.as_bytes());
    }
    out.push(b'm');
}

/// The body of a line `line_len` columns long, in pieces of up to 11 columns that `piece`
/// writes (returning the columns it wrote), each after an SGR the grammar accepts
/// `sgr_percent` % of the time.
fn pieces_of_a_line(
    rng: &mut Rng,
    cols: usize,
    out: &mut Vec<u8>,
    sgr_percent: usize,
    mut piece: impl FnMut(&mut Rng, usize, &mut Vec<u8>) -> usize,
) {
    let len = line_len(rng, cols);
    let mut written = 0;
    while written < len {
        if rng.chance(sgr_percent) {
            good_sgr(rng, out);
        }
        let n = rng.range(1, 12).min(len - written);
        written += piece(rng, n, out);
    }
}

fn sgr_line(rng: &mut Rng, cols: usize, out: &mut Vec<u8>) {
    pieces_of_a_line(rng, cols, out, 40, |rng, n, out| {
        let mut piece = Vec::new();
        plain_text(rng, n, &mut piece);
        out.extend_from_slice(&piece);
        piece.len()
    });
    match rng.below(4) {
        0 => out.extend_from_slice(b"\x1b[m"),
        1 => good_sgr(rng, out),
        _ => {}
    }
    out.extend_from_slice(b"\r\n");
}

fn plain_line(rng: &mut Rng, cols: usize, out: &mut Vec<u8>) {
    let mut line = Vec::new();
    let n = line_len(rng, cols);
    plain_text(rng, n, &mut line);
    if rng.chance(10) {
        line.extend_from_slice(b"   ");
    }
    out.extend_from_slice(&line);
    out.extend_from_slice(b"\r\n");
}

/// Text that is not ASCII: wide (CJK, Hangul, fullwidth, emoji), narrow (accented Latin,
/// Greek, Cyrillic, box drawing), and now and then what the fast path must leave to vt100
/// (combining marks, U+FE0F, ZWJ sequences, C1 controls, a broken sequence).
const UTF8_PIECES: &[&str] = &[
    "漢字",
    "中文字符",
    "日本語のテキスト",
    "한국어",
    "텍스트",
    "ＡＢＣ",
    "😀",
    "🚀",
    "✅",
    "⚡",
    "café",
    "naïve",
    "Ωμέγα",
    "Привет",
    "─┼─",
    "ß",
    "€",
    " ",
    "x",
    "ok",
];
const UTF8_BREAKERS: &[&str] = &[
    "e\u{301}",
    "\u{2764}\u{FE0F}",
    "👨\u{200D}👩",
    "\u{85}",
    "\u{ad}",
    "\u{200B}",
];

fn utf8_text(rng: &mut Rng, columns: usize, out: &mut Vec<u8>) {
    let mut n = 0;
    while n < columns {
        let piece = if rng.chance(2) {
            rng.pick(UTF8_BREAKERS)
        } else {
            rng.pick(UTF8_PIECES)
        };
        if rng.chance(1) {
            // A lead byte without its continuation: vte prints U+FFFD.
            out.push(0xe4);
        }
        out.extend_from_slice(piece.as_bytes());
        n += piece.chars().count().max(1);
    }
}

fn utf8_line(rng: &mut Rng, cols: usize, out: &mut Vec<u8>) {
    pieces_of_a_line(rng, cols, out, 15, |rng, n, out| {
        if rng.chance(70) {
            utf8_text(rng, n, out);
        } else {
            let mut piece = Vec::new();
            plain_text(rng, n, &mut piece);
            out.extend_from_slice(&piece);
        }
        n
    });
    if rng.chance(20) {
        out.extend_from_slice(b"\x1b[m");
    }
    out.extend_from_slice(b"\r\n");
}

/// Many lines: what the fast path is for.
fn flood(rng: &mut Rng, rows: usize, cols: usize, out: &mut Vec<u8>) {
    let screens = rng.pick(&[1, 2, 4, 8]);
    let n = rng.range(1, rows * screens + 2);
    let kind = rng.below(5);
    for _ in 0..n {
        match (kind, rng.below(10)) {
            (0, _) | (1, 0..=6) => plain_line(rng, cols, out),
            (3, 0..=8) => utf8_line(rng, cols, out),
            (4, 0..=2) => plain_line(rng, cols, out),
            (4, 3..=5) => utf8_line(rng, cols, out),
            (_, 9) => out.extend_from_slice(b"\r\n"),
            _ => sgr_line(rng, cols, out),
        }
    }
}

/// Something that ends a run or keeps the fast path off for a while.
fn breaker(rng: &mut Rng, rows: usize, cols: usize, out: &mut Vec<u8>) {
    let r = rng.range(1, rows + 2);
    let c = rng.range(1, cols + 2);
    let s: String = match rng.below(47) {
        0 => "a\tb".into(),
        1 => "\t".into(),
        2 => "abc\rX".into(),
        3 => "\n".into(),
        4 => "xy\x08\x08z".into(),
        5 => "\x07".into(),
        6 => "中文字符 wide".into(),
        7 => "caf\u{e9} e\u{301} \u{1F642} \u{2764}\u{FE0F}".into(),
        8 => format!("\x1b[{}A", rng.range(0, 5)),
        9 => format!("\x1b[{}B\x1b[{}C", rng.range(0, 5), rng.range(0, 9)),
        10 => "\x1b[H".into(),
        11 => format!("\x1b[{r};{c}H"),
        12 => "\x1b[2J".into(),
        13 => "\x1b[J".into(),
        14 => "\x1b[41m\x1b[K\x1b[m".into(),
        15 => "\x1b[44m\x1b[2K".into(),
        16 => format!("\x1b[{}X\x1b[{}P\x1b[{}@", c, c / 2, c / 3),
        17 => format!("\x1b[{}L\x1b[{}M", rng.below(3), rng.below(3)),
        18 => format!("\x1b[{}S", rng.below(4)),
        19 => format!("\x1b[{}T", rng.below(4)),
        20 => "\x1b[?1049h".into(),
        21 => "\x1b[?1049l".into(),
        22 => "\x1b[?47h".into(),
        23 => "\x1b[?47l".into(),
        24 => format!("\x1b[{};{}r", rng.range(0, rows), rng.range(0, rows + 1)),
        25 => "\x1b[r".into(),
        26 => format!("\x1b[1;{rows}r"),
        27 => "\x1b[!p".into(),
        28 => "\x1bc".into(),
        29 => format!("\x1b[{}b", rng.range(0, 4)),
        30 => "\x1b[5m".into(),
        31 => "\x1b[38:5:1m".into(),
        32 => "\x1b[38;5;300m".into(),
        33 => "\x1b(0lqqk\x1b(B".into(),
        34 => "\x1b)0\x0eqq".into(),
        35 => "\x0f".into(),
        36 => "\x1b]0;a title\x07".into(),
        37 => "\x1b7".into(),
        38 => "\x1b8".into(),
        39 => "\x1b[?6h".into(),
        40 => "\x1b[?6l".into(),
        41 => "\x1bM".into(),
        42 => "\x1b[?25l".into(),
        43 => "\x1b[1;31".into(), // cut short: the next byte completes or breaks it
        44 => "\x1b[3J".into(),
        45 => "\x1b[6n".into(),
        _ => "\r".into(),
    };
    out.extend_from_slice(s.as_bytes());
}

/// Splits `bytes` at random points into `Event::Bytes`, sizes from 1 byte to 64 KiB.
fn chunk_into(rng: &mut Rng, bytes: &[u8], events: &mut Vec<Event>) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let max = match rng.below(10) {
            0 => 16,
            1..=3 => 512,
            4..=7 => 4096,
            8 => 16 << 10,
            _ => 64 << 10,
        };
        let n = rng.range(1, max).min(rest.len());
        events.push(Event::Bytes(rest[..n].to_vec()));
        rest = &rest[n..];
        if rng.chance(3) {
            events.push(Event::Settle);
        }
    }
}

fn random_case(seed: u64) -> (Pair, Vec<Event>, usize) {
    let mut rng = Rng::new(seed);
    let (rows, cols) = match rng.below(10) {
        0 => (rng.range(1, 3), rng.range(1, 12)),
        1 => (50, 200),
        2 => (24, 80),
        _ => (rng.range(2, 30), rng.range(2, 100)),
    };
    let limits = Limits {
        lines: rng.pick(&[40, 300, 2000, 10_000]),
        bytes: rng.pick(&[2 << 10, 16 << 10, 1 << 20, 16 << 20]),
    };
    let label = format!("seed {seed} ({rows}x{cols}, {limits:?})");
    let pair = Pair::new(rows as u16, cols as u16, limits, label);
    let (mut r, mut c) = (rows, cols);
    let mut events = Vec::new();
    let mut total = 0;
    for _ in 0..rng.range(3, 12) {
        let mut bytes = Vec::new();
        for _ in 0..rng.range(1, 6) {
            if rng.chance(55) {
                flood(&mut rng, r, c, &mut bytes);
            } else {
                for _ in 0..rng.range(1, 4) {
                    breaker(&mut rng, r, c, &mut bytes);
                }
                if rng.chance(50) {
                    plain_line(&mut rng, c, &mut bytes);
                }
            }
        }
        if rng.chance(50) {
            // Leave the states that keep the fast path off (alternate screen, scroll region,
            // shifted-in DEC graphics), so more of the bytes are floods it may take.
            bytes.extend_from_slice(b"\x1b[?1049l\x1b[?47l\x0f\x1b[r");
        }
        total += bytes.len();
        chunk_into(&mut rng, &bytes, &mut events);
        if rng.chance(30) {
            if rng.chance(50) {
                // Shrink then grow: vt100 pulls blank rows in at the top (phantom rows).
                let small = rng.range(1, r);
                events.push(Event::Resize(small as u16, c as u16));
            }
            r = rng.range(1, 40);
            c = rng.range(1, 120);
            events.push(Event::Resize(r as u16, c as u16));
        }
    }
    (pair, events, total)
}

/// `MEMMUX_FASTPATH_SEED=N` runs random case N alone (to debug a failure), printing its
/// events first if `MEMMUX_FASTPATH_DUMP` is set too.
#[test]
fn one_case() {
    let Some(seed) = std::env::var("MEMMUX_FASTPATH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    else {
        return;
    };
    let (mut pair, events, _) = random_case(seed);
    if std::env::var_os("MEMMUX_FASTPATH_DUMP").is_some() {
        for (i, e) in events.iter().enumerate() {
            match e {
                Event::Bytes(b) => eprintln!("{i}: {}", String::from_utf8_lossy(b).escape_debug()),
                Event::Resize(r, c) => eprintln!("{i}: resize {r}x{c}"),
                Event::Settle => eprintln!("{i}: settle"),
            }
        }
    }
    run_case(&mut pair, &events);
    eprintln!(
        "seed {seed}: fast path {:?}, parser rebuilt {} times",
        pair.fast.fast_path_stats(),
        pair.fast.panics()
    );
}

/// Runs random cases `first, first + step, ...` (two tests share them, to use two cores).
fn random_cases(first: u64, step: u64) {
    let cases = 50 * long_factor() as u64;
    let mut bytes = 0;
    let mut taken = 0;
    let mut direct = 0;
    for seed in (0..cases).map(|k| first + k * step) {
        let (mut pair, events, n) = random_case(seed);
        run_case(&mut pair, &events);
        bytes += n;
        let (t, d) = pair.fast.fast_path_stats();
        taken += t;
        direct += d;
        assert_eq!(pair.slow.fast_path_stats(), (0, 0));
    }
    eprintln!("{cases} cases, {bytes} bytes, fast path taken {taken} times, {direct} rows direct");
    // The random mix must actually exercise the fast path, often.
    assert!(taken > cases, "fast path taken only {taken} times");
}

#[test]
fn random_output_looks_the_same_with_and_without_the_fast_path() {
    random_cases(1, 2);
}

#[test]
fn more_random_output_looks_the_same_with_and_without_the_fast_path() {
    random_cases(2, 2);
}

// --- recorded output -------------------------------------------------------------------------

fn crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    for &b in text {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn seq_output() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 1..=100_000 {
        out.extend_from_slice(format!("{i}\r\n").as_bytes());
    }
    out
}

/// `git log -p --color` as git writes it: coloured headers and decorations, diff hunks with
/// coloured +/- lines, a tab here and there, long lines that wrap.
fn git_log_output() -> Vec<u8> {
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    for n in 0..400 {
        let hash: String = (0..40)
            .map(|_| char::from(b"0123456789abcdef"[rng.below(16)]))
            .collect();
        out.extend_from_slice(format!("\x1b[33mcommit {hash}\x1b[m").as_bytes());
        if n == 0 {
            out.extend_from_slice(
                b"\x1b[33m (\x1b[m\x1b[1;36mHEAD -> \x1b[m\x1b[1;32mmain\x1b[m\x1b[33m, \x1b[m\x1b[1;31morigin/main\x1b[m\x1b[33m)\x1b[m",
            );
        }
        out.extend_from_slice(b"\nAuthor: A. Developer <dev@example.com>\n");
        out.extend_from_slice(
            format!(
                "Date:   Mon Mar {} 12:{:02}:00 2025 +0100\n\n",
                n % 28 + 1,
                n % 60
            )
            .as_bytes(),
        );
        let mut msg = Vec::new();
        let n = rng.range(10, 160);
        plain_text(&mut rng, n, &mut msg);
        out.extend_from_slice(b"    ");
        out.extend_from_slice(&msg);
        out.extend_from_slice(b"\n\n");
        if n % 3 == 0 {
            out.extend_from_slice(b"\x1b[1mdiff --git a/src/x.rs b/src/x.rs\x1b[m\n");
            out.extend_from_slice(b"\x1b[1mindex 3b18e51..a9c7d2f 100644\x1b[m\n\x1b[1m--- a/src/x.rs\x1b[m\n\x1b[1m+++ b/src/x.rs\x1b[m\n");
            out.extend_from_slice(
                format!("\x1b[36m@@ -{n},7 +{n},9 @@\x1b[m fn main() {{\n").as_bytes(),
            );
            for k in 0..rng.range(3, 30) {
                let mut code = Vec::new();
                let n = rng.range(0, 120);
                plain_text(&mut rng, n, &mut code);
                let (pre, colour) = match k % 4 {
                    0 => ("-", "\x1b[31m"),
                    1 => ("+", "\x1b[32m"),
                    _ => (" ", ""),
                };
                out.extend_from_slice(colour.as_bytes());
                out.extend_from_slice(pre.as_bytes());
                // Tabs (which end a run) in a few hunks, as in C or Go code.
                if n % 12 == 0 && k % 7 == 3 {
                    out.push(b'\t');
                }
                out.extend_from_slice(&code);
                if !colour.is_empty() {
                    out.extend_from_slice(b"\x1b[m");
                }
                out.push(b'\n');
            }
        }
    }
    crlf(&out)
}

/// Feeds recorded output at each size, in 64 KiB chunks and in random ones; the default run
/// does the first size in 64 KiB chunks and the second in random ones, the long run all.
fn recorded(name: &str, bytes: &[u8], sizes: &[(u16, u16)]) {
    eprintln!("{name}: {} bytes", bytes.len());
    let long = long_factor() > 1;
    for (k, &(rows, cols)) in sizes.iter().enumerate() {
        for (split, seed) in [("64 KiB", 0u64), ("random", 1000 + k as u64)] {
            if !long && (k > 1 || (k == 0) != (seed == 0)) {
                continue;
            }
            let limits = Limits::new(10_000, 16 << 20);
            let mut pair = Pair::new(rows, cols, limits, format!("{name} {rows}x{cols} {split}"));
            let mut events = Vec::new();
            if seed == 0 {
                for c in bytes.chunks(64 << 10) {
                    events.push(Event::Bytes(c.to_vec()));
                }
            } else {
                chunk_into(&mut Rng::new(seed), bytes, &mut events);
            }
            run_case(&mut pair, &events);
            let (taken, direct) = pair.fast.fast_path_stats();
            eprintln!("{name} {rows}x{cols} {split}: taken {taken}, {direct} rows direct");
            assert!(taken > 0, "{name}: fast path never taken");
        }
    }
}

#[test]
fn seq_output_looks_the_same() {
    recorded(
        "seq 1 100000",
        &seq_output(),
        &[(50, 200), (24, 80), (7, 3)],
    );
}

#[test]
fn ls_output_looks_the_same() {
    let ls = crlf(include_bytes!("../fastpath_ls_usr_bin.txt"));
    recorded("ls -l /usr/bin", &ls, &[(50, 200), (24, 80), (13, 37)]);
}

#[test]
fn git_log_output_looks_the_same() {
    recorded(
        "git log -p",
        &git_log_output(),
        &[(50, 200), (24, 80), (13, 37)],
    );
}

// --- targeted cases --------------------------------------------------------------------------

fn pair(rows: u16, cols: u16) -> Pair {
    let limits = Limits::new(10_000, 16 << 20);
    Pair::new(rows, cols, limits, format!("{rows}x{cols}"))
}

fn lines(n: usize, f: impl Fn(usize) -> String) -> Vec<u8> {
    (0..n).flat_map(|i| f(i).into_bytes()).collect()
}

#[test]
fn the_fast_path_is_taken_and_stores_rows_directly() {
    let read = lines(100, |i| format!("line {i}\r\n"));
    // Taken once. The first 9 lines take the cursor to the last row (the normal path); of the
    // other 91 rows, the last 9 stay visible: 82 stored directly.
    assert_eq!(fast_path_stats_of(10, 20, read), (1, 82));
}

/// How often the fast path was taken, and the rows it stored directly, for one `read` into a
/// `rows` x `cols` screen (checked against vt100 alone, as every case is).
fn fast_path_stats_of(rows: u16, cols: u16, read: Vec<u8>) -> (u64, u64) {
    let mut p = pair(rows, cols);
    run_case(&mut p, &[Event::Bytes(read)]);
    p.fast.fast_path_stats()
}

/// One read of lines the fast path declines (combining marks) and then plain lines: the
/// declined ones go to vt100 line by line, and the plain run after them, in the same read,
/// is still taken (the newline count that gates it follows what was consumed).
#[test]
fn plain_lines_after_declined_ones_in_the_same_read_take_the_fast_path() {
    // 200 columns: the plain run's ~1 KB alone is far short of the 19 rows the gate wants,
    // so only its 100 newlines let it through.
    let mut read = lines(300, |i| format!("漢e\u{301}{}語\r\n", i % 10));
    read.extend(lines(100, |i| format!("line {i}\r\n")));
    // Taken once. The cursor is on the last row after the wide lines; of the 100 plain rows,
    // the last 9 stay visible.
    assert_eq!(fast_path_stats_of(10, 200, read), (1, 91));
}

#[test]
fn edge_widths_wrap_like_vt100() {
    for cols in [1, 2, 5, 20] {
        let c = usize::from(cols);
        let input = lines(60, |i| {
            let n = [0, c - 1, c, c + 1, 2 * c, 3 * c + 1][i % 6];
            format!("\x1b[{}m{}   \r\n", 31 + i % 7, "x".repeat(n))
        });
        assert!(fast_path_stats_of(4, cols, input).0 > 0, "{cols}");
    }
}

/// Wide characters where they meet the right edge: a row with one column left for a wide
/// character ends unwrapped with that column empty; odd and even widths, with colours
/// changing on wide cells, and a screen too narrow for any (vt100 drops them there).
#[test]
fn wide_characters_wrap_like_vt100() {
    for cols in [1, 2, 3, 7, 20, 21] {
        let c = usize::from(cols);
        let input = lines(80, |i| {
            let lead = "x".repeat([0, 1, c.saturating_sub(1), c, c + 1][i % 5]);
            let wide = "漢한😀".repeat(i % 4 + c / 2);
            format!("{lead}\x1b[3{}m{wide}é\x1b[m ok\r\n", i % 8)
        });
        // One column: every line has a wide character vt100 drops, which the fast path
        // leaves to it.
        let taken = fast_path_stats_of(4, cols, input).0;
        assert_eq!(taken > 0, cols > 1, "{cols}");
    }
}

/// Lines of CJK text alone (the benchmark's workload) take the fast path, stored directly.
#[test]
fn cjk_lines_take_the_fast_path() {
    let read = lines(200, |i| {
        format!("{i:08}的一是不了人我在有他这中大 한국어텍스트 éàü 🚀\r\n")
    });
    // Taken once. 9 lines reach the last row the normal way; of the other 191, 9 stay visible.
    assert_eq!(fast_path_stats_of(10, 80, read), (1, 182));
}

/// Lines of non-ASCII text around the width of the row, in bytes and in columns: the fast
/// path stores a line of at most `cols` bytes without SGR as one row as it came (its columns
/// can't exceed its bytes), and decodes the others cell by cell; both must store and show
/// what vt100 does. A colour carried over from the line before (set at its end) gives the
/// rows a style run of their own.
#[test]
fn utf8_lines_around_the_row_width_in_bytes_and_columns_look_the_same() {
    const PIECES: &[&str] = &["é", "漢", "😀", "한é", "x"];
    for cols in [2, 3, 4, 10, 11] {
        let c = usize::from(cols);
        let mut text = Vec::new();
        for i in 0..4 {
            for bytes in c.saturating_sub(2)..=c + 3 {
                for (k, piece) in PIECES.iter().enumerate() {
                    let xs = "x".repeat(bytes.saturating_sub(piece.len()));
                    let (a, b) = xs.split_at(xs.len() * ((i + k) % 3) / 2);
                    let colour = if (i + k) % 4 == 0 {
                        format!("\x1b[3{}m", k + 1)
                    } else {
                        String::new()
                    };
                    let reset = if (i + k) % 5 == 0 { "\x1b[m" } else { "" };
                    text.extend_from_slice(format!("{reset}{a}{piece}{b}{colour}\r\n").as_bytes());
                }
            }
        }
        let (taken, direct) = fast_path_stats_of(4, cols, text);
        assert!(taken > 0 && direct > 0, "{cols}: {taken} {direct}");
    }
}

/// REP right after a run whose last character is wide repeats that character (the fast path
/// keeps it as the last printed one); after CR LF it would repeat nothing, as in xterm (the
/// next test).
#[test]
fn rep_after_a_wide_last_character_repeats_it() {
    let mut p = pair(5, 10);
    let mut input = lines(30, |i| format!("{i}漢\r\n"));
    input.extend_from_slice("7漢".as_bytes());
    run_case(
        &mut p,
        &[Event::Bytes(input), Event::Bytes(b"\x1b[2b".to_vec())],
    );
    assert!(p.fast.fast_path_stats().0 > 0);
    let contents = p.fast.screen().contents();
    assert_eq!(contents.lines().last().map(str::trim), Some("7漢漢漢"));
}

#[test]
fn rep_after_a_blank_suffix_repeats_nothing_on_both_paths() {
    let mut p = pair(5, 10);
    let mut input = lines(30, |i| format!("{i}\r\n"));
    input.extend_from_slice(&lines(8, |_| "\r\n".into()));
    run_case(
        &mut p,
        &[Event::Bytes(input), Event::Bytes(b"\x1b[3b".to_vec())],
    );
    assert!(p.fast.fast_path_stats().0 > 0);
    // REP after CR LF repeats nothing (xterm, tmux); vt100 alone would print "999".
    assert_eq!(p.fast.screen().contents().trim(), "");
}

#[test]
fn scroll_regions_keep_the_fast_path_off_until_reset() {
    let flood = lines(80, |i| format!("row {i}\r\n"));
    let mut p = pair(10, 30);
    let mut events = vec![
        Event::Bytes(b"\x1b[2;8r\x1b[10;1H".to_vec()),
        Event::Bytes(flood.clone()),
    ];
    // DECSTR does not reset vt100's scroll region.
    events.push(Event::Bytes(b"\x1b[!p\x1b[10;1H".to_vec()));
    events.push(Event::Bytes(flood.clone()));
    run_case(&mut p, &events);
    assert_eq!(p.fast.fast_path_stats().0, 0);
    run_case(
        &mut p,
        &[
            Event::Bytes(b"\x1b[r\x1b[10;1H".to_vec()),
            Event::Bytes(flood),
        ],
    );
    assert!(p.fast.fast_path_stats().0 > 0);
}

#[test]
fn growing_after_a_flood_pulls_in_as_many_blank_rows() {
    let mut p = pair(10, 30);
    let events = [
        Event::Bytes(lines(500, |i| format!("\x1b[3{}mrow {i}\r\n", i % 8))),
        Event::Resize(60, 30),
        Event::Bytes(lines(100, |i| format!("more {i}\r\n"))),
        Event::Resize(5, 30),
        Event::Resize(200, 30),
        Event::Bytes(lines(700, |i| format!("again {i}\r\n"))),
        Event::Resize(1000, 30),
    ];
    run_case(&mut p, &events);
    assert!(p.fast.fast_path_stats().0 >= 2);
}

#[test]
fn utf8_cut_anywhere_reads_the_same() {
    // vte 0.15 loses the space after a cut `é` when an emoji follows; `Term` must not, or
    // the fast path (which moves where the normal path's feeds start) would show it.
    let text = "x\u{e9} \u{1F642}b \u{4e2d}\u{6587} e\u{301} \u{2764}\u{FE0F}!\r\n".repeat(3);
    let text = text.as_bytes();
    let mut whole = pair(6, 30);
    whole.slow.process(text);
    for cut in 0..=text.len() {
        let mut p = pair(6, 30);
        p.apply(&Event::Bytes(text[..cut].to_vec()), 0);
        p.apply(&Event::Bytes(text[cut..].to_vec()), 1);
        if let Some(d) = screen_diff(p.slow.screen(), whole.slow.screen()) {
            panic!("cut at {cut}: {d}");
        }
    }
}

#[test]
fn scroll_region_tracking_follows_vt100() {
    // (setup, whether the fast path may run after it) on a 10-row screen.
    let cases: &[(&[u8], bool)] = &[
        (b"", true),
        (b"\x1b[2;8r", false),
        (b"\x1b[2;0r", false),
        (b"\x1b[1;10r", true),
        (b"\x1b[1;99r", true),
        (b"\x1b[0;0r", true),
        (b"\x1b[5;3r", true),
        (b"\x1b[2;8r\x1b[r", true),
        (b"\x1b[2;8r\x1bc", true),
        (b"\x1b[2;8r\x1b[!p", false),
        (b"\x1b[?2;8r", true),
        (b"\x1b[?1049h\x1b[2;8r\x1b[?1049l", true),
        (b"\x1b[?47h\x1b[2;8r\x1b[?47l", true),
        (b"\x1b[2;8r\x1b[?1049h\x1b[r\x1b[?1049l", false),
        (b"\x1b[?47h\x1b[2;8r\x1b[?47l\x1b[?47h\x1b[?47l", true),
    ];
    let flood = lines(60, |i| format!("row {i}\r\n"));
    for (k, &(setup, fast)) in cases.iter().enumerate() {
        let mut p = pair(10, 30);
        let mut events = vec![Event::Bytes(setup.to_vec())];
        events.push(Event::Bytes(b"\x1b[10;1H".to_vec()));
        events.push(Event::Bytes(flood.clone()));
        run_case(&mut p, &events);
        let taken = p.fast.fast_path_stats().0 > 0;
        assert_eq!(
            taken,
            fast,
            "case {k}: {:?}",
            String::from_utf8_lossy(setup)
        );
    }
    // A size change resets the regions; setting the same size does not.
    for (size, fast) in [((10, 31), true), ((10, 30), false)] {
        let mut p = pair(10, 30);
        let events = [
            Event::Bytes(b"\x1b[2;8r".to_vec()),
            Event::Resize(size.0, size.1),
            Event::Resize(10, 30),
            Event::Bytes(b"\x1b[10;1H".to_vec()),
            Event::Bytes(flood.clone()),
        ];
        run_case(&mut p, &events);
        assert_eq!(p.fast.fast_path_stats().0 > 0, fast, "resize to {size:?}");
    }
}

#[test]
fn modes_the_fast_path_cannot_model_keep_it_off() {
    // Insert mode and autowrap off change how each printed character lands; a line ending
    // with a background set scrolls in a row of it. The fast path must leave all three to
    // the normal path.
    for mode in [&b"\x1b[4h"[..], b"\x1b[?7l", b"\x1b[44m"] {
        let mut p = pair(5, 10);
        let mut input = mode.to_vec();
        input.extend(lines(40, |i| format!("line {i} is longer than ten\r\n")));
        run_case(&mut p, &[Event::Bytes(input)]);
        assert_eq!(
            p.fast.fast_path_stats().0,
            0,
            "{}",
            String::from_utf8_lossy(mode)
        );
    }
}
