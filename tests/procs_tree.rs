//! The sampler against real process trees: accuracy against an independent smaps_rollup
//! reading, membership (setsid'd children, orphaned grandchildren), and robustness (processes
//! vanishing, odd comms, dead roots).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use memmux::memory::procs::{Sampler, SamplerConfig, TreeSample, foreground_name, parse_stat};

const MIB: u64 = 1 << 20;
const MEMHOG: &str = env!("CARGO_BIN_EXE_memhog");

/// A session started with `setsid` (its leader is the root), killed on drop with every
/// extra pid it was told about.
struct Session {
    child: Child,
    extra: Vec<u32>,
    lines: mpsc::Receiver<String>,
}

impl Session {
    fn spawn(cmd: &mut Command) -> Session {
        let mut child = common::leaders::spawn_leader(cmd);
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Session {
            child,
            extra: Vec::new(),
            lines: rx,
        }
    }

    fn sh(script: &str) -> Session {
        Session::spawn(Command::new("sh").arg("-c").arg(script))
    }

    /// A session running `script`, which starts one memhog: the session, its root and the
    /// memhog's pid once it holds its memory.
    fn with_hog(script: &str) -> (Session, u32, u32) {
        let mut sess = Session::sh(script);
        let hog = sess.ready();
        let root = sess.root();
        (sess, root, hog)
    }

    fn root(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a memhog `ready pid=N` line; remembers N to kill it on drop.
    fn ready(&mut self) -> u32 {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("memhog ready line");
        let pid: u32 = line
            .strip_prefix("ready pid=")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        self.extra.push(pid);
        pid
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for &p in &self.extra {
            kill(p);
        }
        // The leader's process group holds its plain children.
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kill(pid: u32) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

/// Independent reading of one process: (Pss, Rss - shared) in bytes from smaps_rollup.
fn smaps(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (
        field("Pss:"),
        field("Private_Clean:") + field("Private_Dirty:"),
    )
}

/// The session's processes found without the sampler: every pid whose stat says session
/// `sid` (all the tests' trees stay in one session).
fn sampler_free_members(sid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if parse_stat(&stat).is_some_and(|s| s.session == sid) {
            out.push(pid);
        }
    }
    out
}

fn within(a: u64, b: u64, frac: f64) -> bool {
    (a as f64 - b as f64).abs() <= frac * b as f64
}

/// A sampler at the default cadence, and its first sample of `root`'s tree.
fn first_sample(root: u32) -> (Sampler, TreeSample) {
    let mut s = Sampler::new(SamplerConfig::default());
    let t = sample_one(&mut s, root);
    (s, t)
}

fn sample_one(s: &mut Sampler, root: u32) -> TreeSample {
    let v = s.sample(&[root], Instant::now());
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].root, root);
    v[0].clone()
}

/// Samples until `ok`, for up to `tries` quarter seconds; returns the sample that was ok.
fn sample_until(
    s: &mut Sampler,
    root: u32,
    tries: usize,
    ok: impl Fn(&TreeSample) -> bool,
) -> Option<TreeSample> {
    let mut last = None;
    let timeout = Duration::from_millis(250) * tries as u32;
    common::poll_until(timeout, || {
        let t = sample_one(s, root);
        let done = ok(&t);
        last = Some(t);
        done
    })?;
    last
}

/// Waits until `root` has `n` children (zombies reaped: a shell's `wait` took them).
fn wait_children(root: u32, n: usize) {
    common::wait_until(
        &format!("{n} children of {root}"),
        Duration::from_secs(10),
        || common::children(root).len() == n,
    );
}

/// Longer than any test runs: a cadence that never comes round.
const NEVER: Duration = Duration::from_secs(1000);

/// A sampler that looks for new pids every `rescan`, reads PSS every `pss` and reads every
/// process's stat (a full rescan) every `full`.
fn sampler(rescan: Duration, pss: Duration, full: Duration) -> Sampler {
    Sampler::new(SamplerConfig {
        rescan_every: rescan,
        pss_every: pss,
        full_every: full,
    })
}

#[test]
fn accuracy_256_mib_then_drop_after_kill() {
    // `sleep; :` keeps sh alive (and un-exec'd) after memhog is killed.
    let (_sess, root, hog) = Session::with_hog(&format!("{MEMHOG} 256 & sleep 1000; :"));
    // A PSS pass on every sample, so both figures are fresh.
    let mut sampler = sampler(
        Duration::from_secs(3),
        Duration::ZERO,
        Duration::from_secs(60),
    );
    assert!(sampler.pss_supported());

    let independent = || {
        sampler_free_members(root)
            .into_iter()
            .map(smaps)
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let t = sample_until(&mut sampler, root, 2, |t| {
        let (pss, priv_) = independent();
        eprintln!(
            "sample: {} procs, rss-shared {} kB, pss {:?} kB; independent pss {} kB, rss-shared {} kB",
            t.processes,
            t.rss_minus_shared / 1024,
            t.pss.map(|p| p / 1024),
            pss / 1024,
            priv_ / 1024
        );
        within(t.rss_minus_shared, priv_, 0.05)
            && t.pss.is_some_and(|p| within(p, pss, 0.05))
            && within(t.rss_minus_shared, pss, 0.05)
    })
    .expect("tree sample within 5% of smaps_rollup within two samples");
    assert_eq!(t.processes, 3, "sh, memhog, sleep");
    assert!(t.rss_minus_shared >= 256 * MIB);
    let big = t.biggest.expect("biggest");
    assert_eq!(big.pid, hog);
    assert_eq!(big.name, "memhog");
    assert!(big.rss_minus_shared >= 256 * MIB);
    assert!(big.pss.is_some_and(|p| p >= 256 * MIB));
    let on_demand = sampler.pss_now(root).expect("pss_now");
    assert!(within(on_demand, independent().0, 0.05));

    kill(hog);
    let after = sample_until(&mut sampler, root, 2, |t| {
        t.rss_minus_shared < 16 * MIB && t.pss.is_some_and(|p| p < 16 * MIB)
    })
    .expect("figure drops within two samples of the kill");
    assert_eq!(after.processes, 2, "sh and sleep are left");
    assert_eq!(sampler.stats().read_errors, 0, "{:?}", sampler.stats());
}

#[test]
fn default_cadence_statm_between_rescans_and_drop_after_kill() {
    let (_sess, root, hog) = Session::with_hog(&format!("{MEMHOG} 64 & sleep 1000; :"));
    let (mut sampler, t) = first_sample(root);
    assert_eq!(t.processes, 3);
    assert!(within(t.rss_minus_shared, 64 * MIB, 0.05), "{t:?}");
    assert!(t.pss.is_some_and(|p| within(p, 64 * MIB, 0.05)), "{t:?}");
    assert_eq!(sampler.stats().rescans, 1);
    kill(hog);
    // The next samples come from statm of the known pids (no rescan within 3 s): the
    // vanished pid (or its zombie) drops out, and with it its PSS.
    let after = sample_until(&mut sampler, root, 2, |t| t.rss_minus_shared < 16 * MIB)
        .expect("drop within two samples");
    assert_eq!(after.processes, 2);
    assert!(after.pss.is_some_and(|p| p < 16 * MIB), "{after:?}");
    assert_eq!(sampler.stats().rescans, 1, "fast path only");
    sampler.invalidate();
    let t = sample_one(&mut sampler, root);
    assert_eq!(sampler.stats().rescans, 2, "invalidate forces a rescan");
    assert_eq!(t.processes, 2);
}

#[test]
fn child_that_calls_setsid_is_counted() {
    let (_sess, root, hog) = Session::with_hog(&format!("{MEMHOG} --setsid 64 & wait"));
    let stat = std::fs::read(format!("/proc/{hog}/stat")).unwrap();
    let st = parse_stat(&stat).unwrap();
    assert_eq!(st.session, hog, "memhog left the shell's session");
    assert_eq!(st.ppid, root);
    let (sampler, t) = first_sample(root);
    assert_eq!(t.processes, 2, "{:?}", sampler.members(root));
    assert!(sampler.members(root).contains(&hog));
    assert!(t.rss_minus_shared >= 64 * MIB);
}

#[test]
fn orphaned_grandchild_in_the_session_is_counted() {
    // The subshell starts memhog and exits: memhog is reparented away from the tree and is
    // found by its session id alone.
    let (_sess, root, hog) = Session::with_hog(&format!("({MEMHOG} 48 &); sh -c 'sleep 1000'"));
    common::wait_until("memhog to leave the shell", Duration::from_secs(10), || {
        let st = parse_stat(&std::fs::read(format!("/proc/{hog}/stat")).unwrap()).unwrap();
        assert_eq!(st.session, root);
        st.ppid != root
    });
    let (sampler, t) = first_sample(root);
    assert!(
        sampler.members(root).contains(&hog),
        "{:?}",
        sampler.members(root)
    );
    assert!(t.rss_minus_shared >= 48 * MIB);
    assert!(t.processes >= 2);
}

#[test]
fn grandchild_via_nested_shell_is_counted() {
    let (_sess, root, hog) = Session::with_hog(&format!("sh -c '{MEMHOG} 32 & wait' & wait"));
    let (sampler, t) = first_sample(root);
    assert!(sampler.members(root).contains(&hog));
    assert_eq!(
        t.processes,
        3,
        "sh, sh, memhog: {:?}",
        sampler.members(root)
    );
    assert!(t.rss_minus_shared >= 32 * MIB);
}

#[test]
fn comm_with_parens_and_spaces() {
    let name = "x) R 1 (2 3)";
    let mut sess = Session::spawn(Command::new(MEMHOG).args(["8", "--name", name]));
    let root = sess.root();
    assert_eq!(sess.ready(), root);
    let st = parse_stat(&std::fs::read(format!("/proc/{root}/stat")).unwrap()).unwrap();
    assert_eq!(st.name, name);
    assert_eq!(st.session, root);
    assert_eq!(st.ppid, std::process::id());
    assert_eq!(foreground_name(root).as_deref(), Some(name));
    let (_, t) = first_sample(root);
    assert_eq!(t.processes, 1);
    assert_eq!(t.biggest.map(|b| b.name).as_deref(), Some(name));
}

#[test]
fn dead_root_gives_an_empty_sample() {
    let mut c = Command::new("true").spawn().unwrap();
    let dead = c.id();
    c.wait().unwrap();
    let mut sampler = Sampler::new(SamplerConfig::default());
    let now = Instant::now();
    let v = sampler.sample(&[dead, 0], now);
    assert_eq!(v.len(), 2);
    for t in &v {
        assert_eq!(t.processes, 0);
        assert_eq!(t.rss_minus_shared, 0);
        assert_eq!(t.pss, None);
        assert_eq!(t.biggest, None);
        assert_eq!(t.at, now);
    }
    assert_eq!(sampler.pss_now(dead), None);
    // A dead root does not force a rescan on every sample.
    let before = sampler.stats().rescans;
    sampler.sample(&[dead], now + Duration::from_millis(1000));
    assert_eq!(sampler.stats().rescans, before);
    assert_eq!(sampler.stats().read_errors, 0);
}

#[test]
fn processes_that_exit_between_scan_and_read() {
    let sess = Session::sh("sleep 0.3 & sleep 0.3 & sleep 1000 & wait");
    let root = sess.root();
    wait_children(root, 3);
    let (mut sampler, t0) = first_sample(root);
    assert_eq!(t0.processes, 4, "{:?}", sampler.members(root));
    // The two short sleeps end.
    wait_children(root, 1);
    // Known pids are gone now: read from the fast path without error.
    let t1 = sample_one(&mut sampler, root);
    assert_eq!(t1.processes, 2);
    assert_eq!(sampler.stats().rescans, 1);
    assert!(sampler.stats().vanished >= 2);
    assert_eq!(sampler.stats().read_errors, 0);
}

#[test]
fn churning_session_never_errors() {
    // Hundreds of short-lived processes per second: many vanish between the /proc listing
    // and the stat, statm or smaps_rollup read.
    let sess = Session::sh("while :; do /bin/true; done");
    let root = sess.root();
    let mut sampler = sampler(Duration::ZERO, Duration::ZERO, Duration::from_secs(60));
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(2) {
        let t = sample_one(&mut sampler, root);
        assert!(t.processes >= 1 && t.processes <= 3, "{t:?}");
        assert!(t.rss_minus_shared > 0);
        n += 1;
    }
    assert!(n > 20);
    assert_eq!(
        sampler.stats().read_errors,
        0,
        "{:?}",
        sampler.stats().last_error
    );
}

#[test]
fn forgotten_roots_and_multiple_trees() {
    let mut a = Session::sh(&format!("{MEMHOG} 16 & wait"));
    let mut b = Session::sh(&format!("{MEMHOG} 40 & wait"));
    let (ra, rb) = (a.root(), b.root());
    a.ready();
    b.ready();
    let mut sampler = Sampler::new(SamplerConfig::default());
    let v = sampler.sample(&[ra, rb], Instant::now());
    assert!(within(v[0].rss_minus_shared, 16 * MIB, 0.1), "{v:?}");
    assert!(within(v[1].rss_minus_shared, 40 * MIB, 0.1), "{v:?}");
    assert!(v.iter().all(|t| t.processes == 2));
    let v = sampler.sample(&[rb], Instant::now());
    assert_eq!(v.len(), 1);
    assert!(sampler.members(ra).is_empty(), "a was forgotten");
}

/// Between full rescans only new pids are read: processes started since the last rescan are
/// still found (and setsid children of members too), for a fraction of the reads.
#[test]
fn incremental_rescans_find_new_processes_and_read_only_new_pids() {
    // The script starts a second child (setsid: another session) after a while.
    let sess = Session::sh("sleep 1000 & sleep 0.6; setsid sleep 1000 & wait");
    let root = sess.root();
    let mut sampler = sampler(Duration::ZERO, NEVER, NEVER);
    wait_children(root, 2);
    let t = sample_one(&mut sampler, root);
    assert_eq!(t.processes, 3, "sh, sleep 1000, sleep 0.6: {t:?}");
    let before = sampler.members(root);
    let full_reads = sampler.stats().stat_reads;
    assert!(
        full_reads > 20,
        "the first rescan reads every process: {full_reads}"
    );
    // A new process, so that the rescan is not left out altogether (see the next test).
    std::process::Command::new("true")
        .status()
        .expect("run true");
    sample_one(&mut sampler, root);
    // The processes of the first scan that are still there are not read again (other tests
    // in this binary start processes meanwhile: those are read).
    let skips = sampler.stats().stat_skips;
    assert!(
        skips * 2 > full_reads,
        "{skips} stat reads left out in a rescan after {full_reads}"
    );
    let found = common::poll_until(Duration::from_secs(10), || {
        sample_one(&mut sampler, root);
        let now = sampler.members(root);
        let Some(&new) = now.iter().find(|p| !before.contains(p)) else {
            return false;
        };
        // The setsid child is in no session of ours: it would outlive the test.
        // SAFETY: kill(2) with a pid this test's tree just reported.
        unsafe { libc::kill(new as i32, libc::SIGKILL) };
        true
    });
    assert!(
        found.is_some(),
        "the setsid child never showed: {:?}",
        sampler.members(root)
    );
    assert_eq!(sampler.stats().full_rescans, 1);
}

/// A periodic rescan is left out while no process was created since the last one (the
/// kernel's last pid has not moved), and done as soon as one is.
#[test]
fn periodic_rescans_wait_for_a_new_process() {
    let sess = Session::sh("sleep 1000");
    let root = sess.root();
    let mut sampler = sampler(Duration::ZERO, NEVER, NEVER);
    // The shell has started its sleep (or become it).
    common::wait_until("the sleep", Duration::from_secs(10), || {
        let comm = std::fs::read_to_string(format!("/proc/{root}/comm")).unwrap_or_default();
        comm.trim() == "sleep" || common::children(root).len() == 1
    });
    sample_one(&mut sampler, root);
    // Other tests of this binary start processes now and then: a few tries 10 ms apart find
    // a quiet moment.
    let skipped = common::poll_until(Duration::from_secs(2), || {
        sample_one(&mut sampler, root);
        sampler.stats().rescans_skipped > 0
    });
    assert!(
        skipped.is_some(),
        "no rescan was left out: {:?}",
        sampler.stats()
    );
    let rescans = sampler.stats().rescans;
    std::process::Command::new("true")
        .status()
        .expect("run true");
    sample_one(&mut sampler, root);
    assert_eq!(
        sampler.stats().rescans,
        rescans + 1,
        "a new process makes the next periodic rescan happen"
    );
}
