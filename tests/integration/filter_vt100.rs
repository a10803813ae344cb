//! End-to-end: `memmux::term::filter::Filter` in front of `vt100::Parser`.

use memmux::term::filter::{Filter, MAX_STRING};
use std::num::NonZeroU16;

fn size(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap()
}

/// Records the OSC dispatches vt100 acts on or reports.
#[derive(Default)]
struct Osc {
    titles: Vec<usize>,
    clipboard: usize,
    unhandled: Vec<usize>,
}

impl vt100::Callbacks for Osc {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles.push(title.len());
    }
    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, _: &[u8], _: &[u8]) {
        self.clipboard += 1;
    }
    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        self.unhandled.push(params.len());
    }
}

/// Feeds `input` in 64 KiB chunks through a filter into a 24x80 parser; returns the parser
/// and the number of bytes the parser received.
fn run(input: &[u8]) -> (vt100::Parser<Osc>, usize) {
    let mut f = Filter::new();
    f.set_width(80);
    f.set_height(24);
    let mut p = vt100::Parser::new_with_callbacks(size(24), size(80), 0, Osc::default());
    let mut passed = 0;
    for chunk in input.chunks(64 * 1024) {
        f.feed(chunk, &mut |s| {
            passed += s.len();
            p.process(s);
        });
    }
    (p, passed)
}

/// `intro`, 2 MiB of body, `end`, then `hello`.
fn long_string(intro: &[u8], end: &[u8]) -> Vec<u8> {
    let mut v = intro.to_vec();
    v.extend(std::iter::repeat_n(b'a', 2 << 20));
    v.extend_from_slice(end);
    v.extend_from_slice(b"hello");
    v
}

#[test]
fn two_mib_osc_then_text() {
    for end in [&b"\x07"[..], b"\x1b\\"] {
        let (p, passed) = run(&long_string(b"\x1b]0;", end));
        assert_eq!(p.screen().contents(), "hello");
        // Cut after MAX_STRING body bytes: intro + body + `;;` CAN + hello.
        assert_eq!(passed, 2 + MAX_STRING + 3 + 5);
        // The cut OSC reaches vt100 with an extra empty parameter, so no title is set.
        assert!(
            p.callbacks().titles.is_empty(),
            "{:?}",
            p.callbacks().titles
        );
        assert_eq!(p.callbacks().unhandled, vec![4]);
    }
}

#[test]
fn two_mib_clipboard_osc_is_not_copied() {
    let mut input = b"\x1b]52;c;".to_vec();
    input.extend(std::iter::repeat_n(b'Q', 2 << 20));
    input.extend_from_slice(b"\x07hello");
    let (p, _) = run(&input);
    assert_eq!(p.screen().contents(), "hello");
    assert_eq!(p.callbacks().clipboard, 0);
    // Short ones still work.
    let (p, _) = run(b"\x1b]52;c;aGVsbG8=\x07");
    assert_eq!(p.callbacks().clipboard, 1);
}

#[test]
fn two_mib_dcs_and_apc_then_text() {
    for (intro, end) in [
        (&b"\x1bPq"[..], &b"\x1b\\"[..]),
        (b"\x1bP1;2|", b"\x9c"),
        (b"\x1b_", b"\x1b\\"),
        (b"\x1b^", b"\x1b\\"),
        (b"\x1bX", b"\x1b\\"),
    ] {
        let (p, passed) = run(&long_string(intro, end));
        assert_eq!(p.screen().contents(), "hello", "{}", intro.escape_ascii());
        assert_eq!(passed, 2 + MAX_STRING + 1 + 5, "{}", intro.escape_ascii());
    }
}

#[test]
fn dec_line_drawing_shows_box_characters() {
    let (p, _) = run(b"\x1b(0lqqk\x1b(B\r\nx\x0e\x1b)0mqqj\x0fq");
    let row = |r: u16| -> String {
        (0..5)
            .map(|c| p.screen().cell(r, c).unwrap().contents().to_string())
            .collect()
    };
    assert_eq!(row(0), "\u{250c}\u{2500}\u{2500}\u{2510}");
    assert_eq!(row(1), "x\u{2514}\u{2500}\u{2500}\u{2518}");
    assert_eq!(
        p.screen().contents(),
        "\u{250c}\u{2500}\u{2500}\u{2510}\nx\u{2514}\u{2500}\u{2500}\u{2518}q"
    );
}

#[test]
fn rep_fills_one_row_at_most() {
    let (p, passed) = run(b"x\x1b[65535b");
    // The REP itself draws one row's worth (80); with the `x` before it that wraps one cell.
    let cell = |r, c| p.screen().cell(r, c).unwrap().contents().to_string();
    assert!((0..80).all(|c| cell(0, c) == "x"));
    assert_eq!((cell(1, 0).as_str(), cell(1, 1).as_str()), ("x", ""));
    assert_eq!(p.screen().contents(), "x".repeat(81));
    assert_eq!(p.screen().cursor_position(), (1, 1));
    assert_eq!(passed, b"x\x1b[65535\x1b[80b".len());
}

#[test]
fn rep_flood_is_cheap() {
    let mut input = b"x".to_vec();
    for _ in 0..1000 {
        input.extend_from_slice(b"\x1b[65535b");
    }
    let (p, passed) = run(&input);
    // 1 + 1000 * 80 characters: 1001 rows of 80, the last holding one.
    assert_eq!(p.screen().cursor_position(), (23, 1));
    assert_eq!(passed, 1 + 1000 * (b"\x1b[65535".len() + b"\x1b[80b".len()));
}

/// vt100 0.18.1 did not panic on any of these without the filter either (checked in a debug
/// build, with overflow checks); this keeps it that way with the filter in front.
#[test]
fn extreme_csi_parameters_do_not_panic() {
    let vals = ["", "0", "1", "2", "999", "65535", "99999999"];
    for (rows, cols) in [(1, 1), (2, 1), (1, 3), (24, 80)] {
        for setup in [
            &b""[..],
            b"\x1b[?6h\x1b[2;3r",
            b"\x1b[?1049h\x1b[999;999H",
            b"\x1b[?6h",
        ] {
            for prefix in ["", "?"] {
                for fin in 0x40u8..=0x7e {
                    for a in vals {
                        for b in vals {
                            let mut f = Filter::new();
                            f.set_width(cols);
                            f.set_height(rows);
                            let mut p = vt100::Parser::new(size(rows), size(cols), 5);
                            let seq =
                                format!("x\u{4e2d}\x1b[{prefix}{a};{b}{}z\u{4e2d}", fin as char);
                            for part in [setup, b"yyyyyyyyyy", seq.as_bytes()] {
                                f.feed(part, &mut |s| p.process(s));
                            }
                            let _ = p.screen().contents_formatted();
                        }
                    }
                }
            }
        }
    }
}
