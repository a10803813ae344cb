//! Spawning a program in a pseudo-terminal and handing it to the event loop (`io_loop`) that
//! reads and parses its output, writes its input and waits for it to exit.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::io_loop::{self, IoHandle, NewTab, Waker};
use super::term::Term;
use crate::memory::alloc::{self, AccountId};

/// 32 MiB: input queued for a program that is not reading; past it a paste is refused, and the
/// user told so, rather than memmux's memory growing without bound.
pub const MAX_QUEUED_INPUT: usize = 32 << 20;

/// What to run in a new pty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub term: String,
}

/// Input waiting to be written to a program, bounded in bytes.
#[derive(Default)]
pub struct InputQueue {
    inner: Mutex<QueueInner>,
    /// Bytes accepted but not yet written.
    pending: AtomicUsize,
}

#[derive(Default)]
struct QueueInner {
    chunks: VecDeque<Vec<u8>>,
    /// Bytes of the first chunk already written.
    written: usize,
    closed: bool,
    /// The pty, for writing straight from the caller's thread when nothing is queued: a
    /// keystroke then skips the hop to the event loop (about 0.1 ms on 2 busy cores). The
    /// loop holds the same descriptor.
    direct: Option<Arc<OwnedFd>>,
    /// Tells the event loop that input is queued.
    waker: Option<Waker>,
}

/// The queue refused input because the program has not read what it already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{pending} bytes of input are still waiting for the program to read them")]
pub struct QueueFull {
    pub pending: usize,
}

impl InputQueue {
    pub fn push(&self, bytes: Vec<u8>) -> Result<(), QueueFull> {
        if bytes.is_empty() {
            return Ok(());
        }
        let pending = self.pending.load(Ordering::Acquire);
        if pending + bytes.len() > MAX_QUEUED_INPUT {
            return Err(QueueFull { pending });
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.closed {
            return Ok(());
        }
        let mut bytes = bytes;
        // Nothing queued: write now, under the lock, so the order of input is kept; what the
        // pty doesn't take waits for the event loop to see the pty writable.
        if inner.chunks.is_empty() && self.pending.load(Ordering::Acquire) == 0 {
            if let Some(fd) = &inner.direct {
                // SAFETY: writing from a slice we own to a descriptor we hold (non-blocking).
                let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
                if n > 0 {
                    bytes.drain(..n as usize);
                }
                if bytes.is_empty() {
                    return Ok(());
                }
            }
        }
        self.pending.fetch_add(bytes.len(), Ordering::AcqRel);
        let first = inner.chunks.is_empty();
        inner.chunks.push_back(bytes);
        if first {
            if let Some(w) = &inner.waker {
                w.wake();
            }
        }
        Ok(())
    }

    /// Gives the queue the pty for direct writes and the event loop's waker.
    fn set_direct(&self, fd: Arc<OwnedFd>, waker: Waker) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.direct = Some(fd);
        inner.waker = Some(waker);
    }

    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Input is waiting for the pty to take it.
    pub(super) fn has_queued(&self) -> bool {
        !self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .chunks
            .is_empty()
    }

    /// Writes queued input to `fd` (non-blocking) until the pty takes no more or the queue is
    /// empty. An error other than a full pty closes the queue: the program is gone.
    pub(super) fn write_queued(&self, fd: RawFd) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(chunk) = inner.chunks.front() {
            let rest = chunk.get(inner.written..).unwrap_or_default();
            // SAFETY: writing from a slice we own, at most its length.
            let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
            if n < 0 {
                match io::Error::last_os_error().kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return,
                    _ => {
                        drop(inner);
                        self.close();
                        return;
                    }
                }
            }
            let n = n as usize;
            self.pending.fetch_sub(n, Ordering::AcqRel);
            if n >= rest.len() {
                inner.chunks.pop_front();
                inner.written = 0;
            } else {
                inner.written += n;
            }
        }
    }

    /// Drops what is queued and the queue's descriptor of the pty; later input is ignored.
    pub fn close(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.closed = true;
        inner.chunks.clear();
        inner.written = 0;
        inner.direct = None;
        inner.waker = None;
        self.pending.store(0, Ordering::Release);
    }
}

/// State a session shares with its threads.
pub struct Shared {
    pub id: super::SessionId,
    pub term: Mutex<Term>,
    /// Threads waiting for `term` in `lock_term` (the UI, the budget): the parser lets them
    /// have it between two batches (`yield_term`) instead of taking it straight back.
    term_waiters: AtomicUsize,
    /// Bells, titles and clipboard writes since the UI last looked, moved here from the
    /// terminal after each batch: the UI takes them without waiting for a busy parser.
    pub alerts: Mutex<Alerts>,
    /// Set by the reader after parsing output; cleared by the UI when it looks.
    pub dirty: AtomicBool,
    /// Output bytes parsed since the UI last looked: a few bytes (an echo) are drawn at once,
    /// a flood at the frame rate.
    pub output_bytes: AtomicUsize,
    /// Something the user must be told about this tab (a contained parser failure).
    pub notice: Mutex<Option<String>>,
    /// A bell rang or the title changed: worth a look even for a hidden tab already marked busy.
    pub attention: AtomicBool,
    /// The program's side of the pty is closed: no more output will come.
    pub eof: AtomicBool,
    pub input: InputQueue,
    /// Heap bytes of this session's history, as of the last change (read without the lock by
    /// the budget and the memory panel).
    pub history_bytes: Arc<AtomicUsize>,
    /// Rows of history, likewise.
    pub history_rows: Arc<AtomicUsize>,
    /// Output so far, for the memory sampler's pace.
    pub activity: Arc<crate::memory::activity::Activity>,
    /// Wakes the UI; shared by every session.
    pub wake: Arc<dyn Fn() + Send + Sync>,
    pub(super) direct: Option<Arc<dyn super::DirectDraw>>,
    pub(super) registry: Arc<super::Registry>,
    /// The allocator account every byte of this session is charged to.
    pub account: AccountId,
    /// Last, so it runs after the fields above are freed: closes the account and records
    /// anything left in it as a leak.
    _closer: AccountCloser,
}

/// Closes a session's allocator account when the session's state is finally dropped.
struct AccountCloser(AccountId);

impl Drop for AccountCloser {
    fn drop(&mut self) {
        // The leak record belongs to memmux, not to the account being closed.
        let _memmux = alloc::enter(alloc::MEMMUX);
        let left = alloc::close_account(self.0);
        if left != 0 {
            crate::memory::note_leak(self.0, left);
        }
    }
}

impl Shared {
    pub fn new(
        id: super::SessionId,
        term: Term,
        ctx: &super::Context,
        account: AccountId,
    ) -> Shared {
        Shared {
            id,
            direct: ctx.direct.clone(),
            account,
            _closer: AccountCloser(account),
            history_bytes: Arc::new(AtomicUsize::new(0)),
            history_rows: Arc::new(AtomicUsize::new(0)),
            activity: Arc::new(crate::memory::activity::Activity::new(Arc::clone(
                &ctx.sampler_wake,
            ))),
            wake: Arc::clone(&ctx.wake),
            registry: Arc::clone(&ctx.registry),
            term: Mutex::new(term),
            term_waiters: AtomicUsize::new(0),
            alerts: Mutex::new(Alerts::default()),
            dirty: AtomicBool::new(false),
            attention: AtomicBool::new(false),
            notice: Mutex::new(None),
            output_bytes: AtomicUsize::new(0),
            eof: AtomicBool::new(false),
            input: InputQueue::default(),
        }
    }

    /// Publishes the history's size after a change to it (call with the term locked).
    pub fn note_history(&self, term: &Term) {
        self.history_bytes
            .store(term.history().bytes(), Ordering::Release);
        self.history_rows
            .store(term.history().len(), Ordering::Release);
    }

    /// Locks the terminal, surviving a poisoned lock (a panic while parsing is contained in
    /// `reader::ingest`, which rebuilds the parser; the screen is still worth showing).
    pub fn lock_term(&self) -> TermGuard<'_> {
        match self.term.try_lock() {
            Ok(t) => return t,
            Err(std::sync::TryLockError::Poisoned(p)) => {
                self.term.clear_poison();
                return p.into_inner();
            }
            Err(std::sync::TryLockError::WouldBlock) => {}
        }
        self.term_waiters.fetch_add(1, Ordering::AcqRel);
        let t = self.lock_term_for_parse();
        self.term_waiters.fetch_sub(1, Ordering::AcqRel);
        t
    }

    /// Locks the terminal for parsing: as `lock_term`, without counting as a waiter.
    pub(super) fn lock_term_for_parse(&self) -> TermGuard<'_> {
        self.term.lock().unwrap_or_else(|p| {
            self.term.clear_poison();
            p.into_inner()
        })
    }

    /// Called by the parser after a batch, with the lock released: while another thread
    /// waits in `lock_term`, yields to it rather than locking again at once (std's lock is
    /// not fair: the parser would win nearly every time). Bounded by `HANDOFF_MAX`.
    pub(super) fn yield_term(&self) {
        let start = std::time::Instant::now();
        while self.term_waiters.load(Ordering::Acquire) > 0 && start.elapsed() < HANDOFF_MAX {
            std::thread::yield_now();
        }
    }

    /// Moves the bell, title and clipboard events out of `term` into `alerts`; true when
    /// there were any.
    pub(super) fn take_alerts(&self, term: &mut Term) -> bool {
        let events = term.events();
        if !events.bell && events.title.is_none() && events.clipboard.is_none() {
            return false;
        }
        let mut alerts = self.alerts.lock().unwrap_or_else(|p| p.into_inner());
        alerts.bell |= std::mem::take(&mut events.bell);
        if let Some(title) = events.title.take() {
            alerts.title = Some(title);
        }
        if let Some(data) = events.clipboard.take() {
            alerts.clipboard = Some(data);
        }
        true
    }

    /// The alerts since the last call.
    pub fn take_alerts_for_ui(&self) -> Alerts {
        std::mem::take(&mut *self.alerts.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(super) fn mark_dirty(&self) {
        // One wake-up per burst: only the first output after the UI looked wakes it.
        if !self.dirty.swap(true, Ordering::AcqRel) {
            (self.wake)();
        }
    }
}

/// The terminal, locked.
pub type TermGuard<'a> = std::sync::MutexGuard<'a, Term>;

/// 2 ms: the longest the parser waits for a waiting thread to take the terminal (one that
/// was woken but not yet run on a busy machine); a 64 KiB batch parses in about 1 ms.
const HANDOFF_MAX: std::time::Duration = std::time::Duration::from_millis(2);

/// What a program asked the UI's attention for, between two looks.
#[derive(Debug, Default)]
pub struct Alerts {
    pub bell: bool,
    /// The newest title (OSC 0/2), cleaned (`term::clean_title`).
    pub title: Option<String>,
    /// The newest OSC 52 clipboard write (base64), when allowed.
    pub clipboard: Option<Vec<u8>>,
}

/// A running program in a pty, with the handles needed to resize and stop it.
pub struct Pty {
    pub master: Box<dyn MasterPty + Send>,
    pub pid: u32,
    /// Dropping this stops the event loop's reads and writes of the pty.
    io: Option<IoHandle>,
    /// The tab's share of the descriptor limit.
    _fds: super::fd_limit::TabFds,
}

impl Pty {
    pub fn master_fd(&self) -> Option<RawFd> {
        self.master.as_raw_fd()
    }

    pub fn resize(&self, rows: u16, cols: u16) -> anyhow::Result<()> {
        self.master.resize(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
    }

    /// The foreground process group of the pty (the job the user is talking to).
    pub fn foreground_pgrp(&self) -> Option<u32> {
        self.master
            .process_group_leader()
            .and_then(|p| u32::try_from(p).ok())
    }

    /// Stops reading and writing the pty (the program is still reaped when it ends); the
    /// master is closed when `self` drops.
    pub fn stop_threads(&mut self) {
        self.io.take();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// How a program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit {c}"),
            ExitStatus::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we hold open returns a new descriptor or -1.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fcntl flag manipulation on a descriptor we hold open.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Starts `spec` in a new pty of `rows` x `cols` and hands it to the event loop.
/// `on_exit` is called on the loop's thread with the program's exit status.
pub fn spawn(
    spec: &CommandSpec,
    rows: u16,
    cols: u16,
    shared: Arc<Shared>,
    label: &str,
    on_exit: Box<dyn FnOnce(ExitStatus) + Send>,
) -> anyhow::Result<Pty> {
    let program = spec.argv.first().context("no command given")?;
    let fds = super::fd_limit::reserve_tab();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(|e| anyhow::anyhow!("cannot open a pseudo-terminal: {}", os_error_text(&e)))?;
    let master = pair.master;
    let master_fd = master
        .as_raw_fd()
        .context("the pty has no file descriptor")?;
    // Everything that can fail for want of descriptors is done before the program starts, so
    // a failure never leaves a started program behind.
    // Non-blocking, so a program that never reads its input can't block the event loop; the
    // flag is shared by the dup below (same open file description).
    set_nonblocking(master_fd).context("cannot make the pty non-blocking")?;
    // One copy for the event loop and the input queue's direct writes: with the master and the
    // pidfd, 3 descriptors per tab.
    let io_fd = Arc::new(dup(master_fd).context("cannot duplicate the pty")?);
    let waker = io_loop::reserve()?;

    let mut cmd = CommandBuilder::from_argv(spec.argv.iter().map(OsString::from).collect());
    cmd.env("TERM", &spec.term);
    cmd.env("COLORTERM", "truecolor");
    cmd.env("MEMMUX", std::process::id().to_string());
    for var in ["COLUMNS", "LINES", "TMUX", "TMUX_PANE"] {
        cmd.env_remove(var);
    }
    if let Some(cwd) = &spec.cwd {
        cmd.cwd(cwd);
    }
    let child = pair
        .slave
        .spawn_command(cmd)
        .with_context(|| format!("cannot start `{program}`"))?;
    // Our copy of the slave must close, or the reader would never see the program's end.
    drop(pair.slave);
    // portable-pty's child handle is not used: the event loop reaps with waitpid to learn the
    // signal number, which portable-pty only gives as a name.
    let pid = child.process_id();
    drop(child);
    let pid = pid.context("the started program has no process id")?;
    // Readable once the program has ended; without one (Linux before 5.3) a thread waits.
    let pidfd = io_loop::pidfd_open(pid);

    // The loop's bookkeeping is memmux's, not the session's: it is freed only after the loop
    // has dropped the session's state, so charging it to the session would show up as a leak
    // when the tab closes. The loop enters the session's account for the session's work.
    let _memmux = alloc::enter(alloc::MEMMUX);
    shared.input.set_direct(Arc::clone(&io_fd), waker.clone());
    let io = io_loop::register(
        &waker,
        NewTab {
            shared,
            pty: io_fd,
            pidfd,
            pid,
            on_exit,
            label: format!("pty-parse-{label}"),
        },
    );

    Ok(Pty {
        master,
        pid,
        io: Some(io),
        _fds: fds,
    })
}

/// Says what the descriptor limit is when `err` ran out of descriptors.
pub fn explain_fds(err: anyhow::Error) -> anyhow::Error {
    super::fd_limit::explain(err)
}

/// portable-pty reports `openpty` failures with the `Debug` form of the OS error
/// (`Os { code: 28, kind: StorageFull, .. }`); this gives the plain text ("No space left on
/// device (os error 28)").
fn os_error_text(e: &anyhow::Error) -> String {
    let text = e.to_string();
    let code = text
        .split("code: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<i32>().ok());
    match code {
        Some(c) => io::Error::from_raw_os_error(c).to_string(),
        None => text,
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.input.close();
    }
}

/// Waits for `pid` to end and reaps it.
pub(super) fn wait_for(pid: u32) -> ExitStatus {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        if r < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if r < 0 {
            // Already reaped elsewhere (should not happen): report a plain failure.
            return ExitStatus::Code(-1);
        }
        break;
    }
    if libc::WIFSIGNALED(status) {
        ExitStatus::Signal(libc::WTERMSIG(status))
    } else {
        ExitStatus::Code(libc::WEXITSTATUS(status))
    }
}

/// Sends SIGHUP to every process of the session led by `sid` (the tab's program ran `setsid`,
/// so its session id is its pid): background jobs and their children included, so nothing
/// left behind keeps the pty open.
pub fn hang_up_session(sid: u32) {
    // SAFETY: kill(2) with a negative pid signals a process group; harmless if it is gone.
    unsafe {
        libc::kill(-(sid as libc::pid_t), libc::SIGHUP);
    }
    for pid in session_members(sid) {
        // SAFETY: as above, for one process.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGHUP);
        }
    }
}

/// Pids whose session id is `sid`, from `/proc/PID/stat`. Processes that vanish while we read
/// are simply skipped.
pub fn session_members(sid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| stat_session(&s))
                == Some(sid)
        })
        .collect()
}

/// The session id (field 6) of a `/proc/PID/stat` line. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted from the last `)`.
fn stat_session(stat: &str) -> Option<u32> {
    let after = &stat[stat.rfind(')')? + 1..];
    // After the name: state, ppid, pgrp, session.
    after.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_session_survives_odd_names() {
        let line = "1234 (a) (b c) S 1 1234 999 0 -1 4194560";
        assert_eq!(stat_session(line), Some(999));
        assert_eq!(stat_session("garbage"), None);
    }

    #[test]
    fn queue_is_bounded_and_says_so() {
        let q = InputQueue::default();
        assert!(q.push(vec![0; MAX_QUEUED_INPUT - 10]).is_ok());
        let err = q.push(vec![0; 11]).unwrap_err();
        assert_eq!(err.pending, MAX_QUEUED_INPUT - 10);
        assert!(q.push(vec![0; 10]).is_ok());
        assert_eq!(q.pending(), MAX_QUEUED_INPUT);
    }
}
