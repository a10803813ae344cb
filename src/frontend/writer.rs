//! A bounded writer to a user's terminal that never makes its caller wait. A frame (or a
//! reader's direct draw) is written at once when the terminal takes it; what it does not take
//! waits here for the writer thread, up to `LIMIT`. Past that the terminal has stopped reading
//! (XOFF, a stalled ssh connection, a stopped terminal emulator): further output is dropped,
//! not waited for, so the session's parsers, the UI and the other clients go on; once the
//! terminal has taken what waited, it gets a CAN (ends an escape sequence cut in half) and
//! `on_lag` asks for a whole frame, as tmux discards and redraws a client that cannot keep up.
//!
//! Non-blocking without touching the user's shell: the terminal is reopened through
//! `/proc/self/fd/N`, a file description of our own, and only that one is set `O_NONBLOCK`
//! (the flag belongs to a description, so the shell's, shared with the descriptor the client
//! handed over, stays blocking after memmux has gone). When the reopen fails (no /proc), the
//! writer thread writes every byte on the handed descriptor and may block; the caller never
//! does.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::sys;

/// 1 MiB waiting (after what the terminal's own buffer holds, 4 KiB for a pty, more over ssh)
/// before output is dropped: tmux allows 8 bytes per cell of the screen, and 1 MiB is that for
/// 400x300; a whole frame of a 200x50 screen is some tens of KiB.
pub const LIMIT: usize = 1 << 20;

/// How often a writer waiting for a full terminal looks whether it was told to stop.
const STOP_CHECK: Duration = Duration::from_millis(100);

pub struct TtyWriter {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

struct Inner {
    fd: OwnedFd,
    /// `fd` is our own non-blocking description: `write` may write at once.
    nonblocking: bool,
    state: Mutex<State>,
    /// Wakes the writer thread (more to write, stop) and `finish` (all written).
    wake: Condvar,
    /// Set by `finish` once it gave up waiting: the thread writes nothing more.
    stop: AtomicBool,
    on_lag: Box<dyn Fn() + Send + Sync>,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    /// The writer thread is writing bytes it took from `pending`: nobody else may write.
    busy: bool,
    /// Output was dropped: CAN and a redraw once `pending` has been written.
    lagged: bool,
    /// The terminal failed (hung up, closed): everything is dropped.
    broken: bool,
    /// No more output is taken; the thread ends once `pending` is written.
    closing: bool,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TtyWriter {
    /// A writer to terminal `tty` (not taken: the writer keeps a description of its own).
    /// `on_lag` is called on the writer thread when dropped output should be redrawn.
    pub fn new(tty: BorrowedFd<'_>, on_lag: Box<dyn Fn() + Send + Sync>) -> io::Result<TtyWriter> {
        let (fd, nonblocking) = match sys::fd::reopen_write_nonblocking(tty) {
            Ok(fd) => (fd, true),
            Err(_) => (sys::fd::dup_cloexec(tty)?, false),
        };
        let inner = Arc::new(Inner {
            fd,
            nonblocking,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            on_lag,
        });
        let thread = {
            let inner = Arc::clone(&inner);
            std::thread::Builder::new()
                .name("tty-out".into())
                .spawn(move || inner.run())?
        };
        Ok(TtyWriter {
            inner,
            thread: Some(thread),
        })
    }

    /// Whether output was dropped since the terminal last took everything.
    pub fn lagged(&self) -> bool {
        lock(&self.inner.state).lagged
    }

    /// Waits (at most `limit`) until everything taken so far is on the terminal, as before
    /// bytes written to it some other way (giving it back to the shell on SIGTSTP). True when
    /// all of it was written.
    pub fn drain(&self, limit: Duration) -> bool {
        let st = self.inner.wait_written(lock(&self.inner.state), limit);
        !st.busy && st.pending.is_empty()
    }

    /// Waits (at most `limit`) until everything taken so far is on the terminal, then stops
    /// the writer: nothing more reaches the terminal after this returns. True when all of it
    /// was written.
    pub fn finish(&mut self, limit: Duration) -> bool {
        let inner = &self.inner;
        let mut st = lock(&inner.state);
        st.closing = true;
        inner.wake.notify_all();
        let mut st = inner.wait_written(st, limit);
        let drained = !st.busy && st.pending.is_empty();
        st.pending.clear();
        inner.stop.store(true, Ordering::Release);
        inner.wake.notify_all();
        drop(st);
        // A non-blocking writer looks at `stop` at least every `STOP_CHECK`; a blocking one
        // may be stuck in write(2) on a terminal that reads nothing: it is left to end then.
        if drained || inner.nonblocking {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
        drained
    }
}

impl Drop for TtyWriter {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.finish(Duration::from_millis(500));
        }
    }
}

impl io::Write for TtyWriter {
    /// Never fails and never waits: what the terminal cannot take now waits or is dropped (a
    /// failed terminal is noticed by its reader, which sees the hang-up).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.take(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Inner {
    /// Waits (at most `limit`) until the writer thread has written everything that waits.
    fn wait_written<'a>(
        &self,
        mut st: MutexGuard<'a, State>,
        limit: Duration,
    ) -> MutexGuard<'a, State> {
        let deadline = Instant::now() + limit;
        while !st.broken && (st.busy || !st.pending.is_empty()) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .wake
                .wait_timeout(st, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        st
    }

    fn take(&self, buf: &[u8]) {
        let mut st = lock(&self.state);
        if st.broken || st.lagged || st.closing || buf.is_empty() {
            return;
        }
        if st.pending.is_empty() && !st.busy && self.nonblocking {
            let mut done = 0;
            while done < buf.len() {
                match sys::fd::write(&self.fd, &buf[done..]) {
                    Ok(n) => done += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        st.broken = true;
                        return;
                    }
                }
            }
            if done == buf.len() {
                return;
            }
            st.pending.extend_from_slice(&buf[done..]);
            self.wake.notify_all();
            return;
        }
        if st.pending.len() + buf.len() > LIMIT {
            st.lagged = true;
            crate::util::append_log(
                "a client's terminal fell behind: its output is dropped until it reads, then \
                 redrawn",
            );
            return;
        }
        st.pending.extend_from_slice(buf);
        self.wake.notify_all();
    }

    /// The writer thread: writes what waits, then mends a terminal that fell behind.
    fn run(&self) {
        let mut st = lock(&self.state);
        loop {
            if st.broken || self.stop.load(Ordering::Acquire) {
                break;
            }
            if st.pending.is_empty() {
                if st.lagged && !st.closing {
                    st.lagged = false;
                    st.pending.push(0x18);
                    drop(st);
                    (self.on_lag)();
                    st = lock(&self.state);
                    continue;
                }
                st = self.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let batch = std::mem::take(&mut st.pending);
            st.busy = true;
            drop(st);
            let ok = self.write_all(&batch);
            st = lock(&self.state);
            st.busy = false;
            st.broken |= !ok;
            self.wake.notify_all();
        }
        st.pending.clear();
        self.wake.notify_all();
    }

    /// Writes all of `batch`, waiting for the terminal to take it; false when the terminal
    /// failed or the writer was stopped.
    fn write_all(&self, mut batch: &[u8]) -> bool {
        while !batch.is_empty() {
            if self.stop.load(Ordering::Acquire) {
                return false;
            }
            match sys::fd::write(&self.fd, batch) {
                Ok(0) => return false,
                Ok(n) => batch = &batch[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Woken every STOP_CHECK to see whether the writer was stopped.
                    let _ = sys::poll::wait_writable(&self.fd, STOP_CHECK);
                }
                Err(_) => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::sync::atomic::AtomicUsize;

    fn pty() -> (std::fs::File, std::fs::File) {
        let (m, s) = crate::sys::tty::open_pty().unwrap();
        crate::frontend::tty::make_raw(s.as_fd()).unwrap();
        let (m, s) = (std::fs::File::from(m), std::fs::File::from(s));
        (m, s)
    }

    #[test]
    fn a_terminal_nobody_reads_never_blocks_the_writer_and_is_redrawn_once_read() {
        let (mut master, slave) = pty();
        let lags = Arc::new(AtomicUsize::new(0));
        let l = Arc::clone(&lags);
        let mut w = TtyWriter::new(
            slave.as_fd(),
            Box::new(move || {
                l.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
        // 4 MiB into a pty whose master nobody reads (it holds a few KiB): every call returns
        // at once, and past the bound the rest is dropped.
        let frame = vec![b'x'; 64 << 10];
        let start = Instant::now();
        for _ in 0..64 {
            w.write_all(&frame).unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        assert!(w.lagged());
        assert_eq!(lags.load(Ordering::SeqCst), 0);
        // The terminal reads again: what waited arrives, then CAN, and a redraw is asked for.
        let mut got = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        let mut saw_can = false;
        while !saw_can {
            let n = master.read(&mut buf).unwrap();
            got += n;
            saw_can = buf[..n].contains(&0x18);
        }
        // Less than the 4 MiB written: the bound, the frame that crossed it, what the
        // kernel's pty buffers held and the CAN. The kernel's share varies: 1,179,649,
        // 1,507,329 and, under load, 2,097,153 bytes were measured, so 3 MiB; a writer that
        // dropped nothing would deliver all 4 MiB.
        assert!(got < 3 * LIMIT, "{got} bytes");
        let deadline = Instant::now() + Duration::from_secs(5);
        while lags.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(lags.load(Ordering::SeqCst), 1);
        // Output is taken again, and written at once.
        w.write_all(b"after").unwrap();
        let n = master.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"after");
        assert!(w.finish(Duration::from_secs(1)));
    }

    #[test]
    fn the_users_shell_keeps_a_blocking_terminal() {
        let (_master, slave) = pty();
        let w = TtyWriter::new(slave.as_fd(), Box::new(|| {})).unwrap();
        assert!(!crate::sys::fd::is_nonblocking(&slave).unwrap());
        assert!(w.inner.nonblocking);
    }

    #[test]
    fn finish_waits_for_what_was_taken_and_then_nothing_more_is_written() {
        let (mut master, slave) = pty();
        let mut w = TtyWriter::new(slave.as_fd(), Box::new(|| {})).unwrap();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
                if all.ends_with(b"END") {
                    break;
                }
            }
            all.len()
        });
        let frame = vec![b'y'; 100 << 10];
        w.write_all(&frame).unwrap();
        w.write_all(b"END").unwrap();
        assert!(w.finish(Duration::from_secs(5)));
        w.write_all(b"late").unwrap();
        assert_eq!(reader.join().unwrap(), (100 << 10) + 3);
    }
}
