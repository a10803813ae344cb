//! Waiting on descriptors: `poll` for one or two, an epoll set with `u64` tokens, and an
//! eventfd to wake a waiter.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::epoll;
use rustix::event::{EventfdFlags, PollFd, PollFlags, Timespec};

pub use rustix::event::epoll::{Event as EpollEvent, EventFlags as EpollFlags};

fn timespec(timeout: Option<Duration>) -> Option<Timespec> {
    timeout.map(|d| Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    })
}

/// What `poll` saw on one descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    pub readable: bool,
    /// Hung up, an error, or not a descriptor.
    pub gone: bool,
}

impl Ready {
    pub fn any(self) -> bool {
        self.readable || self.gone
    }
}

fn ready(f: PollFlags) -> Ready {
    Ready {
        readable: f.contains(PollFlags::IN),
        gone: f.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL),
    }
}

/// Waits until `fd` (and `also`, when given) is readable or gone, or `timeout` passes (`None`:
/// no timeout). `Ok(None)` on a timeout; `Interrupted` comes back as an error.
pub fn wait_readable(
    fd: BorrowedFd<'_>,
    also: Option<BorrowedFd<'_>>,
    timeout: Option<Duration>,
) -> io::Result<Option<(Ready, Ready)>> {
    // On the stack: the input thread polls once per key.
    let mut fds = [
        PollFd::from_borrowed_fd(fd, PollFlags::IN),
        PollFd::from_borrowed_fd(also.unwrap_or(fd), PollFlags::IN),
    ];
    let used = if also.is_some() { 2 } else { 1 };
    let ts = timespec(timeout);
    let n = rustix::event::poll(&mut fds[..used], ts.as_ref())?;
    if n == 0 {
        return Ok(None);
    }
    let first = ready(fds[0].revents());
    let second = fds[..used]
        .get(1)
        .map_or(Ready::default(), |f| ready(f.revents()));
    Ok(Some((first, second)))
}

/// Waits until `fd` takes output (or is gone), or `timeout` passes; `Interrupted` and the
/// timeout both come back as `Ok` (the caller writes again and learns what it needs).
pub fn wait_writable(fd: impl AsFd, timeout: Duration) -> io::Result<()> {
    let mut fds = [PollFd::new(&fd, PollFlags::OUT)];
    let ts = timespec(Some(timeout));
    match rustix::event::poll(&mut fds, ts.as_ref()) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// An epoll set whose events carry a `u64` token.
pub struct Epoll(OwnedFd);

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        Ok(Epoll(epoll::create(epoll::CreateFlags::CLOEXEC)?))
    }

    pub fn add(&self, fd: impl AsFd, flags: EpollFlags, token: u64) -> io::Result<()> {
        Ok(epoll::add(
            &self.0,
            fd,
            epoll::EventData::new_u64(token),
            flags,
        )?)
    }

    pub fn modify(&self, fd: impl AsFd, flags: EpollFlags, token: u64) -> io::Result<()> {
        Ok(epoll::modify(
            &self.0,
            fd,
            epoll::EventData::new_u64(token),
            flags,
        )?)
    }

    pub fn delete(&self, fd: impl AsFd) -> io::Result<()> {
        Ok(epoll::delete(&self.0, fd)?)
    }

    /// Waits for events into `events` (cleared first, filled up to its capacity); the count
    /// (0 on a timeout or `EINTR`). `None`: no timeout.
    pub fn wait(&self, events: &mut Vec<EpollEvent>, timeout: Option<Duration>) -> usize {
        events.clear();
        let ts = timespec(timeout);
        match epoll::wait(&self.0, rustix::buffer::spare_capacity(events), ts.as_ref()) {
            Ok(_) => events.len(),
            Err(_) => 0,
        }
    }
}

/// The token of an epoll event.
pub fn token(ev: &EpollEvent) -> u64 {
    ev.data.u64()
}

/// An eventfd: a counter that wakes whoever polls or reads it.
pub struct EventFd(OwnedFd);

impl EventFd {
    /// Non-blocking when `nonblocking` (reads of a zero counter then fail with `WouldBlock`).
    pub fn new(nonblocking: bool) -> io::Result<EventFd> {
        let mut flags = EventfdFlags::CLOEXEC;
        if nonblocking {
            flags |= EventfdFlags::NONBLOCK;
        }
        Ok(EventFd(rustix::event::eventfd(0, flags)?))
    }

    /// Adds one to the counter. Cannot fail short of the counter overflowing, which one write
    /// per wake-up never gets near.
    pub fn wake(&self) {
        let _ = rustix::io::write(&self.0, &1u64.to_ne_bytes());
    }

    /// Reads and resets the counter (0 when it was 0 on a non-blocking eventfd).
    pub fn take(&self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        match rustix::io::read(&self.0, &mut b) {
            Ok(_) => Ok(u64::from_ne_bytes(b)),
            Err(rustix::io::Errno::AGAIN) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eventfd_wakes_an_epoll_set_with_its_token() -> io::Result<()> {
        let ep = Epoll::new()?;
        let ev = EventFd::new(true)?;
        ep.add(&ev, EpollFlags::IN, 77)?;
        let mut events = Vec::with_capacity(4);
        assert_eq!(ep.wait(&mut events, Some(Duration::ZERO)), 0);
        ev.wake();
        ev.wake();
        assert_eq!(ep.wait(&mut events, Some(Duration::from_secs(5))), 1);
        assert_eq!(token(&events[0]), 77);
        assert_eq!(ev.take()?, 2);
        assert_eq!(ev.take()?, 0);
        ep.modify(&ev, EpollFlags::IN, 78)?;
        ev.wake();
        ep.wait(&mut events, Some(Duration::from_secs(5)));
        assert_eq!(events.iter().map(token).collect::<Vec<_>>(), [78]);
        ep.delete(&ev)?;
        assert_eq!(ep.wait(&mut events, Some(Duration::ZERO)), 0);
        Ok(())
    }

    #[test]
    fn poll_sees_input_and_a_hang_up() -> io::Result<()> {
        let (r, w) = crate::sys::fd::pipe()?;
        let (stop_r, stop_w) = crate::sys::fd::pipe()?;
        let got = wait_readable(r.as_fd(), Some(stop_r.as_fd()), Some(Duration::ZERO))?;
        assert_eq!(got, None);
        crate::sys::fd::write(&w, b"k")?;
        let got = wait_readable(r.as_fd(), Some(stop_r.as_fd()), None)?;
        assert_eq!(got.map(|(a, b)| (a.readable, b.any())), Some((true, false)));
        drop(stop_w);
        let got = wait_readable(r.as_fd(), Some(stop_r.as_fd()), None)?;
        assert_eq!(got.map(|(_, b)| b.gone), Some(true));
        Ok(())
    }
}
