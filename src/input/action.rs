//! Every user intent memmux knows, by the name the config file and the command prompt use.

use std::fmt;
use std::str::FromStr;

/// One thing the user can ask memmux to do. Key bindings map chords to these; the help overlay
/// lists them; the command prompt (`Ctrl-b :`) accepts their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    NewTab,
    NextTab,
    PrevTab,
    LastTab,
    /// Tabs are numbered from 1 as the user sees them; this holds that number (1..=9, the
    /// ones with keys; `select-tab N` at the prompt reaches any tab).
    SelectTab(u8),
    /// Asks for a tab number and goes there (tmux's `'`).
    GotoTab,
    /// Moves the focused tab one place left / right in the bar (`move-tab N` at the prompt
    /// moves it to place N).
    MoveTabLeft,
    MoveTabRight,
    RenameTab,
    CloseTab,
    RestartTab,
    Quit,
    Help,
    SendPrefix,
    ScrollMode,
    ScrollPageUp,
    PasteBuffer,
    ClearHistory,
    ToggleMemoryPanel,
    ExportMemory,
    CommandPrompt,
    ReloadConfig,
    /// The log of recent status-line messages, each whole (tmux's `show-messages`).
    ShowMessages,
    /// With no argument (from a key): the prompt, filled with `set-memory-limit `.
    SetMemoryLimit,
    FreezeTab,
    ThawTab,
    ToggleMemoryDetail,
    /// Detaches this client from the server; the session goes on.
    Detach,
    /// Stops this client, as SIGTSTP would (the shell's `fg` resumes it).
    SuspendClient,
    /// The server's sessions, to switch this client to one (tmux's `choose-session`).
    ChooseSession,
    /// Renames this session (asks; `rename-session NAME` at the prompt).
    RenameSession,
    /// Splits the focused pane left | right (tmux's `%`).
    SplitRight,
    /// Splits the focused pane top / bottom (tmux's `"`).
    SplitDown,
    FocusPaneLeft,
    FocusPaneRight,
    FocusPaneUp,
    FocusPaneDown,
    NextPane,
    ZoomPane,
    ResizePaneLeft,
    ResizePaneRight,
    ResizePaneUp,
    ResizePaneDown,
    EvenLayout,
    SwapPanePrev,
    SwapPaneNext,
}

impl Action {
    /// Every action, in the order the help overlay shows them.
    pub fn all() -> Vec<Action> {
        let mut v = vec![
            Action::NewTab,
            Action::NextTab,
            Action::PrevTab,
            Action::LastTab,
        ];
        v.extend((1..=9).map(Action::SelectTab));
        v.extend([
            Action::GotoTab,
            Action::MoveTabLeft,
            Action::MoveTabRight,
            Action::RenameTab,
            Action::CloseTab,
            Action::RestartTab,
            Action::Quit,
            Action::Help,
            Action::SendPrefix,
            Action::ScrollMode,
            Action::ScrollPageUp,
            Action::PasteBuffer,
            Action::ClearHistory,
            Action::ToggleMemoryPanel,
            Action::ExportMemory,
            Action::CommandPrompt,
            Action::ReloadConfig,
            Action::ShowMessages,
            Action::SetMemoryLimit,
            Action::FreezeTab,
            Action::ThawTab,
            Action::ToggleMemoryDetail,
            Action::Detach,
            Action::SuspendClient,
            Action::ChooseSession,
            Action::RenameSession,
            Action::SplitRight,
            Action::SplitDown,
            Action::FocusPaneLeft,
            Action::FocusPaneRight,
            Action::FocusPaneUp,
            Action::FocusPaneDown,
            Action::NextPane,
            Action::ZoomPane,
            Action::ResizePaneLeft,
            Action::ResizePaneRight,
            Action::ResizePaneUp,
            Action::ResizePaneDown,
            Action::EvenLayout,
            Action::SwapPanePrev,
            Action::SwapPaneNext,
        ]);
        v
    }

    /// The name used in the config file's `[keys]` table and at the command prompt.
    pub fn name(self) -> String {
        let s = match self {
            Action::NewTab => "new-tab",
            Action::NextTab => "next-tab",
            Action::PrevTab => "prev-tab",
            Action::LastTab => "last-tab",
            Action::SelectTab(n) => return format!("select-tab-{n}"),
            Action::GotoTab => "goto-tab",
            Action::MoveTabLeft => "move-tab-left",
            Action::MoveTabRight => "move-tab-right",
            Action::RenameTab => "rename-tab",
            Action::CloseTab => "close-tab",
            Action::RestartTab => "restart-tab",
            Action::Quit => "quit",
            Action::Help => "help",
            Action::SendPrefix => "send-prefix",
            Action::ScrollMode => "scroll-mode",
            Action::ScrollPageUp => "scroll-page-up",
            Action::PasteBuffer => "paste-buffer",
            Action::ClearHistory => "clear-history",
            Action::ToggleMemoryPanel => "toggle-memory-panel",
            Action::ExportMemory => "export-memory",
            Action::CommandPrompt => "command-prompt",
            Action::ReloadConfig => "reload-config",
            Action::ShowMessages => "show-messages",
            Action::SetMemoryLimit => "set-memory-limit",
            Action::FreezeTab => "freeze-tab",
            Action::ThawTab => "thaw-tab",
            Action::ToggleMemoryDetail => "toggle-memory-detail",
            Action::Detach => "detach-client",
            Action::SuspendClient => "suspend-client",
            Action::ChooseSession => "choose-session",
            Action::RenameSession => "rename-session",
            Action::SplitRight => "split-right",
            Action::SplitDown => "split-down",
            Action::FocusPaneLeft => "focus-pane-left",
            Action::FocusPaneRight => "focus-pane-right",
            Action::FocusPaneUp => "focus-pane-up",
            Action::FocusPaneDown => "focus-pane-down",
            Action::NextPane => "next-pane",
            Action::ZoomPane => "zoom-pane",
            Action::ResizePaneLeft => "resize-pane-left",
            Action::ResizePaneRight => "resize-pane-right",
            Action::ResizePaneUp => "resize-pane-up",
            Action::ResizePaneDown => "resize-pane-down",
            Action::EvenLayout => "even-layout",
            Action::SwapPanePrev => "swap-pane-prev",
            Action::SwapPaneNext => "swap-pane-next",
        };
        s.to_string()
    }

    /// One line for the help overlay.
    pub fn describe(self) -> String {
        let s = match self {
            Action::NewTab => "new tab in the focused tab's directory",
            Action::NextTab => "next tab",
            Action::PrevTab => "previous tab",
            Action::LastTab => "the tab focused before this one",
            Action::SelectTab(n) => return format!("go to tab {n}"),
            Action::GotoTab => "go to a tab by number (asks; any number)",
            Action::MoveTabLeft => "move the tab one place left",
            Action::MoveTabRight => "move the tab one place right",
            Action::RenameTab => "rename the focused tab",
            Action::CloseTab => "close the pane; the last one closes the tab (asks)",
            Action::RestartTab => "restart the focused tab's command",
            Action::Quit => "quit memmux (asks)",
            Action::Help => "this help",
            Action::SendPrefix => "send the prefix key to the program",
            Action::ScrollMode => "scroll view: history, search, copy",
            Action::ScrollPageUp => "scroll view, one page up",
            Action::PasteBuffer => "paste memmux's copy buffer",
            Action::ClearHistory => "clear the focused tab's scrollback",
            Action::ToggleMemoryPanel => "show or hide the memory panel",
            Action::ExportMemory => "write memory history to a CSV file",
            Action::CommandPrompt => "command prompt",
            Action::ReloadConfig => "reload the config file",
            Action::ShowMessages => "recent messages, each whole",
            Action::SetMemoryLimit => "focused tab's memory limit, -p its pane's (SIZE|none)",
            Action::FreezeTab => "freeze every process of the focused tab",
            Action::ThawTab => "thaw the focused tab",
            Action::ToggleMemoryDetail => "the focused tab's memory breakdown in the panel",
            Action::Detach => "detach: the session goes on (memmux attach)",
            Action::SuspendClient => "suspend memmux's client (fg resumes it)",
            Action::ChooseSession => "choose a session (with its memory) to switch to",
            Action::RenameSession => "rename this session",
            Action::SplitRight => "split the pane: a new shell on the right",
            Action::SplitDown => "split the pane: a new shell below",
            Action::FocusPaneLeft => "focus the pane to the left",
            Action::FocusPaneRight => "focus the pane to the right",
            Action::FocusPaneUp => "focus the pane above",
            Action::FocusPaneDown => "focus the pane below",
            Action::NextPane => "focus the next pane",
            Action::ZoomPane => "zoom the pane to the whole tab, or back",
            Action::ResizePaneLeft => "move the pane's border left one cell",
            Action::ResizePaneRight => "move the pane's border right one cell",
            Action::ResizePaneUp => "move the pane's border up one cell",
            Action::ResizePaneDown => "move the pane's border down one cell",
            Action::EvenLayout => "next even layout: side by side, stacked, tiled",
            Action::SwapPanePrev => "swap the pane with the previous one",
            Action::SwapPaneNext => "swap the pane with the next one",
        };
        s.to_string()
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// An unknown action name, with the closest known one when there is a near miss.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
pub struct UnknownAction {
    pub name: String,
    pub suggestion: Option<String>,
}

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all = Action::all();
        if let Some(a) = all.iter().find(|a| a.name() == s) {
            return Ok(*a);
        }
        let names: Vec<String> = all.iter().map(|a| a.name()).collect();
        Err(UnknownAction {
            name: s.to_string(),
            suggestion: crate::util::closest(s, names.iter().map(String::as_str)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Action::all() {
            assert_eq!(a.name().parse::<Action>(), Ok(a));
        }
    }

    #[test]
    fn near_miss_is_suggested() {
        let err = "new-tabb".parse::<Action>().unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("new-tab"));
        assert!(err.to_string().contains("did you mean `new-tab`"));
        let err = "frobnicate".parse::<Action>().unwrap_err();
        assert_eq!(err.suggestion, None);
    }
}
