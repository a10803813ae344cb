//! Putting a tab's program into its cgroup.
//!
//! portable-pty gives no hook between fork and exec (no `pre_exec`, no `clone3` with
//! `CLONE_INTO_CGROUP`), so the program is moved right after it starts, from a thread of its
//! own: the first write to `cgroup.procs` after a quiet moment waits for an RCU grace period
//! (10-14 ms measured here on v1), which then overlaps the shell's own start-up instead of
//! delaying it or the UI. A program can fork before the write lands (an rc file that starts
//! a daemon at once); every process a tab starts carries [`super::TOKEN_ENV`] in its
//! environment, so after the write a sweep moves in every process that carries the tab's
//! token and started no earlier than the program, until a pass finds none left out
//! (`setsid` and double forks included: they keep the environment). A process that clears its
//! environment and forks away within those first milliseconds is the one that can escape.
//! Later writes come within the grace period of the first and cost about 0.02 ms.

use std::sync::Arc;

use super::TabCgroup;
use crate::memory::procs::parse_stat;

/// Passes of the sweep at most: each pass moves what the one before missed (a child forked
/// by a process while it was being moved). 5 never ran out in the tests.
const SWEEP_PASSES: usize = 5;

/// Starts the join thread for `pid`. Failures are recorded in the cgroup (the sampler then
/// measures the tab by PSS) and said once.
pub fn start(cg: Arc<TabCgroup>, pid: u32) {
    let spawned = std::thread::Builder::new()
        .name("cgroup-join".into())
        .spawn({
            let cg = Arc::clone(&cg);
            move || run(&cg, pid)
        });
    if let Err(e) = spawned {
        // No thread: join here rather than not at all.
        let _ = e;
        run(&cg, pid);
    }
}

/// Moves `pid`, then sweeps. Returns the processes the sweep moved.
pub fn run(cg: &TabCgroup, pid: u32) -> usize {
    let start = starttime(pid);
    if let Err(e) = cg.add(pid) {
        let text = format!("cannot put the tab's program in its cgroup ({e})");
        super::notice_once(format!("{text}; such tabs are measured by PSS"));
        cg.set_joined(Err(text));
        return 0;
    }
    cg.set_joined(Ok(()));
    let Some(start) = start else { return 0 };
    // The sweep reads /proc (about 0.5 ms of CPU) while the shell and memmux start on
    // the same cores: it waits for idle CPU rather than delaying the first prompt.
    // SAFETY: sched_setscheduler on the calling thread (0) with a valid param struct.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
    let needle = format!("{}={}", super::TOKEN_ENV, cg.name());
    let mut moved = 0;
    for _ in 0..SWEEP_PASSES {
        let mut buf = String::new();
        let inside = cg.pids(&mut buf).unwrap_or_default();
        let strays: Vec<u32> = candidates(pid, start)
            .into_iter()
            .filter(|p| !inside.contains(p) && carries(*p, &needle))
            .collect();
        if strays.is_empty() {
            break;
        }
        for p in strays {
            if cg.add(p).is_ok() {
                moved += 1;
            }
        }
    }
    moved
}

/// `stat` field 22 (start time in clock ticks since boot).
fn starttime(pid: u32) -> Option<u64> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text).map(|s| s.starttime)
}

/// Processes that started at `start` or later (clock ticks: 10 ms, so a few older ones too).
/// Pids are handed out in increasing order, so only those above `first` are read, unless
/// the kernel's last pid (`/proc/loadavg`) shows the numbers wrapped since.
fn candidates(first: u32, start: u64) -> Vec<u32> {
    let me = std::process::id();
    let wrapped = std::fs::read("/proc/loadavg")
        .ok()
        .and_then(|t| crate::memory::procs::parse_loadavg_last_pid(&t))
        .is_none_or(|last| last < first);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| p != me && (wrapped || p > first))
        .filter(|&p| starttime(p).is_some_and(|t| t >= start))
        .collect()
}

/// Whether `pid`'s environment holds `needle` (`NAME=value`) as a whole entry.
fn carries(pid: u32, needle: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|&b| b == 0).any(|e| e == needle.as_bytes()))
        .unwrap_or(false)
}
