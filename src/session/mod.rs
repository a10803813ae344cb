//! A session: one program in a pseudo-terminal, its parser and its scrollback.

pub mod events;
pub mod fair;
pub mod fd_limit;
mod input_queue;
pub mod io_loop;
pub mod park;
pub mod process;
pub mod pty;
pub mod reader;
pub mod shared;
mod spawn;
pub mod typing;
pub mod wake;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use crate::term::scrollback::{Budget, Limits};

use crate::term::{self, Term};
pub use events::{Event, Listener};
pub use input_queue::{MAX_QUEUED_INPUT, QueueFull};
pub use process::ExitStatus;
pub use pty::CommandSpec;
pub use shared::{SamplerView, Shared, TermGuard};

/// Puts rows of the focused pane on the terminal straight from a session's reader thread,
/// without waking the UI thread: an echo reaches the user one thread hop sooner (tmux's server
/// also draws from the thread that reads the pty).
pub trait DirectDraw: Send + Sync {
    /// Called with `term` locked after output. Returns true when the rows it changed are on
    /// the terminal (the drawer keeps its own place in `Term::changes`); false when the UI
    /// must draw them (every row changed, another tab is shown, a frame is being drawn, the
    /// UI is in a mode where output is not drawn as is).
    fn draw_rows(&self, session: SessionId, term: &mut Term) -> bool;
}

/// What every session shares: the history limits and the global budget, the direct drawer.
#[derive(Clone)]
pub struct Context {
    /// Draws an echo without the UI thread, when the UI provides it.
    pub direct: Option<Arc<dyn DirectDraw>>,
    /// OSC 52 policy for new sessions (see `term::Callbacks::osc52_max`).
    pub osc52_max: Option<usize>,
    pub limits: Limits,
    pub budget: Arc<Budget>,
    pub registry: Arc<Registry>,
    /// Wakes the memory sampler when a quiet tab prints (see `memory::activity`).
    pub sampler_wake: crate::memory::activity::Waker,
}

impl Context {
    pub fn new(limits: Limits, budget: usize) -> Context {
        Context {
            direct: None,
            osc52_max: None,
            limits,
            budget: Budget::new(budget),
            registry: Arc::new(Registry::default()),
            sampler_wake: crate::memory::activity::Activity::no_waker(),
        }
    }
}

/// Every live session, for the global history budget.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<Vec<Weak<Shared>>>,
}

impl Registry {
    fn add(&self, s: &Arc<Shared>) {
        let mut v = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        v.retain(|w| w.strong_count() > 0);
        v.push(Arc::downgrade(s));
    }

    /// While all histories together pass the budget, frees the oldest chunk of the largest
    /// one. Locks one session at a time (never two), so it can't deadlock with the readers.
    pub fn enforce_budget(&self) {
        loop {
            let largest = {
                let v = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
                v.iter()
                    .filter_map(Weak::upgrade)
                    .max_by_key(|s| s.history_bytes())
            };
            let Some(s) = largest else { return };
            let mut term = s.lock_term();
            if !term.history().budget().is_exceeded() {
                return;
            }
            let freed = term.history_mut().evict_oldest_chunk();
            s.note_history(&term);
            if freed == 0 {
                return;
            }
        }
    }
}

/// Identifies a session for as long as memmux runs; never reused.
pub type SessionId = u64;

/// Where a session's program stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    Exited(ExitStatus),
    /// The program could not be started; the reason is shown in the pane.
    Failed(String),
}

/// A new session: its number, its program, its size and who hears its events.
pub struct Start {
    pub id: SessionId,
    pub spec: CommandSpec,
    pub rows: u16,
    pub cols: u16,
    /// Hears every event of the session, its program's end included.
    pub listener: Arc<dyn Listener>,
}

impl Start {
    /// A session nobody listens to (benchmarks, drawing tests): its events go nowhere.
    pub fn unheard(id: SessionId, spec: CommandSpec, rows: u16, cols: u16) -> Start {
        Start {
            id,
            spec,
            rows,
            cols,
            listener: Arc::new(events::Ignore),
        }
    }
}

/// One tab's program and everything memmux keeps for it.
pub struct Session {
    pub id: SessionId,
    pub spec: CommandSpec,
    pub shared: Arc<Shared>,
    pub status: Status,
    pty: Option<pty::Pty>,
    size: (u16, u16),
    /// The tab's memory cgroup; kept after the program ends, dropped (removed) with the tab.
    pub cgroup: Option<Arc<crate::memory::cgroup::TabCgroup>>,
}

impl Session {
    /// Starts the program in a new pty. Never fails: if the program can't start, the session
    /// exists with `Status::Failed` and the reason written in its pane, so the user sees what
    /// happened.
    pub fn start(start: Start, ctx: &Context) -> Session {
        let shared = Session::shared(&start, ctx);
        let Start {
            id,
            spec,
            rows,
            cols,
            ..
        } = start;
        let _inside = crate::memory::alloc::enter(shared.account);
        let label = id.to_string();
        let on_exit = {
            let shared = Arc::clone(&shared);
            Box::new(move |status| shared.exited(status))
        };
        match pty::spawn(&spec, rows, cols, Arc::clone(&shared), &label, on_exit) {
            Ok(pty) => Session {
                id,
                spec,
                shared,
                status: Status::Running,
                cgroup: pty.cgroup.clone(),
                pty: Some(pty),
                size: (rows, cols),
            },
            Err(err) => {
                let reason = format!("{:#}", pty::explain_fds(err));
                let message = format!(
                    "\x1b[1;31mmemmux: {}\x1b[m\r\n\r\nPress Ctrl-b r to retry or Ctrl-b x to close this tab.\r\n",
                    reason.replace('\n', "\r\n")
                );
                shared.lock_term().process(message.as_bytes());
                shared.eof.store(true, Ordering::Release);
                Session {
                    id,
                    spec,
                    shared,
                    status: Status::Failed(reason),
                    pty: None,
                    size: (rows, cols),
                    cgroup: None,
                }
            }
        }
    }

    /// The state `start` shares with the session's threads, its terminal allocated in a new
    /// allocator account.
    fn shared(start: &Start, ctx: &Context) -> Arc<Shared> {
        let account = crate::memory::alloc::new_account();
        // Everything the session holds is allocated inside its account, from here on.
        let inside = crate::memory::alloc::enter(account);
        let mut term = Term::new(start.rows, start.cols, ctx.limits, Arc::clone(&ctx.budget));
        term.parser.callbacks_mut().osc52_max = ctx.osc52_max;
        drop(inside);
        // The `Arc`'s own block (~1.3 KiB, the terminal struct inline) is memmux's: weak
        // references (the budget registry's) keep it allocated after the session is gone,
        // which would read as a leak in the session's account. What the terminal allocates
        // (screen rows, history) is the session's.
        let listener = Arc::clone(&start.listener);
        let shared = Arc::new(Shared::new(start.id, term, ctx, account, listener));
        ctx.registry.add(&shared);
        shared
    }

    /// A session with a screen and no program or pty, in `status`: what the drawing code's
    /// snapshot tests draw from (no process, so nothing on screen changes between runs).
    #[doc(hidden)]
    pub fn without_program(start: Start, ctx: &Context, status: Status) -> Session {
        let shared = Session::shared(&start, ctx);
        Session {
            id: start.id,
            spec: start.spec,
            shared,
            status,
            pty: None,
            size: (start.rows, start.cols),
            cgroup: None,
        }
    }

    /// A running session without a pty whose program is a test's script (the app's
    /// in-process driver): what the app sends it arrives at the returned socket, and its
    /// output is what the test passes to `reader::ingest`.
    #[doc(hidden)]
    pub fn scripted(
        start: Start,
        ctx: &Context,
    ) -> std::io::Result<(Session, std::os::unix::net::UnixStream)> {
        struct NoLoop;
        impl wake::Wake for NoLoop {
            fn wake(&self) {}
        }
        let (ours, program) = std::os::unix::net::UnixStream::pair()?;
        let session = Session::without_program(start, ctx, Status::Running);
        // As a pty master is: what the socket does not take waits in the queue.
        ours.set_nonblocking(true)?;
        session.shared.input.set_direct(
            Arc::new(std::os::fd::OwnedFd::from(ours)),
            wake::Waker::new(Arc::new(NoLoop)),
        );
        Ok((session, program))
    }

    pub fn pid(&self) -> Option<u32> {
        self.pty.as_ref().map(|p| p.pid)
    }

    pub fn is_running(&self) -> bool {
        self.status == Status::Running
    }

    /// Queues bytes for the program. Refused, and said so, when the program is not reading.
    pub fn send(&self, bytes: Vec<u8>) -> Result<(), QueueFull> {
        // No pty and not running: the program could not start. (A scripted session runs
        // without a pty; a hung-up one has its queue closed, which drops input too.)
        if self.pty.is_none() && !self.is_running() {
            return Ok(());
        }
        self.shared.send_input(bytes)
    }

    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// Enters this session's allocator account until the guard drops: the UI thread does so
    /// around everything it does to the session's state.
    pub fn enter(&self) -> crate::memory::alloc::AccountGuard {
        crate::memory::alloc::enter(self.shared.account)
    }

    /// Resizes the pty and the screen, if the size changed.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let (rows, cols) = (rows.clamp(1, term::MAX_DIM), cols.clamp(1, term::MAX_DIM));
        if self.size == (rows, cols) {
            return;
        }
        let _account = self.enter();
        self.size = (rows, cols);
        // Screen first, then the pty: the program redraws on SIGWINCH into a screen of the new size.
        {
            let mut term = self.shared.lock_term();
            term.resize(rows, cols);
            // A width change re-lays the history: its size changed.
            self.shared.note_history(&term);
        }
        if let Some(p) = &self.pty {
            // A pty whose program is gone may refuse; nothing to resize then.
            let _ = p.resize(rows, cols);
        }
    }

    /// The process the user is talking to: the pty's foreground process group leader, or the
    /// program itself.
    pub fn foreground_pid(&self) -> Option<u32> {
        let pty = self.pty.as_ref()?;
        if !self.is_running() {
            return None;
        }
        pty.foreground_pgrp().or(Some(pty.pid))
    }

    /// The name of the foreground command (`/proc/PID/comm`).
    pub fn foreground_name(&self) -> Option<String> {
        let pid = self.foreground_pid()?;
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        Some(name.trim_end().to_string())
    }

    /// The foreground process's working directory, else the program's.
    pub fn cwd(&self) -> Option<PathBuf> {
        [self.foreground_pid(), self.pid()]
            .into_iter()
            .flatten()
            .find_map(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).ok())
    }

    /// Hangs up the program and everything in its session, stops the threads, closes the pty.
    pub fn hang_up(&mut self) {
        let _account = self.enter();
        if let Some(mut pty) = self.pty.take() {
            if self.is_running() {
                process::hang_up_session(pty.pid);
            }
            pty.stop_threads();
            // The queue's own descriptor too, so the pty closes once the threads are gone.
            self.shared.input.close();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.hang_up();
    }
}

/// Panics on session threads, by thread name, waiting for the thread to pick up its own
/// (the panic hook runs before `catch_unwind` returns, and only it sees the message).
static PANICS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Records a panic on a session thread (called from the panic hook, which must not print: the
/// UI owns the screen).
pub fn note_thread_panic(thread: &str, info: &std::panic::PanicHookInfo<'_>) {
    let mut p = PANICS.lock().unwrap_or_else(|e| e.into_inner());
    // Bounded: a parser that panics on every read must not grow this without limit.
    if p.len() < 64 {
        p.push((thread.to_string(), info.to_string()));
    }
}

/// Takes the panic recorded for `thread`, if any.
pub fn take_panic(thread: &str) -> Option<String> {
    let mut p = PANICS.lock().unwrap_or_else(|e| e.into_inner());
    let i = p.iter().position(|(t, _)| t == thread)?;
    Some(p.remove(i).1)
}
