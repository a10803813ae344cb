//! Two clients on one session showing the same tab: each client's view keeps its own place in
//! the screens' change logs (`Term::changes`), so both draw every change, whether its frames or
//! the pty reader's direct draws put it on screen; and each view has its own status-line
//! messages. Each test has a server of its own.

mod common;

use common::Mux;
use common::server::{client, first_client};
#[cfg(feature = "test-hooks")]
use common::{Opts, status_line_of};

/// The second client, attached to `a`'s session and on its tab.
fn second(a: &Mux) -> Mux {
    let b = client(a, &["attach"], 30, 100);
    b.wait_ready();
    b
}

#[test]
fn two_clients_of_one_tab_both_show_every_line_and_every_echo() {
    let mut a = first_client();
    let mut b = second(&a);
    // Lines (every row moves: frames) and a counter rewritten in place (one row each time:
    // what readers draw directly), with pauses so that frames and direct draws interleave.
    a.line(
        "for i in $(seq 1 12); do echo line-$i; sleep 0.02; done; \
         for i in $(seq 10 40); do printf '\\rcounter-%d' $i; sleep 0.01; done; \
         echo; echo all-$((6*7))",
    );
    for m in [&a, &b] {
        m.wait_text("all-42");
        m.wait_prompt();
        m.settle();
        let shown = m.contents();
        for i in 1..=12 {
            assert!(
                shown.contains(&format!("line-{i}\n")),
                "line-{i} missing: {}",
                m.dump()
            );
        }
        assert!(shown.contains("counter-40"), "{}", m.dump());
    }
    // A key typed in one client echoes in both, and so does one typed in the other.
    a.send("echo typed-in-a");
    a.wait_text("echo typed-in-a");
    b.wait_text("echo typed-in-a");
    b.send("-then-b");
    for m in [&a, &b] {
        m.wait_text("echo typed-in-a-then-b");
    }
    a.send("\r");
    for m in [&a, &b] {
        m.wait_for("the command's output", |s| {
            s.contents()
                .lines()
                .any(|l| l.trim_end() == "typed-in-a-then-b")
        });
    }
}

/// A command's error belongs to the client whose prompt ran it; a message about a tab's
/// program (here its parser's contained panic) goes to every client.
#[cfg(feature = "test-hooks")]
#[test]
fn a_prompt_error_shows_on_its_own_client_and_a_tab_notice_on_both() {
    let mut a = Mux::start_with(Opts {
        server: true,
        env: vec![("MEMMUX_TEST_PANIC_ON", "BOOM-NOW".to_string())],
        ..Opts::default()
    });
    a.wait_ready();
    let mut b = second(&a);
    b.prefix(":");
    b.wait_for("b's prompt", |s| {
        status_line_of(s).trim_start().starts_with(':')
    });
    b.send("no-such-command\r");
    b.wait_for("b's error", |s| {
        status_line_of(s).contains("no-such-command")
    });
    a.settle();
    assert!(
        !a.contents().contains("no-such-command"),
        "a shows b's error: {}",
        a.dump()
    );
    // The tab's notice reaches both (on b, in the place of its error). An Escape to clear
    // b's error first would go to the shell and make a's next key a Meta chord.
    a.line("printf 'BOOM-%s\\n' NOW");
    for (who, m) in [("a", &a), ("b", &b)] {
        m.wait_for(&format!("the parser's notice on {who}"), |s| {
            status_line_of(s).contains("the terminal parser failed")
        });
    }
}
