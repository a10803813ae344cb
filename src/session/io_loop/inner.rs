//! One loop's descriptors and mailbox: its epoll set, and the eventfd through which other
//! threads (and the other loop) hand it commands without waking it more than once per batch.

use std::io;
use std::os::fd::AsFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;

use super::{Cmd, WAKE};
use crate::memory::alloc;
use crate::sys::poll::{Epoll, EpollEvent, EpollFlags, EventFd};

/// What a loop and the threads that talk to it share.
pub(super) struct Inner {
    epoll: Epoll,
    eventfd: EventFd,
    cmds: Mutex<Vec<Cmd>>,
    /// An eventfd write is pending: later commands need not write again.
    woken: AtomicBool,
}

impl Inner {
    pub(super) fn new() -> anyhow::Result<Inner> {
        let epoll = Epoll::new().context("cannot create the pty event loop")?;
        let eventfd = EventFd::new(true).context("cannot create the pty event loop")?;
        let inner = Inner {
            epoll,
            eventfd,
            cmds: Mutex::new(Vec::new()),
            woken: AtomicBool::new(false),
        };
        inner
            .epoll
            .add(&inner.eventfd, EpollFlags::IN, WAKE)
            .context("cannot start the pty event loop")?;
        Ok(inner)
    }

    pub(super) fn send(&self, cmd: Cmd) {
        // The list's growth is memmux's: it is freed on the loop's thread, maybe after the
        // account of the tab whose thread sent this (input, a parser) was closed.
        let _memmux = alloc::enter(alloc::MEMMUX);
        self.cmds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cmd);
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.eventfd.wake();
        }
    }

    /// The commands sent since the last call.
    pub(super) fn take(&self) -> Vec<Cmd> {
        self.woken.store(false, Ordering::Release);
        // Resets the counter; the count itself says nothing the list does not.
        let _ = self.eventfd.take();
        std::mem::take(&mut *self.cmds.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Watches `fd` for `events` (epoll bits), reported with `token`.
    pub(super) fn add(&self, fd: impl AsFd, events: u32, token: u64) -> io::Result<()> {
        self.epoll
            .add(fd, EpollFlags::from_bits_retain(events), token)
    }

    /// Changes what `fd` is watched for.
    pub(super) fn modify(&self, fd: impl AsFd, events: u32, token: u64) -> io::Result<()> {
        self.epoll
            .modify(fd, EpollFlags::from_bits_retain(events), token)
    }

    /// Stops watching `fd`.
    pub(super) fn delete(&self, fd: impl AsFd) -> io::Result<()> {
        self.epoll.delete(fd)
    }

    /// Waits for events into `events` (up to its capacity, allocated once by the loop);
    /// `timeout` in ms, -1 for none. The count taken (0 on a timeout or EINTR).
    pub(super) fn wait(&self, events: &mut Vec<EpollEvent>, timeout: i32) -> usize {
        let timeout = u64::try_from(timeout).ok().map(Duration::from_millis);
        self.epoll.wait(events, timeout)
    }
}
