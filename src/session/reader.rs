//! A session's output side: the reader thread drains the pty; small output (an echo, a prompt)
//! is parsed right there, with no hop to another thread; a flood goes to a parser thread
//! started for it, so reading and parsing overlap.
//!
//! Why two threads for a flood: a pty read returns at most the line discipline's 4 KiB, and
//! the kernel refills that buffer from its own queue on a worker thread. A reader that parses
//! 64 KiB between reads leaves the pty idle meanwhile and then waits for the refills one by
//! one: measured (2 cores, `cat` of 50 MB of SGR-coloured lines), 45 MB/s with 0.70 s of CPU,
//! against 100 MB/s with the parse overlapped.
//!
//! Why it does not starve the UI: the UI never takes a busy hidden tab's terminal lock (bells,
//! titles and clipboard writes are handed over in `Shared::alerts`), and the parser lets a
//! waiting thread have the lock after each batch (`Shared::yield_term`), so a frame or a key
//! for the flooding tab waits at most one batch. (parking_lot's `unlock_fair` would do the
//! latter, but its global table of parked threads grows from whichever thread parks first
//! and is never freed: charged to a session, it showed as 1 KiB leaked by a closed tab.) A first version without these two kept the UI
//! waiting on that lock for hundreds of milliseconds during a `/dev/urandom` flood (random
//! bytes ring the bell every 256 bytes or so).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::pty::{Ready, Shared, wait_ready_for};

/// 64 KiB: bytes read and parsed per lock hold, so the UI never waits long for the screen;
/// also enough lines for the fast path to skip rows that would only scroll by.
pub const READ_CHUNK: usize = 64 * 1024;
/// 2: full buffers in flight to the parser (one parsed, one waiting). More would only hold
/// more of the program's output in memmux: the pty is the queue.
const QUEUED_BUFFERS: usize = 2;
/// 500 ms without a full buffer: the flood is over; the parser thread ends and its buffers
/// go back to the system (kept, they cost 22 B per scrollback line of RSS in the benchmark's
/// 100,000-line fills: 130.9 against 103.1 B).
const PARSER_IDLE: Duration = Duration::from_millis(500);
/// 4 KiB of input not yet taken by the program: past it, replies to its queries are dropped.
const STALE_REPLIES: usize = 4096;
/// `Pipeline::queued` once the parser thread has decided to end: nothing more may be sent.
const CLOSED: usize = usize::MAX;

/// The reader thread's body: reads until the program's side closes or `stop` does.
pub fn run(fd: OwnedFd, stop: OwnedFd, shared: Arc<Shared>) {
    let label = std::thread::current()
        .name()
        .unwrap_or("pty-read")
        .replacen("pty-read", "pty-parse", 1);
    let mut pipe: Option<Pipeline> = None;
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        // While a parser thread lives, look now and then whether it ended idle, to give its
        // buffers back without waiting for more output.
        let timeout = pipe.as_ref().map(|_| PARSER_IDLE);
        match wait_ready_for(fd.as_raw_fd(), libc::POLLIN, stop.as_raw_fd(), timeout) {
            Ready::Yes => {}
            Ready::TimedOut => {
                if pipe.as_ref().is_some_and(Pipeline::closed) {
                    retire(&mut pipe);
                }
                continue;
            }
            Ready::Stopped => break,
        }
        let (n, ended) = match read_pending(fd.as_raw_fd(), &mut buf) {
            Ok(r) => r,
            Err(()) => break,
        };
        if n == 0 {
            continue;
        }
        // Output goes in order: here only while the parser has nothing in hand.
        let parser_busy = pipe.as_ref().is_some_and(|p| !p.idle());
        if (n < buf.len() && !parser_busy) || !hand_over(&mut pipe, &mut buf, n, &label, &shared) {
            ingest(&shared, &buf[..n]);
        }
        if ended {
            break;
        }
    }
    // The parser finishes what it has before the output is said to have ended.
    if let Some(p) = pipe.take() {
        drop(p.full);
        let _ = p.thread.join();
    }
    shared.eof.store(true, Ordering::Release);
    shared.mark_dirty();
}

/// A parser thread and the buffers going to and from it.
struct Pipeline {
    full: SyncSender<(Vec<u8>, usize)>,
    free: Receiver<Vec<u8>>,
    /// Buffers sent and not yet parsed; `CLOSED` once the thread ended idle.
    queued: Arc<AtomicUsize>,
    /// Buffers made for this pipeline (besides the reader's own).
    buffers: usize,
    thread: JoinHandle<()>,
}

impl Pipeline {
    fn start(label: &str, shared: &Arc<Shared>) -> io::Result<Pipeline> {
        let (full, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(QUEUED_BUFFERS);
        let (free_tx, free) = mpsc::sync_channel::<Vec<u8>>(QUEUED_BUFFERS + 1);
        let queued = Arc::new(AtomicUsize::new(0));
        let thread = {
            let queued = Arc::clone(&queued);
            let shared = Arc::clone(shared);
            // Thread bookkeeping is memmux's (see `pty::spawn`); the thread enters the
            // session's account itself.
            let _memmux = crate::memory::alloc::enter(crate::memory::alloc::MEMMUX);
            std::thread::Builder::new()
                .name(label.to_string())
                .spawn(move || {
                    lower_priority();
                    let _account = crate::memory::alloc::enter(shared.account);
                    parse_loop(&full_rx, &free_tx, &queued, &shared);
                })?
        };
        Ok(Pipeline {
            full,
            free,
            queued,
            buffers: 0,
            thread,
        })
    }

    /// Nothing is queued or being parsed.
    fn idle(&self) -> bool {
        matches!(self.queued.load(Ordering::Acquire), 0 | CLOSED)
    }

    fn closed(&self) -> bool {
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
}

/// 5: the parser thread's nice value. A flood is bulk work; keys, echoes and frames of every
/// tab (nice 0) go first when the cores are busy, and with a core to spare the parser still
/// runs flat out. Measured under the parallel flood tests on 2 cores (three floods and a
/// large paste at once): without it, another tab's echo now and then waited 190-290 ms.
const PARSER_NICE: libc::c_int = 5;

fn lower_priority() {
    // SAFETY: gettid and setpriority on this thread only; failure leaves the priority as is.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, PARSER_NICE);
    }
}

fn parse_loop(
    full: &Receiver<(Vec<u8>, usize)>,
    free: &SyncSender<Vec<u8>>,
    queued: &AtomicUsize,
    shared: &Shared,
) {
    loop {
        match full.recv_timeout(PARSER_IDLE) {
            Ok((buf, n)) => {
                ingest(shared, &buf[..n]);
                // After the parse: the reader parses small output itself only once this is 0,
                // so nothing overtakes what is being parsed here.
                queued.fetch_sub(1, Ordering::AcqRel);
                // The reader may have ended meanwhile; then the buffer just goes.
                let _ = free.try_send(buf);
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

/// Joins a parser thread that ended idle; its buffers go with it, and the memory back to the
/// system.
fn retire(pipe: &mut Option<Pipeline>) {
    if let Some(old) = pipe.take() {
        let Pipeline {
            full, free, thread, ..
        } = old;
        drop(full);
        let _ = thread.join();
        drop(free);
        // SAFETY: malloc_trim has no preconditions.
        unsafe { libc::malloc_trim(0) };
    }
}

/// Sends `buf[..n]` to the parser thread (started, or started again after it ended idle) and
/// gives the reader a free buffer in its place. False, with `buf` untouched, when no thread
/// can be started: the caller parses it then.
fn hand_over(
    pipe: &mut Option<Pipeline>,
    buf: &mut Vec<u8>,
    n: usize,
    label: &str,
    shared: &Arc<Shared>,
) -> bool {
    let p = loop {
        match pipe {
            Some(p) if p.claim() => break p,
            Some(_) => retire(pipe),
            None => match Pipeline::start(label, shared) {
                Ok(p) => *pipe = Some(p),
                Err(_) => return false,
            },
        }
    };
    let next = match p.free.try_recv() {
        Ok(b) => b,
        Err(_) if p.buffers < QUEUED_BUFFERS => {
            p.buffers += 1;
            vec![0u8; READ_CHUNK]
        }
        // Both buffers are with the parser: wait for one (the program waits on the pty too).
        Err(_) => p.free.recv().unwrap_or_else(|_| vec![0u8; READ_CHUNK]),
    };
    let full = std::mem::replace(buf, next);
    if let Err(mpsc::SendError((full, len))) = p.full.send((full, n)) {
        // The thread is gone, which it can't be while a claim is held: parse here.
        p.queued.fetch_sub(1, Ordering::AcqRel);
        ingest(shared, &full[..len]);
    }
    true
}

/// Reads what the pty has, up to `buf.len()`: a pty read returns at most 4 KiB (the line
/// discipline's buffer), so under a flood this goes on while more is already there: one lock
/// and one wake-up per 64 KiB rather than per 4 KiB. Returns at once when nothing more is
/// pending, so an echo is not held back. `Ok((bytes, ended))`; `Err` when the pty is gone
/// with nothing read.
fn read_pending(fd: RawFd, buf: &mut [u8]) -> Result<(usize, bool), ()> {
    let mut n = 0;
    while n < buf.len() {
        // SAFETY: reading into the unused rest of a buffer we own.
        let got = unsafe { libc::read(fd, buf[n..].as_mut_ptr().cast(), buf.len() - n) };
        match got {
            m if m > 0 => n += m as usize,
            0 => return if n == 0 { Err(()) } else { Ok((n, true)) },
            _ => {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok((n, false)),
                    // EIO: every slave descriptor is closed; the program and its children
                    // are gone.
                    _ => return if n == 0 { Err(()) } else { Ok((n, true)) },
                }
            }
        }
    }
    Ok((n, false))
}

/// Parses one batch of output and tells the UI: replies to queries go back to the program,
/// bells and titles to `Shared::alerts`, the history's size is published, the budget
/// enforced, the UI woken once per burst.
pub fn ingest(shared: &Shared, bytes: &[u8]) {
    let (replies, alerted, over_budget, drawn) = {
        let mut term = shared.lock_term_for_parse();
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
            *shared.notice.lock().unwrap_or_else(|p| p.into_inner()) = Some(note);
            term.events().bell = true;
        }
        shared.note_history(&term);
        let over_budget = term.history().budget().is_exceeded();
        let drawn = shared
            .direct
            .as_ref()
            .is_some_and(|d| d.draw_rows(shared.id, &mut term));
        let alerted = shared.take_alerts(&mut term);
        let replies = std::mem::take(&mut term.events().replies);
        drop(term);
        // A waiting frame or key gets the terminal now, not after the next batch.
        shared.yield_term();
        (replies, alerted, over_budget, drawn)
    };
    if over_budget {
        shared.registry.enforce_budget();
    }
    shared
        .output_bytes
        .fetch_add(bytes.len(), Ordering::Relaxed);
    shared.activity.note_output(bytes.len());
    if alerted && !shared.attention.swap(true, Ordering::AcqRel) {
        (shared.wake)();
    }
    // Answers go only to a program that reads its input: one that asks without reading
    // (`head -c 1G /dev/urandom` asks a few hundred times, by chance) would otherwise leave
    // them all queued for whatever reads the pty next, usually the shell, which then ran a
    // few hundred `62;22c` "commands" in the hardening test. Keystrokes are never dropped.
    if shared.input.pending() <= STALE_REPLIES {
        let _ = shared.input.push(replies);
    }
    // Drawn already: the UI has nothing to do for this output.
    if !drawn {
        shared.mark_dirty();
    }
}
