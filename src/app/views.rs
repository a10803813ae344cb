//! The clients' views. Every client of a session of the server hands its own terminal over
//! (`Msg::ViewOpen`, the descriptor passed with `SCM_RIGHTS`); the app reads keys from it and
//! draws on it itself. The first view (0) is the app's own (`App::state.view`, the compositor
//! `App::primary`): the first client gets it, and a client that comes back when nobody else
//! is there finds its focus and mode as it left them. Each further client gets a view here:
//! its own focus, mode and panel toggle (`state::View`), frames, input thread and outer modes.
//! The tabs are shared. The view being served sits in `App::state.view` and the app's per-view
//! fields; the others wait in `App::views` and are swapped in for their keys and frames.
//!
//! Closing a view (`Msg::ViewClose`: detach, suspend, a client gone) ends its input thread,
//! writes what is queued for its terminal and lets go of it before the app answers
//! `Msg::ViewReleased`: only then does the client give the terminal back to the shell, so no
//! frame lands after the shell's prompt.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use ratatui::layout::Rect;

use super::{App, AppEvent, fastkeys};
use crate::frontend::handed::ClientTty;
use crate::frontend::out::Out;
use crate::frontend::terminal;
use crate::frontend::writer::TtyWriter;
use crate::state::View;
use crate::ui;

/// A view's screen: its compositor, over the bounded writer to its terminal.
pub type Screen = ui::direct::Shared<BufWriter<Out>>;

/// 500 ms for a closing view's queued frames to reach its terminal: a terminal that reads
/// takes a frame in well under 1 ms; one that does not is not waited for longer.
const DRAIN: Duration = Duration::from_millis(500);

/// A client's terminal being read: its input thread, and the socket that stops it.
pub struct Handed {
    stop: Option<UnixStream>,
    input: Option<JoinHandle<()>>,
}

impl Handed {
    /// Starts view `id`'s input thread on `tty`.
    fn start(
        events: tokio::sync::mpsc::UnboundedSender<AppEvent>,
        id: u64,
        (tty, alive): (&File, Option<OwnedFd>),
        fast: Arc<fastkeys::FastKeys>,
    ) -> anyhow::Result<Handed> {
        let (stop, stop_thread) = UnixStream::pair().context("cannot make a socket pair")?;
        let reader = tty
            .try_clone()
            .context("cannot share the view's terminal")?;
        let tty = ClientTty {
            id,
            tty: reader,
            stop: stop_thread,
            alive,
        };
        let input = super::run::spawn_input_thread(events, fast, Some(tty))
            .context("cannot start the view's input thread")?;
        Ok(Handed {
            stop: Some(stop),
            input: Some(input),
        })
    }

    /// Ends the input thread: once this returns, nothing reads the terminal (a key typed at
    /// the shell afterwards is the shell's).
    fn end(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.input.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Handed {
    fn drop(&mut self) {
        self.end();
    }
}

/// Puts `screen` on terminal `tty` (its modes and a whole frame follow); returns the writer it
/// had, flushed.
fn swap_out(screen: &Screen, out: Out) -> Out {
    let mut s = screen.lock();
    s.target = None;
    let w = s.comp.writer_mut();
    let _ = w.flush();
    std::mem::replace(w.get_mut(), out)
}

/// Leaves memmux's modes on a closing view's terminal and writes what waits for it; after
/// this the app writes nothing more there.
fn finish(out: Out) {
    if let Out::Tty(mut t) = out {
        let _ = t.write_all(terminal::modes_off().as_bytes());
        t.finish(DRAIN);
    }
}

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
    /// Its terminal's input thread; ended when the view closes.
    handed: Handed,
}

/// The session's size, which every view draws at: its own pty's (descriptor 0), which the
/// server sets from the clients' sizes (`window-size`).
fn session_size() -> anyhow::Result<Rect> {
    crate::frontend::tty::size_of(std::io::stdin().as_fd())
        .context("cannot read the session's size")
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

    /// Handles the events of the clients' views.
    pub(super) fn view_event(&mut self, ev: AppEvent) {
        match ev {
            AppEvent::ViewOpened(id, fd, alive) => {
                let opened = match id {
                    0 => self.open_primary(fd, alive),
                    _ => self.open_view(id, fd, alive),
                };
                if let Err(e) = opened {
                    crate::util::append_log(&format!("cannot open view {id}: {e:#}"));
                }
            }
            AppEvent::ViewClosed(id) => {
                self.close_any(id);
                // Answered whether or not the view was open: the server waits for it.
                if let Some(ack) = &self.views_ack {
                    let msg = crate::server::protocol::Msg::ViewReleased(id);
                    let _ = crate::server::protocol::write_msg(&mut &*ack, &msg);
                }
            }
            AppEvent::ViewGone(id) => self.close_any(id),
            AppEvent::ViewInput(0, ev) => self.handle_event(AppEvent::Input(ev)),
            AppEvent::ViewInput(id, ev) => {
                if let Some(i) = self.views.iter().position(|p| p.id == id) {
                    self.with_view(i, |app, _| app.handle_event(AppEvent::Input(ev)));
                }
            }
            AppEvent::ViewLagged(0) => {
                if let Some(screen) = self.primary.clone() {
                    self.redraw_everything(&screen);
                }
            }
            AppEvent::ViewLagged(id) => {
                if let Some(i) = self.views.iter().position(|p| p.id == id) {
                    self.with_view(i, |app, p| app.redraw_everything(&p.screen));
                }
            }
            _ => {}
        }
    }

    /// Where the bounded writer of view `id` says its terminal fell behind and reads again.
    fn lag_notice(&self, id: u64) -> Box<dyn Fn() + Send + Sync> {
        let tx = self.events.clone();
        Box::new(move || {
            let _ = tx.send(AppEvent::ViewLagged(id));
        })
    }

    /// Sets where the first view's frames go (see `App::primary`); the loop's own terminal
    /// without a server.
    pub(super) fn set_primary(
        &mut self,
        screen: Arc<Screen>,
        shown: bool,
        ack: Option<UnixStream>,
    ) {
        self.primary = Some(screen);
        self.primary_shown = shown;
        self.views_ack = ack;
    }

    /// The first view on client terminal `fd`: keys from it, frames to it.
    fn open_primary(&mut self, fd: OwnedFd, alive: Option<OwnedFd>) -> anyhow::Result<()> {
        let Some(screen) = self.primary.clone() else {
            anyhow::bail!("no first view in this app");
        };
        self.close_primary();
        let tty = File::from(fd);
        let writer = TtyWriter::new(tty.as_fd(), self.lag_notice(0))
            .context("cannot write to the client's terminal")?;
        let handed = Handed::start(
            self.events.clone(),
            0,
            (&tty, alive),
            Arc::clone(&self.primary_fast),
        )?;
        swap_out(&screen, Out::Tty(writer));
        self.primary_tty = Some(handed);
        self.primary_shown = true;
        crate::server::child::view_opened();
        crate::util::append_log("view 0 opened");
        self.redraw_everything(&screen);
        Ok(())
    }

    /// Lets go of the first view's terminal; the first view is drawn nowhere until a client
    /// takes it again.
    fn close_primary(&mut self) {
        let Some(mut handed) = self.primary_tty.take() else {
            return;
        };
        handed.end();
        self.primary_shown = false;
        if let Some(screen) = &self.primary {
            finish(swap_out(screen, Out::Nowhere));
        }
        crate::util::append_log("view 0 closed");
    }

    fn close_any(&mut self, id: u64) {
        match id {
            0 => self.close_primary(),
            _ => self.close_view(id),
        }
    }

    fn open_view(&mut self, id: u64, fd: OwnedFd, alive: Option<OwnedFd>) -> anyhow::Result<()> {
        self.close_view(id);
        let tty = File::from(fd);
        let area = session_size()?;
        let writer = TtyWriter::new(tty.as_fd(), self.lag_notice(id))
            .context("cannot write to the view's terminal")?;
        let mut comp =
            ui::Compositor::new(BufWriter::with_capacity(64 << 10, Out::Tty(writer)), area);
        comp.writer_mut()
            .write_all(terminal::modes_on().as_bytes())
            .context("cannot write to the view's terminal")?;
        let fast = Arc::new(fastkeys::FastKeys::default());
        let handed = Handed::start(self.events.clone(), id, (&tty, alive), Arc::clone(&fast))?;
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
            handed,
        });
        if let Some(p) = self.views.last() {
            self.screens.add(id, Arc::clone(&p.screen) as _);
        }
        crate::server::child::view_opened();
        crate::util::append_log(&format!("view {id} opened"));
        self.redraw_now();
        Ok(())
    }

    fn close_view(&mut self, id: u64) {
        let Some(i) = self.views.iter().position(|p| p.id == id) else {
            return;
        };
        let mut p = self.views.remove(i);
        p.handed.end();
        finish(swap_out(&p.screen, Out::Nowhere));
        self.screens.remove(id);
        crate::util::append_log(&format!("view {id} closed"));
        // The tabs may take the room of a panel only that view showed.
        self.resized = true;
        self.redraw_now();
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
                super::run::frame_on(app, &p.screen, session_size)?;
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
