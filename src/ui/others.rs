//! The panes of the focused tab other than the focused one: drawn whole each frame from their
//! screens (the compositor sends only the cells that changed). The focused pane alone keeps
//! rows between frames and takes direct draws (`ui::direct`): it is where the user types.

use ratatui::buffer::Buffer;

use crate::config::Config;
use crate::state::Tab;
use crate::state::layout::Geometry;

use super::{ended, pane};

pub fn render(tab: &Tab, g: &Geometry, buf: &mut Buffer, config: &Config) {
    let focus = tab.layout.focus();
    for (id, area) in g.visible().filter(|(id, _)| *id != focus) {
        let Some(p) = tab.pane_by_id(id) else {
            continue;
        };
        let mut term = p.session.shared.lock_term();
        // Taken so it does not pile up: the whole pane is drawn anyway.
        term.take_damage();
        let mut rows = pane::render_all(term.screen(), area, buf);
        pane::apply_palette(term.palette(), area, buf, &mut rows);
        drop(term);
        ended::render(&p.session, area, buf, &config.colors);
    }
}
