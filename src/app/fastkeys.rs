//! Typing without the UI thread: the input thread writes a plain character straight to the
//! focused program when nothing else could want it (normal mode, no message to clear, not the
//! prefix, not bound to an action). An echo then crosses one thread fewer: the input thread,
//! not input thread → UI thread → pty (see `docs/performance.md` for the figures).
//!
//! Order is kept: the input thread counts every event it forwards to the UI, and the UI
//! publishes a target only together with the number of input events it has handled. A key
//! goes the short way only while the two are equal, so it never overtakes a key still queued
//! for the UI (the one after the prefix, say), and never acts on a mode the UI has left.

use std::sync::{Arc, Mutex};

use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};

use crate::input::keymap::{Chord, Keymap};
use crate::session::Shared;
use crate::term::keys::{self, InputModes};

/// Where plain keys may go, as of `handled` input events.
pub struct Target {
    pub handled: u64,
    pub session: Arc<Shared>,
    pub keymap: Arc<Keymap>,
}

#[derive(Default)]
struct State {
    /// Input events the input thread handed to the UI so far.
    forwarded: u64,
    target: Option<Target>,
}

/// Shared by the input thread and the UI.
#[derive(Default)]
pub struct FastKeys {
    state: Mutex<State>,
}

/// Keys worth the short way: characters, with Shift at most, and Backspace. Everything else
/// (Enter, Ctrl and Alt chords, function keys) goes through the UI, which also notices when a
/// command may have started (it looks up the foreground command's name after Enter).
fn plain(ev: &Event) -> Option<&crossterm::event::KeyEvent> {
    let Event::Key(key) = ev else { return None };
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let mods = key.modifiers - KeyModifiers::SHIFT;
    match key.code {
        KeyCode::Char(_) | KeyCode::Backspace if mods.is_empty() => Some(key),
        _ => None,
    }
}

impl FastKeys {
    /// Input thread: writes `ev` to the focused program and returns true, or counts it as
    /// forwarded and returns false (the caller then sends it to the UI).
    pub fn route(&self, ev: &Event) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if self.try_send(&st, ev) {
            return true;
        }
        st.forwarded += 1;
        false
    }

    fn try_send(&self, st: &State, ev: &Event) -> bool {
        let Some(t) = st.target.as_ref().filter(|t| t.handled == st.forwarded) else {
            return false;
        };
        let Some(key) = plain(ev) else { return false };
        let chord = Chord::from_event(key);
        if chord.is_none_or(|c| c == t.keymap.prefix || t.keymap.lookup(false, c).is_some()) {
            return false;
        }
        let modes = {
            let mut term = t.session.lock_term();
            let focus = term.events().focus_reporting;
            InputModes::from_screen(term.screen(), focus)
        };
        let mut out = Vec::new();
        if !keys::encode_key(key, &modes, &mut out) {
            return false;
        }
        // A full queue: the UI sends it again and tells the user.
        t.session.send_input(out).is_ok()
    }

    /// UI: where plain keys may go from now on (`None`: through the UI), as of `handled`
    /// input events.
    pub fn publish(&self, target: Option<Target>) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).target = target;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    fn key(code: KeyCode, mods: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, mods))
    }

    #[test]
    fn only_plain_characters_and_backspace_qualify() {
        assert!(plain(&key(KeyCode::Char('a'), KeyModifiers::NONE)).is_some());
        assert!(plain(&key(KeyCode::Char('A'), KeyModifiers::SHIFT)).is_some());
        assert!(plain(&key(KeyCode::Backspace, KeyModifiers::NONE)).is_some());
        assert!(plain(&key(KeyCode::Char('b'), KeyModifiers::CONTROL)).is_none());
        assert!(plain(&key(KeyCode::Char('1'), KeyModifiers::ALT)).is_none());
        assert!(plain(&key(KeyCode::Enter, KeyModifiers::NONE)).is_none());
        assert!(plain(&Event::Paste("x".into())).is_none());
    }

    #[test]
    fn without_a_current_target_everything_is_forwarded_and_counted() {
        let fk = FastKeys::default();
        assert!(!fk.route(&key(KeyCode::Char('a'), KeyModifiers::NONE)));
        assert!(!fk.route(&key(KeyCode::Char('b'), KeyModifiers::NONE)));
        assert_eq!(fk.state.lock().unwrap().forwarded, 2);
    }
}
