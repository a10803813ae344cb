//! The app driven in-process (`memmux::app::driver`): keys, resizes and ticks go in as a
//! stream, each pane's program is scripted (the test reads what the app sent it and writes
//! its output), and the screen is what the real compositor drew, read back through vt100.
//! No pty, no processes, no sleeps: what needs a real terminal stays in the pty tests.

use std::time::Duration;

use crossterm::event::Event;
use memmux::app::driver::{Driver, Input};
use memmux::session::ExitStatus;

/// The tab bar (row 0) of `d`'s screen.
fn tab_bar(d: &Driver) -> String {
    d.row(0)
}

#[test]
fn the_first_tab_shows_what_its_program_prints() {
    let mut d = Driver::new(80, 24);
    assert_eq!(d.program_count(), 1, "one program for the first tab");
    assert_eq!(
        d.program(0, |p| p.size()),
        (22, 80),
        "all rows but the tab bar and status"
    );
    d.program(0, |p| p.print(b"hello from the program\r\n$ "));
    assert_eq!(d.row(1), "hello from the program", "{}", d.text());
    assert_eq!(d.row(2), "$");
    // The cursor is where the program left it: after the prompt.
    assert_eq!(d.screen().cursor_position(), (2, 2));
    assert!(tab_bar(&d).starts_with(" 1:"), "{}", tab_bar(&d));
    assert!(
        d.row(23).contains("C-b ? help"),
        "status line: {}",
        d.row(23)
    );
}

#[test]
fn prefix_c_opens_a_second_tab_and_focuses_it() {
    let mut d = Driver::new(80, 24);
    d.program(0, |p| p.print(b"first tab"));
    d.keys("C-b c");
    assert_eq!(d.program_count(), 2);
    assert_eq!(d.focused_program(), Some(1));
    let bar = tab_bar(&d);
    assert!(bar.contains("1:") && bar.contains("2:"), "two tabs: {bar}");
    assert!(
        !d.text().contains("first tab"),
        "the new tab's screen is shown"
    );
    d.program(1, |p| p.print(b"second tab"));
    assert_eq!(d.row(1), "second tab");
    // Back to the first: its screen again.
    d.keys("C-b p");
    assert_eq!(d.focused_program(), Some(0));
    assert_eq!(d.row(1), "first tab");
}

#[test]
fn typing_reaches_the_focused_program_and_no_other() {
    let mut d = Driver::new(80, 24);
    d.keys("C-b c");
    d.type_text("ls -l\n");
    assert_eq!(d.program(1, |p| p.take_input()), b"ls -l\r");
    assert_eq!(d.program(0, |p| p.take_input()), b"");
    d.keys("C-b 1");
    d.type_text("q");
    assert_eq!(d.program(0, |p| p.take_input()), b"q");
    assert_eq!(d.program(1, |p| p.take_input()), b"");
}

#[test]
fn control_keys_and_the_prefix_twice_go_to_the_program_as_bytes() {
    let mut d = Driver::new(80, 24);
    d.keys("C-c C-b C-b Up");
    // C-c is 0x03; the prefix pressed twice sends one C-b (0x02); Up in normal cursor mode.
    assert_eq!(d.program(0, |p| p.take_input()), b"\x03\x02\x1b[A");
    // A program that asks for application cursor keys (DECCKM) gets SS3 sequences.
    d.program(0, |p| p.print(b"\x1b[?1h"));
    d.keys("Up");
    assert_eq!(d.program(0, |p| p.take_input()), b"\x1bOA");
}

#[test]
fn a_paste_is_bracketed_when_the_program_asked_for_it() {
    let mut d = Driver::new(80, 24);
    d.run([Input::Event(Event::Paste("one\ntwo".into()))]);
    let plain = d.program(0, |p| p.take_input());
    assert!(!plain.starts_with(b"\x1b[200~"), "{plain:?}");
    d.program(0, |p| p.print(b"\x1b[?2004h"));
    d.run([Input::Event(Event::Paste("one\ntwo".into()))]);
    let got = d.program(0, |p| p.take_input());
    assert!(
        got.starts_with(b"\x1b[200~") && got.ends_with(b"\x1b[201~"),
        "{got:?}"
    );
}

#[test]
fn a_query_of_the_program_is_answered_by_its_terminal() {
    let mut d = Driver::new(80, 24);
    // Cursor at row 3, column 5 (1-based), then a cursor position request.
    d.program(0, |p| p.print(b"\r\n\r\n    \x1b[6n"));
    assert_eq!(d.program(0, |p| p.take_input()), b"\x1b[3;5R");
}

#[test]
fn help_opens_over_the_tab_and_closes_with_q() {
    let mut d = Driver::new(80, 24);
    d.program(0, |p| p.print(b"underneath"));
    d.keys("C-b ?");
    let text = d.text();
    assert!(
        text.contains("new tab in the focused tab's directory"),
        "{text}"
    );
    assert!(!text.contains("underneath"), "help covers the pane: {text}");
    // Keys in help move it or close it; none reaches the program.
    d.keys("q");
    assert!(!d.text().contains("new tab in the focused"), "{}", d.text());
    assert_eq!(d.row(1), "underneath");
    assert_eq!(d.program(0, |p| p.take_input()), b"");
}

#[test]
fn a_tab_renamed_at_the_prompt_keeps_its_name_in_the_tab_bar() {
    let mut d = Driver::new(80, 24);
    d.keys("C-b c C-b ,");
    assert!(d.row(23).contains("rename tab 2:"), "prompt: {}", d.row(23));
    d.type_text("build\n");
    let bar = tab_bar(&d);
    assert!(bar.contains("2:build"), "{bar}");
    assert!(
        bar.contains("1:") && !bar.contains("1:build"),
        "only tab 2 renamed: {bar}"
    );
    // What was typed at the prompt went to no program.
    assert_eq!(d.program(1, |p| p.take_input()), b"");
    // A title the program sets later does not override the user's name.
    d.program(1, |p| p.print(b"\x1b]2;vim\x07"));
    assert!(tab_bar(&d).contains("2:build"), "{}", tab_bar(&d));
}

#[test]
fn a_split_gives_each_pane_its_own_program_and_half_the_width() {
    let mut d = Driver::new(80, 24);
    d.keys("C-b %");
    assert_eq!(d.program_count(), 2);
    assert_eq!(d.focused_program(), Some(1), "the new pane is focused");
    let (left, right) = (d.program(0, |p| p.size()), d.program(1, |p| p.size()));
    assert_eq!(
        left.1 + right.1 + 1,
        80,
        "both widths and a border: {left:?} {right:?}"
    );
    assert_eq!(left.0, right.0);
    d.program(0, |p| p.print(b"left"));
    d.program(1, |p| p.print(b"right"));
    let row = d.row(2);
    let border = row
        .find('│')
        .unwrap_or_else(|| panic!("a border: {}", d.text()));
    assert!(row.starts_with("left"), "{row}");
    assert_eq!(&row[border + '│'.len_utf8()..], "right", "{row}");
    // Keys go to the focused pane; C-b o moves the focus.
    d.type_text("r");
    d.keys("C-b o");
    d.type_text("l");
    assert_eq!(d.program(1, |p| p.take_input()), b"r");
    assert_eq!(d.program(0, |p| p.take_input()), b"l");
}

#[test]
fn a_resize_of_the_terminal_resizes_the_programs() {
    let mut d = Driver::new(80, 24);
    d.keys("C-b c");
    d.run([Input::Resize(100, 30)]);
    assert_eq!(d.program(0, |p| p.size()), (28, 100), "the hidden tab too");
    assert_eq!(d.program(1, |p| p.size()), (28, 100));
    assert_eq!(d.screen().size().1.get(), 100);
    assert!(
        d.row(29).contains("C-b ? help"),
        "status on the new last row: {}",
        d.text()
    );
}

#[test]
fn a_program_that_ends_leaves_its_tab_with_the_exit_status() {
    let mut d = Driver::new(80, 24);
    d.program(0, |p| p.print(b"last words"));
    d.keys("C-b c");
    d.program(0, |p| p.exit(ExitStatus::Code(3)));
    let bar = tab_bar(&d);
    assert!(bar.contains("[exit 3]"), "{bar}");
    d.keys("C-b 1");
    assert_eq!(d.row(1), "last words", "the screen is kept: {}", d.text());
    assert!(d.text().contains("exit 3"), "{}", d.text());
}

#[test]
fn output_in_a_hidden_tab_marks_it_and_a_bell_is_shown() {
    let mut d = Driver::new(80, 24);
    d.keys("C-b c");
    let before = tab_bar(&d);
    d.program(0, |p| p.print(b"background output\x07"));
    let after = tab_bar(&d);
    assert_ne!(before, after, "activity or a bell shows on tab 1");
    assert!(!d.text().contains("background output"), "tab 2 stays shown");
    // Going there clears the marks.
    d.keys("C-b 1");
    d.keys("C-b 2");
    assert_eq!(tab_bar(&d), before);
}

#[test]
fn a_message_goes_away_when_its_time_is_up() {
    let mut d = Driver::new(80, 24);
    // Closing the only pane asks first: the question is in the status line.
    d.keys("C-b x");
    let asked = d.row(23);
    assert!(asked.contains("(y/n)"), "a question: {asked}");
    d.keys("n");
    assert_ne!(d.row(23), asked, "answered");
    assert_eq!(d.program_count(), 1);
    // A message (the copy buffer is empty) stays for a while, then the clock takes it away.
    d.keys("C-b ]");
    let said = d.row(23);
    d.run([Input::Tick(Duration::from_millis(100))]);
    assert_eq!(d.row(23), said, "still shown after 0.1 s");
    d.run([Input::Tick(Duration::from_secs(60))]);
    assert_ne!(d.row(23), said, "gone after a minute: {said}");
}

#[test]
fn the_scroll_view_shows_history_and_gives_the_screen_back() {
    let mut d = Driver::new(80, 24);
    let lines: String = (1..=60).map(|i| format!("line {i}\r\n")).collect();
    d.program(0, |p| p.print(lines.as_bytes()));
    assert!(
        !d.text().contains("line 10\n"),
        "scrolled off: {}",
        d.text()
    );
    d.keys("C-b [");
    d.keys("PageUp");
    assert!(
        d.text().contains("line 20"),
        "history on screen: {}",
        d.text()
    );
    // Keys in the scroll view move it; none reaches the program.
    assert_eq!(d.program(0, |p| p.take_input()), b"");
    d.keys("q");
    assert!(
        d.text().contains("line 60"),
        "the live screen again: {}",
        d.text()
    );
    assert!(!d.text().contains("line 20\n"), "{}", d.text());
}

#[test]
fn zooming_a_pane_gives_its_program_the_whole_width_and_back() {
    let mut d = Driver::new(80, 24);
    d.keys("C-b %");
    let split = d.program(1, |p| p.size());
    assert!(split.1 < 80, "{split:?}");
    d.keys("C-b z");
    let zoomed = d.program(1, |p| p.size());
    assert_eq!(zoomed.1, 80, "the whole width: {zoomed:?}");
    assert!(
        !d.text().contains('│'),
        "no border while zoomed: {}",
        d.text()
    );
    d.keys("C-b z");
    assert_eq!(d.program(1, |p| p.size()), split);
}

#[test]
fn closing_one_of_two_panes_gives_the_other_the_tab() {
    let mut d = Driver::new(80, 24);
    d.keys("C-b %");
    d.program(0, |p| p.print(b"survivor"));
    // A pane whose program runs is closed only once the user says yes.
    d.keys("C-b x");
    assert!(d.row(23).contains("(y/n)"), "asked: {}", d.row(23));
    d.keys("y");
    assert_eq!(d.focused_program(), Some(0), "{}", d.text());
    assert_eq!(d.program(0, |p| p.size()), (22, 80), "the whole body again");
    assert_eq!(d.row(1), "survivor", "{}", d.text());
    assert!(!d.text().contains('│'), "{}", d.text());
    d.type_text("k");
    assert_eq!(d.program(0, |p| p.take_input()), b"k");
}

#[test]
fn a_pane_whose_program_ended_closes_without_a_question() {
    let mut d = Driver::new(80, 24);
    d.keys("C-b %");
    d.program(1, |p| p.exit(ExitStatus::Code(0)));
    d.keys("C-b x");
    assert!(!d.row(23).contains("(y/n)"), "not asked: {}", d.row(23));
    assert_eq!(d.focused_program(), Some(0));
    assert_eq!(d.program(0, |p| p.size()), (22, 80));
}

#[test]
fn a_title_the_program_sets_names_its_tab_even_while_hidden() {
    let mut d = Driver::new(80, 24);
    d.program(0, |p| p.print(b"\x1b]2;build-42\x07"));
    assert!(tab_bar(&d).contains("build-42"), "{}", tab_bar(&d));
    d.keys("C-b c");
    d.program(0, |p| p.print(b"\x1b]2;test-7\x07"));
    let bar = tab_bar(&d);
    assert!(bar.contains("test-7"), "the hidden tab's new title: {bar}");
}

/// A hidden tab's output tells the app once (the tab is marked busy), then nothing until the
/// tab is shown; shown, its output is drawn again as it comes.
#[test]
fn a_tab_that_printed_while_hidden_draws_its_output_again_once_shown() {
    let mut d = Driver::new(80, 24);
    d.keys("C-b c");
    for i in 0..5 {
        d.program(0, |p| p.print(format!("hidden {i}\r\n").as_bytes()));
    }
    assert!(!d.text().contains("hidden"), "tab 2 stays shown");
    d.keys("C-b 1");
    assert_eq!(d.row(5), "hidden 4", "{}", d.text());
    d.program(0, |p| p.print(b"shown again"));
    assert_eq!(d.row(6), "shown again", "{}", d.text());
}
