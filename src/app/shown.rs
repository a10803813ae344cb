//! Tells each session whether it is on someone's screen (`session::Shared::set_shown`): a
//! hidden tab's flood is then parsed at the idle priority, so that it slows the echo of the
//! tab being typed in as little as it can (`session::reader`).

use super::App;
use crate::session::SessionId;

/// What the sessions were last told.
#[derive(Default)]
pub(super) struct Shown {
    /// The sessions of the panes of every focused tab, sorted.
    ids: Vec<SessionId>,
    /// The wrapping sum of every pane's session id then: a tab opened, closed or restarted
    /// changes it (ids are never reused), and its new session (which starts shown) is told.
    all: u64,
}

impl App {
    /// Tells the sessions that were shown or hidden since the last call. Called after each
    /// event that may move a view's focus and before each frame; costs a compare when
    /// nothing moved (a sum over the panes, and a sweep of them with an atomic store each
    /// when something did: microseconds for 1,000 tabs).
    pub(super) fn note_shown(&mut self) {
        // Every view's focused tab is on a screen; the first view's even while no client
        // has it (its tab is shown again the moment one attaches, at full priority).
        let mut focus = self.other_focus();
        focus.push(self.state.view.focus);
        let mut ids: Vec<SessionId> = focus
            .iter()
            .filter_map(|&i| self.state.tabs.get(i))
            .flat_map(|t| t.panes.iter().map(|p| p.session.id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let all = self
            .state
            .tabs
            .iter()
            .flat_map(|t| &t.panes)
            .fold(0u64, |sum, p| sum.wrapping_add(p.session.id));
        if ids == self.shown.ids && all == self.shown.all {
            return;
        }
        for pane in self.state.tabs.iter().flat_map(|t| &t.panes) {
            let shown = ids.binary_search(&pane.session.id).is_ok();
            pane.session.shared.set_shown(shown);
        }
        self.shown = Shown { ids, all };
    }
}
