//! The session's side of the server: when memmux runs as a session of the server
//! (`--session-fd N`), what it tells the server over its private control socket — that it is
//! ready for redraw signals, its tab count and memory for `ls`, `C-b d`, `C-b C-z`; and what
//! it asks of it: the sessions for `C-b s`, a switch to one, a new name (`C-b $`).
//! Without a server (`MEMMUX_NO_SERVER=1`, the tests' default) every call here does nothing.

use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, OnceLock};

use super::protocol::{self, Msg, SessionInfo};

struct Control {
    stream: UnixStream,
    /// The last status sent, so an unchanged one is not sent again.
    last: Option<(u32, u64, Vec<String>)>,
    /// A request went unanswered: a late answer could be taken for the next request's, so
    /// no more are made.
    lost: bool,
}

/// 2 s for the server's answer: it answers from memory at once (measured well under 1 ms);
/// only a wedged server takes longer, and the app's loop must not hang on it.
const ANSWER: std::time::Duration = std::time::Duration::from_secs(2);

const NO_SERVER: &str = "memmux runs without a server here (MEMMUX_NO_SERVER): no sessions";

static CONTROL: OnceLock<Mutex<Control>> = OnceLock::new();

/// The views socket (`spawn::VIEWS_FD`) until the loop takes it.
static VIEWS: Mutex<Option<UnixStream>> = Mutex::new(None);

/// Takes descriptor `fd` as the control socket; it is closed on exec, so tabs never see it.
pub fn init(fd: RawFd) -> anyhow::Result<()> {
    // The server handed us this descriptor for our sole use.
    let owned = crate::sys::fd::adopt_inherited(fd)
        .and_then(|owned| crate::sys::fd::set_cloexec(&owned).map(|()| owned))
        .map_err(|e| {
            anyhow::anyhow!("--session-fd {fd}: {e} (it is for the memmux server's own use)")
        })?;
    let stream = UnixStream::from(owned);
    let _ = stream.set_read_timeout(Some(ANSWER));
    let _ = CONTROL.set(Mutex::new(Control {
        stream,
        last: None,
        lost: false,
    }));
    let views = super::spawn::VIEWS_FD;
    // Only a socket is taken; a server before views passes none (then a second client shares
    // the first one's view). Closed on exec at once: the first tab is started soon.
    // The server handed us this descriptor for our sole use; not a socket: not ours to close.
    if let Ok(owned) = crate::sys::fd::adopt_inherited(views) {
        let ours = crate::sys::fd::is_socket(&owned).unwrap_or(false)
            && crate::sys::fd::set_cloexec(&owned).is_ok();
        if ours {
            *VIEWS.lock().unwrap_or_else(|p| p.into_inner()) = Some(UnixStream::from(owned));
        } else {
            // Leave the number open as it came: it is not the views socket.
            let _ = owned.into_raw_fd();
        }
    }
    Ok(())
}

/// The socket on which the server opens and closes further clients' views, once.
pub fn take_views() -> Option<UnixStream> {
    VIEWS.lock().unwrap_or_else(|p| p.into_inner()).take()
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

/// Detaches the client of view `view` (0: the session's own pty). False without a server.
pub fn detach(view: u64) -> bool {
    send(&Msg::DetachView(view))
}

/// Suspends the client of view `view`. False without a server.
pub fn suspend(view: u64) -> bool {
    send(&Msg::SuspendView(view))
}

/// The view keys came from last, so the server hears only of a change.
static LAST_TYPED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(u64::MAX);

/// Keys came from view `view` (called by its input thread): the server hears of it when the
/// view differs from the last one's, for `window-size = latest`.
pub fn typed_in(view: u64) {
    use std::sync::atomic::Ordering;
    if LAST_TYPED.swap(view, Ordering::AcqRel) != view {
        send(&Msg::ViewActive(view));
    }
}

/// A view opened: the server made its client the latest (an attach, a switch here), so the
/// next keys from any view are reported, even from the view that typed last before.
pub fn view_opened() {
    use std::sync::atomic::Ordering;
    LAST_TYPED.store(u64::MAX, Ordering::Release);
}

/// Tells the server the session's tab count, memory and tab names (the first
/// `MAX_TAB_NAMES`, cut to `MAX_TAB_NAME` characters), when they changed.
pub fn publish_status(tabs: u32, memory: u64, names: impl Iterator<Item = String>) {
    let Some(c) = CONTROL.get() else { return };
    let names: Vec<String> = names
        .take(protocol::MAX_TAB_NAMES)
        .map(|n| n.chars().take(protocol::MAX_TAB_NAME).collect())
        .collect();
    let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
    let now = (tabs, memory, names);
    if c.last.as_ref() == Some(&now) {
        return;
    }
    let msg = Msg::Status {
        tabs,
        memory,
        names: now.2.clone(),
    };
    c.last = Some(now);
    let _ = protocol::write_msg(&mut c.stream, &msg);
}

/// Sends a request and waits for the server's answer.
fn request(msg: &Msg) -> Result<Msg, String> {
    let c = CONTROL.get().ok_or(NO_SERVER)?;
    let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
    if c.lost {
        return Err("the memmux server stopped answering this session".into());
    }
    protocol::write_msg(&mut c.stream, msg)
        .map_err(|e| format!("cannot reach the memmux server: {e}"))?;
    match protocol::read_msg(&mut c.stream) {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err("the memmux server closed this session's connection".into()),
        Err(e) => {
            c.lost = true;
            Err(format!("the memmux server did not answer: {e}"))
        }
    }
}

/// Every session of the server, this one marked `current`.
pub fn sessions() -> Result<Vec<SessionInfo>, String> {
    match request(&Msg::ListSessions)? {
        Msg::Sessions(list) => Ok(list),
        other => Err(format!("unexpected answer from the server: {other:?}")),
    }
}

/// Moves the client of view `view` to session `name`; what happened, for the status line.
pub fn switch_to(view: u64, name: &str) -> Result<String, String> {
    done(request(&Msg::SwitchView(view, name.to_string()))?)
}

/// Renames this session; refused (with why) when the name is taken or not allowed.
pub fn rename(name: &str) -> Result<String, String> {
    done(request(&Msg::RenameSession(name.to_string()))?)
}

fn done(answer: Msg) -> Result<String, String> {
    match answer {
        Msg::Done(s) => Ok(s),
        Msg::Error(e) => Err(e),
        other => Err(format!("unexpected answer from the server: {other:?}")),
    }
}
