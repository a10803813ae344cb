//! Conformance of memmux's terminal (the input stage in front of vt100, and vt100) with the
//! capabilities `TERM=xterm-256color` promises. Each case in `tests/conformance/cases.txt`
//! gives input bytes and the screen xterm's control-sequence documentation describes, checked
//! where it matters against tmux 3.3a (`capture-pane -e` and `#{cursor_x},#{cursor_y}`).
//!
//! Format, one case per block:
//!
//! ```text
//! ## name                      -- starts a case
//! size ROWSxCOLS
//! in BYTES                     -- \e \r \n \t \xNN \\ escapes; several `in` lines concatenate
//! text                         -- then exactly ROWS lines `|...|`, one character per cell
//! bg                           -- optional: ROWS lines `|...|` of background per cell:
//!                                 `.` default, `0`-`9` `a`-`f` palette 0-15, `*` anything else
//! ul                           -- optional: `u` underlined, `.` not
//! cursor ROW,COL               -- 0-based; COL = COLS is the pending-wrap position
//! open REASON                  -- optional: known not to conform yet (the test fails if it
//!                                 does, so the marker cannot go stale)
//! ```
//!
//! Every case runs twice: the input whole, and one byte at a time (a sequence may be cut
//! anywhere by a pty read).

use memmux::term::Term;
use memmux::term::scrollback::{Budget, Limits};

#[derive(Debug, Default)]
struct Case {
    name: String,
    line: usize,
    rows: u16,
    cols: u16,
    input: Vec<u8>,
    text: Vec<String>,
    bg: Vec<String>,
    ul: Vec<String>,
    cursor: Option<(u16, u16)>,
    open: Option<String>,
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            i += 1;
            match b[i] {
                b'e' => out.push(0x1b),
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b's' => out.push(b' '),
                b'x' => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("hex escape");
                    out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                    i += 2;
                }
                other => out.push(other),
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

fn parse(src: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut section: Option<&str> = None;
    for (n, raw) in src.lines().enumerate() {
        let line = raw.trim_end();
        if let Some(name) = line.strip_prefix("## ") {
            cases.push(Case {
                name: name.to_string(),
                line: n + 1,
                ..Case::default()
            });
            section = None;
            continue;
        }
        let Some(case) = cases.last_mut() else {
            continue;
        };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(body) = line.strip_prefix('|') {
            let body = body.strip_suffix('|').unwrap_or_else(|| {
                panic!("line {}: a row ends with `|`", n + 1);
            });
            let map = match section {
                Some("text") => &mut case.text,
                Some("bg") => &mut case.bg,
                Some("ul") => &mut case.ul,
                _ => panic!("line {}: a row outside text/bg/ul", n + 1),
            };
            map.push(body.to_string());
            continue;
        }
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "size" => {
                let (r, c) = rest.split_once('x').expect("size ROWSxCOLS");
                case.rows = r.parse().expect("rows");
                case.cols = c.parse().expect("cols");
            }
            "in" => case.input.extend(unescape(rest)),
            "text" | "bg" | "ul" => section = Some(key),
            "cursor" => {
                let (r, c) = rest.split_once(',').expect("cursor ROW,COL");
                case.cursor = Some((r.parse().expect("row"), c.parse().expect("col")));
            }
            "open" => case.open = Some(rest.to_string()),
            _ => panic!("line {}: unknown key {key:?}", n + 1),
        }
    }
    cases
}

fn term(rows: u16, cols: u16) -> Term {
    Term::new(
        rows,
        cols,
        Limits::new(1000, 1 << 20),
        Budget::new(64 << 20),
    )
}

fn bg_code(c: vt100::Color) -> char {
    match c {
        vt100::Color::Default => '.',
        vt100::Color::Idx(i) if i < 16 => char::from_digit(u32::from(i), 16).unwrap_or('*'),
        _ => '*',
    }
}

/// The differences between what `t` shows and what `case` expects, one line each.
fn check(case: &Case, t: &Term) -> Vec<String> {
    let s = t.screen();
    let mut diffs = Vec::new();
    let (rows, cols) = (case.rows, case.cols);
    for r in 0..rows {
        let mut text = String::new();
        let mut bg = String::new();
        let mut ul = String::new();
        for c in 0..cols {
            let Some(cell) = s.cell(r, c) else { continue };
            if cell.is_wide_continuation() {
                // The expectation writes a wide character once, followed by nothing.
            } else if cell.has_contents() {
                // As the renderer draws it.
                text.push_str(&memmux::term::shown(cell.contents()));
            } else {
                text.push(' ');
            }
            bg.push(bg_code(cell.bgcolor()));
            ul.push(if cell.underline() { 'u' } else { '.' });
        }
        let ri = usize::from(r);
        for (what, got, want) in [
            ("text", &text, &case.text),
            ("bg", &bg, &case.bg),
            ("ul", &ul, &case.ul),
        ] {
            if let Some(w) = want.get(ri) {
                if w != got {
                    diffs.push(format!("{what} row {r}: want |{w}| got |{got}|"));
                }
            }
        }
    }
    if let Some(want) = case.cursor {
        let got = s.cursor_position();
        if got != want {
            diffs.push(format!("cursor: want {want:?} got {got:?}"));
        }
    }
    diffs
}

#[test]
fn conformance_cases() {
    let src = include_str!("../conformance/cases.txt");
    let cases = parse(src);
    assert!(
        cases.len() > 20,
        "cases.txt parsed to {} cases",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut stale = Vec::new();
    let mut open = 0;
    for case in &cases {
        assert_eq!(
            case.text.len(),
            usize::from(case.rows),
            "{} (line {}): text rows",
            case.name,
            case.line
        );
        for map in [&case.bg, &case.ul] {
            assert!(
                map.is_empty() || map.len() == usize::from(case.rows),
                "{}: map rows",
                case.name
            );
        }
        let mut whole = term(case.rows, case.cols);
        whole.process(&case.input);
        let mut diffs = check(case, &whole);
        let mut bytewise = term(case.rows, case.cols);
        for b in &case.input {
            bytewise.process(std::slice::from_ref(b));
        }
        diffs.extend(
            check(case, &bytewise)
                .into_iter()
                .map(|d| format!("(byte by byte) {d}")),
        );
        match (&case.open, diffs.is_empty()) {
            (Some(_), true) => stale.push(format!("{} (line {})", case.name, case.line)),
            (Some(_), false) => open += 1,
            (None, false) => failures.push(format!(
                "{} (line {}):\n    {}",
                case.name,
                case.line,
                diffs.join("\n    ")
            )),
            (None, true) => {}
        }
    }
    eprintln!(
        "{} cases, {} open, {} failing",
        cases.len(),
        open,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
    assert!(
        stale.is_empty(),
        "cases marked open now conform (remove `open`): {stale:?}"
    );
}

#[test]
fn reverse_video_is_tracked_for_the_renderer() {
    let mut t = term(2, 4);
    assert!(!t.palette().reverse());
    t.process(b"\x1b[?5h");
    assert!(t.reverse_video() && t.palette().reverse());
    t.process(b"\x1b[?5l");
    assert!(!t.palette().reverse());
    t.process(b"\x1b[?5h\x1bc");
    assert!(!t.palette().reverse(), "RIS ends it");
}
