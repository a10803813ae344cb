//! Turning a freshly forked, single-threaded child into a server's session without `exec`:
//! what `Command` with `proc::session_with_tty_on_exec` does between fork and exec, plus the
//! environment and working directory `exec` would have set. The server's first session starts
//! this way (`server::spawn::session_in_process`): it skips an `execve` of memmux, the dynamic
//! loader and Rust's start-up (measured: 1.55 ms of CPU for `memmux --version` against
//! 0.54 ms for `/bin/true`).

use std::ffi::OsString;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

/// Makes this process a new session's leader with `tty` (a pty slave) as its controlling
/// terminal and standard input, output and error, puts each `(from, to)` of `moves` at `to`,
/// closes every other descriptor from 3 up, gives SIGHUP its default action back (the server
/// ignores it), and replaces the environment with `env` and the working directory with `cwd`
/// (`/` when it is not a directory). Refused unless one thread runs: the environment may only
/// change then. At most 8 moves; every target is above 2.
pub fn become_session(
    tty: RawFd,
    moves: &[(RawFd, RawFd)],
    env: &[(String, String)],
    cwd: &Path,
) -> io::Result<()> {
    let threads = std::fs::read_dir("/proc/self/task")?.count();
    if threads != 1 {
        return Err(io::Error::other(format!(
            "{threads} threads run: the session's set-up needs a single-threaded child"
        )));
    }
    if moves.len() > 8 || moves.iter().any(|(_, to)| *to <= 2) {
        return Err(io::Error::other("at most 8 moves, each above 2"));
    }
    rustix::process::setsid()?;
    // SAFETY: plain descriptor calls on numbers this process holds (the caller's); none
    // allocates. Each source is copied above 10 first, so no move overwrites another's source.
    unsafe {
        let high_tty = libc::fcntl(tty, libc::F_DUPFD_CLOEXEC, 10);
        if high_tty < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut high = [-1; 8];
        for (slot, (from, _)) in high.iter_mut().zip(moves) {
            *slot = libc::fcntl(*from, libc::F_DUPFD_CLOEXEC, 10);
            if *slot < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        for fd in 0..=2 {
            if libc::dup2(high_tty, fd) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        for (fd, (_, to)) in high.iter().zip(moves) {
            if libc::dup2(*fd, *to) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
            return Err(io::Error::last_os_error());
        }
        let first = moves.iter().map(|(_, to)| *to).max().unwrap_or(2) + 1;
        // Everything else: the server's listening socket, the pty's master, the copies above.
        if libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            0,
        ) < 0
        {
            return Err(io::Error::last_os_error());
        }
        libc::signal(libc::SIGHUP, libc::SIG_DFL);
    }
    let old: Vec<OsString> = std::env::vars_os().map(|(k, _)| k).collect();
    for k in old {
        // SAFETY: one thread runs (checked above), so nothing reads the environment meanwhile.
        unsafe { std::env::remove_var(k) };
    }
    for (k, v) in env {
        if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
            continue;
        }
        // SAFETY: as above.
        unsafe { std::env::set_var(k, v) };
    }
    if !cwd.is_dir() || std::env::set_current_dir(cwd).is_err() {
        std::env::set_current_dir("/")?;
    }
    Ok(())
}
