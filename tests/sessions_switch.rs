//! Moving between sessions and naming them from inside memmux, through a real server:
//! `C-b s` lists every session with its figures and switches this client to the chosen one;
//! `C-b $` renames the session, refusing an empty name or one in use.

mod common;

use common::Mux;
use common::server::{client, first_client};
use common::sessions::{
    attach_ready, attach_showing, detach_from, echo, kill_client, kill_session, ls, new_session,
    open_chooser_in, wait_status,
};

/// Starts a second session, NAME, detached beside the one `m` is attached to: it prints
/// `NAME-session-here` and waits.
fn start_session_beside(m: &Mux, name: &str) {
    let script = format!("echo {name}-session-here; exec sleep 1000");
    new_session(m, name, &["sh", "-c", &script]);
}

#[test]
fn choose_a_session_and_see_its_screen_then_come_back() {
    let mut m = first_client();
    echo(&mut m, "first-session-here");
    start_session_beside(&m, "other");
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
    open_chooser_in(&mut m, "other: 1 tab, 1 client attached");
    m.send("1");
    m.wait_text("first-session-here");
    m.wait_ready();
    echo(&mut m, "typed-after-coming-back");
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
    start_session_beside(&m, "next");
    m.prefix("s");
    m.wait_text("next: ");
    m.send("2");
    m.wait_gone("(this session)");
    common::wait_until("the client in session next", common::TIMEOUT, || {
        ls(&m).contains("next: 1 tab, 1 client attached")
    });
    m.wait_text("next-session-here");
    detach_from(&mut m, "next");
}

#[test]
fn rename_the_session_refusing_empty_and_taken_names() {
    let mut m = first_client();
    new_session(&m, "taken", &[]);
    // The prompt holds the current name.
    m.prefix("$");
    wait_status(&m, "the rename prompt", "rename-session 0");
    m.send("\x7fwork\r");
    common::wait_until("ls to show the new name", common::TIMEOUT, || {
        let l = ls(&m);
        l.contains("work: ") && !l.contains("0: ")
    });
    // A name another session has: refused, said, nothing renamed.
    m.prefix("$");
    wait_status(&m, "the rename prompt", "rename-session work");
    m.send("\x7f\x7f\x7f\x7ftaken\r");
    wait_status(&m, "the refusal", "\"taken\" already exists");
    // An empty one (the name rubbed out): refused too.
    m.prefix("$");
    wait_status(&m, "the rename prompt", "rename-session work");
    m.send("\x7f\x7f\x7f\x7f\r");
    wait_status(&m, "the refusal", "cannot be empty");
    let names = ls(&m);
    assert!(
        names.contains("work: ") && names.contains("taken: "),
        "{names}"
    );
    // `attach -t` finds it by its new name; the first client's goodbye names it too.
    let mut c = attach_ready(&m, &["attach", "-t", "work"]);
    c.line("echo attached-by-new-name");
    m.wait_text("attached-by-new-name");
    detach_from(&mut m, "work");
}

#[test]
fn a_session_gone_before_the_choice_is_said_and_one_gone_after_ends_the_client() {
    let mut m = first_client();
    echo(&mut m, "home-session");
    for name in ["doomed", "later"] {
        new_session(&m, name, &["sleep", "1000"]);
    }
    m.prefix("s");
    m.wait_text("doomed: ");
    // Ended while the list is open: choosing it says so; the client stays where it was.
    kill_session(&m, "doomed");
    common::wait_until("doomed to go", common::TIMEOUT, || {
        !ls(&m).contains("doomed")
    });
    m.send("2");
    wait_status(&m, "the refusal", "cannot switch to session doomed");
    echo(&mut m, "still-home");
    // Switched, then that session ends: the client is told and leaves, as on its own session.
    m.prefix("s");
    m.wait_text("later: ");
    m.send("2");
    common::wait_until("the client in session later", common::TIMEOUT, || {
        ls(&m).contains("later: 1 tab, 1 client attached")
    });
    kill_session(&m, "later");
    assert_eq!(m.wait_exit(), 0, "{}", m.dump());
    m.wait_text("[session later ended]");
    // The session the client left goes on, detached.
    assert!(ls(&m).contains("0: 1 tab, detached"), "{}", ls(&m));
}

#[test]
fn clients_killed_while_switching_never_take_the_server_down_nor_move_another_client() {
    let mut m = first_client();
    new_session(&m, "other", &["sleep", "1000"]);
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
        kill_client(&mut c);
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
    echo(&mut a, "first-session-here");
    start_session_beside(&a, "other");
    let mut b = attach_showing(&a, &["attach", "-t", "0"], "first-session-here");
    // b's chooser is b's alone: a keeps typing meanwhile.
    b.prefix("s");
    b.wait_text("(this session)");
    echo(&mut a, "a-typed-under-b-chooser");
    assert!(!a.contents().contains("(this session)"), "{}", a.dump());
    // The chooser's pick moves b, the client whose view chose, not a (who typed last).
    b.send("2");
    b.wait_text("other-session-here");
    echo(&mut a, "a-still-home");
    assert!(!a.contents().contains("other-session-here"), "{}", a.dump());
    // Back: b gets a view of its own again beside a's.
    open_chooser_in(&mut b, "other: ");
    b.send("1");
    b.wait_text("a-still-home");
    b.wait_ready();
    b.prefix("?");
    b.wait_text("new tab in the focused tab's directory");
    echo(&mut a, "a-after-b-came-back");
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
