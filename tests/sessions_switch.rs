//! Moving between sessions and naming them from inside memmux, through a real server:
//! `C-b s` lists every session with its figures and switches this client to the chosen one;
//! `C-b $` renames the session, refusing an empty name or one in use.

mod common;

use common::Mux;
use common::server::{client, command, first_client, stderr, stdout};

fn ls(m: &Mux) -> String {
    let out = command(m, &["ls"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// Starts a second session, `other`, detached beside the one `m` is attached to: it prints
/// `other-session-here` and waits.
fn start_other_session(m: &Mux) {
    let out = command(
        m,
        &[
            "new",
            "-d",
            "-s",
            "other",
            "--",
            "sh",
            "-c",
            "echo other-session-here; exec sleep 1000",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn choose_a_session_and_see_its_screen_then_come_back() {
    let mut m = first_client();
    m.line("echo first-session-here");
    m.wait_text("first-session-here");
    start_other_session(&m);
    // Its figures arrive with its first memory sample: the chooser shows what `ls` shows.
    common::wait_until("both sessions' first samples", common::TIMEOUT, || {
        let l = ls(&m);
        l.contains("other: 1 tab, detached") && l.contains("0: 1 tab, 1 client attached")
    });
    m.prefix("s");
    m.wait_text("(this session)");
    m.wait_text("other: 1 tab, detached");
    let overlay = m.contents();
    assert!(overlay.contains("0: 1 tab, 1 client attached"), "{overlay}");
    // Under each session, its tabs.
    assert!(overlay.contains("1:bash"), "{overlay}");
    // The first line (this session) is selected; Down, Enter: the other session.
    m.send("\x1b[B");
    m.send("\r");
    m.wait_text("other-session-here");
    m.wait_gone("first-session-here");
    let now = ls(&m);
    assert!(
        now.contains("other: 1 tab, 1 client attached") && now.contains("0: 1 tab, detached"),
        "{now}"
    );
    // Back with the line's number; the first session's screen is whole again.
    m.prefix("s");
    m.wait_for("the chooser in session other", |s| {
        s.contents()
            .lines()
            .any(|l| l.contains("other: 1 tab, 1 client attached") && l.contains("(this session)"))
    });
    m.send("1");
    m.wait_text("first-session-here");
    m.wait_ready();
    m.line("echo typed-after-coming-back");
    m.wait_text("typed-after-coming-back");
    // Esc closes the chooser and changes nothing.
    m.prefix("s");
    m.wait_text("(this session)");
    m.send("\x1b");
    m.wait_gone("(this session)");
    assert!(ls(&m).contains("0: 1 tab, 1 client attached"));
}

#[test]
fn a_switched_client_detaches_from_the_session_it_switched_to() {
    let mut m = first_client();
    let out = command(
        &m,
        &[
            "new",
            "-d",
            "-s",
            "next",
            "--",
            "sh",
            "-c",
            "echo next-session-here; exec sleep 1000",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    m.prefix("s");
    m.wait_text("next: ");
    m.send("2");
    m.wait_gone("(this session)");
    common::wait_until("the client in session next", common::TIMEOUT, || {
        ls(&m).contains("next: 1 tab, 1 client attached")
    });
    m.wait_text("next-session-here");
    m.prefix("d");
    assert_eq!(m.wait_exit(), 0, "{}", m.dump());
    m.wait_text("[detached (from session next)]");
}

#[test]
fn rename_the_session_refusing_empty_and_taken_names() {
    let mut m = first_client();
    let out = command(&m, &["new", "-d", "-s", "taken"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The prompt holds the current name.
    m.prefix("$");
    m.wait_for("the rename prompt", |s| {
        common::status_line_of(s).contains("rename-session 0")
    });
    m.send("\x7fwork\r");
    common::wait_until("ls to show the new name", common::TIMEOUT, || {
        let l = ls(&m);
        l.contains("work: ") && !l.contains("0: ")
    });
    // A name another session has: refused, said, nothing renamed.
    m.prefix("$");
    m.wait_for("the rename prompt", |s| {
        common::status_line_of(s).contains("rename-session work")
    });
    m.send("\x7f\x7f\x7f\x7ftaken\r");
    m.wait_for("the refusal", |s| {
        common::status_line_of(s).contains("\"taken\" already exists")
    });
    // An empty one (the name rubbed out): refused too.
    m.prefix("$");
    m.wait_for("the rename prompt", |s| {
        common::status_line_of(s).contains("rename-session work")
    });
    m.send("\x7f\x7f\x7f\x7f\r");
    m.wait_for("the refusal", |s| {
        common::status_line_of(s).contains("cannot be empty")
    });
    let names = ls(&m);
    assert!(
        names.contains("work: ") && names.contains("taken: "),
        "{names}"
    );
    // `attach -t` finds it by its new name; the first client's goodbye names it too.
    let mut c = client(&m, &["attach", "-t", "work"], 30, 100);
    c.wait_ready();
    c.line("echo attached-by-new-name");
    m.wait_text("attached-by-new-name");
    m.prefix("d");
    assert_eq!(m.wait_exit(), 0, "{}", m.dump());
    m.wait_text("[detached (from session work)]");
}

#[test]
fn a_session_gone_before_the_choice_is_said_and_one_gone_after_ends_the_client() {
    let mut m = first_client();
    m.line("echo home-session");
    m.wait_text("home-session");
    for name in ["doomed", "later"] {
        let out = command(&m, &["new", "-d", "-s", name, "--", "sleep", "1000"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    m.prefix("s");
    m.wait_text("doomed: ");
    // Ended while the list is open: choosing it says so; the client stays where it was.
    let out = command(&m, &["kill-session", "-t", "doomed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    common::wait_until("doomed to go", common::TIMEOUT, || {
        !ls(&m).contains("doomed")
    });
    m.send("2");
    m.wait_for("the refusal", |s| {
        common::status_line_of(s).contains("cannot switch to session doomed")
    });
    m.line("echo still-home");
    m.wait_text("still-home");
    // Switched, then that session ends: the client is told and leaves, as on its own session.
    m.prefix("s");
    m.wait_text("later: ");
    m.send("2");
    common::wait_until("the client in session later", common::TIMEOUT, || {
        ls(&m).contains("later: 1 tab, 1 client attached")
    });
    let out = command(&m, &["kill-session", "-t", "later"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(m.wait_exit(), 0, "{}", m.dump());
    m.wait_text("[session later ended]");
    // The session the client left goes on, detached.
    assert!(ls(&m).contains("0: 1 tab, detached"), "{}", ls(&m));
}

#[test]
fn clients_killed_while_switching_never_take_the_server_down_nor_move_another_client() {
    let mut m = first_client();
    let out = command(&m, &["new", "-d", "-s", "other", "--", "sleep", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut rng = common::rng::Rng::new(23);
    for _ in 0..8 {
        let mut c = client(&m, &["attach", "-t", "0"], 24, 80);
        // Drawn (a chooser a killed client opened may cover the cursor's row).
        c.wait_prompt();
        // The chooser, then line 2 (other), then SIGKILL somewhere before, in or after the
        // switch.
        c.prefix("s");
        c.send("2");
        std::thread::sleep(std::time::Duration::from_millis(rng.below(30) as u64));
        // SAFETY: signalling the test's own child.
        unsafe { libc::kill(c.pid() as i32, libc::SIGKILL) };
        c.wait_exit();
    }
    // The first client never typed, so no choice was its: it stayed in session 0 (a killed
    // client's keys still on their way to the app are refused: their client left). Each
    // killed client left the count.
    let done = common::poll_until(common::TIMEOUT, || {
        let l = ls(&m);
        l.contains("0: 1 tab, 1 client attached") && l.contains("other: 1 tab, detached")
    });
    assert!(done.is_some(), "ls: {}\n{}", ls(&m), m.dump());
    assert!(!m.exited(), "{}", m.dump());
    // The server still serves: a new client of the other session sees it.
    let o = client(&m, &["attach", "-t", "other"], 24, 80);
    o.wait_for("the other session's tab", |s| {
        common::tab_bar_of(s).contains("sleep")
    });
}

#[test]
fn the_second_client_switches_away_and_back_while_the_first_stays() {
    let mut a = first_client();
    a.line("echo first-session-here");
    a.wait_text("first-session-here");
    start_other_session(&a);
    let mut b = client(&a, &["attach", "-t", "0"], 30, 100);
    b.wait_text("first-session-here");
    b.wait_ready();
    // b's chooser is b's alone: a keeps typing meanwhile.
    b.prefix("s");
    b.wait_text("(this session)");
    a.line("echo a-typed-under-b-chooser");
    a.wait_text("a-typed-under-b-chooser");
    assert!(!a.contents().contains("(this session)"), "{}", a.dump());
    // The chooser's pick moves b, the client whose view chose, not a (who typed last).
    b.send("2");
    b.wait_text("other-session-here");
    a.line("echo a-still-home");
    a.wait_text("a-still-home");
    assert!(!a.contents().contains("other-session-here"), "{}", a.dump());
    // Back: b gets a view of its own again beside a's.
    b.prefix("s");
    b.wait_for("the chooser in session other", |s| {
        s.contents()
            .lines()
            .any(|l| l.contains("other: ") && l.contains("(this session)"))
    });
    b.send("1");
    b.wait_text("a-still-home");
    b.wait_ready();
    b.prefix("?");
    b.wait_text("new tab in the focused tab's directory");
    a.line("echo a-after-b-came-back");
    a.wait_text("a-after-b-came-back");
    assert!(
        !a.contents()
            .contains("new tab in the focused tab's directory"),
        "{}",
        a.dump()
    );
    let now = ls(&a);
    assert!(
        now.lines()
            .any(|l| l.starts_with("0: ") && l.contains("2 clients attached")),
        "{now}"
    );
}
