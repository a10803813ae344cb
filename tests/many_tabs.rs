//! Many tabs on one event loop (`session::io_loop`): a tab costs 3 descriptors and no thread,
//! a soft descriptor limit too low for the tabs is raised, and the tabs still read, write and
//! report their program's exit.

mod common;

use std::time::Duration;

use common::{Mux, Opts, thread_count};

/// Descriptors of `pid` other than `/proc` files (the memory sampler keeps up to 256 `statm`
/// files open, one per process it watches: its own fixed cache, not a tab's cost).
fn pty_side_fds(pid: u32) -> usize {
    fds_where(pid, |l| {
        !l.starts_with("/proc/") && !l.starts_with("/sys/fs/cgroup/")
    })
}

/// Descriptors of `pid` whose target satisfies `keep`. The memory sampler's two bounded
/// caches (`/proc/PID/statm` files, and the tab cgroups' files kept open) are not a tab's.
fn fds_where(pid: u32, keep: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| std::fs::read_link(e.path()).is_ok_and(|l| keep(&l.to_string_lossy())))
                .count()
        })
        .unwrap_or(0)
}

/// Opens tabs until `n` are open (the new one is focused and named `n:` in the tab bar).
fn open_tabs(m: &mut Mux, from: usize, n: usize) {
    for k in from + 1..=n {
        m.prefix("c");
        let label = format!("{k}:");
        m.wait_for(&format!("tab {k}"), |s| {
            s.contents()
                .lines()
                .next()
                .is_some_and(|bar| bar.contains(&label))
        });
    }
}

/// Threads once those that come and go (a parser thread for a burst of output) have gone.
fn settled_threads(pid: u32, at_most: usize) -> usize {
    let mut t = 0;
    common::poll_until(Duration::from_secs(10), || {
        t = thread_count(pid).unwrap_or(0);
        t <= at_most
    });
    t
}

#[test]
fn forty_tabs_take_three_descriptors_each_and_no_threads() {
    // A soft limit of 100 (the hard one unchanged) holds far fewer than 40 tabs with memmux's
    // own reserve: memmux must raise it as the tabs come.
    let mut m = Mux::start_with(Opts {
        wrapper: vec![
            "sh".into(),
            "-c".into(),
            "ulimit -Sn 100; exec \"$0\" \"$@\"".into(),
        ],
        ..Opts::default()
    });
    m.wait_prompt();
    let pid = m.pid();
    open_tabs(&mut m, 1, 2);
    m.wait_ready();
    let threads2 = settled_threads(pid, 6);
    let fds2 = pty_side_fds(pid);
    open_tabs(&mut m, 2, 40);
    m.wait_ready();
    m.run("echo typed-into-the-fortieth");
    let threads40 = settled_threads(pid, threads2);
    let fds40 = pty_side_fds(pid);
    eprintln!("2 tabs: {fds2} fds, {threads2} threads; 40 tabs: {fds40} fds, {threads40} threads");
    assert_eq!(threads40, threads2, "threads grew with the tabs");
    assert!(threads40 <= 16, "{threads40} threads");
    assert!(
        fds40 - fds2 <= 3 * 38,
        "38 more tabs took {} descriptors",
        fds40 - fds2
    );
    let cgroup_fds = fds_where(pid, |l| l.starts_with("/sys/fs/cgroup/"));
    assert!(
        cgroup_fds <= memmux::memory::cgroup::tab::HOT_MAX,
        "{cgroup_fds} cgroup files kept open"
    );
    // Every tab still works: the shell of the fortieth exits and its tab says so.
    m.line("exit 7");
    m.wait_for("[exit 7] in the tab bar", |s| {
        s.contents()
            .lines()
            .next()
            .is_some_and(|bar| bar.contains("[exit 7]"))
    });
}
