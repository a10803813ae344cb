//! An out-of-memory kill in a tab is noticed when it happens, not at the next sample: on
//! this machine's real cgroup v1 controller, one eventfd registered with two tabs' cgroups
//! wakes the watcher for a kill in either, and the watcher says which tab it was. (v2 is
//! tested against a fake tree in `src/memory/cgroup/oom_watch.rs`.) Where memmux would not
//! use cgroup v1 here, the test says so in its output and stops.

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use memmux::memory::cgroup::detect::{self, Plan, Probe};
use memmux::memory::cgroup::oom_watch::Watcher;
use memmux::memory::cgroup::{Mechanism, Settings, TabCgroup, Version, release_hierarchy};

#[test]
fn one_eventfd_for_all_tabs_wakes_on_a_kill_in_any() {
    let args: Vec<std::ffi::OsString> = Vec::new();
    let h = match detect::choose(&Probe::of_this_process(), &Settings::default(), &args) {
        Plan::Use(Mechanism::Cgroup(h)) if h.version == Version::V1 => h,
        other => {
            println!("NOT RUN: needs a writable cgroup v1 memory controller ({other:?})");
            return;
        }
    };
    let me = std::process::id();
    let quiet = Arc::new(TabCgroup::create(&h, &format!("tab-{me}-oomw1")).unwrap());
    let hungry = Arc::new(TabCgroup::create(&h, &format!("tab-{me}-oomw2")).unwrap());
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let w = Watcher::start(
        Version::V1,
        Arc::new(move || {
            let _ = tx.lock().unwrap().send(Instant::now());
        }),
    )
    .unwrap();
    w.watch(&quiet).unwrap();
    w.watch(&hungry).unwrap();
    // Descriptors other than cgroup files (those are the sampler's bounded cache of files
    // it reads at every sample, `tab::HOT_MAX`, which the watcher shares).
    let fds = |pid: u32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|l| !l.to_string_lossy().starts_with("/sys/fs/cgroup/"))
            })
            .count()
    };
    let before = fds(me);
    // Registering more tabs costs no descriptor: the kernel keeps the one eventfd.
    let more: Vec<Arc<TabCgroup>> = (3..8)
        .map(|k| Arc::new(TabCgroup::create(&h, &format!("tab-{me}-oomw{k}")).unwrap()))
        .collect();
    for cg in &more {
        w.watch(cg).unwrap();
    }
    assert_eq!(fds(me), before, "descriptors grew with the watched tabs");

    hungry.set_limit(Some(32 << 20), 0.9).unwrap();
    let dir = hungry.dir().display().to_string();
    // The shell joins the cgroup, then becomes memhog, which asks for 200 MiB.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {dir}/cgroup.procs && exec {} 200",
            env!("CARGO_BIN_EXE_memhog")
        ))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let woke = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the watcher woke for the kill");
    let status = child.wait().unwrap();
    let exited = Instant::now();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL), "memhog: {status:?}");
    assert_eq!(hungry.oom_noticed(), 1);
    assert_eq!(quiet.oom_noticed(), 0);
    println!(
        "woken {:.1} ms before the test saw memhog's end (the sampler's next sample would \
         have come 1-5 s later)",
        exited.saturating_duration_since(woke).as_secs_f64() * 1e3
    );
    drop((quiet, hungry, more));
    release_hierarchy(&h);
}
