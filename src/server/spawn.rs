//! Starts a session: memmux itself (the whole app: tabs, memory panel, cgroups) on a pty the
//! server holds, with a private control socket on descriptor 3 for what the app tells the
//! server (its status for `ls`, `C-b d`, `C-b C-z`).

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::Command;

use anyhow::Context;

use super::protocol::NewSession;
use crate::sys;

/// The descriptor the session finds its control socket on (`--session-fd 3`).
pub const CONTROL_FD: RawFd = 3;

/// The descriptor the session finds its views socket on: the server sends it the terminal of
/// each client beyond the first (`Msg::ViewOpen` with a pty slave), and closes them.
pub const VIEWS_FD: RawFd = 4;

pub struct Spawned {
    pub pid: u32,
    pub master: File,
    pub control: UnixStream,
    pub views: UnixStream,
}

/// Sets a pty's size (each side clamped to 1..=1000); the kernel signals the program
/// (SIGWINCH) when it changed. A failure (a closed pty) changes nothing.
pub fn resize(fd: impl AsFd, rows: u16, cols: u16) {
    let _ = sys::tty::set_window_size(fd, rows.clamp(1, 1000), cols.clamp(1, 1000));
}

/// Opens a pty pair, both ends close-on-exec.
pub fn open_pty() -> anyhow::Result<(File, OwnedFd)> {
    let (master, slave) = sys::tty::open_pty().context("cannot open a pty")?;
    Ok((File::from(master), slave))
}

/// A command running the server's own binary. `/proc/self/exe` reaches it even after its
/// file was replaced or deleted (an upgrade or a rebuild while the server runs: the path then
/// names "memmux (deleted)", and every new session failed with "No such file or directory"),
/// so a server's sessions run its own version, which speaks its protocol. The path stays
/// the program's name, as `ps` shows it.
fn own_binary() -> anyhow::Result<Command> {
    use std::os::unix::process::CommandExt;
    let path = std::env::current_exe().context("cannot find memmux's own binary")?;
    let live = std::path::Path::new("/proc/self/exe");
    let mut cmd = Command::new(if live.exists() { live } else { &path });
    let name = path.to_string_lossy();
    cmd.arg0(name.strip_suffix(" (deleted)").unwrap_or(&name));
    Ok(cmd)
}

/// Starts `memmux --session-fd 3 ARGS` for `req`, in its directory and environment plus
/// `MEMMUX=env_value`.
pub fn session(req: &NewSession, env_value: &str) -> anyhow::Result<Spawned> {
    let (master, slave) = open_pty()?;
    resize(&master, req.rows, req.cols);
    let (ours, theirs) = UnixStream::pair().context("cannot make a control socket")?;
    let (views_ours, views_theirs) = UnixStream::pair().context("cannot make a views socket")?;
    let mut cmd = own_binary()?;
    cmd.arg("--session-fd")
        .arg(CONTROL_FD.to_string())
        .args(&req.args)
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .env(super::socket::ENV, env_value)
        .stdin(slave.try_clone().context("cannot share the pty")?)
        .stdout(slave.try_clone().context("cannot share the pty")?)
        .stderr(slave);
    let dir = std::path::Path::new(&req.cwd);
    if dir.is_dir() {
        cmd.current_dir(dir);
    } else {
        cmd.current_dir("/");
    }
    let control = theirs.as_raw_fd();
    let views = views_theirs.as_raw_fd();
    // A new session with the pty as its controlling terminal, the sockets at 3 and 4.
    sys::proc::session_with_tty_on_exec(&mut cmd, vec![(control, CONTROL_FD), (views, VIEWS_FD)]);
    let child = cmd.spawn().context("cannot start the session")?;
    drop(theirs);
    drop(views_theirs);
    Ok(Spawned {
        pid: child.id(),
        master,
        control: ours,
        views: views_ours,
    })
}

/// What runs a session in this process: memmux's app, given its arguments (`--session-fd 3`
/// and `req.args`); returns its exit code. Set by the binary (`main.rs`), which owns the
/// command line.
pub type SessionMain = fn(Vec<String>) -> u8;

static SESSION_MAIN: std::sync::OnceLock<SessionMain> = std::sync::OnceLock::new();

/// Lets a server forked from this process start its first session without an `exec`.
pub fn set_session_main(main: SessionMain) {
    let _ = SESSION_MAIN.set(main);
}

/// Starts the session for `req` as [`session`] does, but as a fork of this process that runs
/// the app itself instead of `exec`ing memmux again (`sys::session_fork`). Only while this
/// process runs one thread (the server before it starts any); `None` when that or the entry
/// point is missing, for the caller to use [`session`].
pub fn session_in_process(req: &NewSession, env_value: &str) -> Option<anyhow::Result<Spawned>> {
    let main = *SESSION_MAIN.get()?;
    Some(fork_session(req, env_value, main))
}

fn fork_session(req: &NewSession, env_value: &str, main: SessionMain) -> anyhow::Result<Spawned> {
    let (master, slave) = open_pty()?;
    resize(&master, req.rows, req.cols);
    let (ours, theirs) = UnixStream::pair().context("cannot make a control socket")?;
    let (views_ours, views_theirs) = UnixStream::pair().context("cannot make a views socket")?;
    let mut env = req.env.clone();
    env.retain(|(k, _)| k != super::socket::ENV);
    env.push((super::socket::ENV.to_string(), env_value.to_string()));
    let mut args = vec![
        "memmux".to_string(),
        "--session-fd".to_string(),
        CONTROL_FD.to_string(),
    ];
    args.extend(req.args.iter().cloned());
    let moves = [
        (theirs.as_raw_fd(), CONTROL_FD),
        (views_theirs.as_raw_fd(), VIEWS_FD),
    ];
    match sys::proc::fork_single_threaded().context("cannot start the session (fork)")? {
        sys::proc::Forked::Child => {
            let code = match sys::session_fork::become_session(
                slave.as_raw_fd(),
                &moves,
                &env,
                std::path::Path::new(&req.cwd),
            ) {
                // Never back into the server's code: its descriptors are closed here, and
                // their owners up the stack would close the numbers again.
                Ok(()) => std::panic::catch_unwind(|| main(args)).unwrap_or(101),
                Err(e) => {
                    eprintln!("memmux: cannot set the session up: {e}");
                    1
                }
            };
            std::process::exit(i32::from(code))
        }
        sys::proc::Forked::Parent { child } => {
            drop((slave, theirs, views_theirs));
            Ok(Spawned {
                pid: child,
                master,
                control: ours,
                views: views_ours,
            })
        }
    }
}
