//! A client's output. The session's thread writes each frame to the client's socket itself
//! when the socket takes it at once (no thread hop on the way to the user's screen: an echo
//! costs one wake-up less); what the socket does not take waits here, bounded, for the
//! client's writer thread. Past the bound, further output for the client is dropped, not
//! waited for, so the session and the other clients never slow down; once the client has read
//! what waits, it gets a CAN (ends any escape sequence cut in half) and the session is asked to
//! draw everything again, which mends its screen.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Condvar, Mutex, MutexGuard};

use super::protocol::{self, Msg};

/// 1 MiB waiting per client (after what its socket holds, some 200 KiB) before its output is
/// dropped: tmux allows 8 bytes per cell of the screen, and 1 MiB is that for 400x300; a whole
/// frame of a 200x50 screen is some tens of KiB. Only a client that stopped reading for a
/// while reaches it; a redraw then costs one frame.
const LIMIT: usize = 1 << 20;

pub struct Outbox {
    sock: UnixStream,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// Whole frames, the first maybe partly written already.
    pending: Vec<u8>,
    /// The writer thread is writing frames it took from `pending`: nobody else may write.
    busy: bool,
    /// Output was dropped: redraw once `pending` has been written.
    lagged: bool,
    /// The client is being sent away; why (nothing is said when empty).
    closing: Option<String>,
    /// The socket failed: nothing more is written.
    broken: bool,
}

impl Outbox {
    pub fn new(sock: UnixStream) -> Outbox {
        Outbox {
            sock,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `msg` for the client (see [`Outbox::push`]).
    pub fn send(&self, msg: &Msg) -> bool {
        self.push(&protocol::encode(msg))
    }

    /// Writes an encoded frame now if the socket takes it, else queues it; drops it when the
    /// client is too far behind. False when dropped.
    pub fn push(&self, frame: &[u8]) -> bool {
        let mut st = self.lock();
        if st.broken || st.closing.is_some() || st.lagged {
            return false;
        }
        if st.pending.is_empty() && !st.busy {
            match send_now(&self.sock, frame) {
                Ok(n) if n == frame.len() => return true,
                Ok(n) => st.pending.extend_from_slice(&frame[n..]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    st.pending.extend_from_slice(frame);
                }
                Err(_) => st.broken = true,
            }
            self.wake.notify_one();
            return !st.broken;
        }
        if st.pending.len() + frame.len() > LIMIT {
            st.lagged = true;
            crate::util::append_log(
                "a client fell behind: its output is dropped until it reads, then redrawn",
            );
            return false;
        }
        st.pending.extend_from_slice(frame);
        self.wake.notify_one();
        true
    }

    /// Ends the client once what waits is written, telling it `why` (nothing when empty).
    pub fn close(&self, why: &str) {
        let mut st = self.lock();
        if st.closing.is_none() {
            st.closing = Some(why.to_string());
        }
        self.wake.notify_one();
    }

    /// The writer thread: writes what waits, mends a client that fell behind (`redraw` asks
    /// the session for a whole frame), and says goodbye.
    pub fn run_writer(&self, redraw: impl Fn()) {
        let mut out = &self.sock;
        let mut st = self.lock();
        loop {
            if st.broken {
                break;
            }
            let mut then_redraw = false;
            if st.pending.is_empty() {
                if st.lagged {
                    st.lagged = false;
                    st.pending = protocol::encode(&Msg::Output(vec![0x18]));
                    then_redraw = true;
                } else if let Some(why) = st.closing.clone() {
                    if !why.is_empty() {
                        st.pending = protocol::encode(&Msg::Exit(why));
                    }
                    st.broken = true;
                } else {
                    st = self.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                    continue;
                }
            }
            let batch = std::mem::take(&mut st.pending);
            st.busy = true;
            drop(st);
            let ok = out.write_all(&batch).is_ok();
            if then_redraw {
                redraw();
            }
            st = self.lock();
            st.busy = false;
            st.broken |= !ok;
        }
        drop(st);
        // Ends the client's reader too (its read returns end of file).
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

/// One `send` that never waits: how much of `frame` the socket took.
fn send_now(sock: &UnixStream, frame: &[u8]) -> io::Result<usize> {
    crate::sys::socket::send_nowait(sock, frame)
}
