//! One event loop for the ptys of every tab: reads, writes and child exits on one thread,
//! as tmux serves every pane from one loop.
//!
//! Before, each tab had a reader, a writer and a waiter thread and about 8 descriptors (the
//! reader's, writer's and direct writer's copies of the pty, a stop pipe and its copy): 100
//! tabs were 303 threads and 813 descriptors, and at the common limit of 1,024 descriptors
//! memmux stopped at 125 tabs. Now a tab has 3 descriptors: the pty (portable-pty's master),
//! one copy shared by this loop and the input queue's direct writes, and a pidfd that becomes
//! readable when the program ends; and no thread of its own, except a parser thread while it
//! floods (`reader::Pipeline`, at most `reader::MAX_PARSERS` at once).
//!
//! The loop waits in `epoll_wait` (level-triggered) on every registered descriptor and an
//! eventfd through which other threads hand it commands (`Cmd`): a new tab, a tab to stop,
//! a tab to look at again (input queued for it, or its parser gave a buffer back).
//!
//! Two loops of this kind run: the quiet loop, which every tab starts on and which parses
//! small output (an echo, a prompt) itself, and the flood loop. A tab whose read brings more
//! than `reader::INLINE_MAX` gets a parser thread, and its pty (reads, queued input) moves to
//! the flood loop, which reads a shown tab's pty straight into the parser's buffers (a hidden
//! tab's parser reads its pty itself, at the idle priority: `reader::read_and_parse`; the
//! flood loop only writes its input then); the pty comes back when
//! the parser retires (`reader::PARSER_IDLE` without output) or the output ends. The child's
//! pidfd stays on the quiet loop. Why: with one loop, the thread that had to read another
//! tab's echo was the one kept busy reading the flood (64 KiB in 4 KiB reads, the copy, the
//! throttling round trips), and a busy thread is not the one the scheduler runs first when
//! the echo arrives: a `yes` in one tab slowed another tab's echo by 2.13 ms (median of 3
//! reps of bench/compare.py) against 1.19 ms with a reader thread per tab, same run.

mod inner;

use inner::Inner;
use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

use super::process::{self, ExitStatus};
use super::reader::{self, INLINE_MAX, Pipeline, READ_CHUNK};
use super::shared::Shared;
use super::wake::{Wake, Waker};
use crate::memory::alloc;

/// The token of a loop's eventfd; a tab's tokens are `id * 2` (pty) and `id * 2 + 1` (pidfd).
const WAKE: u64 = u64::MAX;
/// Events taken per `epoll_wait`.
const EVENTS: usize = 256;

/// Something for a loop to do, from another thread (or from the other loop).
enum Cmd {
    /// A new tab (quiet loop).
    Add(Box<TabIo>),
    /// Stop reading and writing the tab's pty (the tab was closed); its program is still
    /// watched until it ends, to reap it and report its exit.
    Stop(u64),
    /// Look at the tab again: input was queued for it, or its parser has a buffer free.
    Check(u64),
    /// A tab's pty side moving to this loop: to the flood loop when it floods, back to the
    /// quiet loop when the flood is over or the output ended (`PtyIo::ended`).
    Move(Box<PtyIo>),
}

/// The two loops.
struct Loops {
    quiet: Arc<Inner>,
    flood: Arc<Inner>,
    next_id: AtomicU64,
}

/// Asks a loop to look at one tab again; handed to the input queue (the quiet loop's, which
/// passes it on while the tab is on the flood loop) and to the parser (the flood loop's) as
/// a `wake::Waker` (`handle`), so that they need not import the loop.
#[derive(Clone)]
pub struct TabWaker {
    id: u64,
    inner: Arc<Inner>,
    /// The flood loop, for the parser's waker.
    flood: Arc<Inner>,
}

impl Wake for TabWaker {
    fn wake(&self) {
        self.inner.send(Cmd::Check(self.id));
    }
}

impl TabWaker {
    pub fn handle(&self) -> Waker {
        Waker::new(Arc::new(self.clone()))
    }
}

/// A tab's place in the loop; dropping it stops the tab's I/O.
pub struct IoHandle {
    waker: TabWaker,
}

impl IoHandle {
    pub fn waker(&self) -> Waker {
        self.waker.handle()
    }
}

impl Drop for IoHandle {
    fn drop(&mut self) {
        self.waker.inner.send(Cmd::Stop(self.waker.id));
    }
}

/// A tab as the quiet loop sees it.
struct TabIo {
    id: u64,
    /// The pty side, while it is on this loop.
    pty: Option<Box<PtyIo>>,
    /// The pty side is on the flood loop.
    away: bool,
    /// Readable when the program has ended; `None` once reaped (or when the kernel has no
    /// pidfds: a waiter thread reaps it then).
    pidfd: Option<OwnedFd>,
    pid: u32,
    on_exit: Option<Box<dyn FnOnce(ExitStatus) + Send>>,
    /// Last, so dropped last (see `PtyIo::shared`).
    shared: Arc<Shared>,
}

/// A tab's pty and what reads it; it moves between the loops.
struct PtyIo {
    id: u64,
    pty: Arc<OwnedFd>,
    /// Events asked for on `pty` in the loop that has it.
    interest: u32,
    /// The parser thread, while the tab floods.
    pipe: Option<Pipeline>,
    /// Name of the tab's parser thread.
    label: String,
    /// Wakes the flood loop for this tab: the parser's, when it gives a buffer back.
    flood_waker: Waker,
    /// The output ended on the flood loop: the quiet loop ends the tab's output.
    ended: bool,
    /// Last, so dropped last: the last `Shared` closes the tab's allocator account, and the
    /// fields above were allocated in it (the pty's `Arc`, 24 bytes, in `pty::spawn`; the
    /// label; the parser's buffers). Declared first, it was dropped first, and when the
    /// quiet loop dropped a pty that came back from the flood loop after its tab was closed
    /// the `Arc` was freed after the account closed: `alloc_sessions` saw 24 bytes leaked in
    /// about one run of three (found by tracing 24-byte blocks freed in closed accounts).
    shared: Arc<Shared>,
}

/// What a new tab brings to the loop.
pub struct NewTab {
    pub shared: Arc<Shared>,
    pub pty: Arc<OwnedFd>,
    pub pidfd: Option<OwnedFd>,
    pub pid: u32,
    pub on_exit: Box<dyn FnOnce(ExitStatus) + Send>,
    pub label: String,
}

/// The loops, started on first use.
static LOOPS: Mutex<Option<Arc<Loops>>> = Mutex::new(None);

fn the_loops() -> anyhow::Result<Arc<Loops>> {
    let mut guard = LOOPS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(loops) = guard.as_ref() {
        return Ok(Arc::clone(loops));
    }
    // The loops' own bookkeeping is memmux's.
    let _memmux = alloc::enter(alloc::MEMMUX);
    let loops = Arc::new(Loops {
        quiet: Arc::new(Inner::new()?),
        flood: Arc::new(Inner::new()?),
        next_id: AtomicU64::new(1),
    });
    let (quiet, flood) = (Arc::clone(&loops.quiet), Arc::clone(&loops.flood));
    std::thread::Builder::new()
        .name("pty-io".into())
        .spawn(move || run_quiet(&quiet, &flood))
        .context("cannot start the pty event loop's thread")?;
    let (quiet, flood) = (Arc::clone(&loops.quiet), Arc::clone(&loops.flood));
    std::thread::Builder::new()
        .name("pty-flood".into())
        .spawn(move || run_flood(&flood, &quiet))
        .context("cannot start the pty flood loop's thread")?;
    *guard = Some(Arc::clone(&loops));
    Ok(loops)
}

/// A handle for a tab about to be registered: its waker exists before the tab does, so the
/// input queue can have it from the start.
pub fn reserve() -> anyhow::Result<TabWaker> {
    let loops = the_loops()?;
    let id = loops.next_id.fetch_add(1, Ordering::Relaxed);
    Ok(TabWaker {
        id,
        inner: Arc::clone(&loops.quiet),
        flood: Arc::clone(&loops.flood),
    })
}

/// Hands a tab to the loop, under the id of `waker` (from `reserve`).
pub fn register(waker: &TabWaker, tab: NewTab) -> IoHandle {
    let _memmux = alloc::enter(alloc::MEMMUX);
    let flood = TabWaker {
        id: waker.id,
        inner: Arc::clone(&waker.flood),
        flood: Arc::clone(&waker.flood),
    };
    let io = TabIo {
        id: waker.id,
        shared: Arc::clone(&tab.shared),
        pty: Some(Box::new(PtyIo {
            id: waker.id,
            shared: tab.shared,
            pty: tab.pty,
            interest: 0,
            pipe: None,
            label: tab.label,
            flood_waker: flood.handle(),
            ended: false,
        })),
        away: false,
        pidfd: tab.pidfd,
        pid: tab.pid,
        on_exit: Some(tab.on_exit),
    };
    waker.inner.send(Cmd::Add(Box::new(io)));
    IoHandle {
        waker: waker.clone(),
    }
}

/// A pidfd for `pid` (our child), or `None` where the kernel has none (before Linux 5.3).
pub fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    crate::sys::proc::pidfd_open(pid)
}

/// The quiet loop: every tab's pidfd, and the pty of every tab that is not flooding.
fn run_quiet(inner: &Inner, flood: &Inner) {
    let _memmux = alloc::enter(alloc::MEMMUX);
    let mut tabs: HashMap<u64, TabIo> = HashMap::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut events = Vec::with_capacity(EVENTS);
    loop {
        let n = inner.wait(&mut events, -1);
        for ev in events.iter().take(n) {
            let (token, flags) = (crate::sys::poll::token(ev), { ev.flags }.bits());
            if token == WAKE {
                quiet_commands(inner, flood, &mut tabs);
                continue;
            }
            let id = token / 2;
            let Some(tab) = tabs.get_mut(&id) else {
                continue;
            };
            if token % 2 == 1 {
                reap(inner, tab);
            } else if let Some(io) = tab.pty.as_mut() {
                if flags & libc::EPOLLOUT as u32 != 0 {
                    write_input(inner, io);
                }
                if flags & !(libc::EPOLLOUT as u32) != 0 {
                    read_quiet(inner, flood, tab, &mut buf);
                }
            }
            if tab.pty.is_none() && !tab.away && tab.pidfd.is_none() {
                tabs.remove(&id);
            }
        }
    }
}

fn quiet_commands(inner: &Inner, flood: &Inner, tabs: &mut HashMap<u64, TabIo>) {
    for cmd in inner.take() {
        match cmd {
            Cmd::Add(tab) => {
                let mut tab = *tab;
                add(inner, &mut tab);
                tabs.insert(tab.id, tab);
            }
            Cmd::Stop(id) => {
                let Some(tab) = tabs.get_mut(&id) else {
                    continue;
                };
                if tab.away {
                    // The flood loop drops it; if it is on its way back, `Move` drops it.
                    tab.away = false;
                    flood.send(Cmd::Stop(id));
                    tab.shared.eof.store(true, Ordering::Release);
                    tab.shared.mark_dirty();
                } else if let Some(io) = tab.pty.take() {
                    end_output(inner, *io);
                }
                if tab.pidfd.is_none() {
                    tabs.remove(&id);
                }
            }
            Cmd::Check(id) => match tabs.get_mut(&id) {
                Some(tab) if tab.away => flood.send(Cmd::Check(id)),
                Some(tab) => {
                    if let Some(io) = tab.pty.as_mut() {
                        update_interest(inner, io);
                    }
                }
                None => {}
            },
            Cmd::Move(io) => {
                let id = io.id;
                let Some(tab) = tabs.get_mut(&id).filter(|t| t.away) else {
                    // Stopped meanwhile: the pty closes here.
                    continue;
                };
                tab.away = false;
                let mut io = io;
                if io.ended || !watch(inner, &mut io) {
                    end_output(inner, *io);
                } else {
                    tab.pty = Some(io);
                }
                if tab.pty.is_none() && tab.pidfd.is_none() {
                    tabs.remove(&id);
                }
            }
        }
    }
}

fn add(inner: &Inner, tab: &mut TabIo) {
    if let Some(pidfd) = &tab.pidfd {
        if inner
            .add(pidfd, libc::EPOLLIN as u32, tab.id * 2 + 1)
            .is_err()
        {
            // Can't watch it: a thread waits for it instead.
            spawn_waiter(tab);
        }
    }
    if let Some(mut io) = tab.pty.take() {
        if watch(inner, &mut io) {
            tab.pty = Some(io);
        } else {
            tab.shared.eof.store(true, Ordering::Release);
            tab.shared.mark_dirty();
        }
    }
}

/// Adds a pty to a loop's epoll, with the events it needs now. False when it can't be.
fn watch(inner: &Inner, io: &mut PtyIo) -> bool {
    io.interest = libc::EPOLLIN as u32;
    if inner.add(&*io.pty, io.interest, io.id * 2).is_err() {
        return false;
    }
    update_interest(inner, io);
    true
}

/// Reads from the pty only while the output has somewhere to go, and waits for it to take
/// input only while input is queued.
fn update_interest(inner: &Inner, io: &mut PtyIo) {
    let mut want = 0;
    let room = match io.pipe.as_mut() {
        // A hidden tab's parser reads the pty itself.
        Some(p) if p.reads_itself() => false,
        // A parser of the wrong priority ends after its batch and wakes the loop.
        Some(p) if !p.wants_input(&io.shared) => false,
        Some(p) if !p.idle() => !p.throttle(),
        _ => true,
    };
    if room {
        want |= libc::EPOLLIN as u32;
    }
    if io.shared.input.has_queued() {
        want |= libc::EPOLLOUT as u32;
    }
    if want != io.interest && inner.modify(&*io.pty, want, io.id * 2).is_ok() {
        io.interest = want;
    }
}

/// Reads a quiet tab's output: parsed here when small; a flood starts the tab's parser
/// thread and moves the pty to the flood loop.
fn read_quiet(inner: &Inner, flood: &Inner, tab: &mut TabIo, buf: &mut [u8]) {
    let Some(io) = tab.pty.as_mut() else { return };
    let _account = alloc::enter(io.shared.account);
    // `Err`: the pty is gone with nothing read.
    let (n, ended) = reader::read_pending(io.pty.as_fd(), buf).unwrap_or((0, true));
    if n > INLINE_MAX && !ended && start_flood(io, &buf[..n]) {
        let _ = inner.delete(&*io.pty);
        if let Some(io) = tab.pty.take() {
            tab.away = true;
            flood.send(Cmd::Move(io));
        }
        return;
    }
    if n > 0 {
        reader::ingest(&io.shared, &buf[..n]);
    }
    if ended {
        if let Some(io) = tab.pty.take() {
            end_output(inner, *io);
        }
    }
}

/// Starts the tab's parser thread with `first` as its first buffer. False when no parser
/// thread can be had (`reader::MAX_PARSERS` busy): the quiet loop parses then.
fn start_flood(io: &mut PtyIo, first: &[u8]) -> bool {
    let Ok(mut pipe) = Pipeline::start(&io.label, &io.shared, &io.flood_waker, &io.pty) else {
        return false;
    };
    let Some(mut b) = pipe.buffer(false) else {
        return false;
    };
    b[..first.len()].copy_from_slice(first);
    if let Err(b) = pipe.send(b, first.len()) {
        // Can't happen to a thread just started; parse here, in order.
        reader::ingest(&io.shared, &b[..first.len()]);
    }
    io.pipe = Some(pipe);
    true
}

fn write_input(inner: &Inner, io: &mut PtyIo) {
    let _account = alloc::enter(io.shared.account);
    io.shared.input.write_queued(io.pty.as_fd());
    update_interest(inner, io);
}

/// The pty's output ended (or the tab was stopped): the parser finishes what it has, then
/// the output is said to have ended.
fn end_output(inner: &Inner, mut io: PtyIo) {
    let _ = inner.delete(&*io.pty);
    let _account = alloc::enter(io.shared.account);
    reader::retire(&mut io.pipe);
    io.shared.eof.store(true, Ordering::Release);
    io.shared.mark_dirty();
}

/// The flood loop: the ptys of tabs with a parser thread, read straight into its buffers.
fn run_flood(inner: &Inner, quiet: &Inner) {
    // Bulk work, like the parsers it feeds: keys, echoes and frames go first on busy cores.
    reader::lower_priority();
    let _memmux = alloc::enter(alloc::MEMMUX);
    let mut tabs: HashMap<u64, Box<PtyIo>> = HashMap::new();
    let mut events = Vec::with_capacity(EVENTS);
    let mut back = Vec::new();
    loop {
        // With tabs here, wake now and then to give back those whose parser went idle.
        let timeout = if tabs.is_empty() {
            -1
        } else {
            reader::PARSER_IDLE.as_millis() as libc::c_int
        };
        let n = inner.wait(&mut events, timeout);
        for ev in events.iter().take(n) {
            let (token, flags) = (crate::sys::poll::token(ev), { ev.flags }.bits());
            if token == WAKE {
                flood_commands(inner, &mut tabs);
                continue;
            }
            let Some(io) = tabs.get_mut(&(token / 2)) else {
                continue;
            };
            if flags & libc::EPOLLOUT as u32 != 0 {
                write_input(inner, io);
            }
            if flags & !(libc::EPOLLOUT as u32) != 0 {
                let hangup = flags & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
                read_flood(inner, io, hangup);
            }
        }
        // Give back the tabs whose flood is over or whose output ended; at most 8 tabs here
        // (`reader::MAX_PARSERS`), so the scan costs nothing.
        back.extend(
            tabs.iter()
                .filter(|(_, io)| io.ended || io.pipe.as_ref().is_none_or(Pipeline::closed))
                .map(|(id, _)| *id),
        );
        for id in back.drain(..) {
            if let Some(mut io) = tabs.remove(&id) {
                let _ = inner.delete(&*io.pty);
                let _account = alloc::enter(io.shared.account);
                // Joins the parser: everything read is parsed before the quiet loop reads on.
                reader::retire(&mut io.pipe);
                quiet.send(Cmd::Move(io));
            }
        }
    }
}

fn flood_commands(inner: &Inner, tabs: &mut HashMap<u64, Box<PtyIo>>) {
    for cmd in inner.take() {
        match cmd {
            Cmd::Move(mut io) => {
                if watch(inner, &mut io) {
                    tabs.insert(io.id, io);
                } else {
                    // Can't happen short of memory for epoll: end the output the slow way.
                    io.ended = true;
                    tabs.insert(io.id, io);
                }
            }
            Cmd::Stop(id) => {
                if let Some(io) = tabs.remove(&id) {
                    end_output(inner, *io);
                }
            }
            Cmd::Check(id) => {
                if let Some(io) = tabs.get_mut(&id) {
                    update_interest(inner, io);
                }
            }
            Cmd::Add(_) => {}
        }
    }
}

/// Reads a flooding tab's output into a free buffer of its parser and sends it there.
fn read_flood(inner: &Inner, io: &mut PtyIo, hangup: bool) {
    let _account = alloc::enter(io.shared.account);
    let Some(pipe) = io.pipe.as_mut() else {
        return;
    };
    if pipe.closed() {
        // Idle for `PARSER_IDLE`, or the tab was shown or hidden: the quiet loop reads this
        // tab again (and starts a parser at the right priority if it still floods).
        return;
    }
    if pipe.reads_itself() {
        // Only a hang-up or an error comes here (no read interest), and epoll reports it
        // whatever the interest: stop watching rather than spin while the parser drains
        // the pty, sees the end and ends (then the quiet loop takes the pty back).
        if hangup {
            let _ = inner.delete(&*io.pty);
        }
        return;
    }
    // The tab was shown or hidden: the parser ends once its batch is parsed. Not after a
    // hang-up, which epoll reports whatever the interest: read on (waiting for a buffer, as
    // below) rather than spin while that batch is parsed.
    if !hangup && !pipe.wants_input(&io.shared) {
        update_interest(inner, io);
        return;
    }
    // After a hang-up the level-triggered event would come back at once: wait for a buffer
    // (at most the one being parsed) rather than spin.
    let Some(mut b) = pipe.buffer(hangup) else {
        // Both buffers with the parser: read when it gives one back (it wakes this loop).
        update_interest(inner, io);
        return;
    };
    match reader::read_pending(io.pty.as_fd(), &mut b) {
        Ok((n, ended)) => {
            if n == 0 {
                pipe.put_back(b);
            } else if let Err(b) = pipe.send(b, n) {
                // The parser ended idle just now, everything before parsed: parse this here
                // and let the quiet loop have the tab.
                reader::ingest(&io.shared, &b[..n]);
            }
            io.ended = ended;
            if !ended {
                update_interest(inner, io);
            }
        }
        Err(()) => io.ended = true,
    }
}

/// The program ended: reap it, hang up what it left in its session, report.
fn reap(inner: &Inner, tab: &mut TabIo) {
    let Some(pidfd) = tab.pidfd.take() else {
        return;
    };
    let _ = inner.delete(&pidfd);
    drop(pidfd);
    let _account = alloc::enter(tab.shared.account);
    // Readable means it has ended: this does not block.
    let status = process::wait_for(tab.pid);
    exited(tab.pid, status, tab.on_exit.take(), &tab.shared);
}

/// What follows a program's end, on whichever thread saw it.
fn exited(
    pid: u32,
    status: ExitStatus,
    on_exit: Option<Box<dyn FnOnce(ExitStatus) + Send>>,
    shared: &Shared,
) {
    process::hang_up_session(pid);
    if let Some(f) = on_exit {
        // The event it sends may allocate a block of the channel (about 1 KiB, every 32
        // messages) that the UI frees much later: memmux's, not the session's.
        let _memmux = alloc::enter(alloc::MEMMUX);
        f(status);
    }
    shared.mark_dirty();
}

/// Without a pidfd (old kernels): a thread waits for the program, as every tab had before.
fn spawn_waiter(tab: &mut TabIo) {
    tab.pidfd = None;
    let (pid, shared, on_exit) = (tab.pid, Arc::clone(&tab.shared), tab.on_exit.take());
    let _memmux = alloc::enter(alloc::MEMMUX);
    let spawned = std::thread::Builder::new()
        .name(format!("pty-wait-{}", tab.id))
        .spawn(move || {
            let _account = alloc::enter(shared.account);
            let status = process::wait_for(pid);
            exited(pid, status, on_exit, &shared);
        });
    // No thread either: the program is reaped when memmux ends, and its exit not reported.
    drop(spawned);
}
