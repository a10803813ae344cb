//! Where the panel's tabs go: the size of each tab's block, the rows of its panes beneath it,
//! and which tabs are shown when not all fit.

use super::{FULL, MEDIUM, SHORT, panes};
use crate::state::State;

/// How the tabs' blocks are laid out in the panel's body: rows per tab block (with the blank
/// row after it), rows per pane beneath a tab of several panes, and the window of tabs shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    pub per: u16,
    /// Rows per pane of every tab (2: chart line and biggest process; 1: chart line).
    pub panes: u16,
    /// Rows per pane of the focused tab only, when the others get none.
    pub focused_panes: u16,
    pub first: usize,
    pub count: usize,
}

impl Plan {
    pub fn level(&self, tab: usize, focus: usize) -> u16 {
        if tab == focus {
            self.panes.max(self.focused_panes)
        } else {
            self.panes
        }
    }
}

/// The roomiest layout that shows every tab in `height` rows: the biggest tab block first,
/// then two rows per pane before one; then one line per tab with the focused tab's panes
/// only; past that, a window of one-line tabs around the focused one (its panes shown when
/// they fit). The last block needs no blank row after it.
pub(super) fn plan(state: &State, height: u16) -> Plan {
    let tabs = &state.tabs;
    let total = |per: u16, level: u16, focused: u16| -> u32 {
        tabs.iter()
            .enumerate()
            .map(|(i, t)| {
                let l = if i == state.view.focus {
                    level.max(focused)
                } else {
                    level
                };
                u32::from(per) + u32::from(panes::rows(t, l))
            })
            .sum::<u32>()
            .saturating_sub(u32::from(per > 1))
    };
    let all = |per, panes, focused_panes| Plan {
        per,
        panes,
        focused_panes,
        first: 0,
        count: tabs.len(),
    };
    for per in [FULL + 1, MEDIUM + 1, SHORT + 1] {
        for level in [2, 1] {
            if total(per, level, 0) <= u32::from(height) {
                return all(per, level, 0);
            }
        }
    }
    for (level, focused) in [(1, 0), (0, 2), (0, 1), (0, 0)] {
        if total(1, level, focused) <= u32::from(height) {
            return all(1, level, focused);
        }
    }
    // A window of one-line tabs containing the focused one, the tabs before it first (the
    // focused tab near the bottom, as the window moves with it).
    let focus = state.view.focus.min(tabs.len().saturating_sub(1));
    let own = |i: usize, focused: u16| {
        let l = if i == focus { focused } else { 0 };
        1 + tabs.get(i).map_or(0, |t| panes::rows(t, l))
    };
    let focused = [2, 1, 0]
        .into_iter()
        .find(|f| own(focus, *f) <= height)
        .unwrap_or(0);
    let mut used = own(focus, focused);
    let (mut first, mut last) = (focus, focus);
    while first > 0 && used < height {
        first -= 1;
        used += 1;
    }
    while last + 1 < tabs.len() && used < height {
        last += 1;
        used += 1;
    }
    Plan {
        per: 1,
        panes: 0,
        focused_panes: focused,
        first,
        count: (last + 1 - first).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{CommandSpec, Context, Session, Start, Status};
    use crate::state::layout::Axis;
    use crate::state::{Pane, Tab};
    use ratatui::layout::Rect;

    fn session(ctx: &Context, id: u64) -> Session {
        let spec = CommandSpec {
            argv: vec!["sh".into()],
            cwd: None,
            term: "xterm".into(),
        };
        Session::without_program(Start::unheard(id, spec, 10, 40), ctx, Status::Running)
    }

    /// `n` tabs; tab `split` has three panes.
    fn state(n: u64, split: usize, focus: usize) -> State {
        let ctx = Context::new(Default::default(), 64 << 20);
        let mut s = State::default();
        for k in 0..n {
            let mut t = Tab::new(session(&ctx, k * 10 + 1), 10);
            if k as usize == split {
                let body = Rect::new(0, 0, 80, 22);
                for id in [k * 10 + 2, k * 10 + 3] {
                    t.layout.split(Axis::Columns, id, body).unwrap();
                    t.panes.push(Pane::new(session(&ctx, id)));
                }
            }
            s.tabs.push(t);
        }
        s.view.focus = focus;
        s
    }

    #[test]
    fn tab_blocks_shrink_before_pane_rows_then_a_window_keeps_the_focused_tab() {
        let s = state(2, 0, 1);
        let p = plan(&s, 32);
        assert_eq!((p.per, p.panes, p.first, p.count), (FULL + 1, 2, 0, 2));
        // Full blocks with pane rows need 16 or more rows: medium ones with a row per pane.
        let p = plan(&s, 12);
        assert_eq!((p.per, p.panes), (MEDIUM + 1, 1));
        // 30 one-line tabs in 10 rows: a window ending near the focused tab, whose three
        // panes get a line each (4 rows) when it is the split one.
        let s = state(30, 20, 20);
        let p = plan(&s, 10);
        assert_eq!((p.per, p.panes, p.focused_panes), (1, 0, 2));
        assert_eq!(
            (p.first, p.count),
            (17, 4),
            "6 rows for its panes, 1 for itself, 3 for the tabs before it"
        );
        let s = state(30, 5, 20);
        let p = plan(&s, 10);
        assert_eq!((p.first, p.count), (11, 10));
    }
}
