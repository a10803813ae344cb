//! The program of a tab as a process: how it ended, reaping it, hanging up its session.

use std::io;

/// How a program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit {c}"),
            ExitStatus::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// Waits for `pid` to end and reaps it.
pub fn wait_for(pid: u32) -> ExitStatus {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        if r < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if r < 0 {
            // Already reaped elsewhere (should not happen): report a plain failure.
            return ExitStatus::Code(-1);
        }
        break;
    }
    if libc::WIFSIGNALED(status) {
        ExitStatus::Signal(libc::WTERMSIG(status))
    } else {
        ExitStatus::Code(libc::WEXITSTATUS(status))
    }
}

/// Sends SIGHUP to every process of the session led by `sid` (the tab's program ran `setsid`,
/// so its session id is its pid): background jobs and their children included, so nothing
/// left behind keeps the pty open.
pub fn hang_up_session(sid: u32) {
    // SAFETY: kill(2) with a negative pid signals a process group; harmless if it is gone.
    unsafe {
        libc::kill(-(sid as libc::pid_t), libc::SIGHUP);
    }
    for pid in session_members(sid) {
        // SAFETY: as above, for one process.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGHUP);
        }
    }
}

/// Pids whose session id is `sid`, from `/proc/PID/stat`. Processes that vanish while we read
/// are simply skipped.
pub fn session_members(sid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            // The stat parser of the memory sampler: names may hold spaces and `)`.
            std::fs::read(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| crate::memory::procs::parse_stat(&s))
                .map(|f| f.session)
                == Some(sid)
        })
        .collect()
}
