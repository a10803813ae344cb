//! What one client sees of the shared tabs: which tab it focuses, how its keys are taken (the
//! mode: prefix, prompts, help, scroll view, chooser), whether it shows the memory panel.
//! Two clients of one session each have one, so one can read the help while the other types.

use std::collections::VecDeque;
use std::time::Instant;

use super::{LOG_MESSAGES, MESSAGE_TIME, Message, Mode};
use crate::session::SessionId;

#[derive(Default)]
pub struct View {
    /// Index into `State::tabs` of the focused tab.
    pub focus: usize,
    /// The tab focused before the current one (for `last-tab`).
    pub last_focus: Option<SessionId>,
    pub mode: Mode,
    /// The user's toggle of the memory panel, overriding the configured `show`.
    pub panel_override: Option<bool>,
    /// Where the left button went down in a pane whose program does not take the mouse
    /// (pane column, row): a drag from there opens the scroll view selecting, as in tmux.
    pub press: Option<(u16, u16)>,
    /// The memory panel shows the focused tab's breakdown (`toggle-memory-detail`).
    pub mem_detail: bool,
    /// The status-line message: this client's own (a prompt's error, a command's result)
    /// or one every client got (a tab's program, the memory sampler; `State::warn_all`).
    pub message: Option<Message>,
    /// The last [`LOG_MESSAGES`] messages this client was shown, oldest first, for the log
    /// overlay.
    pub log: VecDeque<Message>,
}

impl View {
    /// Shows `m` in the status line and keeps it in the log.
    pub fn post(&mut self, m: Message) {
        if self.log.len() >= LOG_MESSAGES {
            self.log.pop_front();
        }
        self.log.push_back(m.clone());
        self.message = Some(m);
    }

    /// Drops a message that has been shown long enough; true if one was dropped.
    pub fn expire_message(&mut self, now: Instant) -> bool {
        if self
            .message
            .as_ref()
            .is_some_and(|m| now.duration_since(m.at) >= MESSAGE_TIME)
        {
            self.message = None;
            return true;
        }
        false
    }

    /// When the message shown now goes.
    pub fn message_until(&self) -> Option<Instant> {
        self.message.as_ref().map(|m| m.at + MESSAGE_TIME)
    }
}
