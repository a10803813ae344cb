//! The session's side of the server: when memmux runs as a session of the server
//! (`--session-fd N`), what it tells the server over its private control socket — that it is
//! ready for redraw signals, its tab count and memory for `ls`, `C-b d` and `C-b C-z`.
//! Without a server (`MEMMUX_NO_SERVER=1`, the tests' default) every call here does nothing.

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, OnceLock};

use super::protocol::{self, Msg};

struct Control {
    stream: UnixStream,
    /// The last status sent, so an unchanged one is not sent again.
    last: Option<(u32, u64)>,
}

static CONTROL: OnceLock<Mutex<Control>> = OnceLock::new();

/// Takes descriptor `fd` as the control socket; it is closed on exec, so tabs never see it.
pub fn init(fd: RawFd) -> anyhow::Result<()> {
    // SAFETY: fcntl on a descriptor number; fails harmlessly if it is not open.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        anyhow::bail!(
            "--session-fd {fd}: {} (it is for the memmux server's own use)",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: the server handed us this descriptor for our sole use.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    let _ = CONTROL.set(Mutex::new(Control { stream, last: None }));
    Ok(())
}

/// Whether memmux runs as a session of a server.
pub fn in_server() -> bool {
    CONTROL.get().is_some()
}

fn send(msg: &Msg) -> bool {
    let Some(c) = CONTROL.get() else {
        return false;
    };
    let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
    // A server that is gone takes its pty with it and memmux gets SIGHUP: nothing to do here.
    protocol::write_msg(&mut c.stream, msg).is_ok()
}

/// The loop handles SIGUSR1 now.
pub fn ready() {
    send(&Msg::Ready);
}

/// Detaches the client that typed last. False without a server.
pub fn detach() -> bool {
    send(&Msg::DetachClients)
}

/// Suspends the client that typed last. False without a server.
pub fn suspend() -> bool {
    send(&Msg::Suspend)
}

/// Tells the server the session's tab count and memory, when they changed.
pub fn publish_status(tabs: u32, memory: u64) {
    let Some(c) = CONTROL.get() else { return };
    let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
    if c.last == Some((tabs, memory)) {
        return;
    }
    c.last = Some((tabs, memory));
    let _ = protocol::write_msg(&mut c.stream, &Msg::Status { tabs, memory });
}
