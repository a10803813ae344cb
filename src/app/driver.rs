//! The app driven in-process, for tests: no terminal, no input thread, no programs. Events go
//! in as a stream (keys, pastes, resizes, ticks of the clock); every frame the app draws goes
//! through the real compositor into a byte buffer that a vt100 parser turns into the screen a
//! user would see. Each pane's program is scripted (`FakeSpawner`): the test reads what the
//! app sent it and writes its output, which goes through the session's real parsing path
//! (`session::reader::ingest`).
//!
//! The stream goes through the same loop as the real binary's (`serve::serve`), on a tokio
//! runtime of the driver's own: the script's inputs, then what the app's channel got meanwhile
//! (the programs' output and ends), until both are empty; then the frame still wanted is drawn.
//! Only the user's terminal, its signals and its input thread (`run`) are left out.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::serve::{self, serve};
use super::spawner::Spawner;
use super::{App, AppEvent};
use crate::config::Config;
use crate::input::keymap::Chord;
use crate::session::{CommandSpec, Context, ExitStatus, Session, SessionId, Shared, Start, Status};
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
    /// A memory sample, as the sampler hands it over.
    Sample(Box<crate::memory::sampler::Snapshot>),
}

/// A scripted pane program: what the app sent it, and its screen to print on.
pub struct Program {
    pub id: SessionId,
    pub spec: CommandSpec,
    shared: Arc<Shared>,
    input: UnixStream,
    /// It ended: a program ends once.
    exited: bool,
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
        if !std::mem::replace(&mut self.exited, true) {
            self.shared.script_exited(status);
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
    fn start(&self, start: Start, ctx: &Context) -> Session {
        let (id, spec) = (start.id, start.spec.clone());
        let (rows, cols) = (start.rows, start.cols);
        let listener = Arc::clone(&start.listener);
        match Session::scripted(start, ctx) {
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
                        exited: false,
                    });
                session
            }
            // Out of descriptors for a socket pair: the pane says so, as a failed start does.
            Err(e) => {
                let start = Start {
                    id,
                    spec,
                    rows,
                    cols,
                    listener,
                };
                Session::without_program(start, ctx, Status::Failed(e.to_string()))
            }
        }
    }
}

/// The app, its scripted programs and the screen its frames drew.
pub struct Driver {
    pub app: App,
    events: UnboundedReceiver<AppEvent>,
    screen: ui::direct::Shared<Vec<u8>>,
    /// The user's terminal's size (columns, rows).
    size: Cell<(u16, u16)>,
    terminal: vt100::Parser,
    programs: Arc<Mutex<Vec<Program>>>,
    /// The app's clock: starts now, moved on by `Input::Tick`.
    now: Instant,
    runtime: tokio::runtime::Runtime,
}

impl Driver {
    /// The app with the default configuration on a terminal of `cols` x `rows`, its first
    /// tab open and drawn.
    pub fn new(cols: u16, rows: u16) -> Driver {
        Driver::with_config(Config::default(), cols, rows)
    }

    /// Like `new`, with `config`. Panics when the driver's event loop cannot be built (a
    /// test's environment without threads or timers).
    pub fn with_config(config: Config, cols: u16, rows: u16) -> Driver {
        let (tx, events) = unbounded_channel();
        let area = Rect::new(0, 0, cols, rows);
        let mut app = App::new(config, tx, area);
        let spawner = FakeSpawner::default();
        let programs = Arc::clone(&spawner.programs);
        app.set_spawner(Box::new(spawner));
        let screen = ui::direct::Shared::new(ui::Compositor::new(Vec::new(), area));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("the driver's event loop: {e}"));
        let mut d = Driver {
            app,
            events,
            screen,
            size: Cell::new((cols, rows)),
            terminal: vt100::Parser::new(nonzero(rows), nonzero(cols), 0),
            programs,
            now: Instant::now(),
            runtime,
        };
        d.app.open_tab(None, None);
        d.app.resized = true;
        d.settle();
        d
    }

    /// Feeds the stream to the app's loop (`serve::serve`), then what the app's channel got
    /// meanwhile, until both are empty and the frame still wanted is drawn. Panics when
    /// drawing a frame fails (into a byte buffer, it cannot).
    pub fn run(&mut self, inputs: impl IntoIterator<Item = Input>) {
        let Driver {
            app,
            events,
            screen,
            size,
            terminal,
            now,
            runtime,
            ..
        } = self;
        let mut script = Script {
            inputs: inputs.into_iter().collect(),
            events,
            screen,
            size,
            terminal,
            now,
        };
        let area = || {
            let (cols, rows) = size.get();
            Ok(Rect::new(0, 0, cols, rows))
        };
        let served = runtime.block_on(serve(app, screen, &area, &mut script));
        if let Err(e) = served {
            panic!("the app's loop failed: {e:#}");
        }
        script.show();
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

    /// Lets the app take in what other threads sent (program ends), the output programs
    /// printed, and draw the frame wanted: the loop with nothing more from the script.
    pub fn settle(&mut self) {
        self.run([]);
    }

    /// Cells the last frame (or the panel's part drawn alone) compared with the terminal's:
    /// what it cost.
    pub fn compared(&self) -> usize {
        self.screen.lock().comp.compared()
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

/// The loop's input in the driver: what the app's channel holds first (a program's output
/// or end, sent before the script's next input was typed), then the script's next input.
struct Script<'a> {
    inputs: VecDeque<Input>,
    events: &'a mut UnboundedReceiver<AppEvent>,
    screen: &'a ui::direct::Shared<Vec<u8>>,
    size: &'a Cell<(u16, u16)>,
    terminal: &'a mut vt100::Parser,
    now: &'a mut Instant,
}

impl Script<'_> {
    /// Puts what the frames drew so far on the user's terminal.
    fn show(&mut self) {
        let bytes = std::mem::take(self.screen.lock().comp.writer_mut());
        self.terminal.process(&bytes);
    }
}

impl serve::Inputs for Script<'_> {
    async fn next(&mut self) -> Option<serve::Input> {
        if let Ok(ev) = self.events.try_recv() {
            return Some(serve::Input::App(ev));
        }
        Some(match self.inputs.pop_front()? {
            Input::Event(ev) => serve::Input::App(AppEvent::Input(ev)),
            Input::Resize(cols, rows) => {
                // What was drawn before is drawn at the size it was drawn for.
                self.show();
                self.size.set((cols, rows));
                self.terminal
                    .screen_mut()
                    .set_size(nonzero(rows), nonzero(cols));
                serve::Input::Resized
            }
            Input::Tick(d) => {
                *self.now += d;
                serve::Input::Tick(*self.now)
            }
            Input::Sample(snap) => serve::Input::App(AppEvent::Memory(snap)),
        })
    }
}
