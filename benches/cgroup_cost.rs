//! Sampling 16 tabs from their cgroups costs no more CPU than from /proc, measured in the
//! same run: the same 16 sessions (a shell and two children each) sampled through
//! `sampler::sample`, once as tabs with a cgroup, once as tabs without (PSS sums over /proc
//! trees, with statm between PSS passes). Needs a writable cgroup v1 (or delegated v2)
//! memory controller; says so and stops where there is none.

#[path = "../tests/common/mod.rs"]
mod common;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use memmux::memory::activity::Activity;
use memmux::memory::alloc;
use memmux::memory::cgroup::detect::{self, Plan, Probe};
use memmux::memory::cgroup::sample::CgroupSampler;
use memmux::memory::cgroup::{Mechanism, Settings, TabCgroup, join, release_hierarchy};
use memmux::memory::procs::{Sampler, SamplerConfig};
use memmux::memory::sampler::{RosterEntry, sample};

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a valid clock id and timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

struct Sessions(Vec<Child>);

impl Drop for Sessions {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // SAFETY: killing the test's own process groups.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Pids whose parent is `pid` (from `/proc/*/stat`).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse::<u32>()
                        .ok()
                })
                == Some(pid)
        })
        .collect()
}

fn roster(pids: &[u32], cgroups: &[Option<Arc<TabCgroup>>]) -> Vec<RosterEntry> {
    pids.iter()
        .zip(cgroups)
        .enumerate()
        .map(|(i, (&pid, cg))| RosterEntry {
            id: i as u64 + 1,
            number: i + 1,
            title: String::new(),
            pid: Some(pid),
            account: alloc::MEMMUX,
            history_rows: Arc::new(AtomicUsize::new(0)),
            history_bytes: Arc::new(AtomicUsize::new(0)),
            activity: Arc::new(Activity::new(Activity::no_waker())),
            cgroup: cg.clone(),
        })
        .collect()
}

/// CPU per `sample()` of all 16 tabs, microseconds, over `calls` calls after a first one.
/// `full`: as if every tab's memory moved between samples (no reuse of an unchanged
/// cgroup's figures).
fn per_sample_us(r: &[RosterEntry], calls: u32, full: bool) -> f64 {
    let mut procs = Sampler::new(SamplerConfig::default());
    let mut cgroups = CgroupSampler::default();
    cgroups.assume_moving = full;
    let due = vec![true; r.len()];
    let _ = sample(&mut procs, &mut cgroups, r, &due);
    let t0 = thread_cpu();
    for _ in 0..calls {
        let snap = sample(&mut procs, &mut cgroups, r, &due);
        assert_eq!(snap.tabs.len(), r.len());
    }
    (thread_cpu() - t0).as_secs_f64() * 1e6 / f64::from(calls)
}

fn main() {
    let args: Vec<std::ffi::OsString> = Vec::new();
    let h = match detect::choose(&Probe::of_this_process(), &Settings::default(), &args) {
        Plan::Use(Mechanism::Cgroup(h)) => h,
        Plan::Use(Mechanism::None(why)) => {
            println!("NOT RUN: no cgroups here ({why})");
            return;
        }
        Plan::Reexec { .. } => {
            println!("NOT RUN: cgroups only through a systemd scope here");
            return;
        }
    };
    println!("mechanism: {}", Mechanism::Cgroup(h.clone()).describe());
    let sessions = Sessions(
        (0..16)
            .map(|_| {
                let mut cmd = Command::new("sh");
                cmd.arg("-c")
                    .arg("sleep 1000 & sleep 1000 & wait")
                    .stdin(Stdio::null());
                // SAFETY: setsid between fork and exec, as the pty spawner does.
                unsafe {
                    cmd.pre_exec(|| {
                        if libc::setsid() < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                cmd.spawn().unwrap()
            })
            .collect(),
    );
    let pids: Vec<u32> = sessions.0.iter().map(|c| c.id()).collect();
    let started = common::poll_until(Duration::from_secs(10), || {
        pids.iter().all(|p| children(*p).len() >= 2)
    });
    assert!(started.is_some(), "sessions did not start");
    let mut cgs = Vec::new();
    for (i, &pid) in pids.iter().enumerate() {
        let cg = Arc::new(
            TabCgroup::create(&h, &format!("tab-{}-cost{i}", std::process::id())).unwrap(),
        );
        join::run(&cg, pid);
        // The children started before the join: move them too (in a real tab the sweep
        // finds them by the tab's environment token, which these have not).
        for k in children(pid) {
            cg.add(k).unwrap();
        }
        cgs.push(Some(cg));
    }
    let with = roster(&pids, &cgs);
    let without = roster(&pids, &vec![None; pids.len()]);
    // Interleaved rounds: load on the shared machine hits both alike.
    let mut idle = (Vec::new(), Vec::new());
    let mut busy = Vec::new();
    for _ in 0..5 {
        idle.0.push(per_sample_us(&with, 40, false));
        idle.1.push(per_sample_us(&without, 40, false));
        busy.push(per_sample_us(&with, 40, true));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[2]
    };
    let (c, p) = (median(&mut idle.0), median(&mut idle.1));
    let cf = median(&mut busy);
    // The /proc side when memory moves: statm at every sample, and a PSS pass over every
    // changed process once per 10 s (`pss_every`).
    let mut procs = Sampler::new(SamplerConfig::default());
    let _ = procs.sample(&pids, std::time::Instant::now());
    let t0 = thread_cpu();
    for &root in &pids {
        procs.pss_now(root);
    }
    let pss_pass = (thread_cpu() - t0).as_secs_f64() * 1e6;
    let p_1hz = p + pss_pass / 10.0;
    println!(
        "16 tabs, 48 processes, CPU per sample (median of 5 x 40):\n\
         \x20 memory unchanged: cgroups {c:.0} us, /proc {p:.0} us (statm)\n\
         \x20 memory moving in every tab: cgroups {cf:.0} us (figures every sample, processes every 5 s), \
         /proc {p_1hz:.0} us (statm, plus a {pss_pass:.0} us PSS pass once per 10 s)"
    );
    let snap = sample(
        &mut Sampler::new(SamplerConfig::default()),
        &mut CgroupSampler::default(),
        &with,
        &[true; 16],
    );
    assert!(
        snap.tabs
            .iter()
            .all(|t| t.sample.processes == 3 && t.detail.source.starts_with("cgroup")),
        "{:?}",
        snap.tabs
            .iter()
            .map(|t| (t.sample.processes, t.detail.source))
            .collect::<Vec<_>>()
    );
    drop(with);
    drop(sessions);
    std::thread::sleep(Duration::from_millis(100));
    drop(cgs);
    memmux::memory::cgroup::left_behind();
    release_hierarchy(&h);
    let verdict = |ok: bool| if ok { "within" } else { "OVER" };
    println!(
        "memory unchanged: cgroups {} /proc's cost (+10%); memory moving: cgroups {} it",
        verdict(c <= p * 1.1),
        verdict(cf <= p_1hz * 1.1)
    );
}
