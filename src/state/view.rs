//! What one client sees of the shared tabs: which tab it focuses, how its keys are taken (the
//! mode: prefix, prompts, help, scroll view, chooser), whether it shows the memory panel.
//! Two clients of one session each have one, so one can read the help while the other types.

use super::Mode;
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
}
