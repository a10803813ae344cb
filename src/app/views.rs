//! The views of further clients. A session of the server draws on its own pty for the first
//! client; each client that attaches while that one is there gets a pty of its own from the
//! server (`Msg::ViewOpen`, the slave passed with `SCM_RIGHTS`) and a view here: its own focus,
//! mode and panel toggle (`state::View`), its own frames, input thread and outer modes. The
//! tabs are shared. The view being served sits in `App::state.view` and the app's per-view
//! fields; the others wait in `App::views` and are swapped in for their keys and frames.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use anyhow::Context;
use ratatui::layout::Rect;

use super::{App, AppEvent, fastkeys};
use crate::state::View;
use crate::terminal;
use crate::ui;

type Screen = ui::direct::Shared<BufWriter<File>>;

/// A view that is not being served right now, with the app's fields that belong to a view.
pub struct Parked {
    pub id: u64,
    pub view: View,
    pane: Rect,
    body: Rect,
    area: Rect,
    border_drag: Option<crate::state::layout::SplitPath>,
    tab_bar: Option<Rect>,
    panel: Option<Rect>,
    cursor_style: Option<vt100::CursorStyle>,
    outer_any_motion: bool,
    outer_keypad: bool,
    inputs_handled: u64,
    resized: bool,
    screen: Arc<Screen>,
    fast: Arc<fastkeys::FastKeys>,
    /// The view's terminal, for its size.
    tty: File,
    /// Closed with the view: its input thread then ends and lets go of the terminal.
    _stop: UnixStream,
}

/// Puts terminal `fd` in raw mode: keys arrive byte for byte, frames go out unchanged.
fn make_raw(tty: &File) -> io::Result<()> {
    // SAFETY: termios is plain data, filled by tcgetattr before use.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a termios to fill.
    if unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: cfmakeraw edits the struct in place.
    unsafe { libc::cfmakeraw(&mut t) };
    // SAFETY: a valid descriptor and termios.
    if unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The size of terminal `tty` (the server gives every view the session's size).
fn size_of(tty: &File) -> io::Result<Rect> {
    // SAFETY: winsize is plain data, filled by the ioctl.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize.
    if unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Rect::new(0, 0, ws.ws_col.max(1), ws.ws_row.max(1)))
}

impl App {
    /// Exchanges the view being served with `p`.
    fn swap_view(&mut self, p: &mut Parked) {
        use std::mem::swap;
        swap(&mut self.state.view, &mut p.view);
        swap(&mut self.pane, &mut p.pane);
        swap(&mut self.body, &mut p.body);
        swap(&mut self.area, &mut p.area);
        swap(&mut self.border_drag, &mut p.border_drag);
        swap(&mut self.tab_bar, &mut p.tab_bar);
        swap(&mut self.panel, &mut p.panel);
        swap(&mut self.cursor_style, &mut p.cursor_style);
        swap(&mut self.outer_any_motion, &mut p.outer_any_motion);
        swap(&mut self.outer_keypad, &mut p.outer_keypad);
        swap(&mut self.inputs_handled, &mut p.inputs_handled);
        swap(&mut self.resized, &mut p.resized);
        swap(&mut self.view_id, &mut p.id);
    }

    /// Runs `f` with parked view `i` served; the first view waits in its place meanwhile.
    fn with_view<R>(&mut self, i: usize, f: impl FnOnce(&mut App, &Parked) -> R) -> R {
        self.hand_over(None);
        let mut p = self.views.remove(i);
        self.swap_view(&mut p);
        let r = f(self, &p);
        self.hand_over(Some(&mut p.view));
        self.swap_view(&mut p);
        self.views.insert(i, p);
        r
    }

    /// Gives the messages for every client (`State::warn_all`), posted while the view being
    /// served was, to the others: the parked views and `first` (the view waiting in the place
    /// of the one served, inside `with_view`).
    pub(super) fn hand_over(&mut self, first: Option<&mut View>) {
        let sent = std::mem::take(&mut self.state.broadcast);
        let others = self.views.iter_mut().map(|p| &mut p.view).chain(first);
        for v in others {
            for m in &sent {
                v.post(m.clone());
            }
        }
    }

    /// The focus of every view but the one served.
    pub(super) fn other_focus(&self) -> Vec<usize> {
        self.views.iter().map(|p| p.view.focus).collect()
    }

    /// Which tab each view focuses, by id (a tab's index moves when another closes, moves or
    /// opens before it): the served view's, then the parked ones'.
    fn focused_ids(&self) -> Vec<(u64, Option<crate::session::SessionId>)> {
        let id_at = |i: usize| self.state.tabs.get(i).map(|t| t.id);
        std::iter::once((self.view_id, id_at(self.state.view.focus)))
            .chain(self.views.iter().map(|p| (p.id, id_at(p.view.focus))))
            .collect()
    }

    /// Puts every view but `acting` back on the tab it focused `before` (see `focused_ids`);
    /// one whose tab closed stays at its place, within the tabs there are.
    fn refocus(
        &mut self,
        before: &[(u64, Option<crate::session::SessionId>)],
        acting: Option<u64>,
    ) {
        let last = self.state.tabs.len().saturating_sub(1);
        let tabs = &self.state.tabs;
        let place = |view: u64, focus: &mut usize| {
            if Some(view) == acting {
                return;
            }
            let was = before
                .iter()
                .find(|(v, _)| *v == view)
                .and_then(|(_, t)| *t);
            match was.and_then(|id| tabs.iter().position(|t| t.id == id)) {
                Some(i) => *focus = i,
                None => *focus = (*focus).min(last),
            }
        };
        place(self.view_id, &mut self.state.view.focus);
        for p in &mut self.views {
            place(p.id, &mut p.view.focus);
        }
    }

    /// Handles one event from the loop: with several views, each keeps its tab whatever
    /// another view's keys (or a program's end) did to the tabs.
    pub fn handle(&mut self, ev: AppEvent) {
        if self.views.is_empty() {
            return self.handle_event(ev);
        }
        let acting = match &ev {
            AppEvent::Input(_) => Some(self.view_id),
            AppEvent::ViewInput(id, _) => Some(*id),
            _ => None,
        };
        let before = self.focused_ids();
        self.handle_event(ev);
        self.refocus(&before, acting);
    }

    /// Handles the events of further views.
    pub(super) fn view_event(&mut self, ev: AppEvent) {
        match ev {
            AppEvent::ViewOpened(id, fd) => {
                if let Err(e) = self.open_view(id, fd) {
                    crate::util::append_log(&format!("cannot open view {id}: {e:#}"));
                }
            }
            AppEvent::ViewClosed(id) | AppEvent::ViewGone(id) => self.close_view(id),
            AppEvent::ViewInput(id, ev) => {
                if let Some(i) = self.views.iter().position(|p| p.id == id) {
                    self.with_view(i, |app, _| app.handle_event(AppEvent::Input(ev)));
                }
            }
            _ => {}
        }
    }

    fn open_view(&mut self, id: u64, fd: OwnedFd) -> anyhow::Result<()> {
        let tty = File::from(fd);
        make_raw(&tty).context("cannot set the view's terminal to raw mode")?;
        let area = size_of(&tty).context("cannot read the view's size")?;
        let writer = tty
            .try_clone()
            .context("cannot share the view's terminal")?;
        let mut comp = ui::Compositor::new(BufWriter::with_capacity(64 << 10, writer), area);
        comp.writer_mut()
            .write_all(terminal::modes_on().as_bytes())
            .context("cannot write to the view's terminal")?;
        let (stop, stop_thread) = UnixStream::pair().context("cannot make a socket pair")?;
        let fast = Arc::new(fastkeys::FastKeys::default());
        let reader = tty
            .try_clone()
            .context("cannot share the view's terminal")?;
        super::run::spawn_input_thread(
            self.events.clone(),
            Arc::clone(&fast),
            Some((id, reader, stop_thread)),
        )
        .context("cannot start the view's input thread")?;
        // A new client starts where the first one is, as tmux's starts on the session's
        // current window; from then on each goes its own way.
        let view = View {
            focus: self.state.view.focus,
            ..View::default()
        };
        self.views.push(Parked {
            id,
            view,
            pane: self.pane,
            body: self.body,
            area,
            border_drag: None,
            tab_bar: self.tab_bar,
            panel: self.panel,
            cursor_style: None,
            outer_any_motion: false,
            outer_keypad: false,
            inputs_handled: 0,
            resized: true,
            screen: Arc::new(ui::direct::Shared::new(comp)),
            fast,
            tty,
            _stop: stop,
        });
        if let Some(p) = self.views.last() {
            self.screens.add(id, Arc::clone(&p.screen) as _);
        }
        crate::util::append_log(&format!("view {id} opened"));
        self.redraw_now();
        Ok(())
    }

    fn close_view(&mut self, id: u64) {
        let before = self.views.len();
        self.views.retain(|p| p.id != id);
        if self.views.len() != before {
            self.screens.remove(id);
            crate::util::append_log(&format!("view {id} closed"));
            // The tabs may take the room of a panel only that view showed.
            self.resized = true;
            self.redraw_now();
        }
    }

    /// Where each further view's plain keys may go, after whatever the last event changed.
    pub(super) fn publish_views(&mut self) {
        self.hand_over(None);
        for i in 0..self.views.len() {
            let (target, direct) =
                self.with_view(i, |app, _| (app.fast_target(), app.direct_target()));
            self.views[i].fast.publish(target);
            self.views[i].screen.lock().target = direct;
        }
    }

    /// Whether sessions are sized for a memory panel: when any view shows one, every pane is
    /// as narrow as that view's, so no view's panes are cut (a view without the panel shows
    /// blank columns on the right). `None` with a single view: its own layout decides.
    pub(super) fn sizing_panel(&mut self, width: u16) -> Option<bool> {
        if self.views.is_empty() {
            return None;
        }
        let mut any = ui::panel_visible(width, &self.state, &self.config);
        for i in 0..self.views.len() {
            any |= self.with_view(i, |app, _| {
                ui::panel_visible(width, &app.state, &app.config)
            });
        }
        Some(any && ui::panel_fits(width, self.config.panel_width))
    }

    /// Draws a frame on every further view. A view whose terminal fails is closed: its client
    /// is gone, the session is not.
    pub(super) fn draw_views(&mut self) {
        let mut failed = Vec::new();
        for i in 0..self.views.len() {
            let r = self.with_view(i, |app, p| {
                super::run::frame_on(app, &p.screen, || Ok(size_of(&p.tty)?))?;
                p.screen.lock().target = app.direct_target();
                anyhow::Ok(())
            });
            if let Err(e) = r {
                crate::util::append_log(&format!("view {}: {e:#}", self.views[i].id));
                failed.push(self.views[i].id);
            }
        }
        for id in failed {
            self.close_view(id);
        }
    }

    /// After SIGWINCH on the session's own pty: every view has the new size.
    pub(super) fn views_resized(&mut self) {
        for p in &mut self.views {
            p.resized = true;
        }
    }

    /// A client (re)attached or lost its screen: every view draws everything again.
    pub(super) fn redraw_views(&mut self) {
        for i in 0..self.views.len() {
            self.with_view(i, |app, p| app.redraw_everything(&p.screen));
        }
    }
}
