//! The program of a tab as a process: how it ended, reaping it, hanging up its session.

use crate::sys;
use crate::sys::proc::Ended;
use crate::sys::signal::Signal;

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
    match sys::proc::wait_for(pid) {
        Ok(Ended::Code(c)) => ExitStatus::Code(c),
        Ok(Ended::Signal(s)) => ExitStatus::Signal(s),
        // Already reaped elsewhere (should not happen): report a plain failure.
        Err(_) => ExitStatus::Code(-1),
    }
}

/// Sends SIGHUP to every process of the session led by `sid` (the tab's program ran `setsid`,
/// so its session id is its pid): background jobs and their children included, so nothing
/// left behind keeps the pty open.
pub fn hang_up_session(sid: u32) {
    // Errors mean the group or process is already gone, which is what we want.
    let _ = sys::signal::kill_group(sid, Signal::HUP);
    for pid in session_members(sid) {
        let _ = sys::signal::kill(pid, Signal::HUP);
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
