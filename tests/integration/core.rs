//! The core, driven as a user drives it: the real binary in a pty, its screen read back.

use crate::common;

use std::time::Duration;

use common::{Mux, alive, children};

#[test]
fn typed_command_runs_and_its_output_appears() {
    let mut m = Mux::start().at_prompt();
    m.line("echo $((6*7))abc");
    m.wait_text("42abc");
    assert!(m.tab_bar().contains("1:bash"), "tab bar: {}", m.tab_bar());
}

#[test]
fn tabs_show_their_own_content_when_switched() {
    let mut m = Mux::start().at_prompt();
    m.line("echo first-tab-text");
    m.wait_text("first-tab-text");
    m.prefix("c");
    m.wait_tab_bar("2:");
    m.wait_for("a prompt in tab 2", |s| {
        !s.contents().contains("first-tab-text")
    });
    m.line("echo second-tab-text");
    m.wait_text("second-tab-text");
    m.prefix("c");
    m.wait_gone("second-tab-text");
    m.line("echo third-tab-text");
    m.wait_text("third-tab-text");

    m.prefix("1");
    m.wait_text("first-tab-text");
    assert!(!m.contents().contains("third-tab-text"));
    m.prefix("n");
    m.wait_text("second-tab-text");
    m.prefix("p");
    m.wait_text("first-tab-text");
    // Alt-3 without the prefix.
    m.send("\x1b3");
    m.wait_text("third-tab-text");
    m.prefix("p");
    m.wait_text("second-tab-text");
    let bar = m.tab_bar();
    assert!(
        bar.contains("1:") && bar.contains("2:") && bar.contains("3:"),
        "{bar}"
    );
}

#[test]
fn new_tab_starts_in_the_focused_tabs_directory() {
    let mut m = Mux::start().at_prompt();
    let dir = m.home().join("somewhere");
    std::fs::create_dir_all(&dir).unwrap();
    // Done before the new tab opens: its directory is the shell's at that moment.
    m.run(&format!("cd {}", dir.display()));
    m.prefix("c");
    m.wait_text("2:");
    m.wait_ready();
    m.line("echo \"cwd=$PWD\"");
    m.wait_text(&format!("cwd={}", dir.display()));
}

#[test]
fn rename_sets_the_title_and_escape_cancels() {
    let mut m = Mux::start().at_prompt();
    m.prefix(",");
    m.wait_text("rename tab 1");
    m.send("build");
    m.send("\r");
    m.wait_tab_bar("1:build");
    m.prefix(",");
    m.wait_text("rename tab 1");
    m.send("\x7f\x7f\x7f\x7f\x7fzzz");
    m.send("\x1b");
    m.wait_gone("rename tab 1");
    assert!(m.tab_bar().contains("1:build"), "{}", m.tab_bar());
}

#[test]
fn close_asks_while_running_and_closing_the_last_tab_quits() {
    let mut m = Mux::start().at_prompt();
    m.prefix("c");
    m.wait_text("2:");
    m.prefix("x");
    m.wait_text("close tab 2");
    m.send("n");
    m.wait_gone("close tab 2");
    assert!(m.tab_bar().contains("2:"));
    m.prefix("x");
    m.wait_text("close tab 2");
    m.send("y");
    m.wait_tab_bar_gone("2:");
    m.prefix("x");
    m.wait_text("close tab 1");
    m.send("y");
    assert_eq!(m.wait_exit(), 0);
}

#[test]
fn exit_status_shows_in_the_tab_bar_and_r_restarts() {
    let mut m = Mux::start().at_prompt();
    m.line("exit 3");
    m.wait_tab_bar("[exit 3]");
    // An ended tab stays; plain `r` starts its command again.
    m.send("r");
    m.wait_tab_bar_gone("exit 3");
    m.wait_prompt();
    m.line("kill -9 $$");
    m.wait_tab_bar("[signal 9]");
    // An ended tab closes without asking.
    m.prefix("x");
    assert_eq!(m.wait_exit(), 0);
}

#[test]
fn resizing_reaches_the_program() {
    let mut m = Mux::start_sized(30, 100).at_prompt();
    m.run("stty size");
    // Tab bar and status line take two rows.
    assert!(m.contents().contains("28 100"), "{}", m.dump());
    m.resize(40, 110);
    m.wait_for("the status line on the new last row", |s| {
        s.contents()
            .lines()
            .nth(39)
            .is_some_and(|l| l.contains("help"))
    });
    m.line("clear; stty size");
    m.wait_text("38 110");
    m.resize(12, 50);
    m.wait_for("the status line on the new last row", |s| {
        s.contents()
            .lines()
            .nth(11)
            .is_some_and(|l| l.contains("help"))
    });
    m.line("clear; stty size");
    m.wait_text("10 50");
}

#[test]
fn arrows_follow_application_cursor_mode() {
    let mut m = Mux::start().at_prompt();
    m.start_reader("printf '\\e[?1h';", "cat -v");
    m.send_and_expect(&["\x1b[A"], "^[OA");
    m.send("\x03");
    m.wait_ready();
    m.start_reader("printf '\\e[?1l';", "cat -v");
    m.send("\x1b[B\r");
    m.wait_text("^[[B");
}

#[test]
fn paste_is_bracketed_only_when_the_program_asks() {
    let mut m = Mux::start().at_prompt();
    m.start_reader("printf '\\e[?2004h';", "cat -v");
    m.send_and_expect(
        &["\x1b[200~pasted-one\x1b[201~"],
        "^[[200~pasted-one^[[201~",
    );
    m.send("\x03");
    m.wait_ready();
    m.start_reader("printf '\\e[?2004l';", "cat -v");
    m.send("\x1b[200~pasted-two\x1b[201~");
    m.send("\r");
    m.wait_for("the plain paste", |s| {
        s.contents().lines().any(|l| l.trim_end() == "pasted-two")
    });
}

#[test]
fn cursor_position_query_is_answered() {
    let mut m = Mux::start().at_prompt();
    m.line("clear; printf 'ab\\e[6n'; IFS= read -rsd R pos; printf '\\ngot:%s\\n' \"${pos#?}\"");
    m.wait_text("got:[1;3");
}

/// A program that prints queries without reading (random data does, by chance) gets only the
/// first few answered while the terminal is in line mode: the rest would reach the shell as
/// typed commands once it exits.
#[test]
fn queries_from_a_program_in_line_mode_get_only_a_few_answers() {
    let mut m = Mux::start().at_prompt();
    m.line(
        "clear; printf '\\e[5n%.0s' {1..50}; printf 'END\\n'; IFS= read -r line; \
         echo \"answers=$(grep -o 0n <<<\"$line\" | wc -l)\"",
    );
    // The kernel echoes each answer as `^[[0n` while `read` waits for its line.
    m.wait_for("END and four answers echoed", |s| {
        let text = s.contents();
        text.contains("END") && text.matches("^[[0n").count() >= 4
    });
    m.send("\r");
    m.wait_for("the count of answers read", |s| {
        s.contents().lines().any(|l| {
            l.strip_prefix("answers=")
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })
    });
    assert!(
        m.contents().lines().any(|l| l.trim_end() == "answers=4"),
        "{}",
        m.dump()
    );
}

#[test]
fn prefix_twice_sends_a_literal_prefix() {
    let mut m = Mux::start().at_prompt();
    m.start_reader("", "cat -v");
    m.prefix("\x02");
    m.send("\r");
    m.wait_text("^B");
}

#[test]
fn mouse_is_forwarded_in_the_protocol_the_program_asked_for() {
    let mut m = Mux::start().at_prompt();
    m.start_reader("printf '\\e[?1000h\\e[?1006h';", "cat -v");
    // Left press at screen column 10, row 5 (1-based): pane row 4, as the tab bar takes row 1.
    m.send_and_expect(&["\x1b[<0;10;5M\x1b[<0;10;5m"], "^[[<0;10;4M^[[<0;10;4m");
}

#[test]
fn help_lists_every_binding() {
    let mut m = Mux::start_sized(50, 120).at_prompt();
    m.prefix("?");
    // The nine default select-tab keys share one row.
    let names: Vec<(memmux::input::action::Action, String)> = memmux::input::action::Action::all()
        .into_iter()
        .map(|a| match a {
            memmux::input::action::Action::SelectTab(_) => (a, "select-tab-N".to_string()),
            _ => (a, a.name()),
        })
        .collect();
    // The title shows before the whole overlay is drawn: wait for all of it (or the time
    // limit, after which the loop below names what is missing).
    m.wait_change(Duration::from_secs(20), |s| {
        let text = s.contents();
        names.iter().all(|(_, n)| text.contains(n))
    });
    let screen = m.contents();
    for (action, name) in &names {
        assert!(screen.contains(name), "help lacks {action}:\n{}", m.dump());
    }
    assert!(screen.contains("C-b c"), "{}", m.dump());
    m.send("q");
    m.wait_gone("memmux keys");
}

#[test]
fn titles_bells_and_activity_are_marked() {
    let mut m = Mux::start().at_prompt();
    m.line("printf '\\e]2;my-title\\a'");
    m.wait_tab_bar("1:my-title");
    m.line("sleep 1; echo later; printf '\\a'");
    m.prefix("c");
    m.wait_text("2:");
    m.wait_tab_bar("1:my-title!");
    m.prefix("1");
    m.wait_tab_bar_gone("my-title!");
    m.line("sleep 1; echo more");
    m.prefix("2");
    m.wait_tab_bar("1:my-title+");
}

#[test]
fn sigterm_restores_the_terminal_and_hangs_up_children() {
    let mut m = Mux::start().at_prompt();
    m.prefix("c");
    m.wait_text("2:");
    m.wait_prompt();
    let shells: Vec<u32> = children(m.pid()).into_iter().map(|(p, _)| p).collect();
    assert_eq!(shells.len(), 2, "two shells: {shells:?}");
    assert!(m.with_screen(|s| s.alternate_screen()));
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(m.pid() as i32, libc::SIGTERM) };
    let code = m.wait_exit();
    assert_eq!(code, 128 + 15);
    m.wait_for("the main screen", |s| {
        !s.alternate_screen() && !s.hide_cursor()
    });
    // memmux hangs its children up on the way out; the kernel may take a moment to reap.
    let ended = common::poll_until(Duration::from_secs(2), || shells.iter().all(|p| !alive(*p)));
    let left: Vec<_> = shells.iter().filter(|p| alive(**p)).collect();
    assert!(
        ended.is_some(),
        "shells {left:?} still running after memmux exited"
    );
}

#[test]
fn closed_tabs_leave_no_zombies() {
    let mut m = Mux::start().at_prompt();
    for _ in 0..3 {
        m.prefix("c");
    }
    m.wait_text("4:");
    // A background child that outlives its shell.
    m.line("sleep 1000 &");
    // Four shells and the background sleep.
    let pid = m.pid();
    common::wait_until("the background sleep", common::TIMEOUT, || {
        common::descendants(pid).len() >= 5
    });
    for _ in 0..3 {
        m.prefix("x");
        m.wait_text("close tab");
        m.send("y");
        m.wait_gone("close tab");
    }
    let settled = |kids: &[(u32, char)]| kids.len() == 1 && kids.iter().all(|(_, st)| *st != 'Z');
    common::poll_until(common::TIMEOUT, || settled(&children(pid)));
    let kids = children(m.pid());
    assert_eq!(kids.len(), 1, "one shell left: {kids:?}");
    assert!(kids.iter().all(|(_, st)| *st != 'Z'), "zombies: {kids:?}");
}

#[test]
fn a_missing_program_is_explained_in_its_tab() {
    let mut m = Mux::start_args(vec!["--".into(), "/nonexistent/shell-xyz".into()]);
    m.wait_text("/nonexistent/shell-xyz");
    m.wait_tab_bar("[failed]");
    // The app still works: a new tab runs the user's shell.
    m.prefix("c");
    m.wait_text("2:");
    m.line("echo still-alive");
    m.wait_text("still-alive");
}

#[test]
fn help_and_version_work_without_a_terminal() {
    let out = std::process::Command::new(common::bin())
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("memmux"));
    let out = std::process::Command::new(common::bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn without_a_terminal_it_says_so_and_exits_2() {
    let out = std::process::Command::new("setsid")
        .arg(common::bin())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
}

#[test]
fn the_pane_shows_what_xterm_would() {
    let mut m = Mux::start().at_prompt();
    m.line(
        "clear; printf '\\e[1mB\\e[0m\\e[2mD\\e[0m\\e[3mI\\e[0m\\e[4mU\\e[0m\\e[7mR\\e[0m\
\\e[38;5;200mX\\e[48;2;10;20;30mY\\e[0m\\e[31mZ\\e[0m漢字|\\n\\e(0lqqk\\e(B\\n'",
    );
    m.wait_text("┌──┐");
    m.with_screen(|s| {
        // Row 2 of the outer screen: row 1 of the pane (the command line is row 1).
        let row = (0..s.size().0.get())
            .find(|r| s.contents_between(*r, 0, *r, 40).starts_with("BDIURXYZ"))
            .expect("the styled row");
        let cell = |c| s.cell(row, c).unwrap();
        assert!(cell(0).bold());
        assert!(cell(1).dim());
        assert!(cell(2).italic());
        assert!(cell(3).underline());
        assert!(cell(4).inverse());
        assert_eq!(cell(5).fgcolor(), vt100::Color::Idx(200));
        assert_eq!(cell(6).bgcolor(), vt100::Color::Rgb(10, 20, 30));
        assert_eq!(cell(7).fgcolor(), vt100::Color::Idx(1));
        assert_eq!(cell(8).contents(), "漢");
        assert!(cell(8).is_wide());
        assert_eq!(cell(10).contents(), "字");
        assert_eq!(cell(12).contents(), "|");
    });
}

#[test]
fn the_cursor_hides_and_changes_shape_as_the_program_asks() {
    let mut m = Mux::start().at_prompt();
    m.line("printf '\\e[?25l\\e[5 q'; sleep 30");
    m.wait_for("a hidden cursor", |s| s.hide_cursor());
    common::wait_until(
        "DECSCUSR 5 passed on to the terminal",
        common::TIMEOUT,
        || m.raw.lock().unwrap().windows(5).any(|w| w == b"\x1b[5 q"),
    );
    m.send("\x03");
    m.line("printf '\\e[?25h'");
    m.wait_for("a visible cursor", |s| !s.hide_cursor());
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_parser_panic_is_contained_to_its_tab_and_logged() {
    let mut m = Mux::start_with(common::Opts {
        env: vec![("MEMMUX_TEST_PANIC_ON", "BOOM-NOW".to_string())],
        ..common::Opts::default()
    })
    .at_prompt();
    m.prefix("c");
    m.wait_text("2:");
    m.wait_ready();
    m.line("echo still fine in tab 2");
    m.prefix("1");
    m.wait_ready();
    m.line("printf 'BOOM-%s\\n' NOW");
    m.wait_text("the terminal parser failed");
    // The tab keeps working, and so does the other one.
    m.line("echo after the panic");
    m.wait_text("after the panic");
    m.prefix("2");
    m.wait_text("still fine in tab 2");
    let log = m.home().join("data").join("memmux").join("memmux.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("parser panic"),
        "log {}: {text}",
        log.display()
    );
}

/// Small output that changes one row is drawn by the tab's reader thread, without the UI
/// thread: only the shown tab's, only while its screen is shown as is.
#[test]
fn echo_like_output_lands_only_in_its_own_shown_pane() {
    let mut m = Mux::start().at_prompt();
    // Tab 2 prints one-row output (no newline: the direct path) every 100 ms.
    m.prefix("c");
    m.wait_text("2:");
    m.wait_prompt();
    m.line(
        "clear; for i in $(seq 30); do sleep 0.1; printf 'HIDDEN%d ' $i; done; echo; echo DONE2",
    );
    m.wait_text("HIDDEN1 ");
    m.prefix("1");
    m.wait_gone("HIDDEN");
    // Meanwhile, tab 1's own typing echoes at once.
    m.send("echo shown-tab-text");
    m.wait_text("shown-tab-text");
    // Fails as soon as a frame shows it (the hidden tab prints every 100 ms).
    m.assert_never_shows("HIDDEN", Duration::from_millis(1500));
    // Nor is the help overlay drawn over by tab 1's output: the part of the row under the
    // overlay stays the overlay's.
    m.send("\x15");
    m.line("clear; sleep 0.5; printf 'LATE%s' $(printf '#%.0s' $(seq 70))");
    m.prefix("?");
    m.wait_text("memmux keys");
    m.wait_text("LATE");
    // Fails on the first frame that draws the output over the overlay.
    let drawn_over = |s: &vt100::Screen| {
        let contents = s.contents();
        let late = contents
            .lines()
            .find(|l| l.contains("LATE"))
            .unwrap_or_default();
        let (_, under) = late.split_once('│').unwrap_or(("", late));
        under.contains('#')
    };
    let over = m.wait_change(Duration::from_millis(300), drawn_over);
    assert!(!over, "{}", m.dump());
    m.send("q");
    m.wait_text(&format!("LATE{}", "#".repeat(70)));
    m.prefix("2");
    m.wait_text("DONE2");
}

/// Plain keys may go from the input thread straight to the program (`app::fastkeys`); keys
/// right behind the prefix or a mode change must still reach what they were typed for.
#[test]
fn keys_typed_in_one_burst_go_where_each_was_typed_for() {
    let mut m = Mux::start().at_prompt();
    // Prefix, `,` and a name in one write: the name goes to the rename prompt, not the shell.
    m.send("\x02,abc\r");
    m.wait_tab_bar("1:abc");
    // Prefix and `c` in one write, then typing at once: a new tab, and the text in it.
    m.send("\x02cecho typed-in-$((6*7))\r");
    m.wait_text("typed-in-42");
    assert!(m.tab_bar().contains("2:"), "{}", m.tab_bar());
    // A long burst of plain keys arrives whole and in order.
    let text: String = (0..300).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    m.line(&format!("echo {text} | wc -c"));
    m.wait_text("301");
    // Back in tab 1, nothing of the above leaked into its shell.
    m.prefix("1");
    m.line("echo tab1-$((1+1))");
    m.wait_text("tab1-2");
    // The pane's rows only: the tab bar says `1:abc`.
    let rows: String = m.with_screen(|s| s.contents().lines().skip(1).collect());
    assert!(
        !rows.contains("typed-in") && !rows.contains("abc"),
        "keys leaked into tab 1:\n{}",
        m.dump()
    );
}
