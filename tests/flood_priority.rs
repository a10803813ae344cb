//! A hidden tab's flood is parsed at the idle priority, a shown tab's at nice 5
//! (`session::reader`, the app's `shown` hook): the parser threads of the real binary, read
//! from /proc while tab 1 runs `yes` and the focus moves between the tabs.

mod common;

use std::time::Duration;

use common::Mux;

/// `SCHED_IDLE` and `SCHED_OTHER` as /proc/TID/stat reports them (field 41).
const SCHED_IDLE: u32 = 5;
const SCHED_OTHER: u32 = 0;

/// One of memmux's flood parser threads: (tid, scheduling policy, nice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parser {
    tid: u32,
    policy: u32,
    nice: i32,
}

/// The parser threads (`pty-parse-N`) of `pid` now.
fn parsers(pid: u32) -> Vec<Parser> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
            if !comm.starts_with("pty-parse-") {
                return None;
            }
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            // After the name's closing parenthesis, field 3 (the state) comes first.
            let rest = &stat[stat.rfind(')')? + 1..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(Parser {
                tid: t.file_name().to_str()?.parse().ok()?,
                nice: fields.get(19 - 3)?.parse().ok()?,
                policy: fields.get(41 - 3)?.parse().ok()?,
            })
        })
        .collect()
}

/// The nice value memmux was started with (a test run under `nice` passes its own on).
fn process_nice(pid: u32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("memmux's stat");
    let rest = &stat[stat.rfind(')').expect("stat's name") + 1..];
    rest.split_whitespace()
        .nth(19 - 3)
        .and_then(|n| n.parse().ok())
        .expect("stat's nice field")
}

/// Waits until the parser threads of `pid` (the process with the tabs) are exactly one, with
/// `policy` and a nice value in `nice`, and returns it.
fn wait_for_parser(m: &Mux, pid: u32, what: &str, policy: u32, nice: &[i32]) -> Parser {
    let mut seen = Vec::new();
    let found = common::poll_until(Duration::from_secs(30), || {
        seen = parsers(pid);
        matches!(seen.as_slice(), [p] if p.policy == policy && nice.contains(&p.nice))
    });
    assert!(
        found.is_some(),
        "{what}: expected one parser thread with policy {policy}, nice in {nice:?}; last \
         seen {seen:?}\n{}",
        m.dump()
    );
    seen[0]
}

/// The session process of a client started with `server: true` (from the server's log).
fn session_pid(m: &Mux) -> u32 {
    let log = m.home().join("data/memmux/memmux.log");
    let mut pid = None;
    common::wait_until("the session in the log", common::TIMEOUT, || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        pid = text.lines().find_map(|l| {
            l.split("session 0 started, pid ")
                .nth(1)?
                .trim()
                .parse()
                .ok()
        });
        pid.is_some()
    });
    pid.unwrap_or_default()
}

#[test]
fn a_hidden_tabs_flood_is_parsed_at_idle_priority_and_a_shown_ones_at_nice_5() {
    let m = Mux::start().at_prompt();
    let pid = m.pid();
    flood_and_switch(m, pid);
}

/// The same through the server, as memmux runs by default and as the benchmark measures it:
/// the focus comes from the client's view there.
#[test]
fn through_the_server_too() {
    let m = common::server::first_client().at_prompt();
    let pid = session_pid(&m);
    flood_and_switch(m, pid);
}

/// Tab 1 floods hidden, then shown, then hidden again; `pid` has the tabs.
fn flood_and_switch(mut m: Mux, pid: u32) {
    let go = m.home().join("go");
    m.line(&format!(
        "while [ ! -e {} ]; do sleep 0.05; done; yes flood-line",
        go.display()
    ));
    m.new_tab(2);
    // A hidden tab's parser keeps the process's nice value (under `nice`, 10); a shown tab's
    // is set to 5, which only root may do from 10 (else it stays at 10).
    let base = process_nice(pid);
    let idle_nice = [base];
    let shown_nice = [5, base.max(5)];
    // Tab 1 floods while tab 2 is focused.
    std::fs::write(&go, "").expect("write the go file");
    let hidden = wait_for_parser(&m, pid, "tab 1 hidden", SCHED_IDLE, &idle_nice);
    // It stays so while the tab stays hidden (the thread lives while the flood lasts).
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        parsers(pid).iter().all(|p| p.policy == SCHED_IDLE),
        "{:?}",
        parsers(pid)
    );
    // And tab 2's shell still answers at once.
    m.line("echo tab-2-$((6*7))");
    m.wait_text("tab-2-42");

    // Shown: the idle thread ends (it cannot leave SCHED_IDLE unprivileged) and a new one
    // parses at nice 5.
    m.prefix("1");
    m.wait_for("tab 1's flood on screen", |s| {
        s.contents().contains("flood-line") && !s.contents().contains("tab-2-42")
    });
    let shown = wait_for_parser(&m, pid, "tab 1 shown", SCHED_OTHER, &shown_nice);
    assert_ne!(shown.tid, hidden.tid, "a new thread for the shown tab");

    // Hidden again: back to the idle priority, on yet another thread.
    m.prefix("2");
    m.wait_text("tab-2-42");
    let again = wait_for_parser(&m, pid, "tab 1 hidden again", SCHED_IDLE, &idle_nice);
    assert_ne!(again.tid, shown.tid);

    // The flood ends; its tab works and shows what came last.
    m.prefix("1");
    m.send("\x03");
    m.line("echo tab-1-$((6*7))");
    m.wait_for_within(
        "tab 1's shell to answer after the flood",
        Duration::from_secs(60),
        |s| s.contents().contains("tab-1-42"),
    );
}
