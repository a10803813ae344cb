//! Processes and threads: pidfds, reaping, sessions, names, scheduling, `fork` for the
//! single-threaded moments that need it, and what a child does between `fork` and `exec`.

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use rustix::process::{Pid, PidfdFlags, WaitOptions};

fn to_pid(pid: u32) -> io::Result<Pid> {
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("no such pid {pid}")))
}

/// This process's id.
pub fn pid() -> u32 {
    rustix::process::getpid()
        .as_raw_nonzero()
        .get()
        .unsigned_abs()
}

/// A pidfd for `pid` (our child, readable once it has ended), or `None` where the kernel has
/// none (before Linux 5.3) or the process is gone.
pub fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    rustix::process::pidfd_open(to_pid(pid).ok()?, PidfdFlags::empty()).ok()
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Code(i32),
    Signal(i32),
}

/// Waits for child `pid` to end and reaps it (retrying on `EINTR`). An error when it is no
/// child of ours or was reaped elsewhere.
pub fn wait_for(pid: u32) -> io::Result<Ended> {
    let target = to_pid(pid)?;
    loop {
        match rustix::process::waitpid(Some(target), WaitOptions::empty()) {
            Ok(Some((_, status))) => {
                return Ok(match (status.exit_status(), status.terminating_signal()) {
                    (Some(code), _) => Ended::Code(code),
                    (None, Some(sig)) => Ended::Signal(sig),
                    // Only stopped or continued children report neither, and waitpid without
                    // WUNTRACED/WCONTINUED reports only ended ones.
                    (None, None) => Ended::Code(-1),
                });
            }
            Ok(None) => continue,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Makes this process a session (and process group) leader without a controlling terminal.
pub fn setsid() -> io::Result<()> {
    rustix::process::setsid()?;
    Ok(())
}

/// Sets the calling thread's name (`PR_SET_NAME`, at most 15 bytes kept); on the main thread
/// this is the process's `comm`.
pub fn set_thread_name(name: &str) -> io::Result<()> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a name with a NUL byte"))?;
    Ok(rustix::thread::set_name(&c)?)
}

/// Moves the calling thread to `SCHED_IDLE`: it runs only when a core has nothing else.
pub fn set_idle_scheduling() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler on the calling thread (0) reads one valid sched_param.
    // rustix has no sched_setscheduler.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the calling thread's nice value (Linux applies `setpriority` on a thread id to that
/// thread alone).
pub fn set_thread_nice(nice: i32) -> io::Result<()> {
    let tid = rustix::thread::gettid();
    Ok(rustix::process::setpriority_process(Some(tid), nice)?)
}

/// The calling thread's CPU time.
pub fn thread_cpu() -> Duration {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Sets this process's file creation mask; returns the previous one.
pub fn umask(mask: u32) -> u32 {
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(mask)).bits()
}

/// Which side of a `fork` this is.
#[derive(Debug, PartialEq, Eq)]
pub enum Forked {
    Parent { child: u32 },
    Child,
}

/// The number of threads of this process (`/proc/self/task`).
fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// `fork(2)`, refused (an error) unless this process has a single thread: then the child is a
/// whole copy and may do anything (a multi-threaded process's child could only make
/// async-signal-safe calls, as another thread may have held a lock at the fork).
pub fn fork_single_threaded() -> io::Result<Forked> {
    let threads = thread_count()?;
    if threads != 1 {
        return Err(io::Error::other(format!(
            "fork refused: {threads} threads run (a child would inherit their locks held)"
        )));
    }
    // SAFETY: one thread runs (checked above, and this thread starts none between the check
    // and the call), so no lock is held by a thread the child would lack.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        child => Ok(Forked::Parent {
            child: child.unsigned_abs(),
        }),
    }
}

/// Ends this process at once (`_exit`): no atexit handlers, no flushing of std's buffers, as a
/// forked side that must not run the parent's clean-up should.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends the process; it touches no memory of ours.
    unsafe { libc::_exit(code) }
}

/// The started program leads a new session (without a controlling terminal): it leaves
/// memmux's, so the terminal's hang-up does not reach it.
pub fn new_session_on_exec(cmd: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec and makes one system call
    // (setsid, async-signal-safe), allocating nothing.
    unsafe {
        cmd.pre_exec(|| {
            // A process group leader cannot (EPERM); a freshly forked child never is one.
            let _ = rustix::process::setsid();
            Ok(())
        });
    }
}

/// The started program leads a new session whose controlling terminal is its standard input
/// (a pty slave), and finds descriptor `from` of each pair of `moves` at number `to` (open
/// across exec; the originals stay close-on-exec).
pub fn session_with_tty_on_exec(cmd: &mut Command, moves: Vec<(RawFd, RawFd)>) {
    // SAFETY: the closure runs in the child between fork and exec; it calls only
    // async-signal-safe functions (setsid, ioctl, fcntl, dup2) and allocates nothing (`moves`
    // was built by the parent). Descriptors are numbers here, as nothing owns them in the
    // child.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            // Each copied above 10 first (close-on-exec), so none is overwritten by another's
            // move; dup2 to another number clears close-on-exec. At most 8 moves.
            let mut high = [-1; 8];
            for (slot, (from, _)) in high.iter_mut().zip(&moves) {
                *slot = libc::fcntl(*from, libc::F_DUPFD_CLOEXEC, 10);
            }
            for (fd, (_, to)) in high.iter().zip(&moves) {
                if *fd < 0 || libc::dup2(*fd, *to) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// A daemon's break with where it was started: a new session without a terminal, standard
/// input and output on `/dev/null`, the working directory `/` (so no directory stays busy),
/// SIGHUP ignored.
pub fn detach_from_terminal() {
    let _ = rustix::process::setsid();
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
        let _ = rustix::stdio::dup2_stderr(&null);
        // Started with stdin (say) closed, /dev/null was opened as 0 itself: keep it open,
        // as standard input, rather than close it with `null`.
        if std::os::fd::AsRawFd::as_raw_fd(&null) <= 2 {
            let _ = rustix::io::fcntl_setfd(&null, rustix::io::FdFlags::empty());
            let _ = std::os::fd::IntoRawFd::into_raw_fd(null);
        }
    }
    let _ = std::env::set_current_dir("/");
    super::signal::ignore_hangup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_reaped_with_its_exit_code_or_signal() -> io::Result<()> {
        let child = Command::new("sh").args(["-c", "exit 7"]).spawn()?;
        assert_eq!(wait_for(child.id())?, Ended::Code(7));
        let child = Command::new("sleep").arg("30").spawn()?;
        let fd = pidfd_open(child.id());
        super::super::signal::kill(child.id(), super::super::signal::Signal::TERM)?;
        assert_eq!(wait_for(child.id())?, Ended::Signal(libc::SIGTERM));
        assert!(fd.is_some(), "Linux 5.3 or later has pidfds");
        assert!(wait_for(child.id()).is_err(), "reaped once only");
        Ok(())
    }

    #[test]
    fn fork_is_refused_with_threads_running() {
        // The test harness runs tests on threads of their own: more than one here.
        let err = fork_single_threaded().err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("fork refused")));
    }

    #[test]
    fn a_new_session_on_exec_makes_the_child_its_leader() -> io::Result<()> {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "cut -d' ' -f6 /proc/self/stat"]);
        new_session_on_exec(&mut cmd);
        let child = cmd.stdout(std::process::Stdio::piped()).spawn()?;
        let id = child.id();
        let out = child.wait_with_output()?;
        let sid: u32 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(io::Error::other)?;
        // The shell (which execs `cut`) leads its own session: its id is the child's pid.
        assert_eq!(sid, id);
        Ok(())
    }

    #[test]
    fn a_session_on_a_tty_gets_it_as_controlling_terminal_and_its_descriptors_moved()
    -> io::Result<()> {
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let (_master, slave) = crate::sys::tty::open_pty()?;
        let (mut from_child, to_child) = std::os::unix::net::UnixStream::pair()?;
        let mut cmd = Command::new("sh");
        // Descriptor 5 is the moved socket; field 6 and 7 of stat: session, tty_nr.
        cmd.args(["-c", "echo moved >&5; cut -d' ' -f6,7 /proc/self/stat"])
            .stdin(std::process::Stdio::from(slave))
            .stdout(std::process::Stdio::piped());
        session_with_tty_on_exec(&mut cmd, vec![(to_child.as_raw_fd(), 5)]);
        let child = cmd.spawn()?;
        drop(cmd);
        let id = child.id();
        let out = child.wait_with_output()?;
        drop(to_child);
        let mut moved = String::new();
        from_child.read_to_string(&mut moved)?;
        assert_eq!(moved, "moved\n");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text.split_whitespace();
        assert_eq!(fields.next(), Some(id.to_string().as_str()), "{text}");
        assert_ne!(fields.next(), Some("0"), "a controlling terminal: {text}");
        Ok(())
    }

    #[test]
    fn thread_names_and_cpu_time() -> io::Result<()> {
        std::thread::spawn(|| -> io::Result<()> {
            set_thread_name("sys-test-name")?;
            let comm = std::fs::read_to_string(format!(
                "/proc/self/task/{}/comm",
                rustix::thread::gettid().as_raw_nonzero()
            ))?;
            assert_eq!(comm.trim_end(), "sys-test-name");
            let before = thread_cpu();
            let mut x = 0u64;
            while thread_cpu() < before + Duration::from_millis(5) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            set_thread_nice(5)?;
            Ok(())
        })
        .join()
        .map_err(|_| io::Error::other("thread panicked"))?
    }
}
