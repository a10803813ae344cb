//! Steps the session tests (`tests/sessions*.rs`) repeat: a second client beside the first,
//! `ls` of the test's server, a session started beside, the session chooser, a line echoed
//! and seen, a prompt on the status line.

use super::Mux;
use super::server::{client, command, stderr, stdout};

/// A second client of `a`'s server attached to its session, 30x100, at a fresh prompt.
pub fn second_client(a: &Mux) -> Mux {
    attach_ready(a, &["attach"])
}

/// Another client of `m`'s server, `memmux ARGS` in a 30x100 terminal, at a fresh prompt.
pub fn attach_ready(m: &Mux, args: &[&str]) -> Mux {
    let c = client(m, args, 30, 100);
    c.wait_ready();
    c
}

/// Another client of `m`'s server, `memmux ARGS` in a 30x100 terminal, that shows `text` (the
/// session's screen drawn again) and then a fresh prompt.
pub fn attach_showing(m: &Mux, args: &[&str], text: &str) -> Mux {
    let c = client(m, args, 30, 100);
    c.wait_text(text);
    c.wait_ready();
    c
}

/// `memmux ls` against `m`'s server, which must succeed.
pub fn ls(m: &Mux) -> String {
    let out = command(m, &["ls"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// `memmux new -d -s NAME -- CMD…` against `m`'s server (no `--` when `cmd` is empty: the
/// default shell), which must succeed.
pub fn new_session(m: &Mux, name: &str, cmd: &[&str]) {
    let mut args = vec!["new", "-d", "-s", name];
    if !cmd.is_empty() {
        args.push("--");
        args.extend_from_slice(cmd);
    }
    let out = command(m, &args);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `memmux kill-session -t NAME` against `m`'s server, which must succeed.
pub fn kill_session(m: &Mux, name: &str) {
    let out = command(m, &["kill-session", "-t", name]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Types `echo TEXT` into `m`'s focused tab and waits until its screen shows `text`.
pub fn echo(m: &mut Mux, text: &str) {
    m.line(&format!("echo {text}"));
    m.wait_text(text);
}

/// Waits until `m`'s status line contains `text` (a prompt, a refusal); `what` names it.
pub fn wait_status(m: &Mux, what: &str, text: &str) {
    m.wait_for(what, |s| super::status_line_of(s).contains(text));
}

/// Opens the session chooser (`C-b s`) on `m` and waits until it marks as `(this session)`
/// the line that contains `line`.
pub fn open_chooser_in(m: &mut Mux, line: &str) {
    m.prefix("s");
    m.wait_for(&format!("the chooser in session `{line}`"), |s| {
        s.contents()
            .lines()
            .any(|l| l.contains(line) && l.contains("(this session)"))
    });
}

/// The largest `N` of the `tick-N` lines a screen shows (0 with none).
pub fn last_tick(s: &vt100::Screen) -> u32 {
    s.contents()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("tick-")?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
}

/// SIGKILLs the client `c` (it gets no chance to clean up) and waits for it to exit.
pub fn kill_client(c: &mut Mux) {
    // SAFETY: signalling the test's own child.
    unsafe { libc::kill(c.pid() as i32, libc::SIGKILL) };
    c.wait_exit();
}

/// The first client of a new server and a second one attached beside it (`second_client`).
pub fn two_clients() -> (Mux, Mux) {
    let a = super::server::first_client();
    let b = second_client(&a);
    (a, b)
}

/// Detaches the client `m` (`C-b d`), which must exit 0.
pub fn detach(m: &mut Mux) {
    m.prefix("d");
    assert_eq!(m.wait_exit(), 0, "{}", m.dump());
}

/// Detaches the client `m`, which must exit 0 and say it left session `session`.
pub fn detach_from(m: &mut Mux, session: &str) {
    detach(m);
    m.wait_text(&format!("[detached (from session {session})]"));
}

/// Asserts that a `memmux` command failed with status 1, its stderr saying `text`.
pub fn assert_fails_saying(out: &std::process::Output, text: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(text), "{err}");
}
