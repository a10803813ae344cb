//! The scroll view as a tmux user drives it: word motions, jumps, line and rectangle
//! selections, a mouse drag that selects and copies on release. Each copy is read back from
//! the OSC 52 sequence memmux sends the outer terminal.

use crate::common;

use base64::Engine;
use common::{Mux, TIMEOUT};

/// Waits for the `n`th OSC 52 copy memmux sends and returns its text.
fn wait_copy(m: &Mux, n: usize) -> String {
    let mut text = None;
    common::poll_until(TIMEOUT, || {
        let raw = m.raw.lock().unwrap().clone();
        let copies: Vec<&[u8]> = raw
            .windows(7)
            .enumerate()
            .filter(|(_, w)| *w == b"\x1b]52;c;")
            .map(|(i, _)| &raw[i + 7..])
            .collect();
        let Some(rest) = copies.get(n - 1) else {
            return false;
        };
        let Some(end) = rest.iter().position(|b| *b == 0x07) else {
            return false;
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&rest[..end])
            .expect("base64");
        text = Some(String::from_utf8(bytes).expect("utf-8"));
        true
    });
    text.unwrap_or_else(|| panic!("no copy number {n}; screen:\n{}", m.dump()))
}

/// Opens the scroll view and types `keys` there.
fn scroll_keys(m: &mut Mux, keys: &str) {
    m.prefix("[");
    m.wait_text("SCROLL");
    m.send(keys);
}

fn start() -> Mux {
    let mut m = Mux::start_sized(24, 80);
    m.wait_ready();
    m.line("echo 'alpha beta-gamma delta'; printf 'abcd\\nefgh\\n'");
    m.wait_text("efgh");
    m.wait_ready();
    m
}

#[test]
fn word_motions_jumps_and_selection_shapes_copy_what_a_tmux_user_expects() {
    let mut m = start();
    // The keys typed in the scroll view, and what they copy (the n-th copy for the n-th row).
    let cases = [
        // The cursor opens on the prompt; three rows up is the echoed line.
        ("kkk0wvey", "beta"),
        ("kkk0fdv$y", "delta"),
        ("kkk$bbvey", "gamma"),
        ("kkk0t-vy", "a"),
        ("kkklVy", "alpha beta-gamma delta"),
        // A rectangle: columns 1 and 2 of `abcd` and `efgh`, with C-v and with r.
        ("kk0l\x16jly", "bc\nfg"),
        ("kk0lvjlry", "bc\nfg"),
    ];
    for (n, (keys, copied)) in cases.into_iter().enumerate() {
        scroll_keys(&mut m, keys);
        assert_eq!(wait_copy(&m, n + 1), copied, "keys {keys:?}");
    }
}

#[test]
fn a_mouse_drag_selects_and_copies_on_release() {
    let mut m = start();
    let row = m.with_screen(|s| {
        (0..24u16)
            .find(|r| {
                s.contents_between(*r, 0, *r, 80)
                    .starts_with("alpha beta-gamma")
            })
            .expect("the echoed line")
    });
    // SGR mouse, 1-based: press on `b` of beta (column 6), drag to its `a` (9), release.
    let y = row + 1;
    m.send(format!("\x1b[<0;7;{y}M"));
    m.send(format!("\x1b[<32;9;{y}M"));
    m.send(format!("\x1b[<32;10;{y}M"));
    m.send(format!("\x1b[<0;10;{y}m"));
    assert_eq!(wait_copy(&m, 1), "beta");
    m.wait_text("copied");
    // The view closed on release: typing reaches the shell again.
    m.line("echo after-drag");
    m.wait_text("after-drag");
}
