//! A session's output side: the I/O loop (`io_loop`) drains the pty; small output (an echo, a
//! prompt) is parsed right there, with no hop to another thread; a flood goes to a parser
//! thread started for it, its pty read by the flood loop into the parser's own buffers, so
//! reading and parsing overlap, and the loop that reads the other tabs stays free for them.
//! A hidden tab's flood is read by its parser thread itself, at the idle priority, and held
//! back while someone types in a shown tab (`read_and_parse`, `typing`).
//!
//! Why two threads for a flood: a pty read returns at most the line discipline's 4 KiB, and
//! the kernel refills that buffer from its own queue on a worker thread. A reader that parses
//! 64 KiB between reads leaves the pty idle meanwhile and then waits for the refills one by
//! one: measured (2 cores, `cat` of 50 MB of SGR-coloured lines), 45 MB/s with 0.70 s of CPU,
//! against 100 MB/s with the parse overlapped.
//!
//! Why it does not starve the UI: the UI never takes a busy hidden tab's terminal lock (bells,
//! titles and clipboard writes go to the session's listener, `events`), and the terminal's lock
//! is fair (`fair::FairMutex`): a waiting thread has it after the parser's batch in
//! progress, so a frame or a key for the flooding tab waits at most one batch. A first
//! version without these two kept the UI
//! waiting on that lock for hundreds of milliseconds during a `/dev/urandom` flood (random
//! bytes ring the bell every 256 bytes or so).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::shared::Shared;
use super::wake::Waker;
use crate::sys;

/// 64 KiB: bytes read and parsed per lock hold, so the UI never waits long for the screen;
/// also enough lines for the fast path to skip rows that would only scroll by.
pub const READ_CHUNK: usize = 64 * 1024;
/// 2: full buffers in flight to the parser (one parsed, one waiting). More would only hold
/// more of the program's output in memmux: the pty is the queue.
const QUEUED_BUFFERS: usize = 2;
/// 500 ms without a full buffer: the flood is over; the parser thread ends and its buffers
/// go back to the system (kept, they cost 22 B per scrollback line of RSS in the benchmark's
/// 100,000-line fills: 130.9 against 103.1 B).
pub const PARSER_IDLE: Duration = Duration::from_millis(500);
/// 16 KiB: output read at once up to this size is parsed on the I/O loop (an echo, a prompt,
/// a short listing: at most about 0.5 ms of vt100); more goes to the tab's parser thread, and
/// so does all of a tab's output while its parser thread lives (a flood): the loop, which
/// serves every tab, then only reads and copies. Parsing every read under 64 KiB on the loop,
/// as each tab's own reader thread did before, let a `yes` in one tab slow another tab's
/// echo by 3.87 and 4.22 ms (medians, two reps of bench/compare.py; 1.15 and 1.89 ms with a
/// reader thread per tab).
pub const INLINE_MAX: usize = 16 * 1024;
/// 8: parser threads at once, over all tabs; past it a flood is parsed on the I/O loop. With
/// the loop, the UI, input, signal and sampler threads, memmux stays under 16 threads however
/// many tabs flood at once.
const MAX_PARSERS: usize = 8;
/// Parser threads running.
static PARSERS: AtomicUsize = AtomicUsize::new(0);
/// `Pipeline::queued` once the parser thread has decided to end: nothing more may be sent.
const CLOSED: usize = usize::MAX;

/// A parser thread and the buffers going to and from it.
pub(super) struct Pipeline {
    full: SyncSender<(Vec<u8>, usize)>,
    free: Receiver<Vec<u8>>,
    /// A free buffer taken from `free` while checking for room.
    spare: Option<Vec<u8>>,
    /// Buffers sent and not yet parsed; `CLOSED` once the thread ended idle.
    queued: Arc<AtomicUsize>,
    /// The loop stopped reading this tab for want of a free buffer: the parser wakes it when
    /// it gives one back.
    throttled: Arc<AtomicBool>,
    /// Buffers made for this pipeline.
    buffers: usize,
    /// The tab was shown when the thread started, so it runs at `PARSER_NICE` (else at the
    /// idle priority, which it cannot leave: see `set_parser_priority`).
    shown: bool,
    /// The thread reads the pty itself (a hidden tab's flood: `read_and_parse`); the loop
    /// only writes to it and waits for the thread to end.
    reads_itself: bool,
    thread: JoinHandle<()>,
}

/// Counts a parser thread for `MAX_PARSERS` while it lives.
struct ParserSlot;

impl ParserSlot {
    fn take() -> Option<ParserSlot> {
        PARSERS
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_PARSERS).then_some(n + 1)
            })
            .ok()
            .map(|_| ParserSlot)
    }
}

impl Drop for ParserSlot {
    fn drop(&mut self) {
        PARSERS.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pipeline {
    /// Starts a parser thread; `waker` is told when a buffer comes back to a throttled reader,
    /// and when a thread reading `pty` itself (a hidden tab's: `read_and_parse`) ends. The
    /// first buffer must be sent at once (`send`): a thread reading the pty itself waits for
    /// it before it reads, so that nothing overtakes it. Fails when `MAX_PARSERS` are running
    /// (the caller parses on its own thread then).
    pub fn start(
        label: &str,
        shared: &Arc<Shared>,
        waker: &Waker,
        pty: &Arc<OwnedFd>,
    ) -> io::Result<Pipeline> {
        let slot =
            ParserSlot::take().ok_or_else(|| io::Error::other("every parser thread is busy"))?;
        let (full, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(QUEUED_BUFFERS);
        let (free_tx, free) = mpsc::sync_channel::<Vec<u8>>(QUEUED_BUFFERS + 1);
        let queued = Arc::new(AtomicUsize::new(0));
        let throttled = Arc::new(AtomicBool::new(false));
        let shown = shared.shown();
        let reads_itself = !shown;
        let thread = {
            let pty = reads_itself.then(|| Arc::clone(pty));
            let queued = Arc::clone(&queued);
            let throttled = Arc::clone(&throttled);
            let shared = Arc::clone(shared);
            let waker = waker.clone();
            // Thread bookkeeping is memmux's (see `pty::spawn`); the thread enters the
            // session's account itself.
            let _memmux = crate::memory::alloc::enter(crate::memory::alloc::MEMMUX);
            std::thread::Builder::new()
                .name(label.to_string())
                .spawn(move || {
                    // Declared first, so dropped last: the thread's may be the tab's last
                    // `Shared` (a tab closed while its parser finishes a batch), which closes
                    // the tab's allocator account, and the channels, `queued` and `throttled`
                    // were allocated in it. A closure drops what it captured in the order
                    // it was captured: `shared` before them.
                    let shared = shared;
                    let (full_rx, free_tx, queued, throttled, waker) =
                        (full_rx, free_tx, queued, throttled, waker);
                    let _slot = slot;
                    set_parser_priority(shown);
                    let _account = crate::memory::alloc::enter(shared.account);
                    let pipe = PipeEnds {
                        full: &full_rx,
                        free: &free_tx,
                        queued: &queued,
                        throttled: &throttled,
                        waker: &waker,
                        shown,
                    };
                    match pty {
                        Some(pty) => read_and_parse(&pipe, &shared, &pty),
                        None => parse_loop(&pipe, &shared),
                    }
                })?
        };
        Ok(Pipeline {
            full,
            free,
            spare: None,
            queued,
            throttled,
            buffers: 0,
            shown,
            reads_itself,
            thread,
        })
    }

    /// The thread reads the pty itself: the loop must not.
    pub fn reads_itself(&self) -> bool {
        self.reads_itself
    }

    /// The tab was shown or hidden since the thread started: its priority is the wrong one.
    /// The thread ends after the batch it has (`parse_loop`), and the next read starts one
    /// with the right priority; meanwhile the loop sends it nothing more (`wants_input`).
    pub fn stale(&self, shared: &Shared) -> bool {
        shared.shown() != self.shown
    }

    /// The loop may read for this parser: not while a stale one still has a batch (it ends
    /// once that is parsed, and wakes the loop), so that the thread can end soon.
    pub fn wants_input(&self, shared: &Shared) -> bool {
        self.idle() || !self.stale(shared)
    }

    /// A buffer can be had without waiting.
    pub fn has_room(&mut self) -> bool {
        if self.spare.is_none() {
            self.spare = self.free.try_recv().ok();
        }
        self.spare.is_some() || self.buffers < QUEUED_BUFFERS
    }

    /// Asks the parser to wake the loop when it gives a buffer back; false (and not asked)
    /// when one came back meanwhile.
    pub fn throttle(&mut self) -> bool {
        self.throttled.store(true, Ordering::Release);
        if self.has_room() {
            self.throttled.store(false, Ordering::Release);
            return false;
        }
        true
    }

    /// Nothing is queued or being parsed.
    pub fn idle(&self) -> bool {
        matches!(self.queued.load(Ordering::Acquire), 0 | CLOSED)
    }

    /// The thread ended idle: `retire` it.
    pub fn closed(&self) -> bool {
        self.queued.load(Ordering::Acquire) == CLOSED
    }

    /// Reserves a place for one buffer; false once the thread has ended (or is ending).
    fn claim(&self) -> bool {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q != CLOSED).then_some(q + 1)
            })
            .is_ok()
    }

    /// A free buffer to read into: one given back, or a new one while fewer than
    /// `QUEUED_BUFFERS` exist. With `wait` (the pty hung up: the output must be drained), waits
    /// for the parser to give one back.
    pub fn buffer(&mut self, wait: bool) -> Option<Vec<u8>> {
        if let Some(b) = self.spare.take().or_else(|| self.free.try_recv().ok()) {
            return Some(b);
        }
        if self.buffers < QUEUED_BUFFERS {
            self.buffers += 1;
            return Some(vec![0u8; READ_CHUNK]);
        }
        if wait {
            return as_memmux(|| self.free.recv()).ok();
        }
        None
    }

    /// Keeps a buffer that was not filled for the next read.
    pub fn put_back(&mut self, buf: Vec<u8>) {
        self.spare = Some(buf);
    }

    /// Sends `buf[..n]` to the parser thread; gives it back when the thread ended idle
    /// meanwhile (everything sent before is parsed then: the caller may parse it itself).
    pub fn send(&mut self, buf: Vec<u8>, n: usize) -> Result<(), Vec<u8>> {
        if !self.claim() {
            return Err(buf);
        }
        if let Err(mpsc::SendError((full, _))) = as_memmux(|| self.full.send((buf, n))) {
            // The thread is gone, which it can't be while a claim is held.
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(full);
        }
        Ok(())
    }
}

/// 5: the parser thread's nice value. A flood is bulk work; keys, echoes and frames of every
/// tab (nice 0) go first when the cores are busy, and with a core to spare the parser still
/// runs flat out. Measured under the parallel flood tests on 2 cores (three floods and a
/// large paste at once): without it, another tab's echo now and then waited 190-290 ms.
const PARSER_NICE: i32 = 5;

pub(super) fn lower_priority() {
    // Failure leaves the priority as is.
    let _ = sys::proc::set_thread_nice(PARSER_NICE);
}

/// A shown tab's parser runs at `PARSER_NICE`; a hidden tab's at `SCHED_IDLE`, only on a
/// core nothing else wants: its output is bulk work nobody sees, and any other thread that
/// wakes (another tab's echo, the UI, the user's other programs) takes the core from it at
/// once, where a nice value only shortens its turns. A thread cannot leave `SCHED_IDLE` (nor
/// lower its nice value) without `CAP_SYS_NICE` or an `RLIMIT_NICE` few users have, hence a
/// thread per setting: when the tab is shown the thread ends and the next read starts one.
fn set_parser_priority(shown: bool) {
    if shown || sys::proc::set_idle_scheduling().is_err() {
        lower_priority();
    }
}

/// The parser thread's ends of its pipeline.
struct PipeEnds<'a> {
    full: &'a Receiver<(Vec<u8>, usize)>,
    free: &'a SyncSender<Vec<u8>>,
    queued: &'a AtomicUsize,
    throttled: &'a AtomicBool,
    waker: &'a Waker,
    /// As `Pipeline::shown`.
    shown: bool,
}

/// Runs `wait` (a blocking send or receive on a pipeline's channel) charged to memmux
/// rather than to the tab: a thread's first blocking wait makes its channel context (std's
/// mpmc, an `Arc` of 48 bytes kept in a thread-local until the thread exits). Made while the
/// I/O loop (which lives on) or a parser thread was in a tab's account, it outlived the
/// tab's `Shared`: `alloc_sessions` found 48 bytes left in a closed tab's account in 3 runs
/// of 20 on a loaded machine.
fn as_memmux<T>(wait: impl FnOnce() -> T) -> T {
    let _memmux = crate::memory::alloc::enter(crate::memory::alloc::MEMMUX);
    wait()
}

fn parse_loop(pipe: &PipeEnds<'_>, shared: &Shared) {
    let &PipeEnds {
        full,
        free,
        queued,
        throttled,
        waker,
        shown,
    } = pipe;
    loop {
        match as_memmux(|| full.recv_timeout(PARSER_IDLE)) {
            Ok((buf, n)) => {
                ingest(shared, &buf[..n]);
                // After the parse: the loop parses small output itself only once this is 0,
                // so nothing overtakes what is being parsed here.
                queued.fetch_sub(1, Ordering::AcqRel);
                // The tab may have ended meanwhile; then the buffer just goes.
                let _ = free.try_send(buf);
                // Shown or hidden since this thread started: end now that nothing is queued
                // (the loop sends nothing more meanwhile: `Pipeline::wants_input`), and let
                // the loop start a thread at the right priority.
                if shared.shown() != shown
                    && queued
                        .compare_exchange(0, CLOSED, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                {
                    throttled.store(false, Ordering::Release);
                    waker.wake();
                    return;
                }
                if throttled.swap(false, Ordering::AcqRel) {
                    waker.wake();
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                // Only with nothing claimed: a claim that won the race is sent, and received
                // on the next turn.
                if queued
                    .compare_exchange(0, CLOSED, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// 10 ms: how often a hidden tab's reading parser, waiting for output, looks whether the tab
/// was shown meanwhile; it then ends within this, and the loop reads the tab at full priority
/// (its next key's echo would otherwise wait for a core nothing else wants).
const SHOWN_CHECK: Duration = Duration::from_millis(10);

/// A hidden tab's flood: this thread, at the idle priority, reads the pty as well as parses
/// it, so the program filling it (a `yes`) blocks on its full pty whenever a core is wanted
/// by anything else, instead of being read by the flood loop at nice 5 and running beside
/// another tab's echo. Measured on 2 cores (`bench/compare.py --tests flood`, a hidden
/// `yes`): with the loop reading, `yes` took 70 % of a core, the loop 7 % and the parser
/// 35 %, and the echo in the other tab was 1.00 ms slower. Reads and parses no longer
/// overlap, which costs a hidden flood throughput nobody sees. While someone types in a shown
/// tab it does not read at all (`typing::HOLD` after each key).
fn read_and_parse(pipe: &PipeEnds<'_>, shared: &Shared, pty: &OwnedFd) {
    let &PipeEnds {
        full,
        queued,
        waker,
        shown,
        ..
    } = pipe;
    // The quiet loop's read that started the flood comes first (`Pipeline::start`).
    let Ok((mut buf, n)) = as_memmux(|| full.recv()) else {
        return;
    };
    ingest(shared, &buf[..n]);
    queued.fetch_sub(1, Ordering::AcqRel);
    let mut waited = Duration::ZERO;
    let mut last_read = Instant::now();
    while shared.shown() == shown && waited < PARSER_IDLE {
        // Retired (the tab was closed while hidden: `retire` drops the sender, then joins):
        // a program that ignores the hang-up would otherwise keep this thread reading, and
        // the loop waiting for it, for as long as it prints.
        match full.try_recv() {
            Err(TryRecvError::Disconnected) => break,
            // The loop sends nothing more to a thread that reads itself; were it to, the
            // bytes are parsed in order all the same.
            Ok((b, n)) => {
                ingest(shared, &b[..n]);
                queued.fetch_sub(1, Ordering::AcqRel);
            }
            Err(TryRecvError::Empty) => {}
        }
        // Someone types in a shown tab: leave the pty full meanwhile (`typing`), but read a
        // batch every `typing::MIN_READS` however long the typing lasts.
        if let Some(left) = super::typing::hold_left() {
            let starved = last_read.elapsed();
            if starved < super::typing::MIN_READS {
                std::thread::sleep(
                    left.min(SHOWN_CHECK)
                        .min(super::typing::MIN_READS - starved),
                );
                continue;
            }
        }
        match sys::poll::wait_readable(pty.as_fd(), None, Some(SHOWN_CHECK)) {
            Ok(None) => {
                waited += SHOWN_CHECK;
                continue;
            }
            Ok(Some(_)) => waited = Duration::ZERO,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Can't wait on it: let the loop have it.
            Err(_) => break,
        }
        last_read = Instant::now();
        match read_pending(pty.as_fd(), &mut buf) {
            Ok((n, ended)) => {
                if n > 0 {
                    ingest(shared, &buf[..n]);
                }
                if ended {
                    break;
                }
            }
            // The pty is gone: the quiet loop reads that again and ends the tab's output.
            Err(()) => break,
        }
    }
    // Shown, idle for `PARSER_IDLE`, or the output ended: everything read is parsed, and the
    // flood loop hands the pty back to the quiet loop (which starts a parser at the right
    // priority if the flood goes on).
    queued.store(CLOSED, Ordering::Release);
    waker.wake();
}

/// Joins a parser thread (that ended idle, or after it parsed what it has); its buffers go with
/// it, and the memory back to the system.
pub(super) fn retire(pipe: &mut Option<Pipeline>) {
    if let Some(old) = pipe.take() {
        let Pipeline {
            full,
            free,
            spare,
            thread,
            ..
        } = old;
        drop(full);
        let _ = thread.join();
        drop(free);
        drop(spare);
        sys::mem::malloc_trim();
    }
}

/// Reads what the pty has, up to `buf.len()`: a pty read returns at most 4 KiB (the line
/// discipline's buffer), so under a flood this goes on while more is already there: one lock
/// and one wake-up per 64 KiB rather than per 4 KiB. Returns at once when nothing more is
/// pending, so an echo is not held back. `Ok((bytes, ended))`; `Err` when the pty is gone
/// with nothing read.
pub(super) fn read_pending(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<(usize, bool), ()> {
    let mut n = 0;
    while n < buf.len() {
        match sys::fd::read(fd, &mut buf[n..]) {
            Ok(0) => return if n == 0 { Err(()) } else { Ok((n, true)) },
            Ok(m) => n += m,
            Err(err) => match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok((n, false)),
                // EIO: every slave descriptor is closed; the program and its children
                // are gone.
                _ => return if n == 0 { Err(()) } else { Ok((n, true)) },
            },
        }
    }
    Ok((n, false))
}

/// Parses one batch of output and tells the app: replies to queries go back to the program,
/// bells, titles and clipboard writes to the session's listener, the history's size is
/// published, the budget enforced, the output noted (one `Event::Output` per burst).
pub fn ingest(shared: &Shared, bytes: &[u8]) {
    let (replies, alerts, over_budget, drawn) = {
        let mut term = shared.lock_term();
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| term.process(bytes)));
        if parsed.is_err() {
            // The parser's state can't be trusted after a panic: start it afresh (the
            // scrollback is kept) and say so in the pane; the other tabs never notice.
            term.rebuild();
            let thread = std::thread::current()
                .name()
                .unwrap_or("pty-read")
                .to_string();
            let what = super::take_panic(&thread).unwrap_or_else(|| "unknown panic".into());
            let logged = crate::util::append_log(&format!("{thread}: parser panic: {what}"));
            let note = match logged {
                Some(path) => format!(
                    "the terminal parser failed and was restarted; logged to {}",
                    path.display()
                ),
                None => "the terminal parser failed and was restarted (no log: no data directory)"
                    .to_string(),
            };
            shared.notice(note);
            term.events().bell = true;
        }
        shared.note_history(&term);
        let over_budget = term.history().budget().is_exceeded();
        let drawn = shared
            .direct
            .as_ref()
            .is_some_and(|d| d.draw_rows(shared.id, &mut term));
        let alerts = Shared::take_alerts(&mut term);
        let replies = std::mem::take(&mut term.events().replies);
        // A waiting frame or key gets the terminal now, not after the next batch: the lock
        // is fair (`fair::FairMutex`).
        drop(term);
        (replies, alerts, over_budget, drawn)
    };
    if over_budget {
        shared.registry.enforce_budget();
    }
    shared.note_output();
    shared.activity.note_output(bytes.len());
    shared.tell(alerts);
    shared.input.push_reply(replies);
    // Drawn already: the app has nothing to do for this output but count it.
    shared.events.output(bytes.len(), drawn);
}
