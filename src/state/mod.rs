//! What the UI shows: the tabs, which one has focus, the input mode, a message. No I/O here.

pub mod copy_mode;
pub mod layout;
pub mod pane_memory;
mod view;

pub use view::View;

use std::time::{Duration, Instant};

pub use crate::input::LineInput;
use crate::session::{Session, SessionId, Status};

/// One pane of a tab: a session and what the tab bar says of it while it has the focus.
pub struct Pane {
    pub session: Session,
    /// Set by the program (OSC 0/2).
    pub title: Option<String>,
    /// The foreground command's name, refreshed now and then.
    pub fg_name: Option<String>,
}

impl Pane {
    pub fn new(session: Session) -> Pane {
        Pane {
            session,
            title: None,
            fg_name: None,
        }
    }

    /// What the pane's border (and its tab's entry, while it has the focus) calls it: the
    /// program's title, else the foreground command, else the command memmux started.
    pub fn label(&self) -> String {
        self.label_str().to_string()
    }

    /// [`Pane::label`] without a copy.
    pub fn label_str(&self) -> &str {
        if let Some(t) = self.title.as_ref().filter(|t| !t.is_empty()) {
            return t;
        }
        if let Some(f) = self.fg_name.as_ref().filter(|f| !f.is_empty()) {
            return f;
        }
        let argv0 = self
            .session
            .spec
            .argv
            .first()
            .map(String::as_str)
            .unwrap_or("?");
        argv0.rsplit('/').next().unwrap_or(argv0)
    }
}

/// One tab: its panes (one session each) laid out by `layout`, plus what the tab bar needs.
pub struct Tab {
    /// Names the tab while it lives: the id of the session it was opened with (ids are never
    /// reused, so this stays unique after that pane closes or restarts).
    pub id: SessionId,
    /// Never empty: closing the last pane closes the tab. In no particular order; `layout`
    /// places them by their session ids.
    pub panes: Vec<Pane>,
    pub layout: layout::Layout,
    /// Set by the user (rename); wins over everything else.
    pub name: Option<String>,
    /// Output arrived while the tab was hidden.
    pub activity: bool,
    /// A bell rang while the tab was hidden.
    pub bell: bool,
    /// Memory samples of the tab, for the panel.
    pub mem: TabMemory,
}

/// What the memory panel keeps for one tab.
pub struct TabMemory {
    pub history: crate::memory::history::History,
    /// The tab's biggest process at the last sample.
    pub biggest: Option<crate::memory::procs::ProcessInfo>,
    /// Charts and figures derived from `history` at the last sample.
    pub view: crate::memory::summary::MemView,

    /// Source, breakdown, limit, OOM kills and freeze state at the last sample.
    pub detail: crate::memory::sampler::Detail,

    /// With several panes: each pane's figures and chart line; the tab's are their sum.
    pub panes: Vec<pane_memory::PaneMemory>,
    /// The tab's own ceiling (its cgroup, or memmux's enforcement without one).
    pub limit: pane_memory::TabLimit,
}

impl Tab {
    pub fn new(session: Session, history_capacity: usize) -> Tab {
        Tab {
            id: session.id,
            layout: layout::Layout::new(session.id),
            panes: vec![Pane::new(session)],
            name: None,
            activity: false,
            bell: false,
            mem: TabMemory {
                history: crate::memory::history::History::new(history_capacity),
                biggest: None,
                view: Default::default(),
                detail: Default::default(),
                panes: Vec::new(),
                limit: Default::default(),
            },
        }
    }

    /// The focused pane.
    pub fn pane(&self) -> &Pane {
        let focus = self.layout.focus();
        // `panes` is never empty and holds the focused pane (see `panes`).
        self.panes
            .iter()
            .find(|p| p.session.id == focus)
            .unwrap_or(&self.panes[0])
    }

    pub fn pane_mut(&mut self) -> &mut Pane {
        let focus = self.layout.focus();
        let i = self
            .panes
            .iter()
            .position(|p| p.session.id == focus)
            .unwrap_or(0);
        &mut self.panes[i]
    }

    /// The focused pane's session: where keys go.
    pub fn session(&self) -> &Session {
        &self.pane().session
    }

    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.pane_mut().session
    }

    /// The pane running session `id`.
    pub fn pane_by_id(&self, id: SessionId) -> Option<&Pane> {
        self.panes.iter().find(|p| p.session.id == id)
    }

    /// The tab's title as the tab bar shows it: the user's name, else the focused pane's
    /// (`Pane::label`).
    pub fn label(&self) -> String {
        self.label_str().to_string()
    }

    /// [`Tab::label`] without a copy.
    pub fn label_str(&self) -> &str {
        if let Some(n) = self.name.as_ref().filter(|n| !n.is_empty()) {
            return n;
        }
        self.pane().label_str()
    }

    /// `exit N`, `signal N` or `failed` once the focused pane's program has ended.
    pub fn end_note(&self) -> Option<String> {
        end_note(self.session())
    }
}

/// `exit N`, `signal N` or `failed` once `session`'s program has ended.
pub fn end_note(session: &Session) -> Option<String> {
    match &session.status {
        Status::Running => None,
        Status::Exited(s) => Some(s.to_string()),
        Status::Failed(_) => Some("failed".to_string()),
    }
}

/// Something the user must answer y/n.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    CloseTab(SessionId),
    RestartTab(SessionId),
    /// Closing one pane of a tab with several (the pane's session id).
    ClosePane(SessionId),
    Quit,
    /// A memory limit below what the tab uses now (bytes asked, bytes in use).
    MemoryLimit(SessionId, u64, u64),
    /// A memory limit below what a pane uses now (the pane's session id, bytes asked,
    /// bytes in use): `set-memory-limit -p`.
    PaneMemoryLimit(SessionId, u64, u64),
}

/// How keys are interpreted right now.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Keys go to the focused program, except bound direct chords and the prefix.
    #[default]
    Normal,
    /// The prefix was pressed; the next key picks an action.
    Prefix,
    Rename(LineInput),
    /// The `:` command prompt.
    Command(LineInput),
    Confirm(Confirm),
    /// The help overlay, scrolled by this many lines.
    Help(u16),
    /// The message log overlay (every recent status-line message, whole), scrolled up from
    /// the newest by this many lines.
    Messages(u16),
    /// Moving over the focused tab's history: search, select, copy.
    Scroll(Box<crate::state::copy_mode::ScrollView>),
    /// The session chooser (`C-b s`): the server's sessions, line `selected` highlighted.
    Sessions {
        list: Vec<crate::server::protocol::SessionInfo>,
        selected: usize,
    },
}

/// A line for the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
    pub at: Instant,
}

/// How long a message stays in the status line.
pub const MESSAGE_TIME: Duration = Duration::from_secs(4);

/// Messages kept for the log overlay (`C-b ~`): tmux keeps 1000; these are short lines the
/// user may have missed, a screenful or two is what matters.
pub const LOG_MESSAGES: usize = 100;

/// Everything the UI draws from: the tabs (shared by every client) and the view of the client
/// being served (`view`; the app keeps the other clients' views and swaps them in).
#[derive(Default)]
pub struct State {
    pub tabs: Vec<Tab>,
    /// What one client sees: its focus, its mode, its panel toggle, its messages.
    pub view: View,
    /// Messages for every client posted while this view was served ([`State::warn_all`]),
    /// not yet given to the other views (the app hands them over before the next frame).
    pub broadcast: Vec<Message>,
    /// memmux's own figures, from the last memory sample.
    pub totals: crate::memory::summary::Totals,
    /// Counts memory samples and config reloads: the memory panel is drawn again when it moves.
    pub panel_seq: u64,
}

impl State {
    pub fn focused(&self) -> Option<&Tab> {
        self.tabs.get(self.view.focus)
    }

    pub fn focused_mut(&mut self) -> Option<&mut Tab> {
        self.tabs.get_mut(self.view.focus)
    }

    pub fn index_of(&self, id: SessionId) -> Option<usize> {
        self.tabs.iter().position(|t| t.id == id)
    }

    /// The tab with a pane running session `id`.
    pub fn tab_of(&self, id: SessionId) -> Option<usize> {
        self.tabs.iter().position(|t| t.pane_by_id(id).is_some())
    }

    /// Moves the focus, remembering the previous tab and clearing the new one's marks.
    pub fn set_focus(&mut self, index: usize) {
        if index >= self.tabs.len() || index == self.view.focus && self.focused().is_some() {
            return;
        }
        self.view.last_focus = self.focused().map(|t| t.id);
        self.view.focus = index;
        if let Some(t) = self.tabs.get_mut(index) {
            t.activity = false;
            t.bell = false;
        }
    }

    /// A message for the client being served: what its keys or commands caused.
    pub fn say(&mut self, text: impl Into<String>) {
        self.view.post(message(text.into(), false));
    }

    /// An error for the client being served (see [`State::say`]).
    pub fn warn(&mut self, text: impl Into<String>) {
        self.view.post(message(text.into(), true));
    }

    /// A message for every client: about the session's programs or memory, not about what
    /// one client did.
    pub fn say_all(&mut self, text: impl Into<String>) {
        self.post_all(message(text.into(), false));
    }

    /// An error for every client (see [`State::say_all`]).
    pub fn warn_all(&mut self, text: impl Into<String>) {
        self.post_all(message(text.into(), true));
    }

    fn post_all(&mut self, m: Message) {
        // Bounded when no other view takes them (a single client): the oldest go first.
        if self.broadcast.len() >= LOG_MESSAGES {
            self.broadcast.remove(0);
        }
        self.broadcast.push(m.clone());
        self.view.post(m);
    }

    /// Drops the served view's message once shown long enough; true if one was dropped.
    pub fn expire_message(&mut self, now: Instant) -> bool {
        self.view.expire_message(now)
    }
}

fn message(text: String, error: bool) -> Message {
    Message {
        text,
        error,
        at: Instant::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_logged_and_the_log_is_bounded() {
        let mut s = State::default();
        for i in 0..LOG_MESSAGES + 5 {
            s.say(format!("m{i}"));
        }
        s.warn("last");
        let v = &s.view;
        assert_eq!(v.log.len(), LOG_MESSAGES);
        assert_eq!(
            v.log.back().map(|m| (m.text.as_str(), m.error)),
            Some(("last", true))
        );
        assert_eq!(v.log.front().map(|m| m.text.as_str()), Some("m6"));
        assert_eq!(v.message.as_ref().map(|m| m.text.as_str()), Some("last"));
        // A view's own messages stay with it; messages for every view are kept to hand over.
        assert!(s.broadcast.is_empty());
        s.warn_all("tab 1: the program ended");
        assert_eq!(s.broadcast.len(), 1);
        assert_eq!(
            s.view.message.as_ref().map(|m| m.text.as_str()),
            Some("tab 1: the program ended")
        );
    }
}
