//! The panes of the focused tab other than the focused one. Like the focused pane, each keeps
//! the rows its screen did not change since the last frame (`Canvas::pane_reuse`): a pane
//! printing a line a second redraws that line, not the pane, and the echo of a key in the
//! focused pane redraws none of them. Only the focused pane takes direct draws
//! (`ui::direct`): it is where the user types.

use crate::config::Config;
use crate::state::Tab;
use crate::state::layout::Geometry;

use super::compositor::Canvas;
use super::{ended, pane};

/// Draws every visible pane of `tab` but the focused one. `overlay`: something is drawn over
/// the panes this frame, so none of their rows is kept for the next.
pub fn render(tab: &Tab, g: &Geometry, frame: &mut Canvas<'_>, config: &Config, overlay: bool) {
    let focus = tab.layout.focus();
    for (id, area) in g.visible().filter(|(id, _)| *id != focus) {
        let Some(p) = tab.pane_by_id(id) else {
            continue;
        };
        // An ended pane's note draws over its screen: then nothing is kept.
        let running = p.session.is_running();
        let source = (!overlay && running).then(|| super::pane_key(&p.session));
        let term = p.session.shared.lock_term();
        let damage = frame.pane_changes(area, source, term.changes());
        let buf = frame.buffer_mut();
        let mut rows = match damage {
            Some(damage) => pane::render_rows(term.screen(), area, buf, |r| damage.contains(r)),
            None => pane::render_all(term.screen(), area, buf),
        };
        pane::apply_palette(term.palette(), area, buf, &mut rows);
        drop(term);
        frame.pane_rows = rows;
        if !running {
            ended::render(&p.session, area, frame.buffer_mut(), &config.colors);
            frame.pane_rows.clear();
        }
    }
}
