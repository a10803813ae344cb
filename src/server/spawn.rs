//! Starts a session: memmux itself (the whole app: tabs, memory panel, cgroups) on a pty the
//! server holds, with a private control socket on descriptor 3 for what the app tells the
//! server (its status for `ls`, `C-b d`, `C-b C-z`).

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::Context;

use super::protocol::NewSession;

/// The descriptor the session finds its control socket on (`--session-fd 3`).
pub const CONTROL_FD: RawFd = 3;

/// The descriptor the session finds its views socket on: the server sends it the terminal of
/// each client beyond the first (`Msg::ViewOpen` with a pty slave), and closes them.
pub const VIEWS_FD: RawFd = 4;

pub struct Spawned {
    pub pid: libc::pid_t,
    pub master: File,
    pub control: UnixStream,
    pub views: UnixStream,
}

/// Sets a pty's size; the kernel signals the program (SIGWINCH) when it changed.
pub fn set_size(fd: RawFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows.clamp(1, 1000),
        ws_col: cols.clamp(1, 1000),
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a valid winsize; failure (a closed pty) changes nothing.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// Opens a pty pair, both ends close-on-exec.
pub fn open_pty() -> anyhow::Result<(File, OwnedFd)> {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty fills two descriptors; no name buffer, no termios, no size.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot open a pty");
    }
    // SAFETY: openpty just gave us both descriptors.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [master.as_raw_fd(), slave.as_raw_fd()] {
        // SAFETY: setting FD_CLOEXEC on descriptors we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok((File::from(master), slave))
}

/// Starts `memmux --session-fd 3 ARGS` for `req`, in its directory and environment plus
/// `MEMMUX=env_value`.
pub fn session(req: &NewSession, env_value: &str) -> anyhow::Result<Spawned> {
    let (master, slave) = open_pty()?;
    set_size(master.as_raw_fd(), req.rows, req.cols);
    let (ours, theirs) = UnixStream::pair().context("cannot make a control socket")?;
    let (views_ours, views_theirs) = UnixStream::pair().context("cannot make a views socket")?;
    let exe = std::env::current_exe().context("cannot find memmux's own binary")?;
    let mut cmd = Command::new(exe);
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
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Both copied above 10 first (close-on-exec), so neither is overwritten by the
            // other's move; dup2 to another number clears close-on-exec.
            let high = [
                libc::fcntl(control, libc::F_DUPFD_CLOEXEC, 10),
                libc::fcntl(views, libc::F_DUPFD_CLOEXEC, 10),
            ];
            for (fd, to) in high.into_iter().zip([CONTROL_FD, VIEWS_FD]) {
                if fd < 0 || libc::dup2(fd, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd.spawn().context("cannot start the session")?;
    drop(theirs);
    drop(views_theirs);
    Ok(Spawned {
        pid: child.id() as libc::pid_t,
        master,
        control: ours,
        views: views_ours,
    })
}
