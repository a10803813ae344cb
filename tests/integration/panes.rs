//! Split panes in the real binary: each pane's pty has its own size at once after a split,
//! a close, a zoom, a resize; keys go to the focused pane only; a click focuses.

use crate::common::Mux;

/// Runs `stty size` in the focused pane, printed after `tag=`, and returns (rows, cols) and
/// the screen column where the answer was printed (which pane printed it).
fn stty(m: &mut Mux, tag: &str) -> ((u16, u16), u16) {
    // printf builds `tag=` so the echoed command line does not already show it.
    m.line(&format!("printf '%s=%s\\n' {tag} \"$(stty size)\""));
    let pat = format!("{tag}=");
    m.wait_for(&format!("`{pat}` and a size"), |s| {
        find(s, &pat).is_some_and(|(_, _, t)| t.split_whitespace().count() == 2)
    });
    let (_, col, text) = m.with_screen(|s| find(s, &pat)).unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .map(|n| n.parse::<u16>().unwrap_or(0));
    let size = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (size, col)
}

/// Where `pat` is on the screen (row, column) and the digits and spaces after it.
fn find(s: &vt100::Screen, pat: &str) -> Option<(u16, u16, String)> {
    let (rows, cols) = s.size();
    for r in 0..rows.get() {
        let line = s.contents_between(r, 0, r, cols.get());
        if let Some(i) = line.find(pat) {
            let col = line[..i].chars().count() as u16;
            let rest: String = line[i + pat.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == ' ')
                .collect();
            let rest = rest.trim().to_string();
            // Two numbers: `rows cols`, not a half-drawn line.
            if rest.split_whitespace().count() == 2 {
                return Some((r, col, rest));
            }
        }
    }
    None
}

/// The first pane's whole size, before any split.
fn whole(m: &mut Mux) -> (u16, u16) {
    m.wait_prompt();
    stty(m, "whole").0
}

#[test]
fn splits_give_every_pane_its_own_size_at_once() {
    let mut m = Mux::start();
    let (rows, cols) = whole(&mut m);
    m.prefix("%");
    m.wait_for("a vertical border", |s| s.contents().contains('│'));
    m.wait_pane_ready();
    // The new pane is on the right: the columns after the border, half of them rounded up.
    let left = (cols - 1) / 2;
    let right = cols - 1 - left;
    // A split tab gives its top row to the panes' titles.
    let (size, col) = stty(&mut m, "right");
    assert_eq!(size, (rows - 1, right), "{}", m.dump());
    assert!(col > left, "printed at column {col}: {}", m.dump());
    // The left pane was resized at the split, not at its next frame.
    m.prefix("\x1b[D");
    let (size, col) = stty(&mut m, "left");
    assert_eq!(size, (rows - 1, left), "{}", m.dump());
    assert!(col < left, "printed at column {col}: {}", m.dump());
    // Top / bottom in the left pane: its border meets the vertical one in a `┤`.
    m.prefix("\"");
    m.wait_for("a horizontal border", |s| s.contents().contains('┤'));
    m.wait_pane_ready();
    let top = (rows - 2) / 2;
    let (size, _) = stty(&mut m, "bottom");
    assert_eq!(size, (rows - 2 - top, left), "{}", m.dump());
    m.prefix("\x1b[A");
    let (size, _) = stty(&mut m, "top");
    assert_eq!(size, (top, left), "{}", m.dump());
}

#[test]
fn keys_go_to_the_focused_pane_and_others_keep_drawing() {
    let mut m = Mux::start();
    let (_, cols) = whole(&mut m);
    let border = (cols - 1) / 2;
    m.prefix("%");
    m.wait_pane_ready();
    // A loop in the right pane keeps printing while the left pane has the focus.
    m.line("for i in $(seq 1 400); do echo tick$i; sleep 0.02; done");
    m.prefix("o");
    m.line("echo typed-$((6*7))");
    m.wait_text("typed-42");
    let at = m.with_screen(|s| find_text(s, "typed-42"));
    assert!(at.is_some_and(|c| c < border), "{}", m.dump());
    // The unfocused pane's output is drawn live, on its side of the border.
    m.wait_text("tick300");
    let at = m.with_screen(|s| find_text(s, "tick300"));
    assert!(at.is_some_and(|c| c > border), "{}", m.dump());
}

/// The column where `text` starts on the screen.
fn find_text(s: &vt100::Screen, text: &str) -> Option<u16> {
    let (rows, cols) = s.size();
    (0..rows.get()).find_map(|r| {
        let line = s.contents_between(r, 0, r, cols.get());
        line.find(text).map(|i| line[..i].chars().count() as u16)
    })
}

#[test]
fn closing_a_pane_gives_its_space_and_focus_to_the_neighbour() {
    let mut m = Mux::start();
    let (rows, cols) = whole(&mut m);
    m.prefix("%");
    m.wait_pane_ready();
    m.prefix("x");
    m.wait_text("close this pane");
    m.send("y");
    m.wait_for("the border to go", |s| !s.contents().contains('│'));
    // The left pane has the focus and the whole width again.
    let (size, _) = stty(&mut m, "after");
    assert_eq!(size, (rows, cols), "{}", m.dump());
    // The last pane closes the tab, asking as closing a tab does.
    m.prefix("c");
    m.wait_text("2:");
    m.prefix("x");
    m.wait_text("close tab 2");
}

#[test]
fn zoom_gives_the_pane_the_whole_tab_and_back() {
    let mut m = Mux::start();
    let (rows, cols) = whole(&mut m);
    m.prefix("\"");
    m.wait_pane_ready();
    m.prefix("z");
    let (size, _) = stty(&mut m, "zoomed");
    assert_eq!(size, (rows, cols), "{}", m.dump());
    assert!(!m.contents().contains('─'), "{}", m.dump());
    m.prefix("z");
    m.wait_for("the border back", |s| s.contents().contains('─'));
    let (size, _) = stty(&mut m, "unzoomed");
    assert_eq!(size, (rows - 2 - (rows - 2) / 2, cols), "{}", m.dump());
}

#[test]
fn resize_moves_the_border_by_one_cell() {
    let mut m = Mux::start();
    let (rows, cols) = whole(&mut m);
    m.prefix("%");
    m.wait_pane_ready();
    let right = cols - 1 - (cols - 1) / 2;
    // C-Left from the right pane: the border moves left, the pane grows.
    m.prefix("\x1b[1;5D");
    let (size, _) = stty(&mut m, "grown");
    assert_eq!(size, (rows - 1, right + 1), "{}", m.dump());
}

#[test]
fn a_click_focuses_the_pane_under_it() {
    let mut m = Mux::start();
    let (rows, cols) = whole(&mut m);
    m.prefix("%");
    m.wait_pane_ready();
    // SGR press and release at column 3, row 5 (1-based): the left pane.
    m.send("\x1b[<0;3;5M\x1b[<0;3;5m");
    let (size, col) = stty(&mut m, "clicked");
    assert_eq!(size, (rows - 1, (cols - 1) / 2), "{}", m.dump());
    assert!(col < (cols - 1) / 2, "{}", m.dump());
}

#[test]
fn a_pane_too_small_is_not_split_and_a_tiny_window_does_not_crash() {
    let mut m = Mux::start();
    let (rows, cols) = whole(&mut m);
    m.prefix("%");
    m.wait_pane_ready();
    // 5 rows: a tab bar, 3 rows of body, a status line: the title row and 2 rows for the
    // panes side by side; a split into 1 + border + 1 fits (the title row gives way), but not
    // again.
    m.resize(5, 40);
    // Once the right pane's pty has the small size, memmux has laid the panes out for it.
    let right = 40 - 1 - (40 - 1) / 2;
    m.wait_for("the small layout", |s| s.contents().contains('│'));
    let (size, _) = stty(&mut m, "small");
    assert_eq!(size, (2, right), "{}", m.dump());
    m.prefix("\"");
    m.wait_for("a horizontal border", |s| s.contents().contains('├'));
    m.prefix("\"");
    m.wait_text("too small");
    // Smaller than the layout needs: panes are hidden, nothing crashes.
    m.resize(3, 4);
    m.settle();
    m.resize(2, 1);
    m.settle();
    assert!(!m.exited(), "memmux ended on a tiny window");
    m.resize(rows + 2, cols);
    m.settle();
    m.wait_for("the panes back", |s| {
        s.contents().contains('│') && s.contents().contains('─')
    });
    let (size, _) = stty(&mut m, "back");
    assert!(size.0 >= 1 && size.1 >= 2, "{size:?}: {}", m.dump());
}

#[test]
fn a_tabs_memory_figure_counts_every_panes_processes() {
    let mut m = crate::common::Mux::start_with(crate::common::Opts {
        rows: 40,
        cols: 160,
        ..Default::default()
    });
    m.wait_prompt();
    m.wait_text("1 proc ·");
    m.prefix("%");
    m.wait_pane_ready();
    // Two more processes in the new pane: the tab's figure is both panes' trees, 4 processes
    // (each pane's shell and the two sleeps), not the focused pane's 3.
    m.line("sleep 1000 & sleep 1001 &");
    m.prefix("\x1b[D");
    m.wait_text("4 proc ·");
}

#[test]
fn panes_survive_detach_and_a_client_of_another_size_re_lays_them() {
    use crate::common::server::{client, first_client};
    let mut m = first_client();
    m.wait_prompt();
    m.prefix("%");
    m.wait_pane_ready();
    m.line("echo right-$((2+3))");
    m.wait_text("right-5");
    m.prefix("d");
    assert_eq!(m.wait_exit(), 0, "{}", m.dump());
    let mut c = client(&m, &["attach"], 24, 80);
    c.wait_text("right-5");
    c.wait_for("the border", |s| s.contents().contains('│'));
    // The right pane still has the focus, its share of 80 columns (no panel at 80), and the
    // 22 rows between the bars but the title row.
    let (size, col) = stty(&mut c, "attached");
    assert_eq!(size, (21, 80 - 1 - (80 - 1) / 2), "{}", c.dump());
    assert!(col > (80 - 1) / 2, "{}", c.dump());
}

#[test]
fn dragging_a_border_resizes_the_panes_beside_it() {
    let mut m = Mux::start();
    let (rows, cols) = whole(&mut m);
    m.prefix("%");
    m.wait_pane_ready();
    // SGR mouse, 1-based: press on the border, drag to column 31, release there.
    let border = (cols - 1) / 2 + 1;
    m.send(format!(
        "\x1b[<0;{border};5M\x1b[<32;20;5M\x1b[<32;31;5M\x1b[<0;31;5m"
    ));
    // The left pane is 30 columns now; the right one (still focused) has the rest.
    let (size, _) = stty(&mut m, "dragged");
    assert_eq!(size, (rows - 1, cols - 1 - 30), "{}", m.dump());
}

#[test]
fn each_pane_is_titled_on_the_line_above_it() {
    let mut m = Mux::start();
    let (_, cols) = whole(&mut m);
    let border = (cols - 1) / 2;
    m.prefix("%");
    m.wait_pane_ready();
    // The right pane's program sets a title (OSC 2); `%s` keeps it out of the echoed line.
    m.line("printf '\\033]2;ti%s\\007' tle-r");
    let right_title = |s: &vt100::Screen| s.contents_between(1, border + 1, 1, cols);
    m.wait_for("the OSC title above the right pane", |s| {
        right_title(s).contains(" title-r ")
    });
    // The left pane has no title: its program's name. The focused pane's title is in the
    // accent colour, the other's is not.
    let left_title = |s: &vt100::Screen| s.contents_between(1, 0, 1, border);
    m.wait_for("the program's name above the left pane", |s| {
        left_title(s).contains(" bash ")
    });
    let accent = vt100::Color::Idx(220);
    let colour_at = |m: &Mux, text: &str| {
        m.with_screen(|s| {
            let row = s.contents_between(1, 0, 1, cols);
            let col = row.find(text).map(|i| row[..i].chars().count() as u16)?;
            s.cell(1, col).map(|c| c.fgcolor())
        })
    };
    assert_eq!(colour_at(&m, "title-r"), Some(accent), "{}", m.dump());
    assert_ne!(colour_at(&m, "bash"), Some(accent), "{}", m.dump());
    // The left pane's foreground program names it once it runs.
    m.prefix("\x1b[D");
    m.line("sleep 1000");
    m.wait_for("`sleep` above the left pane", |s| {
        left_title(s).contains(" sleep ")
    });
    assert_eq!(colour_at(&m, "sleep"), Some(accent), "{}", m.dump());
}

#[test]
fn a_flood_beside_the_focused_pane_is_drawn_to_its_end_and_keys_still_echo() {
    let mut m = Mux::start();
    let (_, cols) = whole(&mut m);
    let border = (cols - 1) / 2;
    m.prefix("%");
    m.wait_pane_ready();
    m.prefix("\x1b[D");
    m.wait_pane_ready();
    // The left pane floods; the right one gets the focus and the keys meanwhile.
    m.line("yes | head -n 300000; echo flood-$((40+2))");
    m.prefix("o");
    m.line("echo typed-$((6*7))");
    m.wait_text("typed-42");
    let at = m.with_screen(|s| find_text(s, "typed-42"));
    assert!(at.is_some_and(|c| c > border), "{}", m.dump());
    // The neighbour's frames are paced, not dropped: its last screen shows.
    m.wait_text("flood-42");
    let at = m.with_screen(|s| find_text(s, "flood-42"));
    assert!(at.is_some_and(|c| c < border), "{}", m.dump());
}
