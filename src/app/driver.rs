//! The app driven in-process, for tests: no terminal, no input thread, no programs. Events go
//! in as a stream (keys, pastes, resizes, ticks of the clock); every frame the app draws goes
//! through the real compositor into a byte buffer that a vt100 parser turns into the screen a
//! user would see. Each pane's program is scripted (`FakeSpawner`): the test reads what the
//! app sent it and writes its output, which goes through the session's real parsing path
//! (`session::reader::ingest`).
//!
//! This drives `App` at the level `run::run_loop` does (`handle`, `collect_output`,
//! `on_timer`, `run::frame_on`) rather than running that loop: the loop also owns the user's
//! terminal, signals and the input thread, and taking those out of it is the frontend's work
//! (`run.rs` is being changed by another area this session).

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::spawner::Spawner;
use super::{App, AppEvent};
use crate::config::Config;
use crate::input::keymap::Chord;
use crate::session::{CommandSpec, Context, ExitStatus, Session, SessionId, Shared};
use crate::ui;

fn nonzero(v: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(v).unwrap_or(std::num::NonZeroU16::MIN)
}

/// One event of the stream a test drives the app with.
#[derive(Clone, Debug)]
pub enum Input {
    /// A key, mouse or paste event from the user's terminal.
    Event(Event),
    /// The user's terminal now has `cols` x `rows`.
    Resize(u16, u16),
    /// The clock moved on by this much: timers due by then fire (messages expire, the
    /// foreground command's name is looked up).
    Tick(Duration),
}

/// A scripted pane program: what the app sent it, and its screen to print on.
pub struct Program {
    pub id: SessionId,
    pub spec: CommandSpec,
    shared: Arc<Shared>,
    input: UnixStream,
    on_exit: Option<Box<dyn FnOnce(ExitStatus) + Send>>,
}

impl Program {
    /// What the app sent since the last call (keys, pastes, replies to queries).
    pub fn take_input(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock: nothing more now. Another error: the session is gone.
                Err(_) => break,
            }
        }
        out
    }

    /// The program writes `bytes` to its terminal: parsed as a pty reader would.
    pub fn print(&self, bytes: &[u8]) {
        crate::session::reader::ingest(&self.shared, bytes);
    }

    /// The program ends with `status`; the app hears of it as of a real program's end.
    pub fn exit(&mut self, status: ExitStatus) {
        if let Some(f) = self.on_exit.take() {
            f(status);
        }
    }

    /// The size of its terminal (rows, columns).
    pub fn size(&self) -> (u16, u16) {
        let term = self.shared.lock_term();
        let (rows, cols) = term.screen().size();
        (rows.get(), cols.get())
    }
}

/// Gives every new pane a scripted program, kept in `programs` in the order started.
#[derive(Clone, Default)]
pub struct FakeSpawner {
    pub programs: Arc<Mutex<Vec<Program>>>,
}

impl Spawner for FakeSpawner {
    fn start(
        &self,
        id: SessionId,
        spec: CommandSpec,
        rows: u16,
        cols: u16,
        ctx: &Context,
        on_exit: Box<dyn FnOnce(ExitStatus) + Send>,
    ) -> Session {
        match Session::scripted(id, spec.clone(), rows, cols, ctx) {
            Ok((session, input)) => {
                // The test reads what is there and goes on.
                let _ = input.set_nonblocking(true);
                self.programs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(Program {
                        id,
                        spec,
                        shared: Arc::clone(&session.shared),
                        input,
                        on_exit: Some(on_exit),
                    });
                session
            }
            // Out of descriptors for a socket pair: the pane says so, as a failed start does.
            Err(e) => Session::without_program(
                id,
                spec,
                rows,
                cols,
                ctx,
                crate::session::Status::Failed(e.to_string()),
            ),
        }
    }
}

/// The app, its scripted programs and the screen its frames drew.
pub struct Driver {
    pub app: App,
    events: UnboundedReceiver<AppEvent>,
    woken: Arc<AtomicBool>,
    screen: ui::direct::Shared<Vec<u8>>,
    size: (u16, u16),
    terminal: vt100::Parser,
    programs: Arc<Mutex<Vec<Program>>>,
    /// The app's clock: starts now, moved on by `Input::Tick`.
    now: Instant,
}

impl Driver {
    /// The app with the default configuration on a terminal of `cols` x `rows`, its first
    /// tab open and drawn.
    pub fn new(cols: u16, rows: u16) -> Driver {
        Driver::with_config(Config::default(), cols, rows)
    }

    pub fn with_config(config: Config, cols: u16, rows: u16) -> Driver {
        let (tx, events) = unbounded_channel();
        let woken = Arc::new(AtomicBool::new(false));
        let wake: Arc<dyn Fn() + Send + Sync> = {
            let w = Arc::clone(&woken);
            Arc::new(move || w.store(true, Ordering::Release))
        };
        let area = Rect::new(0, 0, cols, rows);
        let mut app = App::new(config, tx, wake, area);
        let spawner = FakeSpawner::default();
        let programs = Arc::clone(&spawner.programs);
        app.set_spawner(Box::new(spawner));
        let screen = ui::direct::Shared::new(ui::Compositor::new(Vec::new(), area));
        let mut d = Driver {
            app,
            events,
            woken,
            screen,
            size: (cols, rows),
            terminal: vt100::Parser::new(nonzero(rows), nonzero(cols), 0),
            programs,
            now: Instant::now(),
        };
        d.app.open_tab(None, None);
        d.app.resized = true;
        d.settle();
        d
    }

    /// Feeds the stream to the app, one event at a time, letting it settle after each.
    pub fn run(&mut self, inputs: impl IntoIterator<Item = Input>) {
        for input in inputs {
            match input {
                Input::Event(ev) => self.app.handle(AppEvent::Input(ev)),
                Input::Resize(cols, rows) => {
                    self.size = (cols, rows);
                    self.terminal
                        .screen_mut()
                        .set_size(nonzero(rows), nonzero(cols));
                    self.app.resized = true;
                    self.app.needs_draw = true;
                    self.app.urgent = true;
                }
                Input::Tick(d) => {
                    self.now += d;
                    self.app.on_timer(self.now);
                }
            }
            self.settle();
        }
    }

    /// Keys as the keymap spells them, separated by spaces: `"C-b c"`, `"C-b %"`, `"Enter"`.
    /// A chord the keymap cannot read is the test's mistake: it panics with the reason.
    pub fn keys(&mut self, spec: &str) {
        let events: Vec<Input> = spec
            .split_whitespace()
            .map(|k| {
                let chord: Chord = k.parse().unwrap_or_else(|e| panic!("test keys {k:?}: {e}"));
                let key = super::chord_to_key(chord)
                    .unwrap_or_else(|| panic!("test keys {k:?}: no key event for it"));
                Input::Event(Event::Key(key))
            })
            .collect();
        self.run(events);
    }

    /// Types `text` key by key (plain characters, `\n` as Enter).
    pub fn type_text(&mut self, text: &str) {
        let events: Vec<Input> = text
            .chars()
            .map(|c| {
                let code = if c == '\n' {
                    KeyCode::Enter
                } else {
                    KeyCode::Char(c)
                };
                Input::Event(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            })
            .collect();
        self.run(events);
    }

    /// Handles what other threads sent (program ends), the output programs printed, and draws
    /// a frame when one is wanted, as the loop does between events.
    pub fn settle(&mut self) {
        // Bounded: an app that keeps asking for frames (a bug) ends the settling anyway.
        for _ in 0..100 {
            let mut any = false;
            while let Ok(ev) = self.events.try_recv() {
                self.app.handle(ev);
                any = true;
            }
            if self.woken.swap(false, Ordering::AcqRel) {
                self.app.collect_output();
                any = true;
            }
            if self.app.needs_draw {
                if let Err(e) = self.frame() {
                    panic!("drawing a frame into a buffer failed: {e:#}");
                }
                any = true;
            }
            if !any {
                return;
            }
        }
    }

    fn frame(&mut self) -> anyhow::Result<()> {
        let (cols, rows) = self.size;
        super::run::frame_on(&mut self.app, &self.screen, || {
            Ok(Rect::new(0, 0, cols, rows))
        })
        .context("frame")?;
        let mut s = self.screen.lock();
        let bytes = std::mem::take(s.comp.writer_mut());
        drop(s);
        self.terminal.process(&bytes);
        Ok(())
    }

    /// The user's terminal as drawn so far.
    pub fn screen(&self) -> &vt100::Screen {
        self.terminal.screen()
    }

    /// Row `row` of the user's terminal, trailing blanks trimmed.
    pub fn row(&self, row: u16) -> String {
        let (_, cols) = self.screen().size();
        self.screen()
            .contents_between(row, 0, row, cols.get())
            .trim_end()
            .to_string()
    }

    /// The whole screen as text, one line per row.
    pub fn text(&self) -> String {
        self.screen().contents()
    }

    /// How many programs were started (panes opened, tabs restarted).
    pub fn program_count(&self) -> usize {
        self.programs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Runs `f` on the `n`th program started (from 0), then lets the app take in what it did.
    /// Panics when there is no such program: the test asked for a pane that never opened.
    pub fn program<R>(&mut self, n: usize, f: impl FnOnce(&mut Program) -> R) -> R {
        let r = {
            let mut programs = self.programs.lock().unwrap_or_else(|p| p.into_inner());
            let count = programs.len();
            let p = programs
                .get_mut(n)
                .unwrap_or_else(|| panic!("program {n}: only {count} started"));
            f(p)
        };
        self.settle();
        r
    }

    /// The index (in start order) of the focused pane's program.
    pub fn focused_program(&self) -> Option<usize> {
        let id = self.app.state.focused()?.session().id;
        self.programs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .position(|p| p.id == id)
    }
}
