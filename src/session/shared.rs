//! What a session shares between the app and its threads: the terminal behind its fair lock
//! (with the hand-off to waiting threads), the input queue, the sender of its events, the
//! history's size and the allocator account.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::events::{Event, Listener, Sender};
use super::input_queue::{InputQueue, QueueFull};
use crate::memory::alloc::{self, AccountId};
use crate::term::Term;

/// State a session shares with its threads. Its fields are the session's own (`session/`'s
/// threads use them directly); the app reaches it through the methods below.
pub struct Shared {
    pub(super) id: super::SessionId,
    /// Fair (`fair::FairMutex`): a flooding parser relocks it after each batch, and a frame,
    /// a fast key or the budget waiting for it gets it after that batch.
    pub(super) term: super::fair::FairMutex<Term>,
    /// When the program last printed (`now_ms`): a hidden tab quiet long enough is parked.
    last_output: AtomicU64,
    /// `last_output` when parking was last declined (`u64::MAX`: never).
    park_declined: AtomicU64,
    /// Tells the app what happened (output coalesced: `events::Sender`).
    pub(super) events: Sender,
    /// The program's side of the pty is closed: no more output will come.
    pub(super) eof: AtomicBool,
    pub(super) input: InputQueue,
    /// On someone's screen (a pane of a tab some view focuses), as the app last said
    /// (`set_shown`). A hidden tab's flood is parsed at the idle priority (`reader`): nobody
    /// sees it, and a shown tab's echo goes first. True until the app says otherwise, so a
    /// session no app watches is never held back.
    shown: AtomicBool,
    /// Heap bytes of this session's history, as of the last change (read without the lock by
    /// the budget and the memory panel).
    history_bytes: Arc<AtomicUsize>,
    /// Rows of history, likewise.
    history_rows: Arc<AtomicUsize>,
    /// Output so far, for the memory sampler's pace.
    pub(super) activity: Arc<crate::memory::activity::Activity>,
    pub(super) direct: Option<Arc<dyn super::DirectDraw>>,
    pub(super) registry: Arc<super::Registry>,
    /// The allocator account every byte of this session is charged to.
    pub(super) account: AccountId,
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
    pub(super) fn new(
        id: super::SessionId,
        term: Term,
        ctx: &super::Context,
        account: AccountId,
        listener: Arc<dyn Listener>,
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
            events: Sender::new(id, listener),
            registry: Arc::clone(&ctx.registry),
            term: super::fair::FairMutex::new(term),
            last_output: AtomicU64::new(now_ms()),
            park_declined: AtomicU64::new(u64::MAX),
            eof: AtomicBool::new(false),
            input: InputQueue::default(),
            shown: AtomicBool::new(true),
        }
    }

    pub fn id(&self) -> super::SessionId {
        self.id
    }

    /// The allocator account this session's memory is charged to.
    pub fn account(&self) -> AccountId {
        self.account
    }

    /// Heap bytes of the history as of its last change, without the terminal's lock.
    pub fn history_bytes(&self) -> usize {
        self.history_bytes.load(Ordering::Acquire)
    }

    /// Rows of history as of its last change, without the terminal's lock.
    pub fn history_rows(&self) -> usize {
        self.history_rows.load(Ordering::Acquire)
    }

    /// The history's size counters and the output pace, for the memory sampler's thread.
    pub fn sampler_view(&self) -> SamplerView {
        SamplerView {
            account: self.account,
            history_bytes: Arc::clone(&self.history_bytes),
            history_rows: Arc::clone(&self.history_rows),
            activity: Arc::clone(&self.activity),
        }
    }

    /// Queues bytes for the program (see `InputQueue::push`).
    pub fn send_input(&self, bytes: Vec<u8>) -> Result<(), QueueFull> {
        if self.shown() {
            super::typing::note_key();
        }
        self.input.push(bytes)
    }

    /// Input bytes the program has not read yet.
    pub fn input_pending(&self) -> usize {
        self.input.pending()
    }

    /// Output bytes parsed since the last call; the next output tells the app again
    /// (`Event::Output`).
    pub fn take_output(&self) -> usize {
        self.events.take_output()
    }

    /// Output tells the app nothing until `take_output` (a hidden tab already marked busy).
    pub fn hold_output(&self) {
        self.events.hold_output();
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

    /// Says whether the session is on someone's screen (see `shown`); a flood's parser
    /// started under the other setting ends after its batch, and the next read starts one
    /// with the right priority.
    pub fn set_shown(&self, shown: bool) {
        self.shown.store(shown, Ordering::Release);
    }

    /// On someone's screen, as the app last said.
    pub fn shown(&self) -> bool {
        self.shown.load(Ordering::Acquire)
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

    /// Takes the bell, title and clipboard events out of `term` (call with it locked, then
    /// `tell` them once it is unlocked).
    pub(super) fn take_alerts(term: &mut Term) -> Alerts {
        let events = term.events();
        Alerts {
            bell: std::mem::take(&mut events.bell),
            title: events.title.take(),
            clipboard: events.clipboard.take(),
        }
    }

    /// Tells the app of `alerts`.
    pub(super) fn tell(&self, alerts: Alerts) {
        if alerts.bell {
            self.events.send(Event::Bell);
        }
        if let Some(title) = alerts.title {
            self.events.send(Event::Title(title));
        }
        if let Some(data) = alerts.clipboard {
            self.events.send(Event::Clipboard(data));
        }
    }

    /// Tells the app something the user must know about this session.
    pub(super) fn notice(&self, text: String) {
        self.events.send(Event::Notice(text));
    }

    /// Tells the app the program ended.
    pub(super) fn exited(&self, status: super::ExitStatus) {
        self.events.send(Event::Exited(status));
    }

    /// A scripted program (`Session::scripted`) ended with `status`: told as a real
    /// program's end is, by the I/O loop.
    #[doc(hidden)]
    pub fn script_exited(&self, status: super::ExitStatus) {
        self.exited(status);
        self.mark_dirty();
    }

    /// The screen changed: the app is told once until it takes the output.
    pub(super) fn mark_dirty(&self) {
        self.events.changed();
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

/// What a program asked the app's attention for in one parsed batch.
#[derive(Debug, Default)]
pub(super) struct Alerts {
    bell: bool,
    title: Option<String>,
    clipboard: Option<Vec<u8>>,
}

/// What the memory sampler reads of a session from its own thread.
pub struct SamplerView {
    pub account: AccountId,
    pub history_bytes: Arc<AtomicUsize>,
    pub history_rows: Arc<AtomicUsize>,
    pub activity: Arc<crate::memory::activity::Activity>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.input.close();
    }
}
