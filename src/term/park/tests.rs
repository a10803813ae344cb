use super::*;

fn term(rows: u16, cols: u16) -> Term {
    Term::for_tests(rows, cols)
}

/// Everything vt100 holds for the screen (but bytes of a cell past its length, which nothing
/// reads), and the history memmux keeps.
fn state(t: &Term) -> (String, usize, usize, usize) {
    (
        normal(&format!("{:?}", t.screen())),
        t.history().len(),
        t.history().bytes(),
        t.parser.callbacks().unbounded,
    )
}

/// Feeds `before` to two terminals, parks and wakes one, checks both equal, then feeds
/// `after` to both and checks again.
fn park_wake_twin(rows: u16, cols: u16, before: &[u8], after: &[u8]) {
    let mut live = term(rows, cols);
    let mut parked = term(rows, cols);
    live.process(before);
    parked.process(before);
    assert!(parked.park(), "did not park");
    assert!(parked.is_parked());
    assert!(
        parked.parked_bytes().unwrap_or(usize::MAX) < 16 * 1024,
        "parked screen holds {:?} bytes",
        parked.parked_bytes()
    );
    parked.wake();
    assert!(!parked.is_parked());
    let (a, b) = (state(&parked), state(&live));
    assert_eq!(
        (a.1, a.2, a.3),
        (b.1, b.2, b.3),
        "history differs after wake"
    );
    if a.0 != b.0 {
        let i =
            a.0.bytes()
                .zip(b.0.bytes())
                .take_while(|(x, y)| x == y)
                .count();
        panic!(
            "screen differs after wake at {i}:\n{}\n{}",
            &a.0[i.saturating_sub(200)..(i + 100).min(a.0.len())],
            &b.0[i.saturating_sub(200)..(i + 100).min(b.0.len())]
        );
    }
    live.process(after);
    parked.process(after);
    assert_eq!(
        state(&parked),
        state(&live),
        "screen differs after more output"
    );
}

/// Shell-like output: coloured words, wide characters, lines longer than the screen,
/// enough lines to scroll `lines` rows into the history.
fn shell_output(lines: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..lines {
        out.extend_from_slice(
            format!(
                "\x1b[1;32muser@host\x1b[m:\x1b[34m~/src\x1b[m$ ls -l {i}\r\n\
                 \x1b[38;5;208mfile-{i}.rs\x1b[m 日本語テキスト {i} é ü\r\n",
            )
            .as_bytes(),
        );
        if i % 7 == 0 {
            out.extend_from_slice(&[b'x'; 250]);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\x1b[1;32muser@host\x1b[m$ ");
    out
}

#[test]
fn an_empty_screen_parks_and_wakes_the_same() {
    park_wake_twin(50, 200, b"$ ", b"echo hi\r\nhi\r\n$ ");
}

#[test]
fn a_shell_screen_with_history_parks_and_wakes_the_same() {
    // 3,000 lines: vt100's count of scrolled rows is past MAX_DIM (capped when parked).
    let more = [
        shell_output(40),
        // REP repeats the last printed character: the parked one must be the same.
        b"\x1b[3b".to_vec(),
        // The screen grows: vt100 puts blank rows on top, as many as it counts scrolled.
        b"\x1b[8;60;200t".to_vec(),
    ]
    .concat();
    park_wake_twin(50, 200, &shell_output(3000), &more);
}

#[test]
fn modes_cursor_style_and_attributes_survive() {
    let before = b"\x1b[?2004h\x1b[?1h\x1b=\x1b[?1000h\x1b[?1006h\x1b[5 q\x1b[?25l\
                   text\x1b[3;7H\x1b[1;4;38;2;10;20;30m";
    park_wake_twin(24, 80, before, b"more \x1b[mtext\x1b[2b");
}

#[test]
fn a_growing_screen_pulls_back_as_many_blank_rows_after_a_wake() {
    let mut live = term(10, 40);
    let mut parked = term(10, 40);
    let out = shell_output(30);
    live.process(&out);
    parked.process(&out);
    assert!(parked.park());
    parked.wake();
    live.resize(30, 40);
    parked.resize(30, 40);
    assert_eq!(state(&parked), state(&live));
}

#[test]
fn what_the_escapes_cannot_rebuild_stays_live() {
    for (what, bytes) in [
        ("scroll region", &b"abc\x1b[2;10r"[..]),
        ("alternate screen", &b"\x1b[?1049hvim"[..]),
        ("origin mode", &b"\x1b[2;10r\x1b[?6h"[..]),
        ("an escape cut in two", &b"abc\x1b["[..]),
        ("a cursor waiting to wrap", &[b'-'; 80][..]),
    ] {
        let mut t = term(24, 80);
        t.process(bytes);
        let before = state(&t);
        assert!(!t.park(), "{what}: parked");
        assert_eq!(state(&t), before, "{what}: changed");
    }
}

#[test]
fn a_screen_with_no_two_blank_cells_stays_live() {
    // No blank cells of default colours to read the last printed character on.
    let mut t = term(5, 10);
    t.process(b"\x1b[44m\x1b[2J\x1b[mab");
    assert!(!t.park());
}

#[test]
fn the_saved_cursor_and_its_attributes_survive() {
    park_wake_twin(
        24,
        80,
        b"abc\x1b[5;5H\x1b[1;31m\x1b7\x1b[m\x1b[1;1Hxyz",
        b"\x1b8saved\x1b[mplain",
    );
}

#[test]
fn waking_a_200x50_screen_of_text_takes_about_a_millisecond_at_most() {
    let mut t = term(50, 200);
    t.process(&shell_output(200));
    let (mut parks, mut wakes) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let start = std::time::Instant::now();
        assert!(t.park());
        parks.push(start.elapsed());
        let start = std::time::Instant::now();
        t.wake();
        wakes.push(start.elapsed());
    }
    parks.sort();
    wakes.sort();
    eprintln!(
        "200x50 of text: park {:?}, wake {:?} (medians of 15)",
        parks[7], wakes[7]
    );
    // The target is 1 ms; 5 leaves room for a loaded 2-core machine.
    assert!(
        wakes[7] < std::time::Duration::from_millis(5),
        "wake {:?}",
        wakes[7]
    );
}

#[test]
fn the_last_printed_character_survives_for_rep() {
    // The last character printed (Q) is not the last one drawing the screen draws ("d").
    park_wake_twin(
        24,
        80,
        b"first line\r\nsecond\x1b[1;3HQ\x1b[3;1H",
        b"\x1b[5b",
    );
    // A wide one.
    park_wake_twin(24, 80, b"\xe6\x97\xa5\r\nsecond\x1b[5;1H", b"\x1b[3b");
}
