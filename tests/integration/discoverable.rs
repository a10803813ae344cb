//! What a newcomer can find on screen: the prefix hint, the ended tab's note, the message
//! log, the memory figure without the panel. The real binary in a pty, its screen read back.

use crate::common;

use common::Mux;

#[test]
fn the_prefix_shows_the_next_keys_until_the_next_key() {
    let mut m = Mux::start_sized(24, 80).at_prompt();
    m.send("\x02");
    m.wait_for("the prefix hint", |s| {
        let last = s.contents().lines().last().unwrap_or("").to_string();
        last.contains("c new") && last.contains("? all keys")
    });
    m.send("n");
    m.wait_gone("c new");
}

#[test]
fn an_ended_tab_says_r_and_x_and_x_closes_it() {
    let mut m = Mux::start_sized(24, 80).at_prompt();
    m.prefix("c");
    m.wait_text("2:");
    m.wait_ready();
    m.line("exit 3");
    m.wait_text("[exit 3]  r restart · x close");
    m.send("x");
    m.wait_tab_bar_gone("2:");
}

#[test]
fn a_long_message_is_read_whole_in_the_log() {
    let mut m = Mux::start_sized(24, 60).at_prompt();
    let long = "no-such-action-with-a-long-name-that-does-not-fit-the-status-line";
    m.prefix(":");
    m.send(format!("{long}\r"));
    m.wait_text("C-b ~ shows all");
    m.prefix("~");
    // Wrapped over two lines of the log: both halves are there.
    m.wait_text("unknown action `no-such-action-with-a-long-nam");
    m.wait_text("e-that-does-not-fit-the-status-line`");
    m.send("q");
    m.wait_gone("messages, newest last");
}

#[test]
fn without_the_panel_the_status_line_shows_memory_and_c_b_m_says_why() {
    let mut m = Mux::start_sized(24, 40).at_prompt();
    m.wait_for("the tab's memory on the status line", |s| {
        let last = s.contents().lines().last().unwrap_or("").to_string();
        last.contains("mem ") && !last.contains("mem …")
    });
    m.prefix("m");
    m.wait_for("why the panel does not show", |s| {
        let c = s.contents();
        c.contains("panel needs") && c.contains("columns, has 40")
    });
}
