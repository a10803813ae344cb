//! The focused tab's panes: splitting, closing, focus, sizes, zoom, and a tab's memory figure
//! as the sum of its panes'. The geometry is `state::layout`'s; this starts and stops the
//! sessions and gives every pane its size at once after each change.

use super::*;
use crate::memory::sampler::TabFigures;
use crate::state::Pane;
use crate::state::layout::{Axis, Direction, PaneId};

impl App {
    /// Splits the focused pane along `axis`; a new shell in the focused pane's directory takes
    /// the second part and the focus. A pane too small says so and nothing changes.
    pub(super) fn split_pane(&mut self, axis: Axis) {
        let body = self.body;
        let id = self.next_id;
        let Some(tab) = self.state.focused() else {
            return;
        };
        let mut layout = tab.layout.clone();
        if let Err(e) = layout.split(axis, id, body) {
            self.state.warn(e.to_string());
            return;
        }
        let cwd = tab.session().cwd();
        // Started at the size it gets: its first prompt is drawn for the right width.
        self.pane = layout.geometry(body).rect_of(id).unwrap_or_default();
        let session = self.start_session(None, cwd);
        if let Some(tab) = self.state.focused_mut() {
            tab.layout = layout;
            tab.panes.push(Pane::new(session));
        }
        self.panes_changed();
        self.schedule_title_check();
        self.sync_roster();
    }

    /// `close-tab` on a tab of several panes closes the focused pane (asking while its program
    /// runs); on a tab of one, the tab.
    pub(super) fn close_focused(&mut self) {
        let Some(tab) = self.state.focused() else {
            return;
        };
        let (tab_id, session) = (tab.id, tab.session());
        let several = tab.panes.len() > 1;
        match (several, session.is_running()) {
            (true, true) => self.state.view.mode = Mode::Confirm(Confirm::ClosePane(session.id)),
            (true, false) => self.close_pane(session.id),
            (false, true) => self.state.view.mode = Mode::Confirm(Confirm::CloseTab(tab_id)),
            (false, false) => self.close_tab(tab_id),
        }
    }

    /// Closes the pane running session `id`, hanging up its program; the pane beside it takes
    /// its space (and the focus, if it had it). The last pane closes the tab.
    pub fn close_pane(&mut self, id: SessionId) {
        let Some(i) = self.state.tab_of(id) else {
            return;
        };
        let tab = &mut self.state.tabs[i];
        if tab.panes.len() == 1 {
            let tab_id = tab.id;
            self.close_tab(tab_id);
            return;
        }
        tab.layout.remove(id);
        if let Some(k) = tab.panes.iter().position(|p| p.session.id == id) {
            let mut pane = tab.panes.remove(k);
            let account = pane.session.enter();
            pane.session.hang_up();
            drop(pane);
            drop(account);
        }
        self.panes_changed();
        self.sync_roster();
    }

    /// Focuses pane `id` of the focused tab.
    pub(super) fn focus_pane(&mut self, id: PaneId) {
        let Some(tab) = self.state.focused_mut() else {
            return;
        };
        if tab.layout.focus() != id && tab.layout.set_focus(id) {
            self.panes_changed();
        }
    }

    /// Focuses the pane beside the focused one in `dir`.
    pub(super) fn focus_direction(&mut self, dir: Direction) {
        let body = self.body;
        let Some(tab) = self.state.focused() else {
            return;
        };
        match tab.layout.neighbour(dir, body) {
            Some(id) => self.focus_pane(id),
            None => self
                .state
                .say(format!("no pane {}", direction_word(dir, "to the"))),
        }
    }

    /// Focuses the pane `step` places on in the tab's order.
    pub(super) fn cycle_pane(&mut self, step: isize) {
        let Some(tab) = self.state.focused() else {
            return;
        };
        let next = tab.layout.cycle(step);
        self.focus_pane(next);
    }

    /// Moves the focused pane's border in `dir` by one cell.
    pub(super) fn resize_pane(&mut self, dir: Direction) {
        let body = self.body;
        let Some(tab) = self.state.focused_mut() else {
            return;
        };
        if tab.layout.resize(dir, body) {
            self.panes_changed();
        } else {
            self.state.say(format!(
                "no border to move {}",
                direction_word(dir, "to the")
            ));
        }
    }

    pub(super) fn toggle_zoom(&mut self) {
        let Some(tab) = self.state.focused_mut() else {
            return;
        };
        if tab.layout.toggle_zoom() {
            self.panes_changed();
        } else {
            self.state.say("one pane: nothing to zoom");
        }
    }

    /// Swaps the focused pane with the one `step` places on.
    pub(super) fn swap_pane(&mut self, step: isize) {
        let Some(tab) = self.state.focused_mut() else {
            return;
        };
        if tab.layout.swap(step) {
            self.panes_changed();
        } else {
            self.state.say("one pane: nothing to swap");
        }
    }

    /// Lays the panes out in the next even layout.
    pub(super) fn even_layout(&mut self) {
        let Some(tab) = self.state.focused_mut() else {
            return;
        };
        if tab.panes.len() < 2 {
            self.state.say("one pane: nothing to lay out");
            return;
        }
        let which = tab.layout.cycle_even();
        self.state.say(format!("layout: {}", which.name()));
        self.panes_changed();
    }

    /// A mouse press in the body focuses the pane under it; true when the focus moved.
    pub(super) fn click_focus(&mut self, x: u16, y: u16) -> bool {
        let body = self.body;
        let Some(tab) = self.state.focused() else {
            return false;
        };
        match tab.layout.pane_at(body, x, y) {
            Some(id) if id != tab.layout.focus() => {
                self.focus_pane(id);
                true
            }
            _ => false,
        }
    }

    /// A press on a border starts dragging it, a drag moves it, the release ends it. True when
    /// the event was used so.
    pub(super) fn drag_border(&mut self, m: &MouseEvent) -> bool {
        let body = self.body;
        let Some(tab) = self.state.focused_mut() else {
            return false;
        };
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.border_drag = tab.layout.border_at(body, m.column, m.row);
                self.border_drag.is_some()
            }
            MouseEventKind::Drag(MouseButton::Left) => {
                let Some(path) = &self.border_drag else {
                    return false;
                };
                if tab.layout.drag_border(body, path, m.column, m.row) {
                    self.panes_changed();
                }
                true
            }
            MouseEventKind::Up(_) => self.border_drag.take().is_some(),
            _ => false,
        }
    }

    /// After any change to the panes: every pane gets its size now (not at the next frame),
    /// and the frame is drawn at once.
    fn panes_changed(&mut self) {
        let area = self.area;
        self.apply_layout(area);
        self.redraw_now();
    }
}

fn direction_word(dir: Direction, to: &str) -> String {
    match dir {
        Direction::Left => format!("{to} left"),
        Direction::Right => format!("{to} right"),
        Direction::Up => "above".to_string(),
        Direction::Down => "below".to_string(),
    }
}

/// The snapshot's figures per tab: the sampler measures each pane (each is a session with its
/// own processes); a tab of several panes gets the sum of its panes' latest figures, under the
/// tab's id, once per snapshot in which any of them was measured.
pub(super) fn tab_figures(state: &mut State, figs: &[TabFigures]) -> Vec<TabFigures> {
    let mut out = Vec::new();
    let mut touched: Vec<usize> = Vec::new();
    for fig in figs {
        let Some(i) = state.tab_of(fig.id) else {
            continue;
        };
        let tab = &mut state.tabs[i];
        if tab.panes.len() == 1 {
            tab.mem.pane_figures.clear();
            out.push(TabFigures {
                id: tab.id,
                ..fig.clone()
            });
            continue;
        }
        let panes = &tab.panes;
        tab.mem
            .pane_figures
            .retain(|f| f.id != fig.id && panes.iter().any(|p| p.session.id == f.id));
        tab.mem.pane_figures.push(fig.clone());
        if !touched.contains(&i) {
            touched.push(i);
        }
    }
    for i in touched {
        let tab = &state.tabs[i];
        if let Some(sum) = sum_figures(tab.id, tab.layout.focus(), &tab.mem.pane_figures) {
            out.push(sum);
        }
    }
    out
}

/// The sum of panes' figures: bytes, processes and history added up; the biggest process of
/// all; the focused pane's source, limit and cgroup details.
fn sum_figures(id: SessionId, focus: SessionId, figs: &[TabFigures]) -> Option<TabFigures> {
    let first = figs.iter().find(|f| f.id == focus).or(figs.first())?;
    let mut sum = TabFigures {
        id,
        ..first.clone()
    };
    let s = &mut sum.sample;
    s.unix_ms = figs
        .iter()
        .map(|f| f.sample.unix_ms)
        .max()
        .unwrap_or(s.unix_ms);
    s.tree_bytes = figs.iter().map(|f| f.sample.tree_bytes).sum();
    s.heap_bytes = figs.iter().map(|f| f.sample.heap_bytes).sum();
    s.pss_bytes = figs
        .iter()
        .map(|f| f.sample.pss_bytes)
        .try_fold(0u64, |acc, p| p.map(|p| acc + p));
    s.processes = figs.iter().map(|f| f.sample.processes).sum();
    s.scrollback_rows = figs.iter().map(|f| f.sample.scrollback_rows).sum();
    s.scrollback_bytes = figs.iter().map(|f| f.sample.scrollback_bytes).sum();
    sum.biggest = figs
        .iter()
        .filter_map(|f| f.biggest.clone())
        .max_by_key(|b| b.rss_minus_shared);
    let d = &mut sum.detail;
    d.rss_minus_shared = figs.iter().map(|f| f.detail.rss_minus_shared).sum();
    d.oom_kills = figs.iter().map(|f| f.detail.oom_kills).sum();
    d.oom_victim = figs.iter().find_map(|f| f.detail.oom_victim.clone());
    d.frozen = figs.iter().any(|f| f.detail.frozen);
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::history::Sample;

    fn fig(id: u64, tree: u64, procs: u32) -> TabFigures {
        TabFigures {
            id,
            sample: Sample {
                unix_ms: id,
                tree_bytes: tree,
                heap_bytes: 10,
                pss_bytes: Some(tree),
                processes: procs,
                scrollback_rows: 1,
                scrollback_bytes: 2,
            },
            biggest: None,
            detail: Default::default(),
        }
    }

    #[test]
    fn a_tab_of_panes_is_the_sum_of_its_panes() {
        let sum = sum_figures(7, 2, &[fig(1, 100, 1), fig(2, 50, 3)]).unwrap();
        assert_eq!(sum.id, 7);
        assert_eq!(sum.sample.tree_bytes, 150);
        assert_eq!(sum.sample.pss_bytes, Some(150));
        assert_eq!(sum.sample.processes, 4);
        assert_eq!(sum.sample.heap_bytes, 20);
        assert_eq!(sum.sample.unix_ms, 2);
        // A pane whose PSS is not known leaves the sum unknown, not short.
        let mut b = fig(2, 50, 3);
        b.sample.pss_bytes = None;
        let sum = sum_figures(7, 2, &[fig(1, 100, 1), b]).unwrap();
        assert_eq!(sum.sample.pss_bytes, None);
        assert!(sum_figures(7, 2, &[]).is_none());
    }
}
