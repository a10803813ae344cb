//! Spawning a program in a pseudo-terminal and handing it to the event loop (`io_loop`) that
//! reads and parses its output, writes its input and waits for it to exit.

use std::ffi::OsString;
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use portable_pty::{CommandBuilder, MasterPty, PtySize, SlavePty, native_pty_system};

use super::io_loop::{self, IoHandle, NewTab};
use super::process::ExitStatus;
use super::shared::Shared;
use crate::memory::alloc;
use crate::memory::cgroup::Placement;
use crate::sys;

/// What to run in a new pty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub term: String,
}

/// A running program in a pty, with the handles needed to resize and stop it.
pub struct Pty {
    pub master: Box<dyn MasterPty + Send>,
    pub pid: u32,
    /// The program's memory cgroup, when there is one.
    pub cgroup: Option<Arc<crate::memory::cgroup::TabCgroup>>,
    /// Dropping this stops the event loop's reads and writes of the pty.
    io: Option<IoHandle>,
    /// The tab's share of the descriptor limit.
    _fds: super::fd_limit::TabFds,
}

impl Pty {
    pub fn master_fd(&self) -> Option<RawFd> {
        self.master.as_raw_fd()
    }

    pub fn resize(&self, rows: u16, cols: u16) -> anyhow::Result<()> {
        self.master.resize(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
    }

    /// The foreground process group of the pty (the job the user is talking to).
    pub fn foreground_pgrp(&self) -> Option<u32> {
        self.master
            .process_group_leader()
            .and_then(|p| u32::try_from(p).ok())
    }

    /// Stops reading and writing the pty (the program is still reaped when it ends); the
    /// master is closed when `self` drops.
    pub fn stop_threads(&mut self) {
        self.io.take();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// Starts `spec` in a new pty of `rows` x `cols` and hands it to the event loop.
/// `on_exit` is called on the loop's thread with the program's exit status.
pub fn spawn(
    spec: &CommandSpec,
    rows: u16,
    cols: u16,
    shared: Arc<Shared>,
    label: &str,
    on_exit: Box<dyn FnOnce(ExitStatus) + Send>,
) -> anyhow::Result<Pty> {
    let program = spec.argv.first().context("no command given")?;
    let fds = super::fd_limit::reserve_tab();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(|e| anyhow::anyhow!("cannot open a pseudo-terminal: {}", os_error_text(&e)))?;
    let master = pair.master;
    let master_fd = master
        .as_raw_fd()
        .context("the pty has no file descriptor")?;
    // Everything that can fail for want of descriptors is done before the program starts, so
    // a failure never leaves a started program behind.
    // Non-blocking, so a program that never reads its input can't block the event loop; the
    // flag, set on the copy, is the master's too (same open file description).
    // One copy for the event loop and the input queue's direct writes: with the master and the
    // pidfd, 3 descriptors per tab.
    let io_fd = Arc::new(sys::fd::dup_cloexec_raw(master_fd).context("cannot duplicate the pty")?);
    sys::fd::set_nonblocking(&*io_fd).context("cannot make the pty non-blocking")?;
    let waker = io_loop::reserve()?;

    // The tab's memory cgroup (None without cgroups); the program joins it right after it
    // starts, off this thread (memory::cgroup::join).
    let placement = crate::memory::cgroup::Placement::new();
    let pid = start_program(spec, &*master, &*pair.slave, placement.as_ref())
        .with_context(|| format!("cannot start `{program}`"))?;
    // Our copy of the slave must close, or the reader would never see the program's end.
    drop(pair.slave);
    let cgroup = placement.map(|p| p.join(pid));
    // Readable once the program has ended; without one (Linux before 5.3) a thread waits.
    let pidfd = io_loop::pidfd_open(pid);

    // The loop's bookkeeping is memmux's, not the session's: it is freed only after the loop
    // has dropped the session's state, so charging it to the session would show up as a leak
    // when the tab closes. The loop enters the session's account for the session's work.
    let _memmux = alloc::enter(alloc::MEMMUX);
    shared.input.set_direct(Arc::clone(&io_fd), waker.handle());
    let io = io_loop::register(
        &waker,
        NewTab {
            shared,
            pty: io_fd,
            pidfd,
            pid,
            on_exit,
            label: format!("pty-parse-{label}"),
        },
    );

    Ok(Pty {
        master,
        pid,
        io: Some(io),
        _fds: fds,
        cgroup,
    })
}

/// What the program's environment gains and loses against memmux's own.
fn environment(spec: &CommandSpec, placement: Option<&Placement>) -> Vec<(OsString, OsString)> {
    let mut set: Vec<(&str, OsString)> = vec![
        ("TERM", spec.term.clone().into()),
        ("COLORTERM", "truecolor".into()),
    ];
    // Run by the server, memmux has `MEMMUX=SOCKET,SERVER_PID,SESSION` (see `server::socket`)
    // and its tabs keep it; alone, its own pid says the same: this is inside memmux.
    if std::env::var_os("MEMMUX").is_none_or(|v| v.is_empty()) {
        set.push(("MEMMUX", std::process::id().to_string().into()));
    }
    if let Some(p) = placement {
        set.push((crate::memory::cgroup::TOKEN_ENV, p.token().into()));
    }
    // portable-pty always set SHELL, from the password database when memmux had none.
    if std::env::var_os("SHELL").is_none_or(|v| v.is_empty()) {
        if let Some(shell) = sys::user::login_shell() {
            set.push(("SHELL", shell));
        }
    }
    let set: Vec<(&str, &std::ffi::OsStr)> = set.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    super::spawn::environment(&set, &["COLUMNS", "LINES", "TMUX", "TMUX_PANE"])
}

/// Starts the program on `slave`; returns its pid.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn start_program(
    spec: &CommandSpec,
    master: &dyn MasterPty,
    slave: &dyn SlavePty,
    placement: Option<&Placement>,
) -> anyhow::Result<u32> {
    let Some(path) = master.tty_name() else {
        return start_with_portable_pty(spec, slave, placement);
    };
    // portable-pty starts in $HOME when the directory is not one; so does this.
    let cwd = spec
        .cwd
        .clone()
        .filter(|d| d.is_dir())
        .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/"));
    let launch = super::spawn::Launch {
        argv: &spec.argv,
        cwd: &cwd,
        env: environment(spec, placement),
    };
    super::spawn::spawn(&launch, &path)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn start_program(
    spec: &CommandSpec,
    _master: &dyn MasterPty,
    slave: &dyn SlavePty,
    placement: Option<&Placement>,
) -> anyhow::Result<u32> {
    start_with_portable_pty(spec, slave, placement)
}

/// portable-pty's fork and `exec` (see `spawn` for why not on glibc).
fn start_with_portable_pty(
    spec: &CommandSpec,
    slave: &dyn SlavePty,
    placement: Option<&Placement>,
) -> anyhow::Result<u32> {
    let mut cmd = CommandBuilder::from_argv(spec.argv.iter().map(OsString::from).collect());
    cmd.env_clear();
    for (k, v) in environment(spec, placement) {
        cmd.env(k, v);
    }
    if let Some(cwd) = &spec.cwd {
        cmd.cwd(cwd);
    }
    let child = slave.spawn_command(cmd)?;
    // portable-pty's child handle is not used: the event loop reaps with waitpid to learn the
    // signal number, which portable-pty only gives as a name.
    let pid = child.process_id();
    drop(child);
    pid.context("the started program has no process id")
}

/// Says what the descriptor limit is when `err` ran out of descriptors.
pub fn explain_fds(err: anyhow::Error) -> anyhow::Error {
    super::fd_limit::explain(err)
}

/// portable-pty reports `openpty` failures with the `Debug` form of the OS error
/// (`Os { code: 28, kind: StorageFull, .. }`); this gives the plain text ("No space left on
/// device (os error 28)").
fn os_error_text(e: &anyhow::Error) -> String {
    let text = e.to_string();
    let code = text
        .split("code: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<i32>().ok());
    match code {
        Some(c) => io::Error::from_raw_os_error(c).to_string(),
        None => text,
    }
}
