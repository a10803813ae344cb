//! memmux without a server (`MEMMUX_NO_SERVER=1`) stopped from outside: SIGTSTP gives the
//! terminal back before memmux stops, SIGCONT takes it again and draws everything; a Ctrl-C
//! after that reaches the program as a key, as before the stop (it used to find the terminal
//! in cooked mode, become SIGINT and end every tab). And a terminal that stops reading parks
//! neither the UI nor the tabs (the bounded writer, `frontend::writer`).

mod common;

use common::{Mux, TIMEOUT};

fn stopped(m: &Mux) -> bool {
    common::stat(m.pid()).is_some_and(|s| s.state == b'T')
}

#[test]
fn sigtstp_gives_the_terminal_back_and_sigcont_takes_it_again() {
    let mut m = Mux::start();
    m.wait_ready();
    m.line("echo before-stop");
    m.wait_text("before-stop");
    assert!(!m.cooked());
    // SAFETY: signalling the test's own child.
    unsafe { libc::kill(m.pid() as i32, libc::SIGTSTP) };
    common::wait_until("memmux to stop", TIMEOUT, || stopped(&m));
    assert!(m.cooked(), "the terminal is back in cooked mode");
    m.wait_for("the main screen", |s| !s.alternate_screen());
    // SAFETY: as above.
    unsafe { libc::kill(m.pid() as i32, libc::SIGCONT) };
    m.wait_for("everything drawn again", |s| {
        s.alternate_screen() && s.contents().contains("before-stop")
    });
    assert!(!m.cooked(), "raw mode again");
    m.ctrl_c_reaches_the_program();
}

#[test]
fn after_sigstop_and_a_shell_that_set_cooked_mode_sigcont_takes_raw_mode_again() {
    let mut m = Mux::start();
    m.wait_ready();
    m.line("echo before-stop");
    m.wait_text("before-stop");
    // SIGSTOP cannot be seen; a job-control shell then puts its own (cooked) modes back.
    // SAFETY: signalling the test's own child.
    unsafe { libc::kill(m.pid() as i32, libc::SIGSTOP) };
    common::wait_until("memmux to stop", TIMEOUT, || stopped(&m));
    m.set_cooked();
    assert!(m.cooked());
    // SAFETY: as above.
    unsafe { libc::kill(m.pid() as i32, libc::SIGCONT) };
    common::wait_until("raw mode again", TIMEOUT, || !m.cooked());
    m.ctrl_c_reaches_the_program();
}

#[test]
fn a_terminal_that_stops_reading_parks_neither_the_ui_nor_the_tabs() {
    let mut m = Mux::start_sized(50, 200);
    // The memory panel shares the prompt's row at this width.
    m.wait_prompt();
    m.stall_output(true);
    // Frames of random text: far more than the terminal's buffer and the writer's bound.
    m.line("timeout 3 base64 /dev/urandom; echo flood > flood.done");
    common::wait_file(&m.home().join("flood.done"), TIMEOUT);
    // Enter goes through the UI's loop (plain keys may not): the loop still takes keys.
    m.line("echo keys > keys.done");
    common::wait_file(&m.home().join("keys.done"), TIMEOUT);
    m.stall_output(false);
    m.line("echo mended-screen");
    m.wait_text("mended-screen");
    m.wait_for("the screen drawn whole again", |s| {
        s.contents().contains("keys.done") && s.contents().contains("mended-screen")
    });
}
