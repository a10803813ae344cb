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
//! One thread serves every new pane (`cgroup-join`, started on demand, gone after
//! [`WORKER_IDLE`] with nothing to do): new panes are queued, joined in order, and swept
//! together, one listing of /proc per pass for the whole batch. A thread per pane, each
//! listing /proc several times, made opening 1,000 tabs O(N²) in /proc reads and had up
//! to 92 threads alive at once in a burst (`docs/performance.md`, 2026-12-06).
//!
//! The sweep stops only on a pass that proves nothing is left out: every process it listed
//! was inside, or readably without a token of the batch. A listed process that was exiting
//! or in `execve` (its environment reads empty) or gone by the time it was read may have
//! forked a child the listing missed, so such a pass is followed by another. A sweep that
//! stopped at the first pass with no stray to move let a double-forking daemon escape on a
//! loaded CI machine: the middle process was exiting when read and its child was born after
//! the listing. A process that clears its environment and forks away within those first
//! milliseconds is the one that can escape.
//! Later writes come within the grace period of the first and cost about 0.02 ms.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::TabCgroup;
use crate::memory::procs::parse_stat;

/// Passes of the sweep at most. A pass that moved a stray or met an unsure process is
/// followed by another; a double fork needs 3, a process with an empty environment of its
/// own (`env -i`) makes every pass unsure, so this bounds the cost at about 30 ms.
const SWEEP_PASSES: usize = 12;

/// Pause after a pass that moved nothing but met an unsure process: an `execve` or exit in
/// progress takes about a millisecond to finish.
const UNSURE_PAUSE: Duration = Duration::from_millis(2);

/// When the second sweep of a batch runs after the first.
const LATE_SWEEP: Duration = Duration::from_millis(300);

/// 1 s: the worker ends after this long with nothing queued and no late sweep due, so an
/// idle memmux keeps no thread for joins.
const WORKER_IDLE: Duration = Duration::from_secs(1);

/// A pane waiting to be joined, or joined and waiting for its late sweep.
struct Job {
    cg: Arc<TabCgroup>,
    pid: u32,
}

#[derive(Default)]
struct Queue {
    /// Panes started since the worker last looked.
    joins: Vec<Job>,
    /// Batches already joined and swept once: swept again at the instant given.
    late: Vec<(Instant, Vec<Job>)>,
    /// A worker thread runs (it takes what is queued).
    worker: bool,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    joins: Vec::new(),
    late: Vec::new(),
    worker: false,
});
static QUEUED: Condvar = Condvar::new();

fn queue() -> std::sync::MutexGuard<'static, Queue> {
    QUEUE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Queues the join of `pid` to the worker (started if none runs). Failures are recorded in
/// the cgroup (the sampler then measures the tab by PSS) and said once.
pub fn start(cg: Arc<TabCgroup>, pid: u32) {
    let mut q = queue();
    q.joins.push(Job { cg, pid });
    if q.worker {
        QUEUED.notify_one();
        return;
    }
    q.worker = true;
    drop(q);
    let spawned = std::thread::Builder::new()
        .name("cgroup-join".into())
        .spawn(work);
    if spawned.is_err() {
        // No thread: join here rather than not at all.
        let jobs = {
            let mut q = queue();
            q.worker = false;
            std::mem::take(&mut q.joins)
        };
        join_batch(&jobs);
    }
}

/// The worker: joins what is queued, sweeps each batch at once and [`LATE_SWEEP`] later,
/// and ends after [`WORKER_IDLE`] with nothing to do.
fn work() {
    let _memmux = crate::memory::alloc::enter(crate::memory::alloc::MEMMUX);
    let mut idle_since = Instant::now();
    loop {
        let (joins, late) = {
            let mut q = queue();
            loop {
                let now = Instant::now();
                let due = q.late.iter().any(|(at, _)| *at <= now);
                if !q.joins.is_empty() || due {
                    break;
                }
                let next_late = q.late.iter().map(|(at, _)| *at).min();
                let until = next_late.unwrap_or(idle_since + WORKER_IDLE);
                if next_late.is_none() && now >= until {
                    q.worker = false;
                    return;
                }
                q = QUEUED
                    .wait_timeout(q, until.saturating_duration_since(now))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            let now = Instant::now();
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut q.late)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            q.late = later;
            let late: Vec<Job> = due.into_iter().flat_map(|(_, jobs)| jobs).collect();
            (std::mem::take(&mut q.joins), late)
        };
        if !joins.is_empty() {
            let joined = join_batch(&joins);
            if !joined.is_empty() {
                queue().late.push((Instant::now() + LATE_SWEEP, joined));
            }
            // Stale cgroups of dead memmux instances: after the first tab's join, not
            // before its shell starts (see `detect::clean_up_later`), and not before a
            // join queued meanwhile: a program its shell starts before the join is charged
            // outside the tab for good (v1 on Linux 6.13+ and v2 do not move charges).
            if queue().joins.is_empty() {
                super::detect::clean_up_pending();
            }
        }
        if !late.is_empty() {
            late_sweep(&late);
        }
        idle_since = Instant::now();
    }
}

/// Moves `pid`, then sweeps, on the calling thread. Returns the processes the sweep moved.
pub fn run(cg: &Arc<TabCgroup>, pid: u32) -> usize {
    let jobs = [Job {
        cg: Arc::clone(cg),
        pid,
    }];
    let Some(target) = join_one(&jobs[0]) else {
        return 0;
    };
    sweep(&[target])
}

/// Joins each pane of `jobs` in turn, then sweeps them together. Returns the panes that
/// joined, for their late sweep.
fn join_batch(jobs: &[Job]) -> Vec<Job> {
    #[cfg(feature = "test-hooks")]
    test_delay();
    let targets: Vec<Target> = jobs.iter().filter_map(join_one).collect();
    sweep(&targets);
    targets
        .into_iter()
        .map(|t| Job {
            cg: t.cg,
            pid: t.pid,
        })
        .collect()
}

/// A joined pane, as the sweep looks for its processes.
struct Target {
    cg: Arc<TabCgroup>,
    pid: u32,
    /// The program's start time; older processes are not the pane's.
    start: u64,
    /// `MEMMUX_TAB_CGROUP=<name>`: what the pane's processes carry.
    needle: String,
}

impl Target {
    fn new(cg: Arc<TabCgroup>, pid: u32, start: u64) -> Target {
        let needle = format!("{}={}", super::TOKEN_ENV, cg.name());
        Target {
            cg,
            pid,
            start,
            needle,
        }
    }
}

/// Writes the pane's program to its cgroup. `None` when it failed (said once, recorded in
/// the cgroup) or the program is gone already.
fn join_one(job: &Job) -> Option<Target> {
    let start = starttime(job.pid);
    if let Err(e) = job.cg.add(job.pid) {
        let text = format!("cannot put the tab's program in its cgroup ({e})");
        super::notice_once(format!("{text}; such tabs are measured by PSS"));
        job.cg.set_joined(Err(text));
        return None;
    }
    job.cg.set_joined(Ok(()));
    // Here rather than where the cgroup is made: the registration (about 30 us, and the
    // watcher's thread with the first tab) stays off the new tab's start.
    super::oom_watch::watch(&job.cg);
    Some(Target::new(Arc::clone(&job.cg), job.pid, start?))
}

/// `MEMMUX_TEST_JOIN_DELAY_MS=N` (test-hooks builds only): each batch of joins waits N ms
/// first, so a test can see that nothing else waits for it.
#[cfg(feature = "test-hooks")]
fn test_delay() {
    if let Some(ms) = std::env::var("MEMMUX_TEST_JOIN_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Insurance for a sweep that ran out of passes on a machine busy with short-lived
/// processes: whatever escaped and lives on (a daemon) is readable [`LATE_SWEEP`] later.
/// Panes whose program is gone are left out.
fn late_sweep(jobs: &[Job]) {
    let targets: Vec<Target> = jobs
        .iter()
        .filter(|j| matches!(j.cg.joined(), Ok(true)))
        .filter_map(|j| Some(Target::new(Arc::clone(&j.cg), j.pid, starttime(j.pid)?)))
        .collect();
    sweep(&targets);
}

/// Passes over /proc until one proves nothing carrying a token of `targets` is left out
/// (or [`SWEEP_PASSES`]). Returns the processes moved.
fn sweep(targets: &[Target]) -> usize {
    let Some(first) = targets.iter().map(|t| t.pid).min() else {
        return 0;
    };
    let marks: Vec<(u64, &str)> = targets.iter().map(|t| (t.start, &*t.needle)).collect();
    let mut moved = 0;
    let mut buf = String::new();
    for _ in 0..SWEEP_PASSES {
        // Read before the listing: a process inside now has only children inside.
        let inside: std::collections::HashSet<u32> = targets
            .iter()
            .flat_map(|t| t.cg.pids(&mut buf).unwrap_or_default())
            .collect();
        let mut strays = Vec::new();
        let mut unsure = false;
        for p in candidates(first) {
            if inside.contains(&p) {
                continue;
            }
            match token(p, &marks) {
                Token::Carried(i) => strays.push((i, p)),
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
        for (i, p) in strays {
            if targets[i].cg.add(p).is_ok() {
                moved += 1;
            }
        }
    }
    moved
}

/// What a listed process's environment says about the batch's tokens.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// It carries the token of this target (an index into the batch).
    Carried(usize),
    /// Readable without a token, a zombie, a kernel thread, or another user's process.
    Absent,
    /// Exiting, in `execve`, or gone since the listing: it may have forked one the listing
    /// missed.
    Unsure,
}

/// Whose token, if any, `pid` carries among `marks` (each target's start time and
/// `NAME=value` token): one read of its `stat` and `environ` whatever the batch's size.
fn token(pid: u32, marks: &[(u64, &str)]) -> Token {
    let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
        return Token::Unsure;
    };
    let Some(stat) = parse_stat(&stat) else {
        return Token::Unsure;
    };
    if marks.iter().all(|&(start, _)| stat.starttime < start) {
        return Token::Absent;
    }
    // Zombies cannot fork; kernel threads (children of kthreadd, pid 2) have no environment.
    if matches!(stat.state, b'Z' | b'X') || stat.ppid == 2 || pid == 2 {
        return Token::Absent;
    }
    match std::fs::read(format!("/proc/{pid}/environ")) {
        Ok(env) if env.is_empty() => Token::Unsure,
        Ok(env) => marks
            .iter()
            .position(|&(start, needle)| stat.starttime >= start && carries(&env, needle))
            .map_or(Token::Absent, Token::Carried),
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
        assert_eq!(token(2, &[(0, "X=1")]), Token::Absent);
        assert_eq!(token(u32::MAX - 1, &[(0, "X=1")]), Token::Unsure);
        let me = std::process::id();
        assert_eq!(
            token(me, &[(0, "MEMMUX_TEST_NO_SUCH_VARIABLE=1")]),
            Token::Absent
        );
    }

    /// One read serves a whole batch: the process is matched to the target whose token it
    /// carries, and only if it started no earlier than that target's program.
    #[test]
    fn a_batch_names_the_target_whose_token_a_process_carries() {
        let me = std::process::id();
        let env = std::fs::read(format!("/proc/{me}/environ")).unwrap_or_default();
        let Some(entry) = env
            .split(|&b| b == 0)
            .find(|e| !e.is_empty() && e.contains(&b'='))
            .and_then(|e| std::str::from_utf8(e).ok())
        else {
            return; // An empty environment: nothing to match.
        };
        let marks = [(0, "MEMMUX_TEST_NO_SUCH_VARIABLE=1"), (0, entry)];
        assert_eq!(token(me, &marks), Token::Carried(1));
        // Started before the target's program: not the target's.
        assert_eq!(token(me, &[(0, "X=1"), (u64::MAX, entry)]), Token::Absent);
    }
}
