//! A frame of the memory panel alone. A sample that changed the panel and nothing else (a
//! chart column, a footer figure) redraws the panel's part that changed
//! (`Compositor::draw_keyed`), not the whole screen: at 1,000 tabs a column's whole frame
//! sized every tab's sessions, drew the tab bar over 1,000 tabs and the panel's plan and
//! scale over every tab, and compared the screen (`perf`: half the UI's idle CPU).

use std::io;

use super::App;
use crate::state::Mode;
use crate::ui;
use crate::ui::memory::Part;

/// Which parts of the panel a sample changed (see `ui::memory::Part`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PanelChange {
    pub tabs: bool,
    pub footer: bool,
}

impl PanelChange {
    pub fn any(&self) -> bool {
        self.tabs || self.footer
    }
}

impl App {
    /// Draws the panel's parts that changed on the first view, as they are in the last
    /// frame's places. Asks for a whole frame instead (`redraw`) when they are not there as
    /// they were (the footer grew a line, a resize), under an overlay (drawn over the
    /// panel), or with several views (each draws its own frame).
    pub(super) fn panel_frame<W: io::Write>(
        &mut self,
        screen: &ui::direct::Shared<W>,
    ) -> anyhow::Result<()> {
        let change = std::mem::take(&mut self.panel_change);
        let overlay = matches!(
            self.state.view.mode,
            Mode::Help(_) | Mode::Messages(_) | Mode::Sessions { .. }
        );
        if !self.views.is_empty() || overlay || self.resized {
            self.redraw();
            return Ok(());
        }
        // Nobody sees the first view: its next frame draws the panel (its keys differ).
        let Some(area) = self.panel.filter(|_| self.primary_shown) else {
            return Ok(());
        };
        let (tabs, footer) = ui::memory::parts(&self.state, area);
        let (state, config) = (&self.state, &self.config);
        let render =
            |part| move |buf: &mut _| ui::memory::render_part(state, config, area, part, buf);
        let mut s = screen.lock();
        let comp = &mut s.comp;
        let mut drawn = comp.area() == self.area;
        comp.begin_keyed();
        if drawn && change.tabs {
            drawn = comp.draw_keyed(tabs, ui::panel_key(state), render(Part::Tabs))?;
        }
        if drawn && change.footer {
            drawn = match footer {
                Some(f) => {
                    comp.draw_keyed(f, ui::memory::footer_key(state), render(Part::Footer))?
                }
                None => false,
            };
        }
        if drawn {
            comp.place_cursor_again()?;
        }
        drop(s);
        if !drawn {
            self.redraw();
        }
        Ok(())
    }
}
