//! Drawing: tab bar on top, the focused pane, the memory panel on the right, the status line
//! at the bottom, overlays. Reads the state and the sessions' screens; does no I/O.

pub mod borders;
pub mod compositor;
pub mod direct;
pub mod ended;
pub mod help;
pub mod memory;
pub mod messages;
pub mod others;
pub mod pane;
pub mod scroll;
pub mod sessions;
pub mod status;
pub mod tabs;
pub mod text;

use ratatui::layout::Rect;

pub use compositor::{Canvas, Compositor};

use crate::config::{AUTO_MIN_COLUMNS, Config, PanelShow};
use crate::state::{Mode, State};

/// Where each part of the UI goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub tab_bar: Option<Rect>,
    pub pane: Rect,
    pub panel: Option<Rect>,
    pub status: Option<Rect>,
}

/// 20: narrowest pane worth showing next to the panel; below it the panel gives way.
const MIN_PANE_WIDTH: u16 = 20;

impl Layout {
    /// The layout for a terminal of `area`, with a memory panel `panel` columns wide when
    /// given. The pane is never smaller than 1x1; with fewer than three rows the bars give way
    /// to it, and on a narrow terminal the panel does.
    pub fn new(area: Rect, panel: Option<u16>) -> Layout {
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
        let body_h = h - top - bottom;
        let panel_w = panel.filter(|p| panel_fits(w, *p));
        let pane_w = w - panel_w.unwrap_or(0);
        let pane = Rect::new(area.x, area.y + top, pane_w, body_h);
        let panel = panel_w.map(|p| Rect::new(area.x + pane_w, area.y + top, p, body_h));
        Layout {
            tab_bar,
            pane,
            panel,
            status,
        }
    }

    /// The layout for `state` and `config`: whether the panel shows depends on both.
    pub fn for_state(area: Rect, state: &State, config: &Config) -> Layout {
        let show = panel_visible(area.width, state, config);
        Layout::new(area, show.then_some(config.panel_width))
    }
}

/// Whether a panel `panel` columns wide fits beside a pane on a terminal `width` columns wide.
pub fn panel_fits(width: u16, panel: u16) -> bool {
    panel > 0 && width >= panel.saturating_add(MIN_PANE_WIDTH)
}

/// Columns a terminal needs for a panel `panel` columns wide to show.
pub fn panel_needs(panel: u16) -> u16 {
    panel.saturating_add(MIN_PANE_WIDTH)
}

/// Whether the memory panel shows on a terminal `width` columns wide.
pub fn panel_visible(width: u16, state: &State, config: &Config) -> bool {
    state
        .view
        .panel_override
        .unwrap_or(match config.panel_show {
            PanelShow::Always => true,
            PanelShow::Never => false,
            PanelShow::Auto => width >= AUTO_MIN_COLUMNS,
        })
}

/// Draws one frame. The cursor is placed through `frame`.
pub fn draw(frame: &mut Canvas<'_>, state: &State, config: &Config) {
    let layout = Layout::for_state(frame.area(), state, config);
    if let Some(area) = layout.tab_bar {
        tabs::render(state, config, area, frame.buffer_mut());
    }
    let mut cursor = None;
    let overlay = matches!(
        state.view.mode,
        Mode::Help(_) | Mode::Messages(_) | Mode::Sessions { .. }
    );
    if let Some(tab) = state.focused() {
        let g = tab.layout.geometry(layout.pane);
        let focus = tab.layout.focus();
        // Hidden when the window is too small for it (see `state::layout`).
        let pane_area = g.rect_of(focus).filter(|r| !r.is_empty());
        others::render(tab, &g, frame, config, overlay);
        borders::render(&g, pane_area, frame.buffer_mut(), &config.colors);
        let label = |id| tab.pane_by_id(id).map(crate::state::Pane::label);
        borders::render_titles(&g, focus, label, frame.buffer_mut(), &config.colors);
        let pane_area = pane_area.unwrap_or_default();
        let term = tab.session().shared.lock_term();
        if let Mode::Scroll(view) = &state.view.mode {
            cursor = scroll::render(view, &term, pane_area, frame.buffer_mut(), &config.colors);
        } else if !pane_area.is_empty() {
            // An overlay or an ended tab's note draws over the pane: then nothing is kept.
            let ended = !tab.session().is_running();
            let source = (!overlay && !ended).then(|| pane_key(tab.session()));
            frame.pane_rows = match frame.pane_changes(pane_area, source, term.changes()) {
                Some(damage) => {
                    pane::render_rows(term.screen(), pane_area, frame.buffer_mut(), |r| {
                        damage.contains(r)
                    })
                }
                None => pane::render_all(term.screen(), pane_area, frame.buffer_mut()),
            };
            let mut rows = std::mem::take(&mut frame.pane_rows);
            pane::apply_palette(term.palette(), pane_area, frame.buffer_mut(), &mut rows);
            frame.pane_rows = rows;
            if ended {
                ended::render(tab.session(), pane_area, frame.buffer_mut(), &config.colors);
                // The note covers a pane row: none of them can be skipped as blank.
                frame.pane_rows.clear();
            } else if matches!(state.view.mode, Mode::Normal | Mode::Prefix) {
                cursor = pane::cursor_position(term.screen(), pane_area);
            }
        }
    }
    if let Some(area) = layout.panel {
        // Under an overlay the panel is drawn each frame: the overlay covers part of it.
        // Else its tabs and its footer are kept apart: a new figure of memmux's own or the
        // machine's redraws the footer alone.
        let (tabs, footer) = memory::parts(state, area);
        if overlay {
            memory::render(state, config, area, frame.buffer_mut());
        } else {
            if !frame.keep(tabs, panel_key(state)) {
                memory::render_part(state, config, area, memory::Part::Tabs, frame.buffer_mut());
            }
            if footer.is_some_and(|f| !frame.keep(f, memory::footer_key(state))) {
                memory::render_part(
                    state,
                    config,
                    area,
                    memory::Part::Footer,
                    frame.buffer_mut(),
                );
            }
        }
    }
    if let Some(area) = layout.status {
        if let Some(c) = status::render(state, config, area, frame.buffer_mut()) {
            cursor = Some(c);
        }
    }
    match &state.view.mode {
        Mode::Sessions { list, selected } => {
            sessions::render(list, *selected, frame.area(), frame.buffer_mut())
        }
        Mode::Help(scroll) => {
            help::render(&config.keymap, *scroll, frame.area(), frame.buffer_mut())
        }
        Mode::Messages(scroll) => {
            // The status line stays visible below the log.
            let mut area = frame.area();
            area.height = layout
                .status
                .map_or(area.height, |s| s.y.saturating_sub(area.y));
            let now = std::time::Instant::now();
            messages::render(&state.view.log, *scroll, now, area, frame.buffer_mut());
        }
        _ => {}
    }
    if overlay {
        // The overlay covers pane rows: none of them can be skipped as blank.
        frame.forget_pane_rows();
        cursor = None;
    }
    if let Some((x, y)) = cursor {
        frame.set_cursor_position((x, y));
    }
}

/// Sums up what the memory panel's tabs part shows besides the figures of the samples
/// (counted by `panel_seq`): the tabs, their names, the focus.
pub fn panel_key(state: &State) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    state.panel_seq.hash(&mut h);
    state.view.focus.hash(&mut h);
    // The focused tab's history size, as the status line shows it: both move together.
    if let Some(t) = state.focused() {
        t.session().shared.history_rows().hash(&mut h);
    }
    for tab in &state.tabs {
        tab.id.hash(&mut h);
        // Hashed in place: a copy of 1,000 labels per frame was a fifth of a frame's CPU.
        tab.label_str().hash(&mut h);
    }
    h.finish()
}

/// Names the session the focused pane shows, for the compositor to know rows it kept are of
/// this screen.
pub fn session_key(tab: &crate::state::Tab) -> u64 {
    pane_key(tab.session())
}

/// Names the screen a pane shows (its session), for the compositor to know rows it kept are
/// of this screen.
pub fn pane_key(session: &crate::session::Session) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    session.id.hash(&mut h);
    h.finish()
}
