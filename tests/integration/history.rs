//! Scrollback as a user meets it: the scroll view, search, copy and paste, bounds.

use crate::common;

use common::Mux;

/// History rows the status line reports for the focused tab.
fn history_rows(m: &Mux) -> usize {
    let status = m.status_line();
    let after = status
        .split("history ")
        .nth(1)
        .unwrap_or_else(|| panic!("no history in {status:?}"));
    after
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad count in {status:?}"))
}

/// The pane rows as text (rows 1..rows-1), trimmed.
fn pane_rows(m: &Mux) -> Vec<String> {
    let rows = m.with_screen(|s| s.size().0.get());
    (1..rows - 1).map(|r| m.row(r)).collect()
}

#[test]
fn the_oldest_kept_rows_are_consecutive_and_bounded() {
    let mut m = Mux::start().at_prompt();
    m.run("seq 1 30000");
    m.wait_text("history 10000 rows");
    m.prefix("[");
    m.wait_text("SCROLL");
    m.send("g");
    m.wait_text("[10000/10000]");
    let rows = pane_rows(&m);
    // The indicator sits at the right of the first pane row.
    let first: u32 = rows[0].split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        (19_950..=20_050).contains(&first),
        "oldest kept row {first}:\n{}",
        m.dump()
    );
    let nums: Vec<u32> = rows[1..]
        .iter()
        .map(|r| r.trim().parse().unwrap())
        .collect();
    for (i, n) in nums.iter().enumerate() {
        assert_eq!(
            *n,
            first + 1 + i as u32,
            "rows not consecutive:\n{}",
            m.dump()
        );
    }
    // New output doesn't move what is being read.
    m.send("q");
    m.wait_gone("SCROLL");
}

#[test]
fn the_view_stays_put_while_output_arrives() {
    let mut m = Mux::start().at_prompt();
    m.run("seq 1 3000");
    m.line("sleep 1; seq 5001 5100");
    m.prefix("[");
    m.wait_text("SCROLL");
    m.send("\x1b[5~");
    m.wait_for("a page up", |s| !s.contents().contains("[0/"));
    let before = pane_rows(&m)[1..6].to_vec();
    // The scroll view's `[row/rows]` mark (top right); the late output changes the count.
    let mark = |s: &vt100::Screen| {
        let top = s.contents().lines().nth(1).unwrap_or("").to_string();
        top.rfind('[').map(|i| top[i..].to_string())
    };
    let before_mark = m.with_screen(mark);
    m.wait_for("the late output in history", |s| mark(s) != before_mark);
    assert_eq!(
        pane_rows(&m)[1..6].to_vec(),
        before,
        "the view moved:\n{}",
        m.dump()
    );
}

#[test]
fn search_finds_and_highlights_and_says_not_found() {
    let mut m = Mux::start().at_prompt();
    m.run("seq 1 5000");
    m.prefix("[");
    m.wait_text("SCROLL");
    m.send("?");
    m.send("3217");
    m.send("\r");
    m.wait_for("the match on screen", |s| {
        s.contents().lines().any(|l| l.trim() == "3217")
    });
    // The match is highlighted: its cells have a background the others lack.
    let highlighted = m.with_screen(|s| {
        let rows = s.size().0.get();
        (1..rows - 1).any(|r| {
            let text = s.contents_between(r, 0, r, 10);
            text.trim() == "3217"
                && s.cell(r, 0)
                    .is_some_and(|c| c.bgcolor() != vt100::Color::Default)
        })
    });
    assert!(highlighted, "no highlight:\n{}", m.dump());
    m.send_and_expect(&["/", "no-such-text"], "not found: no-such-text");
}

#[test]
fn copy_then_paste_reproduces_the_selection() {
    let mut m = Mux::start().at_prompt();
    m.run("seq 100 199");
    m.prefix("[");
    m.wait_text("SCROLL");
    m.send("?");
    m.send("150\r");
    m.wait_text("150");
    // Select from the match through two more lines, to their ends.
    m.send("v");
    m.send("j");
    m.send("j");
    m.send("$");
    m.send("y");
    m.wait_text("copied");
    let out = m.home().join("pasted.txt");
    m.start_reader("", &format!("cat > {}", out.display()));
    m.prefix("]");
    // The tty echoes the paste: Enter and EOF come after all of it, never between.
    m.wait_for("the paste's echo", |s| {
        let (row, _) = s.cursor_position();
        s.contents_between(row, 0, row, s.size().1.get()).trim_end() == "152"
    });
    m.send("\r\x04");
    m.wait_ready();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, "150\n151\n152\n");
}

#[test]
fn full_screen_programs_add_nothing_to_history() {
    let mut m = Mux::start().at_prompt();
    m.run("seq 1 50 > nums.txt; seq 1 2000 > big.txt; cat nums.txt");
    m.wait_text("history ");
    let before = history_rows(&m);
    m.line("vim -u NONE big.txt");
    // vim's own message, not the echo of the command line: keys sent before vim runs are
    // echoed by the tty onto the main screen, and the prompt then lands behind them.
    m.wait_text("2000 lines");
    for _ in 0..20 {
        m.send("\x06");
    }
    m.send("G");
    m.wait_for("vim at the last line", |s| {
        s.contents().lines().any(|l| l.trim_end() == "2000")
    });
    m.send(":q!\r");
    m.wait_ready();
    let after = history_rows(&m);
    assert!(
        after <= before + 2,
        "vim's scrolling reached history: {before} -> {after}"
    );
}

#[test]
fn clearing_history_empties_it() {
    let mut m = Mux::start().at_prompt();
    m.run("seq 1 500");
    m.wait_for("history", |s| !s.contents().contains("history 0 rows"));
    m.prefix("C");
    m.wait_text("history cleared");
    m.wait_text("history 0 rows, 0 B");
}

#[test]
fn shift_pageup_and_the_wheel_open_the_view() {
    let mut m = Mux::start().at_prompt();
    m.run("seq 1 500");
    m.send("\x1b[5;2~");
    m.wait_text("SCROLL");
    m.send("q");
    m.wait_gone("SCROLL");
    // Wheel up at column 10, row 10 (SGR mouse, as the outer terminal reports it).
    m.send("\x1b[<64;10;10M");
    m.wait_text("SCROLL");
    // Wheeling back down to the bottom leaves it.
    for _ in 0..3 {
        m.send("\x1b[<65;10;10M");
    }
    m.wait_gone("SCROLL");
}

#[test]
fn scrollback_bound_is_exact_in_lines() {
    let mut m = Mux::start_sized(20, 80).at_prompt();
    m.run("seq 1 12345");
    m.wait_text("history 10000 rows");
}
