//! The focused tab's panes: splitting, closing, focus, sizes, zoom (a tab's memory figure as
//! the sum of its panes' is `state::pane_memory`'s). The geometry is `state::layout`'s; this starts and stops the
//! sessions and gives every pane its size at once after each change.

use super::*;
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
        let group = tab.mem.limit.group.clone();
        // Started at the size it gets: its first prompt is drawn for the right width.
        self.pane = layout.geometry(body).rect_of(id).unwrap_or_default();
        let session = self.start_session(None, cwd, group);
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
