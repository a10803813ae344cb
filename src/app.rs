//! The event loop: terminal input, session events, redraw requests and timers, one thread.
//! Frames are requested, never forced: at most `fps` per second, and none while nothing changes.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::action::Action;
use crate::config::Config;
use crate::keymap::Chord;
use crate::session::keys::{self, InputModes};
use crate::session::{CommandSpec, ExitStatus, Session, SessionId, Status};
use crate::state::{Confirm, LineInput, Mode, State, Tab};
use crate::terminal;
use crate::ui::{self, Layout};

/// Shortest gap between frames for small output (see `App::interactive`).
const INTERACTIVE_FRAME: Duration = Duration::from_millis(4);

/// What reaches the event loop from other threads.
#[derive(Debug)]
pub enum AppEvent {
    Input(Event),
    /// The user's terminal is gone (hung up, closed): memmux exits.
    InputGone(String),
    Exited {
        id: SessionId,
        status: ExitStatus,
    },
    /// A memory sample of every tab.
    Memory(Box<crate::memory::sampler::Snapshot>),
    /// A memory export finished: where it went, or why it failed.
    Exported(Result<PathBuf, String>),
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
    ctx: crate::session::Context,
    /// The pane's place on screen as of the last layout.
    pane: Rect,
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
    /// What the outer terminal was last told, to send only changes.
    cursor_style: Option<vt100::CursorStyle>,
    outer_any_motion: bool,
    /// Text copied in the scroll view, for `paste-buffer`.
    pub paste_buffer: Option<String>,
    /// Bytes for the outer terminal itself (OSC 52 clipboard), written after the next frame.
    pub outbox: Vec<u8>,
    /// The memory sampling thread, when running.
    pub sampler: Option<crate::memory::sampler::SamplerHandle>,
    /// Where the configuration came from, for `reload-config`.
    pub config_source: Option<crate::config::ConfigSource>,
}

impl App {
    pub fn new(
        config: Config,
        events: UnboundedSender<AppEvent>,
        wake: Arc<dyn Fn() + Send + Sync>,
        area: Rect,
    ) -> App {
        let layout = Layout::for_state(area, &State::default(), &config);
        let limits = crate::session::scrollback::Limits {
            lines: config.scrollback_lines,
            bytes: config.scrollback_bytes,
        };
        let mut ctx = crate::session::Context::new(wake, limits, config.memory_budget);
        ctx.osc52_max = config.osc52_copy.then_some(config.osc52_max_bytes);
        App {
            state: State::default(),
            config,
            next_id: 1,
            events,
            ctx,
            pane: layout.pane,
            tab_bar: layout.tab_bar,
            panel: layout.panel,
            quit: false,
            needs_draw: true,
            resized: false,
            interactive: false,
            urgent: true,
            title_check: None,
            cursor_style: None,
            outer_any_motion: false,
            paste_buffer: None,
            outbox: Vec::new(),
            sampler: None,
            config_source: None,
        }
    }

    fn redraw(&mut self) {
        self.needs_draw = true;
    }

    fn redraw_now(&mut self) {
        self.needs_draw = true;
        self.urgent = true;
    }

    /// Starts a session for `argv` (the configured shell when `None`) in `cwd`.
    fn start_session(&mut self, argv: Option<Vec<String>>, cwd: Option<PathBuf>) -> Session {
        let id = self.next_id;
        self.next_id += 1;
        let spec = CommandSpec {
            argv: argv.unwrap_or_else(|| self.config.shell_command()),
            // portable-pty would start in $HOME without one; memmux starts where it was started.
            cwd: cwd.or_else(|| std::env::current_dir().ok()),
            term: self.config.term.clone(),
        };
        self.start_spec(id, spec)
    }

    fn start_spec(&mut self, id: SessionId, spec: CommandSpec) -> Session {
        let events = self.events.clone();
        let on_exit = Box::new(move |status| {
            // The loop may be gone when memmux is shutting down; nothing to tell then.
            let _ = events.send(AppEvent::Exited { id, status });
        });
        Session::start(
            id,
            spec,
            self.pane.height,
            self.pane.width,
            &self.ctx,
            on_exit,
        )
    }

    /// Opens a tab after the last one and focuses it.
    pub fn open_tab(&mut self, argv: Option<Vec<String>>, cwd: Option<PathBuf>) {
        let session = self.start_session(argv, cwd);
        self.state
            .tabs
            .push(Tab::new(session, self.history_capacity()));
        let last = self.state.tabs.len() - 1;
        self.state.set_focus(last);
        self.schedule_title_check();
        self.redraw_now();
    }

    /// Samples kept per tab: `history` at one per `sample-interval`.
    fn history_capacity(&self) -> usize {
        let every = self.config.sample_interval.as_secs_f64().max(0.05);
        (self.config.history.as_secs_f64() / every).ceil().max(1.0) as usize
    }

    /// Tells the sampler which tabs exist (numbers, titles, pids, accounts).
    pub fn sync_roster(&self) {
        let Some(sampler) = &self.sampler else { return };
        let roster = self
            .state
            .tabs
            .iter()
            .enumerate()
            .map(|(i, t)| crate::memory::sampler::RosterEntry {
                id: t.session.id,
                number: i + 1,
                title: t.label(),
                pid: t.session.pid().filter(|_| t.session.is_running()),
                account: t.session.shared.account,
                history_rows: Arc::clone(&t.session.shared.history_rows),
                history_bytes: Arc::clone(&t.session.shared.history_bytes),
            })
            .collect();
        sampler.set_roster(roster);
    }

    /// Takes in a memory sample.
    fn take_snapshot(&mut self, snap: &crate::memory::sampler::Snapshot) {
        // Only a visible change draws a frame: an idle memmux with the panel shown stays idle
        // once the charts have filled.
        let mut panel_changed = false;
        let mut bar_changed = false;
        for fig in &snap.tabs {
            if let Some(i) = self.state.index_of(fig.id) {
                let tab = &mut self.state.tabs[i];
                tab.mem.history.push(fig.sample);
                let biggest = fig.biggest.clone();
                panel_changed |= tab.mem.biggest != biggest;
                tab.mem.biggest = biggest;
                let cols = ui::memory::chart_cols(self.config.panel_width);
                let view = ui::memory::refresh(&tab.mem.history, cols, &self.config);
                bar_changed |= view.alarm != tab.mem.view.alarm;
                panel_changed |= view != tab.mem.view;
                tab.mem.view = view;
            }
        }
        let totals = crate::ui::memory::Totals::from(snap);
        panel_changed |= totals != self.state.totals;
        self.state.totals = totals;
        let width = self.pane.width + self.panel_width();
        let visible = ui::panel_visible(width, &self.state, &self.config);
        if bar_changed || (visible && panel_changed) {
            self.redraw();
        }
    }

    fn panel_width(&self) -> u16 {
        self.panel.map_or(0, |p| p.width)
    }

    /// Writes every tab's in-memory history to a timestamped CSV in the data directory, on a
    /// thread of its own.
    fn export_memory(&mut self) {
        let Some(dir) = crate::config::data_dir() else {
            self.state
                .warn("no data directory (HOME is not set): nothing exported");
            return;
        };
        let mut csv = String::from(crate::memory::history::CSV_HEADER);
        csv.push('\n');
        for (i, t) in self.state.tabs.iter().enumerate() {
            t.mem.history.to_csv_rows(i + 1, &t.label(), &mut csv);
        }
        let stamp = crate::util::timestamp();
        let events = self.events.clone();
        let spawned = std::thread::Builder::new()
            .name("export".into())
            .spawn(move || {
                let path = dir.join(format!("memory-{stamp}.csv"));
                let result = std::fs::create_dir_all(&dir)
                    .and_then(|_| std::fs::write(&path, csv))
                    .map(|_| path.clone())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()));
                let _ = events.send(AppEvent::Exported(result));
            });
        if let Err(e) = spawned {
            self.state.warn(format!("cannot start the export: {e}"));
        }
    }

    fn schedule_title_check(&mut self) {
        if self.title_check.is_none() {
            self.title_check = Some(Instant::now() + TITLE_CHECK_DELAY);
        }
    }

    /// The earliest timer the loop must wake for.
    pub fn next_timer(&self) -> Option<Instant> {
        let msg = self
            .state
            .message
            .as_ref()
            .map(|m| m.at + crate::state::MESSAGE_TIME);
        [self.title_check, msg].into_iter().flatten().min()
    }

    pub fn on_timer(&mut self, now: Instant) {
        if self.title_check.is_some_and(|t| t <= now) {
            self.title_check = None;
            self.refresh_names();
        }
        if self.state.expire_message(now) {
            self.redraw();
        }
    }

    fn refresh_names(&mut self) {
        for tab in &mut self.state.tabs {
            let name = tab.session.foreground_name();
            if name.is_some() && name != tab.fg_name {
                tab.fg_name = name;
                self.needs_draw = true;
            }
        }
    }

    /// Called when a session woke the loop: notes output, bells and titles.
    pub fn collect_output(&mut self) {
        let focus = self.state.focus;
        let mut any = false;
        for (i, tab) in self.state.tabs.iter_mut().enumerate() {
            let shared = &tab.session.shared;
            let focused = i == focus;
            // A hidden tab already marked active keeps its dirty flag set, so its further output
            // wakes nobody: a flood in a hidden tab costs the UI nothing.
            if !focused && tab.activity && !shared.attention.load(Ordering::Acquire) {
                continue;
            }
            let was_dirty = shared.dirty.swap(false, Ordering::AcqRel);
            let attention = shared.attention.swap(false, Ordering::AcqRel);
            if !was_dirty && !attention {
                continue;
            }
            any = true;
            if focused {
                let bytes = shared.output_bytes.swap(0, Ordering::Relaxed);
                // 4 KiB: an echo, a prompt, a status line redraw; more is a stream.
                if bytes < 4096 {
                    self.interactive = true;
                }
            }
            if attention {
                if let Some(note) = shared
                    .notice
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                {
                    self.state.message = Some(crate::state::Message {
                        text: format!("tab {}: {note}", i + 1),
                        error: true,
                        at: std::time::Instant::now(),
                    });
                }
                let mut term = shared.lock_term();
                let events = term.events();
                if let Some(title) = events.title.take() {
                    tab.title = Some(title);
                }
                if std::mem::take(&mut events.bell) && !focused {
                    tab.bell = true;
                }
                if let Some(data) = events.clipboard.take() {
                    self.outbox.extend_from_slice(b"\x1b]52;c;");
                    self.outbox.extend_from_slice(&data);
                    self.outbox.push(0x07);
                }
            }
            if !focused {
                tab.activity = true;
                if !was_dirty {
                    // Keep the flag that suppresses wake-ups for this tab.
                    shared.dirty.store(true, Ordering::Release);
                }
            }
        }
        if any {
            self.redraw();
            self.schedule_title_check();
        }
    }

    /// Handles one event from another thread.
    pub fn handle_event(&mut self, ev: AppEvent) {
        match ev {
            AppEvent::Input(ev) => self.handle_input(ev),
            AppEvent::InputGone(why) => {
                self.state.warn(why);
                self.quit = true;
            }
            AppEvent::Memory(snap) => self.take_snapshot(&snap),
            AppEvent::Exported(Ok(path)) => {
                self.state
                    .say(format!("memory history written to {}", path.display()));
                self.redraw();
            }
            AppEvent::Exported(Err(e)) => {
                self.state.warn(e);
                self.redraw();
            }
            AppEvent::Exited { id, status } => {
                if let Some(i) = self.state.index_of(id) {
                    self.state.tabs[i].session.status = Status::Exited(status);
                    self.redraw();
                }
            }
        }
    }

    fn handle_input(&mut self, ev: Event) {
        match ev {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.handle_key(key),
            Event::Key(_) => {}
            Event::Paste(text) => self.handle_paste(&text),
            Event::Mouse(m) => self.handle_mouse(m),
            Event::FocusGained | Event::FocusLost => {
                let gained = matches!(ev, Event::FocusGained);
                if let Some(tab) = self.state.focused() {
                    let modes = self.input_modes(tab);
                    let mut out = Vec::new();
                    if keys::encode_focus(gained, &modes, &mut out) {
                        self.send_focused(out);
                    }
                }
            }
            // The frame is sized from the terminal itself at draw time.
            Event::Resize(..) => {
                self.resized = true;
                self.redraw_now();
            }
        }
    }

    fn input_modes(&self, tab: &Tab) -> InputModes {
        let mut term = tab.session.shared.lock_term();
        let focus = term.events().focus_reporting;
        InputModes::from_screen(term.screen(), focus)
    }

    fn send_focused(&mut self, bytes: Vec<u8>) {
        let Some(tab) = self.state.focused() else {
            return;
        };
        if let Err(err) = tab.session.send(bytes) {
            let n = self.state.focus + 1;
            self.state.warn(format!("tab {n}: input not sent: {err}"));
            self.redraw_now();
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        let chord = Chord::from_event(&key);
        if self.state.message.take().is_some() {
            self.redraw_now();
        }
        match std::mem::take(&mut self.state.mode) {
            Mode::Normal => self.key_normal(key, chord),
            Mode::Prefix => {
                self.redraw_now();
                match chord.and_then(|c| self.config.keymap.lookup(true, c)) {
                    Some(action) => self.run_action(action),
                    None if key.code == KeyCode::Esc => {}
                    None => {
                        let k = chord
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "that key".into());
                        self.state.warn(format!(
                            "{} {k} is not bound ({} ? lists the keys)",
                            self.config.keymap.prefix, self.config.keymap.prefix
                        ));
                    }
                }
            }
            Mode::Rename(mut input) => {
                self.redraw_now();
                match key.code {
                    KeyCode::Enter => {
                        let name = input.text.trim().to_string();
                        if let Some(tab) = self.state.focused_mut() {
                            tab.name = (!name.is_empty()).then_some(name);
                        }
                        return;
                    }
                    KeyCode::Esc => return,
                    _ => edit_line(&mut input, &key),
                }
                self.state.mode = Mode::Rename(input);
            }
            Mode::Command(mut input) => {
                self.redraw_now();
                match key.code {
                    KeyCode::Enter => {
                        let line = input.text.clone();
                        self.run_command(&line);
                        return;
                    }
                    KeyCode::Esc => return,
                    KeyCode::Tab => {
                        let (completed, note) = complete_command(&input.text);
                        input = LineInput::with_text(&completed);
                        if let Some(n) = note {
                            self.state.say(n);
                        }
                    }
                    _ => edit_line(&mut input, &key),
                }
                self.state.mode = Mode::Command(input);
            }
            Mode::Confirm(what) => {
                self.redraw_now();
                match key.code {
                    KeyCode::Char('y' | 'Y') => self.confirmed(what),
                    KeyCode::Char('n' | 'N') | KeyCode::Esc => {}
                    _ => self.state.mode = Mode::Confirm(what),
                }
            }
            Mode::Scroll(mut view) => {
                self.redraw_now();
                if self.key_scroll(&mut view, &key) {
                    self.state.mode = Mode::Scroll(view);
                }
            }
            Mode::Help(scroll) => {
                self.redraw_now();
                let max = (Action::all().len() as u16).saturating_sub(1);
                let page = self.pane.height.saturating_sub(2).max(1);
                let scroll = match key.code {
                    KeyCode::Esc | KeyCode::Char('q' | '?') | KeyCode::Enter => return,
                    KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1).min(max),
                    KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                    KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(page).min(max),
                    KeyCode::PageUp => scroll.saturating_sub(page),
                    KeyCode::Home | KeyCode::Char('g') => 0,
                    KeyCode::End | KeyCode::Char('G') => max,
                    _ => scroll,
                };
                self.state.mode = Mode::Help(scroll);
            }
        }
    }

    fn key_normal(&mut self, key: KeyEvent, chord: Option<Chord>) {
        if chord == Some(self.config.keymap.prefix) {
            self.state.mode = Mode::Prefix;
            self.redraw_now();
            return;
        }
        if let Some(action) = chord.and_then(|c| self.config.keymap.lookup(false, c)) {
            self.run_action(action);
            return;
        }
        let Some(tab) = self.state.focused() else {
            return;
        };
        if !tab.session.is_running() {
            // The program has ended: keys have nowhere to go, except `r` to start it again.
            if chord == Some(Chord::plain('r')) {
                self.restart_focused();
            }
            return;
        }
        let modes = self.input_modes(tab);
        let mut out = Vec::new();
        if keys::encode_key(&key, &modes, &mut out) {
            self.send_focused(out);
            self.schedule_title_check();
        }
    }

    fn handle_paste(&mut self, text: &str) {
        match &mut self.state.mode {
            Mode::Rename(input) => {
                for c in text.chars().take_while(|c| *c != '\n' && *c != '\r') {
                    input.insert(c);
                }
                self.redraw_now();
            }
            Mode::Normal => {
                let Some(tab) = self.state.focused() else {
                    return;
                };
                let modes = self.input_modes(tab);
                let mut out = Vec::with_capacity(text.len() + 12);
                keys::encode_paste(text, &modes, &mut out);
                self.send_focused(out);
            }
            _ => {}
        }
    }

    fn handle_mouse(&mut self, m: MouseEvent) {
        let pos = Position::new(m.column, m.row);
        if let Some(bar) = self.tab_bar.filter(|b| b.contains(pos)) {
            if let MouseEventKind::Down(MouseButton::Left) = m.kind {
                if let Some(i) = ui::tabs::tab_at(&self.state, &self.config, bar, m.column) {
                    self.focus(i);
                }
            }
            return;
        }
        let wheel: i64 = match m.kind {
            MouseEventKind::ScrollUp => -3,
            MouseEventKind::ScrollDown => 3,
            _ => 0,
        };
        if let Mode::Scroll(view) = &mut self.state.mode {
            if wheel != 0 {
                if let Some(tab) = self.state.tabs.get(self.state.focus) {
                    let term = tab.session.shared.lock_term();
                    view.scroll(&term, self.pane.height, wheel);
                    // Wheeling back to the bottom leaves the view, as in tmux.
                    if wheel > 0 && view.at_bottom(&term, self.pane.height) {
                        drop(term);
                        self.state.mode = Mode::Normal;
                    }
                }
                self.redraw_now();
            }
            return;
        }
        if !matches!(self.state.mode, Mode::Normal) {
            return;
        }
        let Some(tab) = self.state.focused() else {
            return;
        };
        let pane = self.pane;
        // Drags that leave the pane are clamped to its edge, as xterm clamps to the window.
        let col = m
            .column
            .saturating_sub(pane.x)
            .min(pane.width.saturating_sub(1));
        let row = m
            .row
            .saturating_sub(pane.y)
            .min(pane.height.saturating_sub(1));
        let inside = pane.contains(pos);
        let modes = self.input_modes(tab);
        let mut out = Vec::new();
        let dragging = matches!(m.kind, MouseEventKind::Drag(_) | MouseEventKind::Up(_));
        if (inside || dragging) && keys::encode_mouse(&m, col, row, &modes, &mut out) {
            self.send_focused(out);
            return;
        }
        if inside && wheel != 0 {
            let alternate = tab.session.shared.lock_term().screen().alternate_screen();
            if alternate {
                // A full-screen program that takes no mouse (less, man): the wheel moves it by
                // arrow keys, as xterm's alternateScroll does.
                let code = if wheel < 0 {
                    KeyCode::Up
                } else {
                    KeyCode::Down
                };
                let mut out = Vec::new();
                for _ in 0..wheel.abs() {
                    keys::encode_key(&KeyEvent::new(code, KeyModifiers::NONE), &modes, &mut out);
                }
                self.send_focused(out);
            } else if wheel < 0 {
                self.enter_scroll(wheel);
            }
        }
    }

    fn focus(&mut self, index: usize) {
        if index < self.state.tabs.len() && index != self.state.focus {
            self.state.set_focus(index);
            // Its output while hidden was not drawn: draw it now.
            if let Some(t) = self.state.focused() {
                t.session.shared.dirty.store(false, Ordering::Release);
            }
            self.redraw_now();
        }
    }

    /// Does what an action asks.
    pub fn run_action(&mut self, action: Action) {
        self.redraw_now();
        let n = self.state.tabs.len();
        match action {
            Action::NewTab => {
                let cwd = self.state.focused().and_then(|t| t.session.cwd());
                self.open_tab(None, cwd);
            }
            Action::NextTab if n > 0 => self.focus((self.state.focus + 1) % n),
            Action::PrevTab if n > 0 => self.focus((self.state.focus + n - 1) % n),
            Action::LastTab => match self.state.last_focus.and_then(|id| self.state.index_of(id)) {
                Some(i) => self.focus(i),
                None => self.state.say("no previous tab"),
            },
            Action::SelectTab(k) => {
                let i = usize::from(k).saturating_sub(1);
                if i < n {
                    self.focus(i);
                } else {
                    self.state.warn(format!("there is no tab {k}"));
                }
            }
            Action::RenameTab => {
                let current = self
                    .state
                    .focused()
                    .and_then(|t| t.name.clone())
                    .unwrap_or_default();
                self.state.mode = Mode::Rename(LineInput::with_text(&current));
            }
            Action::CloseTab => {
                let Some(tab) = self.state.focused() else {
                    return;
                };
                if tab.session.is_running() {
                    self.state.mode = Mode::Confirm(Confirm::CloseTab(tab.session.id));
                } else {
                    let id = tab.session.id;
                    self.close_tab(id);
                }
            }
            Action::RestartTab => {
                let Some(tab) = self.state.focused() else {
                    return;
                };
                if tab.session.is_running() {
                    self.state.mode = Mode::Confirm(Confirm::RestartTab(tab.session.id));
                } else {
                    self.restart_focused();
                }
            }
            Action::Quit => self.state.mode = Mode::Confirm(Confirm::Quit),
            Action::Help => self.state.mode = Mode::Help(0),
            Action::SendPrefix => {
                let p = self.config.keymap.prefix;
                if let (Some(tab), Some(key)) = (self.state.focused(), chord_to_key(p)) {
                    let modes = self.input_modes(tab);
                    let mut out = Vec::new();
                    if keys::encode_key(&key, &modes, &mut out) {
                        self.send_focused(out);
                    }
                }
            }
            Action::NextTab | Action::PrevTab => {}
            Action::ScrollMode => self.enter_scroll(0),
            Action::ScrollPageUp => self.enter_scroll(-i64::from(self.pane.height.max(1))),
            Action::PasteBuffer => match self.paste_buffer.clone() {
                Some(text) => {
                    self.handle_paste(&text);
                }
                None => self
                    .state
                    .say("the paste buffer is empty: copy with y in the scroll view"),
            },
            Action::ClearHistory => {
                if let Some(tab) = self.state.focused() {
                    let _account = tab.session.enter();
                    let shared = &tab.session.shared;
                    let mut term = shared.lock_term();
                    term.clear_history();
                    shared.note_history(&term);
                    drop(term);
                    self.state.say("history cleared");
                }
            }
            Action::ToggleMemoryPanel => {
                let width = self.pane.width + self.panel_width();
                let shown = ui::panel_visible(width, &self.state, &self.config);
                self.state.panel_override = Some(!shown);
            }
            Action::ExportMemory => self.export_memory(),
            Action::CommandPrompt => self.state.mode = Mode::Command(LineInput::default()),
            Action::ReloadConfig => self.reload_config(),
        }
    }

    /// Reads the config file again; a broken file leaves the running config as it is.
    fn reload_config(&mut self) {
        let Some(source) = self.config_source.clone() else {
            self.state
                .say("no config file to reload (no home directory)");
            return;
        };
        match crate::config::load(&source) {
            Ok(loaded) => {
                self.apply_config(loaded.config);
                match loaded.file {
                    Some(path) => self
                        .state
                        .say(format!("config reloaded from {}", path.display())),
                    None => self.state.say("no config file: defaults in use"),
                }
            }
            Err(err) => self
                .state
                .warn(format!("config not reloaded: {}", err.summary())),
        }
    }

    /// Puts a new configuration into effect for every tab.
    pub fn apply_config(&mut self, config: Config) {
        let limits = crate::session::scrollback::Limits {
            lines: config.scrollback_lines,
            bytes: config.scrollback_bytes,
        };
        self.ctx.limits = limits;
        self.ctx.osc52_max = config.osc52_copy.then_some(config.osc52_max_bytes);
        self.ctx.budget.set_limit(config.memory_budget);
        for tab in &self.state.tabs {
            let _account = tab.session.enter();
            let shared = &tab.session.shared;
            let mut term = shared.lock_term();
            term.history_mut().set_limits(limits);
            term.parser.callbacks_mut().osc52_max = self.ctx.osc52_max;
            shared.note_history(&term);
        }
        self.ctx.registry.enforce_budget();
        if let Some(s) = &self.sampler {
            s.set_interval(config.sample_interval);
        }
        // Cursor shape and mouse mode are resent with the next frame.
        self.cursor_style = None;
        self.config = config;
        self.redraw_now();
    }

    /// The `:` prompt: an action name and its argument, as the config file's `[keys]` names
    /// them (`new-tab`, `rename-tab build`, `select-tab-3`).
    fn run_command(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { return };
        let rest: Vec<&str> = words.collect();
        match name.parse::<Action>() {
            Ok(Action::RenameTab) if !rest.is_empty() => {
                let name = rest.join(" ");
                if let Some(tab) = self.state.focused_mut() {
                    tab.name = Some(name);
                }
                self.redraw_now();
            }
            Ok(Action::SelectTab(_)) | Err(_) if name == "select-tab" => {
                match rest
                    .first()
                    .and_then(|n| n.parse::<u8>().ok())
                    .filter(|n| (1..=9).contains(n))
                {
                    Some(n) => self.run_action(Action::SelectTab(n)),
                    None => self.state.warn("select-tab needs a tab number, 1 to 9"),
                }
            }
            Ok(action) if rest.is_empty() => self.run_action(action),
            Ok(action) => self.state.warn(format!("{action} takes no argument")),
            Err(e) => self.state.warn(e.to_string()),
        }
    }

    /// Opens the scroll view of the focused tab, scrolled by `delta` rows.
    fn enter_scroll(&mut self, delta: i64) {
        let height = self.pane.height;
        let Some(tab) = self.state.focused() else {
            return;
        };
        let _account = tab.session.enter();
        let mut term = tab.session.shared.lock_term();
        term.settle_history();
        let mut view = crate::scroll::ScrollView::new(&term, height);
        if delta != 0 {
            view.scroll(&term, height, delta);
        }
        drop(term);
        self.state.mode = Mode::Scroll(Box::new(view));
        self.redraw_now();
    }

    /// One key in the scroll view; false when the view closes.
    fn key_scroll(&mut self, view: &mut crate::scroll::ScrollView, key: &KeyEvent) -> bool {
        let h = self.pane.height.max(1);
        let Some(tab) = self.state.focused() else {
            return false;
        };
        let shared = std::sync::Arc::clone(&tab.session.shared);
        let _account = tab.session.enter();
        let term = shared.lock_term();
        view.note = None;
        if let Some((backward, mut input)) = view.prompt.take() {
            match key.code {
                KeyCode::Enter => {
                    if !input.text.is_empty() {
                        view.search = Some(crate::scroll::Search {
                            query: input.text,
                            backward,
                        });
                        view.found = None;
                        view.search_next(&term, h, false);
                    }
                }
                KeyCode::Esc => {}
                _ => {
                    edit_line(&mut input, key);
                    view.prompt = Some((backward, input));
                }
            }
            return true;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let half = i64::from((h / 2).max(1));
        let page = i64::from(h);
        match key.code {
            KeyCode::Char('q') => return false,
            KeyCode::Esc if view.anchor.is_some() => view.anchor = None,
            KeyCode::Esc => return false,
            KeyCode::Char('u') if ctrl => view.scroll(&term, h, -half),
            KeyCode::Char('d') if ctrl => view.scroll(&term, h, half),
            KeyCode::Char('b') if ctrl => view.scroll(&term, h, -page),
            KeyCode::Char('f') if ctrl => view.scroll(&term, h, page),
            KeyCode::Char('y') if ctrl => view.scroll(&term, h, -1),
            KeyCode::Char('e') if ctrl => view.scroll(&term, h, 1),
            KeyCode::Up | KeyCode::Char('k') => view.move_rows(&term, h, -1),
            KeyCode::Down | KeyCode::Char('j') => view.move_rows(&term, h, 1),
            KeyCode::Left | KeyCode::Char('h') => view.move_cols(&term, -1),
            KeyCode::Right | KeyCode::Char('l') => view.move_cols(&term, 1),
            KeyCode::PageUp => view.scroll(&term, h, -page),
            KeyCode::PageDown => view.scroll(&term, h, page),
            KeyCode::Home | KeyCode::Char('g') => view.to_top(&term, h),
            KeyCode::End | KeyCode::Char('G') => view.to_bottom(&term, h),
            KeyCode::Char('0' | '^') => view.line_start(),
            KeyCode::Char('$') => view.line_end(&term),
            KeyCode::Char('/') => view.prompt = Some((false, LineInput::default())),
            KeyCode::Char('?') => view.prompt = Some((true, LineInput::default())),
            KeyCode::Char('n') => view.search_next(&term, h, false),
            KeyCode::Char('N') => view.search_next(&term, h, true),
            KeyCode::Char('v' | ' ') => {
                view.anchor = if view.anchor.is_some() {
                    None
                } else {
                    Some(view.cursor)
                };
            }
            KeyCode::Char('y') | KeyCode::Enter => {
                let Some(text) = view.selected_text(&term) else {
                    view.note = Some("nothing selected: v starts a selection".to_string());
                    return true;
                };
                drop(term);
                self.copy(text);
                return false;
            }
            _ => {}
        }
        true
    }

    /// Puts `text` in memmux's paste buffer and, through OSC 52, in the system clipboard.
    fn copy(&mut self, text: String) {
        use base64::Engine;
        let lines = text.lines().count().max(1);
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        self.outbox.extend_from_slice(b"\x1b]52;c;");
        self.outbox.extend_from_slice(encoded.as_bytes());
        self.outbox.push(0x07);
        self.state.say(format!(
            "copied {} in {lines} line(s): {} pastes it",
            crate::util::human_bytes(text.len() as u64),
            self.config
                .keymap
                .keys_for(Action::PasteBuffer)
                .first()
                .map(|b| self.config.keymap.spell(b))
                .unwrap_or_else(|| "paste-buffer".into())
        ));
        self.paste_buffer = Some(text);
    }

    fn confirmed(&mut self, what: Confirm) {
        match what {
            Confirm::CloseTab(id) => self.close_tab(id),
            Confirm::RestartTab(id) => {
                if let Some(i) = self.state.index_of(id) {
                    self.state.set_focus(i);
                    self.restart_focused();
                }
            }
            Confirm::Quit => self.quit = true,
        }
    }

    /// Closes a tab, hanging up its programs. Closing the last tab quits (or opens a fresh
    /// shell when `exit-on-last-tab-close` is off).
    pub fn close_tab(&mut self, id: SessionId) {
        let Some(i) = self.state.index_of(id) else {
            return;
        };
        let mut tab = self.state.tabs.remove(i);
        let account = tab.session.enter();
        tab.session.hang_up();
        drop(tab);
        drop(account);
        if self.state.tabs.is_empty() {
            if self.config.exit_on_last_tab_close {
                self.quit = true;
            } else {
                self.open_tab(None, None);
            }
            return;
        }
        let focus = self.state.focus;
        let new_focus = if i < focus || focus >= self.state.tabs.len() {
            focus.saturating_sub(1)
        } else {
            focus
        };
        self.state.focus = usize::MAX;
        self.state
            .set_focus(new_focus.min(self.state.tabs.len() - 1));
        if let Some(t) = self.state.focused() {
            t.session.shared.dirty.store(false, Ordering::Release);
        }
        self.redraw_now();
    }

    /// Starts the focused tab's command again, in a fresh terminal.
    fn restart_focused(&mut self) {
        let Some(tab) = self.state.focused() else {
            return;
        };
        let spec = tab.session.spec.clone();
        let id = self.next_id;
        self.next_id += 1;
        let session = self.start_spec(id, spec);
        if let Some(tab) = self.state.focused_mut() {
            let mut old = std::mem::replace(&mut tab.session, session);
            old.hang_up();
            tab.title = None;
            tab.fg_name = None;
        }
        self.schedule_title_check();
        self.redraw_now();
    }

    /// Lays the screen out for `area` and resizes every session's pane to match.
    pub fn apply_layout(&mut self, area: Rect) {
        let layout = Layout::for_state(area, &self.state, &self.config);
        self.pane = layout.pane;
        self.tab_bar = layout.tab_bar;
        self.panel = layout.panel;
        for tab in &mut self.state.tabs {
            tab.session.resize(layout.pane.height, layout.pane.width);
        }
    }

    /// Draws a frame on `terminal`, then tells the outer terminal the cursor shape and mouse
    /// mode the focused program wants.
    pub fn draw<W: io::Write>(&mut self, out: &mut ui::Compositor<W>) -> anyhow::Result<()> {
        let area = out.area();
        self.apply_layout(area);
        let height = self.pane.height;
        if let (Mode::Scroll(view), Some(tab)) =
            (&mut self.state.mode, self.state.tabs.get(self.state.focus))
        {
            // History may have been evicted under the view since the last frame.
            view.clamp(&tab.session.shared.lock_term(), height);
        }
        out.draw(|f| ui::draw(f, &self.state, &self.config))
            .context("cannot write to the terminal")?;
        self.needs_draw = false;
        self.urgent = false;
        self.interactive = false;
        Ok(())
    }

    /// Cursor shape and pointer-motion reporting for the outer terminal, as escape sequences to
    /// write after a frame (empty when nothing changed).
    pub fn outer_modes(&mut self) -> String {
        let mut out = String::new();
        let (style, any_motion) = match self.state.focused() {
            Some(tab) => {
                let term = tab.session.shared.lock_term();
                let s = term.screen();
                (
                    s.cursor_style(),
                    s.mouse_protocol_mode() == vt100::MouseProtocolMode::AnyMotion,
                )
            }
            None => (vt100::CursorStyle::Default, false),
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
        out
    }

    /// Hangs up every session.
    pub fn shutdown(&mut self) {
        for tab in &mut self.state.tabs {
            tab.session.hang_up();
        }
    }
}

/// Completes an action name at the `:` prompt: the longest common prefix of the names that
/// match, and, when several do, a note listing them.
pub fn complete_command(text: &str) -> (String, Option<String>) {
    if text.contains(char::is_whitespace) {
        return (text.to_string(), None);
    }
    let mut names: Vec<String> = Action::all().iter().map(|a| a.name()).collect();
    names.push("select-tab".to_string());
    names.sort();
    names.dedup();
    let matches: Vec<&String> = names.iter().filter(|n| n.starts_with(text)).collect();
    match matches.as_slice() {
        [] => (
            text.to_string(),
            Some(format!("no action starts with `{text}`")),
        ),
        [one] => (format!("{one} "), None),
        many => {
            let first = many[0].as_str();
            let common = many.iter().fold(first.len(), |len, n| {
                first
                    .chars()
                    .zip(n.chars())
                    .take_while(|(a, b)| a == b)
                    .count()
                    .min(len)
            });
            let shown: Vec<&str> = many.iter().take(8).map(|s| s.as_str()).collect();
            let more = if many.len() > 8 { " …" } else { "" };
            (
                first[..common].to_string(),
                Some(format!("{}{more}", shown.join("  "))),
            )
        }
    }
}

/// Editing keys shared by the single-line prompts.
pub fn edit_line(input: &mut LineInput, key: &KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('u') if ctrl => input.clear(),
        KeyCode::Char('a') if ctrl => input.home(),
        KeyCode::Char('e') if ctrl => input.end(),
        KeyCode::Char(c) if !ctrl => input.insert(c),
        KeyCode::Backspace => input.backspace(),
        KeyCode::Delete => input.delete(),
        KeyCode::Left => input.left(),
        KeyCode::Right => input.right(),
        KeyCode::Home => input.home(),
        KeyCode::End => input.end(),
        _ => {}
    }
}

/// The key event a chord stands for (to send the prefix itself to a program).
fn chord_to_key(c: Chord) -> Option<KeyEvent> {
    use crate::keymap::ChordKey as K;
    let code = match c.code {
        K::Char(ch) => KeyCode::Char(ch),
        K::F(n) => KeyCode::F(n),
        K::Enter => KeyCode::Enter,
        K::Tab if c.shift => KeyCode::BackTab,
        K::Tab => KeyCode::Tab,
        K::Backspace => KeyCode::Backspace,
        K::Esc => KeyCode::Esc,
        K::Up => KeyCode::Up,
        K::Down => KeyCode::Down,
        K::Left => KeyCode::Left,
        K::Right => KeyCode::Right,
        K::Home => KeyCode::Home,
        K::End => KeyCode::End,
        K::PageUp => KeyCode::PageUp,
        K::PageDown => KeyCode::PageDown,
        K::Insert => KeyCode::Insert,
        K::Delete => KeyCode::Delete,
    };
    let mut m = KeyModifiers::empty();
    if c.ctrl {
        m |= KeyModifiers::CONTROL;
    }
    if c.alt {
        m |= KeyModifiers::ALT;
    }
    if c.shift {
        m |= KeyModifiers::SHIFT;
    }
    Some(KeyEvent::new(code, m))
}

/// Reads the user's terminal on its own thread and forwards events to the loop.
///
/// crossterm is built with `use-dev-tty`: its default mio source is edge-triggered and loses a
/// pending keystroke when a resize signal arrives in the same wake-up (keys then sit unread
/// until the next key); the poll(2) source does not. Its blocking `read` is the only safe way
/// to drain it: `poll` with a zero timeout skips events it already parsed, and any short
/// timeout busy-waits (measured: a 1 ms spin per key, which delayed the echo on 2 cores).
///
/// crossterm 0.29 spins at 100% CPU inside `read` once the terminal is gone (crossterm #793):
/// the thread checks for hang-up before each read, and a hang-up that lands inside `read`
/// comes with SIGHUP, on which memmux exits.
fn spawn_input_thread(tx: UnboundedSender<AppEvent>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            loop {
                let mut fds = [libc::pollfd {
                    fd: 0,
                    events: libc::POLLIN,
                    revents: 0,
                }];
                // SAFETY: one valid pollfd; a zero timeout never blocks.
                let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
                if n > 0 && fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
                    let _ = tx.send(AppEvent::InputGone("the terminal went away".into()));
                    return;
                }
                match crossterm::event::read() {
                    Ok(ev) => {
                        if tx.send(AppEvent::Input(ev)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(AppEvent::InputGone(format!(
                            "cannot read the terminal: {e}"
                        )));
                        return;
                    }
                }
            }
        })?;
    Ok(())
}

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(i32),
    TerminalGone,
}

/// How memmux was asked to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The command of the first tab (the shell when `None`).
    pub first: Option<Vec<String>>,
    /// Append every memory sample to this CSV file.
    pub mem_log: Option<PathBuf>,
    /// Shown in the status line at start (e.g. a broken config file at the default path).
    pub warning: Option<String>,
    /// Where the configuration came from, for `reload-config`.
    pub config_source: Option<crate::config::ConfigSource>,
}

/// Runs memmux on the user's terminal until the user quits or a signal ends it.
pub fn run(config: Config, options: Options) -> anyhow::Result<Exit> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the event loop")?;
    rt.block_on(run_loop(config, options))
}

async fn run_loop(config: Config, options: Options) -> anyhow::Result<Exit> {
    let (tx, mut rx): (UnboundedSender<AppEvent>, UnboundedReceiver<AppEvent>) =
        unbounded_channel();
    let notify = Arc::new(Notify::new());
    let wake: Arc<dyn Fn() + Send + Sync> = {
        let n = Arc::clone(&notify);
        Arc::new(move || n.notify_one())
    };
    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut sigquit = signal(SignalKind::quit()).context("cannot handle SIGQUIT")?;
    let mut sigwinch = signal(SignalKind::window_change()).context("cannot handle SIGWINCH")?;

    let sampler = {
        let tx = tx.clone();
        let deliver = Box::new(move |snap| {
            let _ = tx.send(AppEvent::Memory(Box::new(snap)));
        });
        let log = options.mem_log.clone();
        crate::memory::sampler::SamplerHandle::start(config.sample_interval, log, deliver)
            .with_context(|| match &options.mem_log {
                Some(p) => format!("cannot open the memory log {}", p.display()),
                None => "cannot start the memory sampler".to_string(),
            })?
    };

    let guard = terminal::TerminalGuard::enter().context("cannot set up the terminal")?;
    // The size is asked on SIGWINCH only, not per frame (each ask opens /dev/tty twice).
    let (w, h) = crossterm::terminal::size().context("cannot read the terminal size")?;
    // 64 KiB: a whole frame of a large screen goes out in one write.
    let stdout = io::BufWriter::with_capacity(64 << 10, io::stdout());
    let mut term = ui::Compositor::new(stdout, Rect::new(0, 0, w, h));
    let size = ratatui::layout::Size::new(w, h);
    spawn_input_thread(tx.clone()).context("cannot start the input thread")?;

    let mut app = App::new(config, tx, wake, Rect::new(0, 0, size.width, size.height));
    app.sampler = Some(sampler);
    app.config_source = options.config_source;
    app.open_tab(options.first, None);
    if let Some(w) = options.warning {
        app.state.warn(w);
    }

    let mut last_frame: Option<Instant> = None;
    let mut frame_at: Option<Instant> = None;
    let exit = loop {
        if app.quit {
            break Exit::Quit;
        }
        if app.needs_draw {
            let now = Instant::now();
            let due = match last_frame {
                // Read each time: a reloaded config may have another fps. Small output waits
                // at most 4 ms (250 frames/s), so an echo right after another frame (a memory
                // sample, say) isn't held back a whole frame interval.
                Some(t) if !app.urgent => {
                    let interval =
                        Duration::from_secs_f64(1.0 / f64::from(app.config.fps.clamp(1, 1000)));
                    t + if app.interactive {
                        interval.min(INTERACTIVE_FRAME)
                    } else {
                        interval
                    }
                }
                _ => now,
            };
            if due <= now {
                if std::mem::take(&mut app.resized) {
                    let (w, h) =
                        crossterm::terminal::size().context("cannot read the terminal size")?;
                    if term.area() != Rect::new(0, 0, w, h) {
                        term.resize(Rect::new(0, 0, w, h));
                    }
                }
                app.sync_roster();
                app.draw(&mut term)?;
                // Cursor shape, pointer mode and clipboard writes go after the frame.
                let mut extra = app.outer_modes().into_bytes();
                extra.append(&mut app.outbox);
                if !extra.is_empty() {
                    use std::io::Write;
                    let out = term.writer_mut();
                    out.write_all(&extra)
                        .context("cannot write to the terminal")?;
                    out.flush().context("cannot write to the terminal")?;
                }
                last_frame = Some(now);
                frame_at = None;
            } else {
                frame_at = Some(due);
            }
        }
        let timer = [frame_at, app.next_timer()].into_iter().flatten().min();
        tokio::select! {
            biased;
            _ = sigterm.recv() => break Exit::Signal(libc::SIGTERM),
            _ = sighup.recv() => break Exit::Signal(libc::SIGHUP),
            _ = sigint.recv() => break Exit::Signal(libc::SIGINT),
            _ = sigquit.recv() => break Exit::Signal(libc::SIGQUIT),
            _ = sigwinch.recv() => {
                app.resized = true;
                app.redraw_now();
            }
            Some(ev) = rx.recv() => {
                let gone = matches!(ev, AppEvent::InputGone(_));
                app.handle_event(ev);
                if gone {
                    break Exit::TerminalGone;
                }
            }
            _ = notify.notified() => app.collect_output(),
            _ = tokio::time::sleep_until(timer.unwrap_or_else(Instant::now).into()), if timer.is_some() => {
                app.on_timer(Instant::now());
            }
        }
    };
    app.shutdown();
    drop(term);
    drop(guard);
    Ok(exit)
}
