//! Real programs relying on what `TERM=xterm-256color` promises, run in memmux and read off
//! the outer screen: background colour erase (vim with a colorscheme that sets a background,
//! scrolled), tab stops (`tabs`), insert mode (`tput smir`).

use crate::common;

use common::{Mux, TIMEOUT};

/// Polls `count` on the screen until it returns 0 or the timeout passes; returns the last
/// count (so a failure can say how far off the screen was).
fn settle(m: &Mux, count: impl Fn(&vt100::Screen) -> usize) -> usize {
    let mut n = usize::MAX;
    common::poll_until(TIMEOUT, || {
        n = m.with_screen(&count);
        n == 0
    });
    n
}

#[test]
fn vim_colorscheme_background_survives_scrolling() {
    let mut m = Mux::start().at_prompt();
    m.run("seq -f 'line %g' 1 300 > f.txt");
    m.line("vim -u NONE -N -i NONE -c 'colorscheme desert' f.txt");
    m.wait_for("vim with a background", |s| {
        s.contents().contains("line 20")
            && s.cell(2, 30)
                .is_some_and(|c| c.bgcolor() != vt100::Color::Default)
    });
    // The background vim paints (desert's Normal), and the pane's width: the cells of the
    // second text row that have it, from the left.
    let (bg, width) = m.with_screen(|s| {
        let bg = s.cell(2, 30).map(|c| c.bgcolor()).unwrap_or_default();
        let cols = s.size().1.get();
        let width = (0..cols)
            .take_while(|&c| s.cell(2, c).is_some_and(|cell| cell.bgcolor() == bg))
            .count() as u16;
        (bg, width)
    });
    assert!(width >= 40, "pane width {width}");
    // 40 lines down, one Ctrl-E at a time: vim scrolls with LF at the bottom, delete-line
    // and scroll-up, and relies on the terminal erasing in its background (`bce`).
    for _ in 0..40 {
        m.send("\x05");
    }
    m.wait_for("line 41 at the top", |s| {
        s.contents_between(1, 0, 1, 20).trim_end() == "line 41"
    });
    let rows = m.with_screen(|s| s.size().0.get());
    // The pane's text rows: below the tab bar, above vim's status and command lines (the
    // last pane row is vim's command line, above the memmux status line).
    let wrong = settle(&m, |s| {
        (1..rows - 3)
            .flat_map(|r| (0..width).map(move |c| (r, c)))
            .filter(|&(r, c)| s.cell(r, c).is_some_and(|cell| cell.bgcolor() != bg))
            .count()
    });
    assert_eq!(
        wrong,
        0,
        "cells without vim's background {bg:?} after scrolling; screen:\n{}",
        m.dump()
    );
    m.send(":q!\r");
    m.wait_ready();
}

#[test]
fn tabs_sets_the_stops_ht_honours() {
    let mut m = Mux::start().at_prompt();
    m.run("tabs 4,12,30");
    m.line("printf 'a\\tb\\tc\\td\\n'");
    let want = format!("a{}b{}c{}d", " ".repeat(2), " ".repeat(7), " ".repeat(17));
    m.wait_for("the row laid out by the new stops", |s| {
        s.contents().lines().any(|l| l == want)
    });
    // `tabs -8` (every 8 columns) puts them back.
    m.run("tabs -8");
    m.line("printf 'a\\tb\\n'");
    let want = format!("a{}b", " ".repeat(7));
    m.wait_for("the default stops", |s| {
        s.contents().lines().any(|l| l == want)
    });
}

#[test]
fn tput_smir_inserts() {
    let mut m = Mux::start().at_prompt();
    m.line("printf 'abcdef\\r'; tput smir; printf XY; tput rmir; printf 'Z\\n'");
    // Insert mode pushes `abcdef` right; after rmir, Z overwrites.
    m.wait_for("the inserted text", |s| {
        s.contents().lines().any(|l| l == "XYZbcdef")
    });
}

#[test]
fn default_background_set_by_osc_11_is_drawn_and_queries_answered() {
    let mut m = Mux::start().at_prompt();
    m.line("printf '\\033]11;#203040\\007'; clear");
    m.wait_for("the pane in the new background", |s| {
        s.cell(3, 10).map(|c| c.bgcolor()) == Some(vt100::Color::Rgb(0x20, 0x30, 0x40))
    });
    m.line("printf '\\033]111\\007'; clear");
    m.wait_for("the default background again", |s| {
        s.cell(3, 10).map(|c| c.bgcolor()) == Some(vt100::Color::Default)
    });
    // The answer to a query arrives as input: the shell reads it up to the backslash of ST.
    m.line("printf '\\033]4;1;?\\007'; read -rs -d '\\' -t 5 r; printf '%q\\n' \"$r\"");
    m.wait_text("]4;1;rgb:cdcd/0000/0000");
}

#[test]
fn tmux_inside_memmux_keeps_its_pane_background() {
    let mut m = Mux::start().at_prompt();
    let sock = m.home().join("tmux.sock");
    let conf = m.home().join("tmux.conf");
    std::fs::write(
        &conf,
        "set -g window-style bg=colour25\nset -g status off\n",
    )
    .expect("write tmux.conf");
    // Killed at the end whatever happens: tmux's server outlives the shell that started it.
    struct Server(std::path::PathBuf);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = std::process::Command::new("tmux")
                .arg("-S")
                .arg(&self.0)
                .arg("kill-server")
                .status();
        }
    }
    let _server = Server(sock.clone());
    m.line(&format!(
        "tmux -S {} -f {} new-session",
        sock.display(),
        conf.display()
    ));
    m.wait_for("tmux's pane in colour 25", |s| {
        s.cell(5, 5).map(|c| c.bgcolor()) == Some(vt100::Color::Idx(25))
    });
    // Scroll tmux's pane: tmux draws the lines it scrolls in relying on the terminal to
    // erase them in the background (bce).
    m.line("seq 1 200");
    m.wait_text("200");
    let (rows, cols) = m.with_screen(|s| (s.size().0.get(), s.size().1.get()));
    let width = m.with_screen(|s| {
        (0..cols)
            .take_while(|&c| {
                s.cell(5, c)
                    .is_some_and(|cell| cell.bgcolor() == vt100::Color::Idx(25))
            })
            .count() as u16
    });
    assert!(width >= 40, "tmux pane width {width}");
    let wrong = settle(&m, |s| {
        (1..rows - 1)
            .flat_map(|r| (0..width).map(move |c| (r, c)))
            .filter(|&(r, c)| {
                s.cell(r, c)
                    .is_some_and(|cell| cell.bgcolor() != vt100::Color::Idx(25))
            })
            .count()
    });
    assert_eq!(
        wrong,
        0,
        "cells without tmux's pane background; screen:\n{}",
        m.dump()
    );
}

/// The pane's rows (between the tab bar and the status line) joined without separators,
/// each trimmed: a line wrapped over full-width rows reads whole.
fn pane_text(s: &vt100::Screen) -> String {
    pane_rows(s).concat()
}

fn pane_rows(s: &vt100::Screen) -> Vec<String> {
    let (rows, cols) = s.size();
    (1..rows.get() - 1)
        .map(|r| {
            let row = s.contents_between(r, 0, r, cols.get());
            // The memory panel, shown on a wide enough terminal, starts at its border.
            let pane = row.split('│').next().unwrap_or_default();
            pane.trim_end().to_string()
        })
        .collect()
}

#[test]
fn resizing_rewraps_a_long_line_instead_of_cutting_it() {
    let mut m = Mux::start_with(common::Opts {
        rows: 20,
        cols: 80,
        ..common::Opts::default()
    })
    .at_prompt();
    // 300 digits: four rows at 80 columns, eight at 40.
    let long: String = (100..200).map(|n| n.to_string()).collect();
    m.run("seq -s '' 100 199");
    assert!(m.with_screen(pane_text).contains(&long), "{}", m.dump());
    m.resize(20, 40);
    m.wait_for("the line re-wrapped at 40 columns", |s| {
        pane_text(s).contains(&long) && pane_rows(s).contains(&long[..40].to_string())
    });
    // Wider than at the start: at 120 columns the memory panel opens beside the pane,
    // which is then 84 columns wide.
    m.resize(20, 120);
    m.wait_for("the line re-wrapped wider than 80 columns", |s| {
        pane_text(s).contains(&long)
            && pane_rows(s)
                .iter()
                .any(|r| r.len() > 80 && long.starts_with(r.as_str()))
    });
    // The shell still edits its line where the prompt is.
    m.run("echo done-$((6*7))");
    m.wait_text("done-42");
}

/// Shift-F3 is `CSI 1 ; 2 R`, the form of a cursor position report: crossterm's reader took it
/// for one and dropped it. memmux reads the tty itself now; the program gets the key as xterm
/// sends it, and so every other modified function key.
#[test]
fn modified_function_keys_reach_the_program() {
    let mut m = Mux::start().at_prompt();
    m.start_reader("", "cat -v");
    m.send_and_expect(
        &[
            "\x1b[1;2R",
            "\x1b[1;5P\x1b[1;3Q\x1b[1;6S",
            "\x1b[15;2~\x1b[24;5~",
        ],
        "^[[1;2R^[[1;5P^[[1;3Q^[[1;6S^[[15;2~^[[24;5~",
    );
}

/// DECKPAM: memmux puts the outer terminal's keypad in application mode while the focused
/// program has it so (as tmux does), reads `SS3 p` .. as keypad keys and sends the program
/// what it asked for; back in numeric mode the same keys are digits and operators.
#[test]
fn application_keypad_mode_sends_the_keypad_sequences() {
    let mut m = Mux::start().at_prompt();
    m.start_reader("printf '\\e=';", "cat -v");
    assert!(
        m.wait_raw(common::TIMEOUT, |raw| raw.windows(2).any(|w| w == b"\x1b=")),
        "memmux did not put the outer keypad in application mode"
    );
    // Keypad 0, 5, +, -, Enter as a terminal in application keypad mode sends them.
    m.send_and_expect(&["\x1bOp\x1bOu\x1bOk\x1bOm\x1bOM"], "^[Op^[Ou^[Ok^[Om^[OM");
    m.send("\x03");
    m.wait_ready();
    m.start_reader("printf '\\e>';", "cat -v");
    assert!(
        m.wait_raw(common::TIMEOUT, |raw| {
            let set = raw.windows(2).rposition(|w| w == b"\x1b=");
            let unset = raw.windows(2).rposition(|w| w == b"\x1b>");
            unset > set
        }),
        "memmux did not put the outer keypad back in numeric mode"
    );
    m.send("\x1bOp\x1bOu\x1bOk\x1bOm\r");
    m.wait_for("the keypad as digits and operators", |s| {
        s.contents().lines().any(|l| l.trim_end() == "05+-")
    });
}

/// Escape twice, an Alt chord and a modified arrow in one read: each byte reaches the program.
#[test]
fn escape_and_alt_reach_the_program() {
    let mut m = Mux::start().at_prompt();
    m.start_reader("", "cat -v");
    m.send("\x1b\x1bx\x1bq\x1b[1;2A\r");
    m.wait_text("^[^[x^[q^[[1;2A");
}

/// vttest's menus 1 (cursor movements), 2 (screen features) and 8 (VT102 insert/delete),
/// screen by screen, in memmux and in tmux 3.3a (`tests/vttest/compare.sh`). Every screen's
/// text is the same except two, where tmux is the one that differs from what vttest asks for:
/// * the origin-mode screen of menu 2: vttest sets a region of rows 23-24 with origin mode
///   on and asks for its two lines at the bottom; tmux puts one of them on row 2;
/// * the DEC line-drawing screen of menu 2: `capture-pane` prints tmux's line-drawing cells
///   as the ASCII letters they were written with (`qqq`), memmux's as the glyphs (`───`).
#[test]
fn vttest_menus_1_2_and_8_match_tmux() {
    let out = tempfile::tempdir().expect("tempdir");
    let run = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vttest/compare.sh"
        ))
        .arg(common::bin())
        .arg(out.path())
        .output()
        .expect("run tests/vttest/compare.sh");
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        report.contains("screens: 39,"),
        "vttest did not go through its 39 screens:\n{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let differ: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("text differs") || l.contains("did not settle"))
        .filter(|l| !l.starts_with("screens:"))
        .collect();
    let known = |l: &&str| {
        let screen =
            |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap_or_default();
        let step = l.split(':').next().unwrap_or("");
        let mux = screen(&format!("{step}.mux.txt"));
        // memmux's is as vttest asks: that line on the bottom row, the other above it.
        (mux.lines()
            .nth(23)
            .is_some_and(|r| r.starts_with("Origin mode test"))
            && mux
                .lines()
                .nth(22)
                .is_some_and(|r| r.starts_with("This line should be the one above"))
            && l.contains("text differs"))
            || (mux.contains("diamonds:  ◆◆◆") && l.contains("text differs"))
    };
    let unknown: Vec<&&str> = differ.iter().filter(|l| !known(l)).collect();
    assert!(
        unknown.is_empty(),
        "screens that differ from tmux: {unknown:?}\n{report}"
    );
    assert_eq!(differ.len(), 2, "{report}");
    // Attributes: only the four "light background" screens of menu 2, drawn in reverse
    // video (DECSCNM): tmux passes the mode to its outer terminal, memmux reverses each
    // cell (the same look); on two of them also where the reset codes fall after a line's
    // last character (memmux writes the rest of the row as spaces).
    let attrs: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("attributes differ") && !l.starts_with("screens:"))
        .filter(|l| {
            let step = l.split(':').next().unwrap_or("");
            let txt = std::fs::read_to_string(out.path().join(format!("{step}.mux.txt")));
            !txt.is_ok_and(|t| t.contains("light background") || t.contains("Graphic rendition"))
        })
        .collect();
    assert!(
        attrs.is_empty(),
        "attributes differ from tmux: {attrs:?}\n{report}"
    );
}

/// A program asking for the default colours its tab did not set gets the outer terminal's:
/// memmux asks them at start and keeps the replies. Until they come, the documented
/// light-on-dark assumption.
#[test]
fn default_colour_queries_answer_the_outer_terminals_colours() {
    let mut m = Mux::start().at_prompt();
    assert!(
        m.wait_raw(common::TIMEOUT, |raw| {
            raw.windows(7).any(|w| w == b"\x1b]10;?\x1b")
                && raw.windows(7).any(|w| w == b"\x1b]11;?\x1b")
        }),
        "memmux did not ask the outer terminal for its colours"
    );
    let query = |which: u8| {
        format!("printf '\\033]{which};?\\007'; read -rs -d '\\' -t 5 r; printf '%q\\n' \"$r\"")
    };
    m.line(&query(11));
    m.wait_text("]11;rgb:0000/0000/0000");
    // The outer terminal (this test) answers: dark text on a light background.
    m.send("\x1b]11;rgb:ffff/ffff/f0f0\x1b\\\x1b]10;rgb:1010/2020/3030\x07");
    m.line(&query(11));
    m.wait_text("]11;rgb:ffff/ffff/f0f0");
    m.line(&query(10));
    m.wait_text("]10;rgb:1010/2020/3030");
    // What the tab sets itself still wins.
    m.line("printf '\\033]11;#102030\\007'");
    m.line(&query(11));
    m.wait_text("]11;rgb:1010/2020/3030");
}

/// Strikethrough, blink, hidden and underline colour (which vt100 cannot store) reach the
/// outer terminal: memmux draws them (SGR 9, 5, 8 and 58 in its output).
#[test]
fn strikethrough_blink_hidden_and_underline_colour_are_drawn() {
    let mut m = Mux::start().at_prompt();
    m.line("clear; printf '\\033[9mstruck\\033[m \\033[5mblinks\\033[m \\033[8mhid\\033[m \\033[4;58;5;1mcurl\\033[m\\n'");
    m.wait_text("struck blinks");
    let found = |raw: &[u8], what: &[u8]| raw.windows(what.len()).any(|w| w == what);
    assert!(
        m.wait_raw(common::TIMEOUT, |raw| {
            found(raw, b"\x1b[9m")
                && found(raw, b"\x1b[5m")
                && found(raw, b"\x1b[8m")
                && found(raw, b"\x1b[58;5;1m")
        }),
        "memmux's output lacks SGR 9, 5, 8 or 58"
    );
}
