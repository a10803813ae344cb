//! The server process: a client binds the socket and forks the server (or `memmux --server`
//! does), away from the client's session and terminal; it serves until its last session ends
//! or `kill-server`.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::hub::{self, Hub, WindowSize};
use super::protocol::{self, Msg, NewSession, VERSION};
use super::socket;
use crate::sys;
use crate::sys::proc::Forked;
use crate::sys::signal::Signal;

/// 10 s for a new connection to say hello and what it wants: a connection that says nothing
/// holds one thread no longer than that.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// `memmux --server`: binds the socket (replacing a dead server's), then forks; the parent
/// returns once the socket accepts connections, the child serves. Returns `Ok(false)` when
/// another server already answers.
pub fn start(window_size: WindowSize) -> anyhow::Result<bool> {
    let Some((listener, path)) = bind()? else {
        return Ok(false);
    };
    // One thread runs here (nothing was started yet), which the wrapper checks.
    match sys::proc::fork_single_threaded().context("cannot start the server (fork)")? {
        Forked::Child => {
            // A new session without a terminal, stdio on /dev/null, in `/` (so no directory
            // stays busy), SIGHUP ignored.
            sys::proc::detach_from_terminal();
            serve(listener, path, window_size);
            std::process::exit(0)
        }
        Forked::Parent { .. } => Ok(true),
    }
}

/// A server started by [`start_here`]: the short-lived middle process to reap.
pub struct Started {
    middle: Option<u32>,
}

impl Started {
    /// Reaps the middle process (it exits as soon as it has forked the server), so that it
    /// stays no zombie of the client's.
    pub fn reap(mut self) {
        if let Some(pid) = self.middle.take() {
            let _ = sys::proc::wait_for(pid);
        }
    }
}

/// Starts the server from the client itself, as tmux does: the socket is bound here, then a
/// fork of this process (no second exec of memmux: measured, the `memmux --server` start the
/// client waited for cost 1.5-3 ms on an idle machine and 10 ms on a busy one) serves it. The
/// socket listens on return, so the client may connect at once. The server is forked twice,
/// so it is no child of the client. `config` is the client's `--config`, read by the server
/// for `window-size` (a broken default file: the defaults). Must be called while this process
/// runs one thread. `Ok(None)` when another server already answers. `first`: the new
/// session the client will ask for, started by the server at once (`hub::first`).
pub fn start_here(
    config: Option<&Path>,
    first: Option<&NewSession>,
) -> anyhow::Result<Option<Started>> {
    let Some((listener, path)) = bind()? else {
        return Ok(None);
    };
    match sys::proc::fork_single_threaded().context("cannot start the server (fork)")? {
        Forked::Parent { child } => Ok(Some(Started {
            middle: Some(child),
        })),
        Forked::Child => {
            // The middle process: forks the server and leaves at once (its parent reaps it).
            if !matches!(sys::proc::fork_single_threaded(), Ok(Forked::Child)) {
                sys::proc::exit_now(0);
            }
            // The client's panic hook restores a terminal the server does not have.
            let _ = std::panic::take_hook();
            sys::proc::detach_from_terminal();
            crate::util::set_log_dir(crate::config::data_dir());
            // Before anything else here (the configuration, the threads): the session's start
            // is the longest step to the first prompt, and it needs neither.
            let first = first.map(|req| hub::first::start(&path.display().to_string(), req));
            let source = crate::config::config_path(config);
            let window_size = crate::config::load(&source)
                .map(|l| l.config.window_size)
                .unwrap_or_else(|_| crate::config::Config::default().window_size);
            serve_with(listener, path, window_size, first);
            std::process::exit(0)
        }
    }
}

/// Binds the server's socket, replacing a dead server's. `None` when a server answers there.
fn bind() -> anyhow::Result<Option<(UnixListener, PathBuf)>> {
    let dir = socket::dir();
    socket::ensure_dir(&dir)?;
    let path = socket::path();
    // Two clients starting a server at once: the second waits here, then finds the first's
    // socket alive.
    let lock = std::fs::File::create(dir.join("server.lock"))
        .with_context(|| format!("cannot create a lock file in {}", dir.display()))?;
    // Released when `lock` is closed, on return (before any fork, so that no server holds
    // it). A failure (only EINTR on a local file) is passed over as before: the race it
    // guards costs a second server that cannot bind.
    let _ = sys::fd::lock_exclusive(&lock);
    if path.exists() {
        if socket::alive(&path) {
            return Ok(None);
        }
        // A server that died (crash, SIGKILL) left its socket: nobody listens on it.
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    // The socket is created 0600; no other thread runs to create files meanwhile.
    let old = sys::proc::umask(0o177);
    let bound = UnixListener::bind(&path);
    sys::proc::umask(old);
    let listener = bound.with_context(|| format!("cannot listen on {}", path.display()))?;
    Ok(Some((listener, path)))
}

fn serve(listener: UnixListener, path: PathBuf, window_size: WindowSize) {
    crate::util::set_log_dir(crate::config::data_dir());
    serve_with(listener, path, window_size, None);
}

/// Serves; `first` is a session started for the client that started the server.
fn serve_with(
    listener: UnixListener,
    path: PathBuf,
    window_size: WindowSize,
    first: Option<hub::first::Early>,
) {
    crate::util::append_log(&format!("server started on {} ({VERSION})", path.display()));
    let on_empty = {
        let path = path.clone();
        Box::new(move || {
            remove_socket(&path);
            crate::util::append_log("server exits: no sessions left");
            std::process::exit(0);
        })
    };
    let hub = Arc::new(Hub::new(window_size, path.display().to_string(), on_empty));
    if let Some(early) = first {
        hub.adopt_first(early);
        let hub = Arc::clone(&hub);
        let _ = std::thread::Builder::new()
            .name("first-claim".into())
            .spawn(move || hub.expire_first());
    }
    {
        let (hub, path) = (Arc::clone(&hub), path.clone());
        let signals = signal_hook::iterator::Signals::new([libc::SIGTERM, libc::SIGINT]);
        if let Ok(mut signals) = signals {
            let _ = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    if signals.forever().next().is_some() {
                        shut_down(&hub, &path);
                    }
                });
        }
    }
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let hub = Arc::clone(&hub);
        let path = path.clone();
        let _ = std::thread::Builder::new()
            .name("client".into())
            .spawn(move || connection(&hub, stream, &path));
    }
}

fn remove_socket(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Ends every session, waits up to 5 s for them to go, and exits.
fn shut_down(hub: &Hub, path: &Path) {
    crate::util::append_log("server shutting down");
    remove_socket(path);
    hub.kill_all();
    for _ in 0..500 {
        if hub.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    hub.wait_writers();
    std::process::exit(0);
}

fn connection(hub: &Arc<Hub>, mut stream: UnixStream, path: &Path) {
    let me = socket::uid();
    match socket::peer_uid(&stream) {
        Ok(uid) if uid == me => {}
        Ok(uid) => {
            crate::util::append_log(&format!("refused a connection from uid {uid}"));
            // Its hello is read (bounded, 1 s at most) before the answer: closing a socket
            // with unread data resets it, and the refusal would be lost.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let _ = protocol::read_msg(&mut stream);
            let _ = protocol::write_msg(
                &mut stream,
                &Msg::Refuse(format!(
                    "this memmux server belongs to uid {me}; uid {uid} may not use it"
                )),
            );
            return;
        }
        Err(_) => return,
    }
    let _ = stream.set_read_timeout(Some(HANDSHAKE));
    match protocol::read_msg(&mut stream) {
        Ok(Some(Msg::Hello { version })) if version == VERSION => {}
        Ok(Some(Msg::Hello { version })) => {
            let _ = protocol::write_msg(
                &mut stream,
                &Msg::Refuse(format!(
                    "the running server is {VERSION}, this client is {version}: use the \
                     matching memmux, or end the server (its sessions end too) with the \
                     server's own binary: memmux kill-server"
                )),
            );
            return;
        }
        _ => return,
    }
    if protocol::write_msg(
        &mut stream,
        &Msg::Hello {
            version: VERSION.to_string(),
        },
    )
    .is_err()
    {
        return;
    }
    let request = match protocol::read_msg(&mut stream) {
        Ok(Some(m)) => m,
        _ => return,
    };
    let _ = stream.set_read_timeout(None);
    let reply = match request {
        Msg::List => Msg::Done(hub.listing()),
        Msg::KillSession(name) => match hub.find(Some(&name)) {
            Ok(s) => {
                s.signal(Signal::TERM);
                Msg::Done(String::new())
            }
            Err(e) => Msg::Error(e),
        },
        Msg::KillServer => {
            let _ = protocol::write_msg(&mut stream, &Msg::Done(String::new()));
            shut_down(hub, path);
            return;
        }
        Msg::New(req) => match hub.claim_first(&req).unwrap_or_else(|| hub.create(&req)) {
            Ok(s) if req.detached => Msg::Done(s.name_now()),
            Ok(s) => {
                hub.serve_client(&s, stream);
                return;
            }
            Err(e) => Msg::Error(e),
        },
        Msg::Attach { name, .. } => match hub.find(name.as_deref()) {
            Ok(s) => {
                hub.serve_client(&s, stream);
                return;
            }
            Err(e) => Msg::Error(e),
        },
        other => Msg::Error(format!("unexpected request {other:?}")),
    };
    let _ = protocol::write_msg(&mut stream, &reply);
}
