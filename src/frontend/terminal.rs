//! The user's terminal: entering memmux's modes, and always leaving them again — on quit, on
//! SIGTERM/SIGHUP, and after a panic.

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::sys;

/// Modes memmux turns on: alternate screen, SGR mouse with button motion, bracketed paste,
/// focus reports. Then it asks the default foreground and background colours (OSC 10 / 11),
/// to answer programs that ask for them (`term::palette::OUTER`); a terminal that does
/// not know the query ignores it.
const ENTER: &str = "\x1b[?1049h\x1b[?1000h\x1b[?1002h\x1b[?1006h\x1b[?2004h\x1b[?1004h\x1b[H\x1b[2J\
\x1b]10;?\x1b\\\x1b]11;?\x1b\\";
/// Everything memmux (or a program's cursor shape) may have changed, undone.
const LEAVE: &str = "\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?1006l\x1b[?1015l\x1b[?2004l\x1b[?1004l\
\x1b[0 q\x1b[m\x1b[?25h\x1b>\x1b[?1049l";
/// Mouse motion without a button pressed: only asked of the outer terminal while the focused
/// program wants it, so idle pointer movement costs nothing otherwise.
pub const ANY_MOTION_ON: &str = "\x1b[?1003h";
pub const ANY_MOTION_OFF: &str = "\x1b[?1003l";
/// DECKPAM / DECKPNM, set while the focused program has the keypad in application mode.
pub const KEYPAD_APPLICATION: &str = "\x1b=";
pub const KEYPAD_NUMERIC: &str = "\x1b>";

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Why memmux can't run here, if it can't: it needs a terminal on stdin and stdout.
pub fn check_tty() -> Result<(), String> {
    if !io::stdin().is_terminal() {
        return Err("memmux needs a terminal: standard input is not a tty".to_string());
    }
    if !io::stdout().is_terminal() {
        return Err("memmux needs a terminal: standard output is not a tty".to_string());
    }
    sys::fd::can_open_controlling_tty()
        .map_err(|e| format!("memmux needs a controlling terminal: cannot open /dev/tty ({e})"))
}

/// Why memmux can't draw on a terminal of type `term` (`$TERM`), if it can't: it needs cursor
/// addressing and an alternate screen. `dumb` (Emacs' shell, some CI logs) has neither; an
/// entry without `smcup` lacks the alternate screen. A type with no terminfo entry here is
/// taken as xterm-like (a remote terminal's entry is often not installed; its sequences are
/// xterm's all the same).
pub fn check_term(term: Option<&str>) -> Result<(), String> {
    let fix = "set TERM to your terminal's type, e.g. TERM=xterm-256color";
    match term {
        None | Some("") => Err(format!(
            "TERM is not set, so memmux cannot tell what the terminal can do; {fix}"
        )),
        Some("dumb") => Err(format!(
            "TERM=dumb: this terminal cannot move the cursor or switch screens, which memmux \
             needs to draw; {fix} if the terminal can"
        )),
        Some(t) => match crate::terminfo::lookup(t) {
            crate::terminfo::Entry::AltScreen(false) => Err(format!(
                "TERM={t}: its terminfo entry has no alternate screen (smcup), which memmux \
                 draws on; {fix} if the terminal has one"
            )),
            _ => Ok(()),
        },
    }
}

/// Writes straight to fd 1, bypassing std's stdout lock (the panic hook may run while another
/// thread holds it).
pub fn write_raw(s: &str) {
    sys::fd::write_all_or_give_up(sys::fd::stdout(), s.as_bytes());
}

/// Restores the terminal if memmux changed it. Safe to call more than once, from any thread.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::AcqRel) {
        write_raw(LEAVE);
        // Nothing to do if it fails: the terminal may be gone (SIGHUP).
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Raw mode only, for the client: the modes come from the session's own output. `restore`
/// (on detach, SIGTSTP, exit, panic) undoes them and raw mode together.
pub fn take_raw() -> io::Result<()> {
    // Taken afresh: after a stop (SIGSTOP, which nothing can see coming) the shell may have
    // set the terminal back to cooked mode, while crossterm still holds it raw and would do
    // nothing. Its saved mode is put back first (nothing when it holds none).
    let _ = crossterm::terminal::disable_raw_mode();
    crossterm::terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::Release);
    Ok(())
}

/// Gives the terminal back (cooked mode, main screen, mouse off) and stops this process, as
/// SIGTSTP's default action would have without the giving back; the shell's `fg` (SIGCONT)
/// continues it, and the caller takes the terminal again (`take_raw`, then a whole frame).
pub fn stop_self() {
    restore();
    sys::signal::stop_self();
}

/// The sequences that put a terminal in memmux's modes (and clear it), for a session that
/// draws again on a client's fresh terminal.
pub fn modes_on() -> &'static str {
    ENTER
}

/// The sequences that leave memmux's modes (main screen, mouse and paste reports off), for a
/// session letting go of a client's terminal.
pub fn modes_off() -> &'static str {
    LEAVE
}

/// Holds the terminal in memmux's modes; restores it when dropped.
pub struct TerminalGuard(());

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        crossterm::terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::Release);
        write_raw(ENTER);
        Ok(TerminalGuard(()))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Restores the terminal before the default hook prints the panic, so the message lands on a
/// usable screen. Panics on a session's own threads are contained by the session (its tab says
/// so), and must not tear down the UI.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let name = std::thread::current()
            .name()
            .map(str::to_string)
            .unwrap_or_default();
        if name.starts_with("pty-") {
            crate::session::note_thread_panic(&name, info);
            return;
        }
        restore();
        default(info);
    }));
}
