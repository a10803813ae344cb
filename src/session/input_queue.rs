//! Input waiting for a session's program: bounded in bytes, written straight to the pty when
//! nothing is queued, else by the event loop when the pty is writable; answers to the
//! program's queries dropped rather than left for a shell to run as commands.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::wake::Waker;
use crate::sys;

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
