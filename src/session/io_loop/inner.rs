//! One loop's descriptors and mailbox: its epoll set, and the eventfd through which other
//! threads (and the other loop) hand it commands without waking it more than once per batch.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

use super::{Cmd, WAKE};
use crate::memory::alloc;

/// What a loop and the threads that talk to it share.
pub(super) struct Inner {
    epoll: OwnedFd,
    eventfd: OwnedFd,
    cmds: Mutex<Vec<Cmd>>,
    /// An eventfd write is pending: later commands need not write again.
    woken: AtomicBool,
}

impl Inner {
    pub(super) fn new() -> anyhow::Result<Inner> {
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
        let inner = Inner {
            epoll,
            eventfd,
            cmds: Mutex::new(Vec::new()),
            woken: AtomicBool::new(false),
        };
        inner
            .ctl(
                libc::EPOLL_CTL_ADD,
                inner.eventfd.as_raw_fd(),
                libc::EPOLLIN as u32,
                WAKE,
            )
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

    /// The commands sent since the last call.
    pub(super) fn take(&self) -> Vec<Cmd> {
        self.woken.store(false, Ordering::Release);
        let mut count: u64 = 0;
        // SAFETY: reading the eventfd's 8-byte counter into a u64 we own (non-blocking).
        unsafe {
            libc::read(
                self.eventfd.as_raw_fd(),
                (&raw mut count).cast(),
                std::mem::size_of::<u64>(),
            );
        }
        std::mem::take(&mut *self.cmds.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(super) fn ctl(
        &self,
        op: libc::c_int,
        fd: RawFd,
        events: u32,
        token: u64,
    ) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: epoll_ctl on our epoll descriptor with a valid event struct.
        if unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for events; `timeout` in ms, -1 for none. The count taken (0 on a timeout or
    /// EINTR).
    pub(super) fn wait(&self, events: &mut [libc::epoll_event], timeout: libc::c_int) -> usize {
        // SAFETY: `events` has room for its length in entries.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as libc::c_int,
                timeout,
            )
        };
        n.max(0) as usize
    }
}
