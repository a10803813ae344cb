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

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

use super::process::{self, ExitStatus};
use super::reader::{self, Pipeline, READ_CHUNK};
use super::shared::Shared;
use super::wake::{Wake, Waker};
use crate::memory::alloc;

/// The token of the loop's eventfd; a tab's tokens are `id * 2` (pty) and `id * 2 + 1` (pidfd).
const WAKE: u64 = u64::MAX;
/// Events taken per `epoll_wait`.
const EVENTS: usize = 256;

/// Something for the loop to do, from another thread.
enum Cmd {
    Add(Box<TabIo>),
    /// Stop reading and writing the tab's pty (the tab was closed); its program is still
    /// watched until it ends, to reap it and report its exit.
    Stop(u64),
    /// Look at the tab again: input was queued for it, or its parser has a buffer free.
    Check(u64),
}

/// What the loop and the threads that talk to it share.
struct Inner {
    epoll: OwnedFd,
    eventfd: OwnedFd,
    cmds: Mutex<Vec<Cmd>>,
    /// An eventfd write is pending: later commands need not write again.
    woken: AtomicBool,
    next_id: AtomicU64,
}

impl Inner {
    fn send(&self, cmd: Cmd) {
        // The list's growth is memmux's: it is freed on the loop's thread, maybe after the
        // account of the tab whose thread sent this (input, a parser) was closed.
        let _memmux = alloc::enter(alloc::MEMMUX);
        self.cmds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cmd);
        if !self.woken.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writing 8 bytes from a u64 we own to our eventfd. It cannot fail short
            // of the counter overflowing, which one write per wake-up never gets near.
            unsafe {
                libc::write(
                    self.eventfd.as_raw_fd(),
                    (&raw const one).cast(),
                    std::mem::size_of::<u64>(),
                );
            }
        }
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: epoll_ctl on our epoll descriptor with a valid event struct.
        if unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Asks the loop to look at one tab again; handed to the input queue and the parser as a
/// `wake::Waker` (`handle`), so that they need not import the loop.
#[derive(Clone)]
pub struct TabWaker {
    id: u64,
    inner: Arc<Inner>,
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

/// A tab as the loop sees it.
struct TabIo {
    id: u64,
    shared: Arc<Shared>,
    /// The pty; `None` once its output ended or the tab was stopped.
    pty: Option<Arc<OwnedFd>>,
    /// Events asked for on `pty`.
    interest: u32,
    /// Readable when the program has ended; `None` once reaped (or when the kernel has no
    /// pidfds: a waiter thread reaps it then).
    pidfd: Option<OwnedFd>,
    pid: u32,
    on_exit: Option<Box<dyn FnOnce(ExitStatus) + Send>>,
    pipe: Option<Pipeline>,
    /// Name of the tab's parser thread.
    label: String,
    waker: Waker,
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

/// The loop, started on first use.
static LOOP: Mutex<Option<Arc<Inner>>> = Mutex::new(None);

fn the_loop() -> anyhow::Result<Arc<Inner>> {
    let mut guard = LOOP.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(inner) = guard.as_ref() {
        return Ok(Arc::clone(inner));
    }
    // The loop's own bookkeeping is memmux's.
    let _memmux = alloc::enter(alloc::MEMMUX);
    // SAFETY: creating descriptors; each is checked before it is owned.
    let (epoll, eventfd) = unsafe {
        let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
        if ep < 0 {
            return Err(io::Error::last_os_error()).context("cannot create the pty event loop");
        }
        let ep = OwnedFd::from_raw_fd(ep);
        let ev = libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK);
        if ev < 0 {
            return Err(io::Error::last_os_error()).context("cannot create the pty event loop");
        }
        (ep, OwnedFd::from_raw_fd(ev))
    };
    let inner = Arc::new(Inner {
        epoll,
        eventfd,
        cmds: Mutex::new(Vec::new()),
        woken: AtomicBool::new(false),
        next_id: AtomicU64::new(1),
    });
    inner
        .ctl(
            libc::EPOLL_CTL_ADD,
            inner.eventfd.as_raw_fd(),
            libc::EPOLLIN as u32,
            WAKE,
        )
        .context("cannot start the pty event loop")?;
    let looped = Arc::clone(&inner);
    std::thread::Builder::new()
        .name("pty-io".into())
        .spawn(move || run(&looped))
        .context("cannot start the pty event loop's thread")?;
    *guard = Some(Arc::clone(&inner));
    Ok(inner)
}

/// A handle for a tab about to be registered: its waker exists before the tab does, so the
/// input queue can have it from the start.
pub fn reserve() -> anyhow::Result<TabWaker> {
    let inner = the_loop()?;
    let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
    Ok(TabWaker { id, inner })
}

/// Hands a tab to the loop, under the id of `waker` (from `reserve`).
pub fn register(waker: &TabWaker, tab: NewTab) -> IoHandle {
    let _memmux = alloc::enter(alloc::MEMMUX);
    let io = TabIo {
        id: waker.id,
        shared: tab.shared,
        pty: Some(tab.pty),
        interest: 0,
        pidfd: tab.pidfd,
        pid: tab.pid,
        on_exit: Some(tab.on_exit),
        pipe: None,
        label: tab.label,
        waker: waker.handle(),
    };
    waker.inner.send(Cmd::Add(Box::new(io)));
    IoHandle {
        waker: waker.clone(),
    }
}

/// A pidfd for `pid` (our child), or `None` where the kernel has none (before Linux 5.3).
pub fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: a non-negative result is a descriptor owned by nobody else (close-on-exec).
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn run(inner: &Inner) {
    let _memmux = alloc::enter(alloc::MEMMUX);
    let mut tabs: HashMap<u64, TabIo> = HashMap::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS];
    // Tabs with a parser thread: the wait then times out, to retire those that went idle.
    let mut parsers = 0usize;
    loop {
        let timeout = if parsers > 0 {
            reader::PARSER_IDLE.as_millis() as libc::c_int
        } else {
            -1
        };
        // SAFETY: `events` has room for EVENTS entries.
        let n = unsafe {
            libc::epoll_wait(
                inner.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                EVENTS as libc::c_int,
                timeout,
            )
        };
        if n < 0 {
            // EINTR; anything else would be a bug in the descriptors passed.
            continue;
        }
        if n == 0 {
            for tab in tabs.values_mut() {
                if tab.pipe.as_ref().is_some_and(Pipeline::closed) {
                    reader::retire(&mut tab.pipe);
                }
            }
            parsers = tabs.values().filter(|t| t.pipe.is_some()).count();
            continue;
        }
        for ev in events.iter().take(n as usize) {
            let (token, flags) = (ev.u64, ev.events);
            if token == WAKE {
                take_commands(inner, &mut tabs);
                continue;
            }
            let id = token / 2;
            let Some(tab) = tabs.get_mut(&id) else {
                continue;
            };
            if token % 2 == 1 {
                reap(inner, tab);
            } else {
                if flags & libc::EPOLLOUT as u32 != 0 {
                    write_input(inner, tab);
                }
                if flags & !(libc::EPOLLOUT as u32) != 0 {
                    let hangup = flags & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
                    read_output(inner, tab, &mut buf, hangup);
                }
            }
            if tab.pty.is_none() && tab.pidfd.is_none() {
                tabs.remove(&id);
            }
        }
        parsers = tabs.values().filter(|t| t.pipe.is_some()).count();
    }
}

fn take_commands(inner: &Inner, tabs: &mut HashMap<u64, TabIo>) {
    inner.woken.store(false, Ordering::Release);
    let mut count: u64 = 0;
    // SAFETY: reading the eventfd's 8-byte counter into a u64 we own (non-blocking).
    unsafe {
        libc::read(
            inner.eventfd.as_raw_fd(),
            (&raw mut count).cast(),
            std::mem::size_of::<u64>(),
        );
    }
    let cmds = std::mem::take(&mut *inner.cmds.lock().unwrap_or_else(|p| p.into_inner()));
    for cmd in cmds {
        match cmd {
            Cmd::Add(tab) => {
                let mut tab = *tab;
                add(inner, &mut tab);
                tabs.insert(tab.id, tab);
            }
            Cmd::Stop(id) => {
                if let Some(tab) = tabs.get_mut(&id) {
                    end_output(inner, tab);
                    if tab.pidfd.is_none() {
                        tabs.remove(&id);
                    }
                }
            }
            Cmd::Check(id) => {
                if let Some(tab) = tabs.get_mut(&id) {
                    update_interest(inner, tab);
                }
            }
        }
    }
}

fn add(inner: &Inner, tab: &mut TabIo) {
    if let Some(pidfd) = &tab.pidfd {
        if inner
            .ctl(
                libc::EPOLL_CTL_ADD,
                pidfd.as_raw_fd(),
                libc::EPOLLIN as u32,
                tab.id * 2 + 1,
            )
            .is_err()
        {
            // Can't watch it: a thread waits for it instead.
            spawn_waiter(tab);
        }
    }
    if let Some(pty) = &tab.pty {
        tab.interest = libc::EPOLLIN as u32;
        if inner
            .ctl(
                libc::EPOLL_CTL_ADD,
                pty.as_raw_fd(),
                tab.interest,
                tab.id * 2,
            )
            .is_err()
        {
            tab.pty = None;
            tab.shared.eof.store(true, Ordering::Release);
            tab.shared.mark_dirty();
        }
    }
    update_interest(inner, tab);
}

/// Reads from the pty only while the output has somewhere to go, and waits for it to take
/// input only while input is queued.
fn update_interest(inner: &Inner, tab: &mut TabIo) {
    let Some(pty) = &tab.pty else { return };
    let mut want = 0;
    let room = match tab.pipe.as_mut() {
        Some(p) if !p.idle() => !p.throttle(),
        _ => true,
    };
    if room {
        want |= libc::EPOLLIN as u32;
    }
    if tab.shared.input.has_queued() {
        want |= libc::EPOLLOUT as u32;
    }
    if want != tab.interest
        && inner
            .ctl(libc::EPOLL_CTL_MOD, pty.as_raw_fd(), want, tab.id * 2)
            .is_ok()
    {
        tab.interest = want;
    }
}

fn read_output(inner: &Inner, tab: &mut TabIo, buf: &mut [u8], hangup: bool) {
    let Some(pty) = tab.pty.clone() else { return };
    let _account = alloc::enter(tab.shared.account);
    // A parser with both buffers in hand: read later, when it gives one back (the program
    // waits on the pty meanwhile). After a hang-up the level-triggered event would come back
    // at once: read anyway (waiting at most for the buffer being parsed).
    if !hangup {
        if let Some(p) = tab.pipe.as_mut() {
            if !p.idle() && p.throttle() {
                update_interest(inner, tab);
                return;
            }
        }
    }
    match reader::read_pending(pty.as_raw_fd(), buf) {
        Ok((n, ended)) => {
            if n > 0 {
                reader::deliver(
                    &mut tab.pipe,
                    &buf[..n],
                    &tab.label,
                    &tab.shared,
                    &tab.waker,
                );
            }
            if ended {
                end_output(inner, tab);
            } else if tab.interest & libc::EPOLLIN as u32 == 0 || tab.pipe.is_some() {
                update_interest(inner, tab);
            }
        }
        Err(()) => end_output(inner, tab),
    }
}

fn write_input(inner: &Inner, tab: &mut TabIo) {
    let Some(pty) = &tab.pty else { return };
    let _account = alloc::enter(tab.shared.account);
    tab.shared.input.write_queued(pty.as_raw_fd());
    update_interest(inner, tab);
}

/// The pty's output ended (or the tab was stopped): the parser finishes what it has, then
/// the output is said to have ended.
fn end_output(inner: &Inner, tab: &mut TabIo) {
    let Some(pty) = tab.pty.take() else { return };
    let _ = inner.ctl(libc::EPOLL_CTL_DEL, pty.as_raw_fd(), 0, 0);
    drop(pty);
    let _account = alloc::enter(tab.shared.account);
    reader::retire(&mut tab.pipe);
    tab.shared.eof.store(true, Ordering::Release);
    tab.shared.mark_dirty();
}

/// The program ended: reap it, hang up what it left in its session, report.
fn reap(inner: &Inner, tab: &mut TabIo) {
    let Some(pidfd) = tab.pidfd.take() else {
        return;
    };
    let _ = inner.ctl(libc::EPOLL_CTL_DEL, pidfd.as_raw_fd(), 0, 0);
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
        .name(format!("pty-wait-{}", tab.label))
        .spawn(move || {
            let _account = alloc::enter(shared.account);
            let status = process::wait_for(pid);
            exited(pid, status, on_exit, &shared);
        });
    // No thread either: the program is reaped when memmux ends, and its exit not reported.
    drop(spawned);
}
