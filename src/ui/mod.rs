//! Drawing: tab bar on top, the focused pane, the status line at the bottom, overlays.
//! Reads the state and the sessions' screens; does no I/O.

pub mod help;
pub mod pane;
pub mod scroll;
pub mod status;
pub mod tabs;

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::config::Config;
use crate::state::{Mode, State};

/// Where each part of the UI goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub tab_bar: Option<Rect>,
    pub pane: Rect,
    pub status: Option<Rect>,
}

impl Layout {
    /// The layout for a terminal of `area`. The pane is never smaller than 1x1; with fewer than
    /// three rows the bars give way to it.
    pub fn new(area: Rect) -> Layout {
        let w = area.width.max(1);
        let h = area.height.max(1);
        let (tab_bar, status) = match h {
            1 => (None, None),
            2 => (Some(Rect::new(area.x, area.y, w, 1)), None),
            _ => (
                Some(Rect::new(area.x, area.y, w, 1)),
                Some(Rect::new(area.x, area.y + h - 1, w, 1)),
            ),
        };
        let top = u16::from(tab_bar.is_some());
        let bottom = u16::from(status.is_some());
        let pane = Rect::new(area.x, area.y + top, w, h - top - bottom);
        Layout {
            tab_bar,
            pane,
            status,
        }
    }
}

/// Draws one frame. Returns nothing: the cursor is placed through `frame`.
pub fn draw(frame: &mut Frame<'_>, state: &State, config: &Config) {
    let layout = Layout::new(frame.area());
    if let Some(area) = layout.tab_bar {
        tabs::render(state, &config.colors, area, frame.buffer_mut());
    }
    let mut cursor = None;
    if let Some(tab) = state.focused() {
        let term = tab.session.shared.lock_term();
        if let Mode::Scroll(view) = &state.mode {
            cursor = scroll::render(view, &term, layout.pane, frame.buffer_mut(), &config.colors);
        } else {
            pane::render_screen(term.screen(), layout.pane, frame.buffer_mut());
            if matches!(state.mode, Mode::Normal | Mode::Prefix) {
                cursor = pane::cursor_position(term.screen(), layout.pane);
            }
        }
    }
    if let Some(area) = layout.status {
        if let Some(c) = status::render(state, config, area, frame.buffer_mut()) {
            cursor = Some(c);
        }
    }
    if let Mode::Help(scroll) = state.mode {
        help::render(&config.keymap, scroll, frame.area(), frame.buffer_mut());
        cursor = None;
    }
    if let Some((x, y)) = cursor {
        frame.set_cursor_position((x, y));
    }
}
