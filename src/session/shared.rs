//! What a session shares between the app and the event loop: the terminal behind its lock
//! (with the hand-off to waiting threads), the bounded input queue, alerts for the UI.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::wake::Waker;
use crate::memory::alloc::{self, AccountId};
use crate::sys;
use crate::term::Term;

/// 32 MiB: input queued for a program that is not reading; past it a paste is refused, and the
/// user told so, rather than memmux's memory growing without bound.
pub const MAX_QUEUED_INPUT: usize = 32 << 20;

/// 4 KiB of input not yet taken by the program: past it, answers to its queries are dropped.
const STALE_REPLIES: usize = 4096;
/// 4: answers in a row to a program whose terminal is in line (canonical) mode. A program
/// that reads an answer turns line mode off before it asks (bash's `read -d R`, readline, vim),
/// or just after: the first few are for it. One that only prints (`head -c 1G /dev/urandom`
/// asks a few hundred times by chance) would leave them all for the shell, which reads them
/// as typed commands once it exits: CI saw bash still running `22c62` "commands" 90 s later.
const LINE_MODE_REPLIES: usize = 4;

/// Input waiting to be written to a program, bounded in bytes.
#[derive(Default)]
pub struct InputQueue {
    inner: Mutex<QueueInner>,
    /// Bytes accepted but not yet written.
    pending: AtomicUsize,
    /// Answers sent in a row while the terminal was in line mode.
    line_mode_replies: AtomicUsize,
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
                // Non-blocking: what the pty does not take now (or an error) waits in the queue.
                if let Ok(n) = sys::fd::write(&**fd, &bytes) {
                    bytes.drain(..n);
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

    /// Queues answers to the program's queries (cursor position, device attributes) unless
    /// nothing reads them: keystrokes are never dropped, answers may be. `bytes` holds whole
    /// answers, each starting with ESC (an ESC inside one only starts its ST, `ESC \\`).
    pub fn push_reply(&self, mut bytes: Vec<u8>) {
        if bytes.is_empty() || self.pending() > STALE_REPLIES {
            return;
        }
        if self.line_mode() {
            let starts = || {
                bytes
                    .windows(2)
                    .enumerate()
                    .filter(|(_, w)| w[0] == 0x1b && w[1] != b'\\')
                    .map(|(i, _)| i)
            };
            let count = starts().count();
            let before = self.line_mode_replies.fetch_add(count, Ordering::AcqRel);
            let allowed = LINE_MODE_REPLIES.saturating_sub(before);
            if let Some(cut) = starts().nth(allowed) {
                bytes.truncate(cut);
            }
        } else {
            self.line_mode_replies.store(0, Ordering::Release);
        }
        let _ = self.push(bytes);
    }

    /// The program's terminal is in line (canonical) mode; false when unknown.
    fn line_mode(&self) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Some(fd) = &inner.direct else {
            return false;
        };
        sys::tty::is_canonical(&**fd)
    }

    /// Gives the queue the pty for direct writes and the event loop's waker.
    pub(super) fn set_direct(&self, fd: Arc<OwnedFd>, waker: Waker) {
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
    pub(super) fn write_queued(&self, fd: BorrowedFd<'_>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(chunk) = inner.chunks.front() {
            let rest = chunk.get(inner.written..).unwrap_or_default();
            let n = match sys::fd::write(fd, rest) {
                Ok(n) => n,
                Err(e) => match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return,
                    _ => {
                        drop(inner);
                        self.close();
                        return;
                    }
                },
            };
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
    /// Fair (`fair::FairMutex`): a flooding parser relocks it after each batch, and a frame,
    /// a fast key or the budget waiting for it gets it after that batch.
    pub term: super::fair::FairMutex<Term>,
    /// When the program last printed (`now_ms`): a hidden tab quiet long enough is parked.
    last_output: std::sync::atomic::AtomicU64,
    /// `last_output` when parking was last declined (`u64::MAX`: never).
    park_declined: std::sync::atomic::AtomicU64,
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
            term: super::fair::FairMutex::new(term),
            last_output: std::sync::atomic::AtomicU64::new(now_ms()),
            park_declined: std::sync::atomic::AtomicU64::new(u64::MAX),
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

    /// Locks the terminal, after any thread already waiting for it (the lock is fair), and
    /// surviving a poisoned lock (a panic while parsing is contained in `reader::ingest`,
    /// which rebuilds the parser; the screen is still worth showing).
    pub fn lock_term(&self) -> TermGuard<'_> {
        let mut t = self.term.lock().unwrap_or_else(|p| {
            self.term.clear_poison();
            p.into_inner()
        });
        // Every reader and writer of the screen comes through here.
        t.wake();
        t
    }

    /// Milliseconds since this tab's program last printed anything.
    pub fn quiet_ms(&self) -> u64 {
        now_ms().saturating_sub(self.last_output.load(Ordering::Acquire))
    }

    /// Notes output now (for `quiet_ms`).
    pub(super) fn note_output(&self) {
        self.last_output.store(now_ms(), Ordering::Release);
    }

    /// Parks the terminal (`park`) unless another thread holds it; true when it was live and
    /// is parked now.
    pub fn try_park(&self) -> bool {
        // A screen that could not be parked is not tried again until it changes (each try
        // rebuilds it once: 0.5 ms for 200x50, every sample for every such tab).
        let output = self.last_output.load(Ordering::Acquire);
        if self.park_declined.load(Ordering::Acquire) == output {
            return false;
        }
        match self.term.try_lock() {
            Ok(mut t) => {
                if t.is_parked() {
                    return false;
                }
                let parked = t.park();
                if !parked {
                    self.park_declined.store(output, Ordering::Release);
                }
                parked
            }
            Err(_) => false,
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
/// Milliseconds on a monotonic clock (since the first call).
fn now_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

pub type TermGuard<'a> = std::sync::MutexGuard<'a, Term>;

/// What a program asked the UI's attention for, between two looks.
#[derive(Debug, Default)]
pub struct Alerts {
    pub bell: bool,
    /// The newest title (OSC 0/2), cleaned (`term::clean_title`).
    pub title: Option<String>,
    /// The newest OSC 52 clipboard write (base64), when allowed.
    pub clipboard: Option<Vec<u8>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.input.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
