//! Putting a tab's program into its cgroup.
//!
//! portable-pty gives no hook between fork and exec (no `pre_exec`, no `clone3` with
//! `CLONE_INTO_CGROUP`), so the program is moved right after it starts, from a thread of its
//! own: the first write to `cgroup.procs` after a quiet moment waits for an RCU grace period
//! (10-14 ms measured here on v1), which then overlaps the shell's own start-up instead of
//! delaying it or the UI. A program can fork before the write lands (an rc file that starts
//! a daemon at once); every process a tab starts carries [`super::TOKEN_ENV`] in its
//! environment, so after the write a sweep moves in every process that carries the tab's
//! token and started no earlier than the program (`setsid` and double forks included: they
//! keep the environment).
//!
//! The sweep stops only on a pass that proves nothing is left out: every process it listed
//! was inside, or readably without the token. A listed process that was exiting or in
//! `execve` (its environment reads empty) or gone by the time it was read may have forked a
//! child the listing missed, so such a pass is followed by another. A sweep that stopped at
//! the first pass with no stray to move let a double-forking daemon escape on a loaded CI
//! machine: the middle process was exiting when read and its child was born after the
//! listing. A process that clears its environment and forks away within those first
//! milliseconds is the one that can escape.
//! Later writes come within the grace period of the first and cost about 0.02 ms.

use std::sync::Arc;

use super::TabCgroup;
use crate::memory::procs::parse_stat;

/// Passes of the sweep at most. A pass that moved a stray or met an unsure process is
/// followed by another; a double fork needs 3, a process with an empty environment of its
/// own (`env -i`) makes every pass unsure, so this bounds the cost at about 30 ms.
const SWEEP_PASSES: usize = 12;

/// Pause after a pass that moved nothing but met an unsure process: an `execve` or exit in
/// progress takes about a millisecond to finish.
const UNSURE_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// When the second sweep runs after the first.
const LATE_SWEEP: std::time::Duration = std::time::Duration::from_millis(300);

/// Starts the join thread for `pid`. Failures are recorded in the cgroup (the sampler then
/// measures the tab by PSS) and said once.
pub fn start(cg: Arc<TabCgroup>, pid: u32) {
    let spawned = std::thread::Builder::new()
        .name("cgroup-join".into())
        .spawn({
            let cg = Arc::clone(&cg);
            move || {
                run(&cg, pid);
                late_sweep(&cg, pid);
            }
        });
    if let Err(e) = spawned {
        // No thread: join here rather than not at all.
        let _ = e;
        run(&cg, pid);
    }
}

/// Moves `pid`, then sweeps. Returns the processes the sweep moved.
pub fn run(cg: &Arc<TabCgroup>, pid: u32) -> usize {
    let start = starttime(pid);
    #[cfg(feature = "test-hooks")]
    test_delay();
    if let Err(e) = cg.add(pid) {
        let text = format!("cannot put the tab's program in its cgroup ({e})");
        super::notice_once(format!("{text}; such tabs are measured by PSS"));
        cg.set_joined(Err(text));
        return 0;
    }
    cg.set_joined(Ok(()));
    // Here rather than where the cgroup is made: the registration (about 30 us, and the
    // watcher's thread with the first tab) stays off the new tab's start; and before the
    // sweep's idle priority, which the watcher's thread would otherwise inherit.
    super::oom_watch::watch(cg);
    let Some(start) = start else { return 0 };
    // The sweep reads /proc (about 0.5 ms of CPU) while the shell and memmux start on
    // the same cores: it waits for idle CPU rather than delaying the first prompt.
    // SAFETY: sched_setscheduler on the calling thread (0) with a valid param struct.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
    sweep(cg, pid, start)
}

/// `MEMMUX_TEST_JOIN_DELAY_MS=N` (test-hooks builds only): the join waits N ms first, so a
/// test can see that nothing else waits for it.
#[cfg(feature = "test-hooks")]
fn test_delay() {
    if let Some(ms) = std::env::var("MEMMUX_TEST_JOIN_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Insurance for a sweep that ran out of passes on a machine busy with short-lived
/// processes: whatever escaped and lives on (a daemon) is readable [`LATE_SWEEP`] later.
fn late_sweep(cg: &TabCgroup, pid: u32) {
    std::thread::sleep(LATE_SWEEP);
    if let (Ok(true), Some(start)) = (cg.joined(), starttime(pid)) {
        sweep(cg, pid, start);
    }
}

/// Passes over /proc until one proves nothing carrying `needle` is left out (or
/// [`SWEEP_PASSES`]). Returns the processes moved.
fn sweep(cg: &TabCgroup, pid: u32, start: u64) -> usize {
    let needle = format!("{}={}", super::TOKEN_ENV, cg.name());
    let mut moved = 0;
    for _ in 0..SWEEP_PASSES {
        let mut buf = String::new();
        // Read before the listing: a process inside now has only children inside.
        let inside = cg.pids(&mut buf).unwrap_or_default();
        let mut strays = Vec::new();
        let mut unsure = false;
        for p in candidates(pid) {
            if inside.contains(&p) {
                continue;
            }
            match token(p, start, &needle) {
                Token::Carried => strays.push(p),
                Token::Unsure => unsure = true,
                Token::Absent => {}
            }
        }
        if strays.is_empty() && !unsure {
            break;
        }
        if strays.is_empty() {
            std::thread::sleep(UNSURE_PAUSE);
        }
        for p in strays {
            if cg.add(p).is_ok() {
                moved += 1;
            }
        }
    }
    moved
}

/// What a listed process's environment says about the tab's token.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Carried,
    /// Readable without the token, a zombie, a kernel thread, or another user's process.
    Absent,
    /// Exiting, in `execve`, or gone since the listing: it may have forked one the listing
    /// missed.
    Unsure,
}

/// `start`: the program's start time; older processes are not the tab's.
fn token(pid: u32, start: u64, needle: &str) -> Token {
    let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
        return Token::Unsure;
    };
    let Some(stat) = parse_stat(&stat) else {
        return Token::Unsure;
    };
    if stat.starttime < start {
        return Token::Absent;
    }
    // Zombies cannot fork; kernel threads (children of kthreadd, pid 2) have no environment.
    if matches!(stat.state, b'Z' | b'X') || stat.ppid == 2 || pid == 2 {
        return Token::Absent;
    }
    match std::fs::read(format!("/proc/{pid}/environ")) {
        Ok(env) if env.is_empty() => Token::Unsure,
        Ok(env) if carries(&env, needle) => Token::Carried,
        Ok(_) => Token::Absent,
        // Not ours to read (memmux not run as root): not a process this tab started.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Token::Absent,
        Err(_) => Token::Unsure,
    }
}

/// `stat` field 22 (start time in clock ticks since boot).
fn starttime(pid: u32) -> Option<u64> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text).map(|s| s.starttime)
}

/// Processes listed in /proc. Pids are handed out in increasing order, so only those above
/// `first` are listed, unless the kernel's last pid (`/proc/loadavg`) shows the numbers
/// wrapped since.
fn candidates(first: u32) -> Vec<u32> {
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
        .collect()
}

/// Whether an environment (`/proc/PID/environ`) holds `needle` (`NAME=value`) as a whole
/// entry.
fn carries(env: &[u8], needle: &str) -> bool {
    env.split(|&b| b == 0).any(|e| e == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_must_be_a_whole_entry() {
        let env = b"A=1\0MEMMUX_TAB_CGROUP=tab-1-10\0B=2\0";
        assert!(!carries(env, "MEMMUX_TAB_CGROUP=tab-1-1"));
        assert!(carries(env, "MEMMUX_TAB_CGROUP=tab-1-10"));
    }

    #[test]
    fn a_process_that_is_gone_is_unsure_and_a_kernel_thread_is_not() {
        // Pid 2 is kthreadd on every Linux; pids this high are never handed out.
        assert_eq!(token(2, 0, "X=1"), Token::Absent);
        assert_eq!(token(u32::MAX - 1, 0, "X=1"), Token::Unsure);
        let me = std::process::id();
        assert_eq!(
            token(me, 0, "MEMMUX_TEST_NO_SUCH_VARIABLE=1"),
            Token::Absent
        );
    }
}
