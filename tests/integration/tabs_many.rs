//! Tabs past 9: `select-tab N` at the prompt, `C-b '` asking for a number, `move-tab` to
//! reorder. The real binary in a pty, its screen read back.

use crate::common;

use common::Mux;

/// Opens tabs until there are `n`, each printing `here-K` (K its number) so the pane shows
/// which tab is focused.
fn open_tabs(m: &mut Mux, n: usize) {
    m.wait_ready();
    m.line("echo here-1");
    m.wait_text("here-1");
    for k in 2..=n {
        m.prefix("c");
        m.wait_gone(&format!("here-{}", k - 1));
        m.wait_ready();
        m.line(&format!("echo here-{k}"));
        m.wait_text(&format!("here-{k}"));
    }
}

#[test]
fn select_tab_reaches_tab_twelve_and_the_quote_key_asks_for_a_number() {
    let mut m = Mux::start();
    open_tabs(&mut m, 12);
    m.prefix("1");
    m.wait_text("here-1");

    m.prefix(":");
    m.wait_text(":");
    m.send("select-tab 12\r");
    m.wait_text("here-12");
    m.wait_for("tab 12 in the bar", |s| {
        s.contents().lines().next().unwrap_or("").contains("12:")
    });

    // tmux's `'`: a prompt for the number.
    m.prefix("'");
    m.wait_text(":select-tab ");
    m.send("3\r");
    m.wait_text("here-3");

    m.prefix(":");
    m.send("select-tab 13\r");
    m.wait_text("there is no tab 13 (tabs 1 to 12)");
}

#[test]
fn move_tab_puts_the_focused_tab_in_another_place() {
    let mut m = Mux::start();
    open_tabs(&mut m, 3);
    // Tab 3 to the front: it becomes tab 1, and what was tab 1 is now tab 2.
    m.prefix(":");
    m.send("move-tab 1\r");
    m.wait_for("tab 1 focused", |s| {
        let bar = s.contents().lines().next().unwrap_or("").to_string();
        bar.starts_with(" 1:") && s.contents().contains("here-3")
    });
    m.prefix("2");
    m.wait_text("here-1");
    // C-b > moves the focused tab (old tab 1, now 2) one place right: it becomes 3.
    m.prefix(">");
    m.prefix("1");
    m.wait_text("here-3");
    m.prefix("3");
    m.wait_text("here-1");
    m.prefix("2");
    m.wait_text("here-2");
}

/// `select-tab NAME` reaches a tab by part of its name (case ignored), the next match after
/// the focused tab first; a name no tab has says so and leaves the focus where it was.
#[test]
fn select_tab_by_name_reaches_the_next_tab_whose_name_matches() {
    let mut m = Mux::start();
    open_tabs(&mut m, 4);
    for (k, name) in [(2, "build-server"), (4, "build-client")] {
        m.prefix(&k.to_string());
        m.wait_text(&format!("here-{k}"));
        m.prefix(":");
        m.send(format!("rename-tab {name}\r"));
        m.wait_for("the new name in the bar", |s| {
            s.contents().lines().next().unwrap_or("").contains(name)
        });
    }
    m.prefix("1");
    m.wait_text("here-1");
    m.prefix(":");
    m.send("select-tab BUILD\r");
    m.wait_text("here-2");
    m.prefix(":");
    m.send("select-tab build\r");
    m.wait_text("here-4");
    m.prefix(":");
    m.send("select-tab no-such-name\r");
    m.wait_text("no tab named like `no-such-name`");
    assert!(m.contents().contains("here-4"), "{}", m.dump());
}
