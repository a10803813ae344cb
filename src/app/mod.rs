//! The app: the tabs and their sessions behind the screen, what each event does to them, and
//! the frame drawn from them. `run` drives it from the user's terminal on one thread. Frames
//! are requested, never forced: at most `fps` per second, and none while nothing changes.

mod actions;
#[doc(hidden)]
pub mod driver;
pub mod fastkeys;
mod input;
mod memory;
mod panel_frame;
mod panes;
mod run;
mod samples;
pub mod serve;
mod shown;
pub mod spawner;
mod views;

pub use run::{Options, run};
pub use serve::Exit;

use input::chord_to_key;
pub use input::{complete_command, edit_line};

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use tokio::sync::mpsc::UnboundedSender;

use crate::config::Config;
use crate::frontend::terminal;
use crate::input::action::Action;
use crate::input::keymap::Chord;
use crate::session::{CommandSpec, Event as SessionEvent, Session, SessionId, Start, Status};
use crate::state::{Confirm, LineInput, Mode, State, Tab};
use crate::term::keys::{self, InputModes};
use crate::ui::{self, Layout};

/// Shortest gap between frames for small output (see `App::interactive`).
const INTERACTIVE_FRAME: Duration = Duration::from_millis(4);

/// What reaches the event loop from other threads.
#[derive(Debug)]
pub enum AppEvent {
    Input(Event),
    /// The user's terminal is gone (hung up, closed): memmux exits.
    InputGone(String),
    /// What a session told its listener (`session::events`).
    Session(SessionId, SessionEvent),
    /// A memory sample of every tab.
    Memory(Box<crate::memory::sampler::Snapshot>),
    /// A memory export finished: where it went, or why it failed.
    Exported(Result<PathBuf, String>),
    /// The server opened a view for another client, on this terminal, with the client's
    /// liveness pipe (see `views`).
    ViewOpened(u64, std::os::fd::OwnedFd, Option<std::os::fd::OwnedFd>),
    /// The server closed a view: its client left.
    ViewClosed(u64),
    /// A key, mouse or paste event from a view's terminal.
    ViewInput(u64, Event),
    /// A view's terminal went away.
    ViewGone(u64),
    /// A view's terminal took again what waited after it had stopped reading: output was
    /// dropped meanwhile, so it gets a whole frame (`frontend::writer`).
    ViewLagged(u64),
}

/// The app's listener of every session: their events go to the loop in its one channel, in
/// the order they happened.
struct Listener(UnboundedSender<AppEvent>);

impl crate::session::Listener for Listener {
    fn send(&self, session: SessionId, event: SessionEvent) {
        // The loop is gone when memmux is shutting down; nothing to tell then.
        let _ = self.0.send(AppEvent::Session(session, event));
    }
}

/// 300 ms: after output or a key, how long until the foreground command's name is looked up
/// again (the shell forks the command after echoing Enter).
const TITLE_CHECK_DELAY: Duration = Duration::from_millis(300);

/// The application: state plus what it needs to start sessions.
pub struct App {
    pub state: State,
    pub config: Config,
    next_id: SessionId,
    events: UnboundedSender<AppEvent>,
    /// Hears every session's events and passes them to the loop as `AppEvent::Session`.
    listener: Arc<dyn crate::session::Listener>,
    ctx: crate::session::Context,
    /// The focused pane's place on screen as of the last layout.
    pane: Rect,
    /// The place of the focused tab's panes and borders as of the last layout.
    body: Rect,
    /// The whole terminal as of the last layout.
    area: Rect,
    /// A pane border being dragged with the mouse (its split).
    border_drag: Option<crate::state::layout::SplitPath>,
    tab_bar: Option<Rect>,
    panel: Option<Rect>,
    pub quit: bool,
    /// Something visible changed: a frame is wanted.
    pub needs_draw: bool,
    /// The change came from the user: draw without waiting for the frame interval.
    pub urgent: bool,
    /// The terminal may have changed size: ask it before the next frame.
    pub resized: bool,
    /// The focused tab's latest output was small (typing, a prompt): draw it without waiting a
    /// whole frame interval.
    pub interactive: bool,
    title_check: Option<Instant>,
    /// A program ended since the sampler's roster was last sent (its pid is no longer one
    /// to sample): `take_snapshot` sends the roster again.
    roster_stale: bool,
    /// The focused tab at the last parking pass (`App::take_snapshot`).
    park_focus: Option<Option<SessionId>>,
    /// The last parking pass left a hidden tab that printed too recently to park.
    park_waiting: bool,
    /// When to run the parking pass again while a hidden tab waits to be quiet long enough
    /// (`park_waiting`): on the app's own timer, not the sampler's next snapshot, which may
    /// be a column (5 s) away once every tab is quiet.
    park_retry: Option<Instant>,
    /// What the outer terminal was last told, to send only changes.
    cursor_style: Option<vt100::CursorStyle>,
    outer_any_motion: bool,
    /// Whether the user's terminal was put in application keypad mode (DECKPAM), following
    /// the focused program's: its keypad then sends `SS3` sequences memmux can tell apart.
    outer_keypad: bool,
    /// Text copied in the scroll view, for `paste-buffer`.
    pub paste_buffer: Option<String>,
    /// Bytes for the outer terminal itself (OSC 52 clipboard), written after the next frame.
    pub outbox: Vec<u8>,
    /// The memory sampling thread, when running.
    pub sampler: Option<crate::memory::sampler::SamplerHandle>,
    /// Limits of tabs without a cgroup, enforced by memmux.
    enforcer: memory::Enforcer,
    /// Where the configuration came from, for `reload-config`.
    pub config_source: Option<crate::config::ConfigSource>,
    /// Input events handled so far, and the keymap as the input thread sees it (see
    /// `fastkeys`).
    pub inputs_handled: u64,
    pub keymap: Arc<crate::input::keymap::Keymap>,
    /// The views of further clients, not being served right now (see `views`).
    views: Vec<views::Parked>,
    /// The view being served: 0 for the session's own terminal, else the server's number.
    view_id: u64,
    /// With several views: whether the tabs are sized for a memory panel (`sizing_panel`).
    size_panel: Option<bool>,
    /// Starts the sessions of new panes (a scripted one in the in-process driver's tests).
    spawner: Box<dyn spawner::Spawner>,
    /// Every view's terminal, where readers draw their output directly (`ui::direct::Views`).
    pub screens: Arc<ui::direct::Views>,
    /// The first view's screen (see `views`): the app's own terminal without a server, else
    /// the terminal of the client that has the first view, or nowhere.
    primary: Option<Arc<views::Screen>>,
    /// The first view's terminal, when a client handed it over (a session of the server).
    primary_tty: Option<views::Handed>,
    /// Whether anyone sees the first view: false in a session of the server while no client
    /// has it, and then it is not drawn at all.
    primary_shown: bool,
    /// Plain keys of the first view's terminal (see `fastkeys`).
    pub(super) primary_fast: Arc<fastkeys::FastKeys>,
    /// Which sessions were last told they are on screen (`shown::Shown`).
    shown: shown::Shown,
    /// The memory panel's parts that changed with a sample while nothing else did: drawn
    /// alone (`panel_frame`).
    pub(super) panel_change: panel_frame::PanelChange,
    /// What a quiet snapshot looks at of the tabs' rows (`samples::PanelWatch`).
    panel_watch: Option<samples::PanelWatch>,
    /// Every tab's latest figure summed, for `memmux ls`: a quiet snapshot changes none.
    tabs_memory: Option<u64>,
    /// What the server was last told of the session (`samples::status_key`).
    status_sent: Option<u64>,
    /// Where the session says it let go of a client's terminal (`Msg::ViewReleased`).
    views_ack: Option<std::os::unix::net::UnixStream>,
}

impl App {
    pub fn new(config: Config, events: UnboundedSender<AppEvent>, area: Rect) -> App {
        let layout = Layout::for_state(area, &State::default(), &config);
        let limits =
            crate::term::scrollback::Limits::new(config.scrollback_lines, config.scrollback_bytes);
        let mut ctx = crate::session::Context::new(limits, config.memory_budget);
        ctx.osc52_max = config.osc52_copy.then_some(config.osc52_max_bytes);
        let screens = Arc::new(ui::direct::Views::default());
        ctx.direct = Some(Arc::clone(&screens) as Arc<dyn crate::session::DirectDraw>);
        let keymap = Arc::new(config.keymap.clone());
        App {
            state: State::default(),
            config,
            next_id: 1,
            listener: Arc::new(Listener(events.clone())),
            events,
            ctx,
            pane: layout.pane,
            body: layout.pane,
            area,
            border_drag: None,
            tab_bar: layout.tab_bar,
            panel: layout.panel,
            quit: false,
            needs_draw: true,
            resized: false,
            interactive: false,
            urgent: true,
            title_check: None,
            roster_stale: false,
            park_focus: None,
            park_waiting: false,
            park_retry: None,
            cursor_style: None,
            outer_any_motion: false,
            outer_keypad: false,
            paste_buffer: None,
            outbox: Vec::new(),
            sampler: None,
            enforcer: Default::default(),
            config_source: None,
            inputs_handled: 0,
            keymap,
            views: Vec::new(),
            view_id: 0,
            size_panel: None,
            spawner: Box::new(spawner::PtySpawner),
            screens,
            primary: None,
            primary_tty: None,
            primary_shown: true,
            primary_fast: Arc::new(fastkeys::FastKeys::default()),
            views_ack: None,
            shown: shown::Shown::default(),
            panel_change: Default::default(),
            panel_watch: None,
            tabs_memory: None,
            status_sent: None,
        }
    }

    /// Replaces what starts the sessions of new panes (see `driver`).
    pub fn set_spawner(&mut self, spawner: Box<dyn spawner::Spawner>) {
        self.spawner = spawner;
    }

    fn redraw(&mut self) {
        self.needs_draw = true;
    }

    fn redraw_now(&mut self) {
        self.needs_draw = true;
        self.urgent = true;
    }

    /// Starts a session for `argv` (the configured shell when `None`) in `cwd`, as a pane of
    /// the tab whose memory cgroup is `group`.
    fn start_session(
        &mut self,
        argv: Option<Vec<String>>,
        cwd: Option<PathBuf>,
        group: Option<Arc<crate::memory::cgroup::TabCgroup>>,
    ) -> Session {
        let id = self.next_id;
        self.next_id += 1;
        let spec = CommandSpec {
            argv: argv.unwrap_or_else(|| self.config.shell_command()),
            // portable-pty would start in $HOME without one; memmux starts where it was started.
            cwd: cwd.or_else(|| std::env::current_dir().ok()),
            term: self.config.term.clone(),
        };
        self.start_spec(id, spec, group)
    }

    fn start_spec(
        &mut self,
        id: SessionId,
        spec: CommandSpec,
        group: Option<Arc<crate::memory::cgroup::TabCgroup>>,
    ) -> Session {
        let size = (self.pane.height, self.pane.width);
        self.start_sized(id, spec, size, group)
    }

    /// Starts `spec` in a pty of `rows` x `cols`; its program joins a pane cgroup inside
    /// `group` (the tab's), or one of its own without.
    fn start_sized(
        &mut self,
        id: SessionId,
        spec: CommandSpec,
        (rows, cols): (u16, u16),
        group: Option<Arc<crate::memory::cgroup::TabCgroup>>,
    ) -> Session {
        let start = Start {
            id,
            spec,
            rows: rows.max(1),
            cols: cols.max(1),
            listener: Arc::clone(&self.listener),
        };
        let placing = crate::memory::cgroup::placing_in(group);
        let session = self.spawner.start(start, &self.ctx);
        drop(placing);
        session
    }

    /// Opens a tab after the last one and focuses it.
    pub fn open_tab(&mut self, argv: Option<Vec<String>>, cwd: Option<PathBuf>) {
        // A new tab's one pane has the whole body, whatever the focused tab's panes have.
        self.pane = self.body;
        let group = crate::memory::cgroup::new_tab_group();
        let session = self.start_session(argv, cwd, group.clone());
        let mut tab = Tab::new(session, self.history_capacity());
        tab.mem.limit.group = group;
        self.apply_default_limit(&mut tab);
        self.state.tabs.push(tab);
        let last = self.state.tabs.len() - 1;
        self.state.set_focus(last);
        self.schedule_title_check();
        self.redraw_now();
        self.roster_add(last);
    }

    /// The shortest time between frames for output that streams (`fps`).
    fn frame_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.config.fps.clamp(1, 1000)))
    }

    fn panel_width(&self) -> u16 {
        self.panel.map_or(0, |p| p.width)
    }

    fn schedule_title_check(&mut self) {
        if self.title_check.is_none() {
            self.title_check = Some(Instant::now() + TITLE_CHECK_DELAY);
        }
    }

    /// The earliest timer the loop must wake for.
    pub fn next_timer(&self) -> Option<Instant> {
        // Every view's message goes in its own time.
        let msgs = self.views.iter().map(|p| p.view.message_until());
        [
            self.title_check,
            self.state.view.message_until(),
            self.park_retry,
        ]
        .into_iter()
        .chain(msgs)
        .flatten()
        .min()
    }

    pub fn on_timer(&mut self, now: Instant) {
        if self.title_check.is_some_and(|t| t <= now) {
            self.title_check = None;
            self.refresh_names();
        }
        if self.park_retry.is_some_and(|t| t <= now) {
            self.park_pass(now);
        }
        let mut expired = self.state.expire_message(now);
        for p in &mut self.views {
            expired |= p.view.expire_message(now);
        }
        if expired {
            self.redraw();
        }
    }

    fn refresh_names(&mut self) {
        let mut changed = false;
        for pane in self.state.tabs.iter_mut().flat_map(|t| &mut t.panes) {
            let name = pane.session.foreground_name();
            if name.is_some() && name != pane.fg_name {
                pane.fg_name = name;
                changed = true;
            }
        }
        if changed {
            self.needs_draw = true;
            // A new command may have new processes: count them now, not at the next rescan.
            if let Some(s) = &self.sampler {
                s.rescan();
            }
        }
    }

    /// Takes in what a session told (`session::events`): output to draw or to mark a hidden
    /// tab busy with, a bell, a title, a clipboard write, a notice, the program's end.
    pub fn session_event(&mut self, id: SessionId, ev: SessionEvent) {
        let focus = self.state.view.focus;
        let place = self.state.tabs.iter().enumerate().find_map(|(i, t)| {
            let p = t.panes.iter().position(|p| p.session.id == id)?;
            Some((i, p))
        });
        // A tab closed since: nothing to do.
        let Some((i, p)) = place else { return };
        // A tab another client focuses is on that client's screen: not hidden either.
        let focused = i == focus || self.other_focus().contains(&i);
        let tab = &mut self.state.tabs[i];
        let pane = &mut tab.panes[p];
        let shared = &pane.session.shared;
        match ev {
            SessionEvent::Output if focused => {
                let bytes = shared.take_output();
                // 4 KiB: an echo, a prompt, a status line redraw; more is a stream. Only the
                // focused pane's echo is what the interactive frame pacing is for.
                if i == focus && id == tab.layout.focus() && bytes < 4096 {
                    self.interactive = true;
                }
            }
            // Hidden: the output is not taken, so further output tells nobody until the tab
            // is shown (`focus` takes it): a flood in a hidden tab costs the app nothing.
            SessionEvent::Output => {}
            SessionEvent::Bell => tab.bell |= !focused,
            // memmux's memory (`events::Sender::send` copied it out of the session's account):
            // the pane may keep it after the session's state is gone.
            SessionEvent::Title(title) => pane.title = Some(title),
            SessionEvent::Clipboard(data) => {
                self.outbox.extend_from_slice(b"\x1b]52;c;");
                self.outbox.extend_from_slice(&data);
                self.outbox.push(0x07);
            }
            SessionEvent::Notice(note) => self.state.warn_all(format!("tab {}: {note}", i + 1)),
            SessionEvent::Exited(status) => {
                pane.session.status = Status::Exited(status);
                self.roster_stale = true;
                self.redraw();
                return;
            }
        }
        if !focused {
            // Busy while hidden; its output tells nobody until it is shown.
            let tab = &mut self.state.tabs[i];
            tab.activity = true;
            tab.panes[p].session.shared.hold_output();
        }
        self.redraw();
        self.schedule_title_check();
    }

    /// Handles one event from another thread.
    pub fn handle_event(&mut self, ev: AppEvent) {
        match ev {
            AppEvent::Input(ev) => {
                self.inputs_handled += 1;
                self.handle_input(ev);
            }
            AppEvent::InputGone(why) => {
                self.state.warn(why);
                self.quit = true;
            }
            AppEvent::Memory(snap) => self.take_snapshot(&snap),
            AppEvent::Exported(Ok(path)) => {
                self.state
                    .say_all(format!("memory history written to {}", path.display()));
                self.redraw();
            }
            AppEvent::Exported(Err(e)) => {
                self.state.warn_all(e);
                self.redraw();
            }
            AppEvent::ViewOpened(..)
            | AppEvent::ViewClosed(_)
            | AppEvent::ViewInput(..)
            | AppEvent::ViewGone(_)
            | AppEvent::ViewLagged(_) => self.view_event(ev),
            AppEvent::Session(id, ev) => self.session_event(id, ev),
        }
    }

    /// Lays the screen out for `area` and resizes every session's pane to match.
    pub fn apply_layout(&mut self, area: Rect) {
        self.area = area;
        let layout = Layout::for_state(area, &self.state, &self.config);
        self.body = layout.pane;
        self.tab_bar = layout.tab_bar;
        self.panel = layout.panel;
        // With several views, the programs' sizes are the same for all of them.
        let sizing = match self.size_panel {
            Some(panel) => Layout::new(area, panel.then_some(self.config.panel_width)).pane,
            None => layout.pane,
        };
        let focus = self.state.view.focus;
        for (i, tab) in self.state.tabs.iter_mut().enumerate() {
            let g = tab.layout.geometry(layout.pane);
            let sized = tab.layout.geometry(sizing);
            for pane in &mut tab.panes {
                // A hidden pane (no room) keeps a 1x1 screen until it has room again.
                let r = sized.rect_of(pane.session.id).unwrap_or_default();
                pane.session.resize(r.height, r.width);
            }
            if i == focus {
                self.pane = g.rect_of(tab.layout.focus()).unwrap_or_default();
            }
        }
        if self.state.tabs.is_empty() {
            self.pane = layout.pane;
        }
    }

    /// Draws a frame on `terminal`, then tells the outer terminal the cursor shape and mouse
    /// mode the focused program wants.
    pub fn draw<W: io::Write>(&mut self, out: &mut ui::Compositor<W>) -> anyhow::Result<()> {
        let area = out.area();
        self.apply_layout(area);
        let height = self.pane.height;
        if let (Mode::Scroll(view), Some(tab)) = (
            &mut self.state.view.mode,
            self.state.tabs.get(self.state.view.focus),
        ) {
            // History may have been evicted under the view since the last frame.
            view.clamp(&tab.session().shared.lock_term(), height);
        }
        out.draw(|f| ui::draw(f, &self.state, &self.config))
            .context("cannot write to the terminal")?;
        self.needs_draw = false;
        self.urgent = false;
        self.interactive = false;
        self.panel_change = Default::default();
        Ok(())
    }

    /// The pane a session's reader may draw its output into directly: the focused tab's,
    /// while nothing but its screen is drawn there (normal mode).
    pub fn direct_target(&self) -> Option<ui::direct::Target> {
        // A focused pane hidden by a window too small for the layout has nothing to draw.
        // With several views, each view's compositor keeps its own place in the screen's
        // changes: a reader draws on every view that shows its pane as is. The first view's
        // terminal, while no client has it, is drawn on by nobody.
        if self.state.view.mode != Mode::Normal
            || self.resized
            || self.pane.is_empty()
            || (self.view_id == 0 && !self.primary_shown)
        {
            return None;
        }
        let tab = self.state.focused()?;
        Some(ui::direct::Target {
            session: tab.session().id,
            source: ui::session_key(tab),
            pane: self.pane,
        })
    }

    /// Where the input thread may write plain keys itself: the focused, running program,
    /// while keys have no other meaning (normal mode, no message a key would clear).
    pub fn fast_target(&self) -> Option<fastkeys::Target> {
        if self.state.view.mode != Mode::Normal || self.state.view.message.is_some() {
            return None;
        }
        let tab = self.state.focused()?;
        if !tab.session().is_running() {
            return None;
        }
        Some(fastkeys::Target {
            handled: self.inputs_handled,
            session: Arc::clone(&tab.session().shared),
            keymap: Arc::clone(&self.keymap),
        })
    }

    /// Cursor shape and pointer-motion reporting for the outer terminal, as escape sequences to
    /// write after a frame (empty when nothing changed).
    pub fn outer_modes(&mut self) -> String {
        let mut out = String::new();
        let (style, any_motion, keypad) = match self.state.focused() {
            Some(tab) => {
                let term = tab.session().shared.lock_term();
                let s = term.screen();
                (
                    s.cursor_style(),
                    s.mouse_protocol_mode() == vt100::MouseProtocolMode::AnyMotion,
                    s.application_keypad(),
                )
            }
            None => (vt100::CursorStyle::Default, false, false),
        };
        if self.cursor_style != Some(style) {
            self.cursor_style = Some(style);
            let n = match style {
                vt100::CursorStyle::Default => 0,
                vt100::CursorStyle::BlinkBlock => 1,
                vt100::CursorStyle::SteadyBlock => 2,
                vt100::CursorStyle::BlinkUnderline => 3,
                vt100::CursorStyle::SteadyUnderline => 4,
                vt100::CursorStyle::BlinkVerticalBar => 5,
                vt100::CursorStyle::SteadyVerticalBar => 6,
            };
            out.push_str(&format!("\x1b[{n} q"));
        }
        if any_motion != self.outer_any_motion {
            self.outer_any_motion = any_motion;
            out.push_str(if any_motion {
                terminal::ANY_MOTION_ON
            } else {
                terminal::ANY_MOTION_OFF
            });
        }
        // As tmux does: the keypad keys then arrive as `SS3 p` .. `SS3 y` (`input::tty`
        // marks them as keypad keys) and go to the program the way it asked for them.
        if keypad != self.outer_keypad {
            self.outer_keypad = keypad;
            out.push_str(if keypad {
                terminal::KEYPAD_APPLICATION
            } else {
                terminal::KEYPAD_NUMERIC
            });
        }
        out
    }

    /// Sends the terminal's modes and a whole frame again: a client attached to this session
    /// (run by the server) has a blank terminal in its own modes.
    fn redraw_everything<W: io::Write>(&mut self, screen: &ui::direct::Shared<W>) {
        let mut s = screen.lock();
        // Ahead of the frame, in the same buffer: ordered with the frame's bytes.
        let _ = s
            .comp
            .writer_mut()
            .write_all(terminal::modes_on().as_bytes());
        let area = s.comp.area();
        s.comp.resize(area);
        s.target = None;
        drop(s);
        self.cursor_style = None;
        self.outer_any_motion = false;
        self.resized = true;
        self.redraw_now();
    }

    /// A frame nobody would see: the loop stops asking for it until something changes.
    fn skip_frame(&mut self) {
        self.needs_draw = false;
        self.urgent = false;
        self.interactive = false;
    }

    /// Hangs up every session.
    pub fn shutdown(&mut self) {
        for pane in self.state.tabs.iter_mut().flat_map(|t| &mut t.panes) {
            pane.session.hang_up();
        }
    }
}
