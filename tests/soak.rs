//! Soak: 16 tabs of mixed output (bursts of floods, idle shells, vim), a resize every few
//! seconds and 100 tab open/close cycles; afterwards memmux's RSS, descriptors and threads are
//! back where they were after warm-up, no child is a zombie, and every closed tab's allocator
//! account is at zero. A few minutes; `#[ignore]`d, CI runs it with `--include-ignored`.

mod common;

use std::time::{Duration, Instant};

use common::{Mux, Opts, children, fd_count, mib, rss_bytes, thread_count};

const TABS: usize = 16;
const CYCLES: usize = 100;

/// Cycles to run: `CYCLES`, or `MEMMUX_SOAK_CYCLES` to soak longer by hand.
fn cycles() -> usize {
    std::env::var("MEMMUX_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CYCLES)
}
const WARMUP_CYCLES: usize = 30;
/// RSS after the soak may exceed its level after warm-up by this share. Less is no leak: a
/// run where the allocator gave back more after the soak (-11.4%) failed a two-sided bound.
const RSS_TOLERANCE: f64 = 0.10;
/// Sizes the outer terminal alternates between; both wide enough for the memory panel.
const SIZES: [(u16, u16); 2] = [(45, 160), (40, 130)];

/// The median of a few RSS samples 200 ms apart (one sample can catch a transient buffer).
fn rss_median(pid: u32) -> u64 {
    let mut v: Vec<u64> = (0..7)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(200));
            rss_bytes(pid).expect("RSS")
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

/// The memory panel's `closed tabs leaked X (N)` line.
fn leak_line(s: &vt100::Screen) -> Option<String> {
    s.contents()
        .lines()
        .filter_map(|l| l.split_once('│').map(|(_, p)| p.trim().to_string()))
        .find(|l| l.starts_with("closed tabs leaked"))
}

/// Waits until the memory log has 4 more rows than now: a sample under way now writes at most
/// one row per tab (two), the next one started after this call, and one more row means that
/// sample was handed to the UI a second ago and the panel shows it.
fn wait_fresh_sample(log: &tempfile::NamedTempFile) {
    let rows = || std::fs::read_to_string(log.path()).map_or(0, |s| s.lines().count());
    let now = rows();
    common::wait_until("a memory sample after now", common::TIMEOUT, || {
        rows() >= now + 4
    });
}

/// The memory panel's `heap T = tabs X + own Y` line.
fn heap_line(s: &vt100::Screen) -> Option<String> {
    s.contents()
        .lines()
        .filter_map(|l| l.split_once('│').map(|(_, p)| p.trim().to_string()))
        .find(|l| l.starts_with("heap ") && l.contains(" own "))
}

struct Soak {
    m: Mux,
    size: usize,
    last_resize: Instant,
    resizes: usize,
}

impl Soak {
    /// A resize when the last one is 3 s old.
    fn maybe_resize(&mut self) {
        if self.last_resize.elapsed() >= Duration::from_secs(3) {
            self.size = (self.size + 1) % SIZES.len();
            let (r, c) = SIZES[self.size];
            self.m.resize_outer(r, c);
            self.last_resize = Instant::now();
            self.resizes += 1;
        }
    }

    /// Opens tab 17, runs a command in it, closes it.
    fn cycle(&mut self, n: usize) {
        let last = format!("{}:", TABS + 1);
        self.m.prefix("c");
        self.m
            .wait_for("the extra tab", |s| common::tab_bar_of(s).contains(&last));
        self.m.wait_ready();
        self.maybe_resize();
        // Output built by printf, so the command's echo doesn't already show it.
        self.m.line(&format!("printf 'cyc%s\\n' le-{n}-done"));
        self.m.wait_text(&format!("cycle-{n}-done"));
        self.m.prefix("x");
        self.m.wait_text(&format!("close tab {}", TABS + 1));
        self.m.send("y");
        self.m.wait_for("the extra tab to close", |s| {
            !common::tab_bar_of(s).contains(&last)
        });
        self.maybe_resize();
    }
}

#[test]
#[ignore = "long: a soak of a few minutes"]
fn sixteen_tabs_resizes_and_100_open_close_cycles_leave_nothing_behind() {
    let t_start = Instant::now();
    let (rows, cols) = SIZES[0];
    let log = tempfile::NamedTempFile::new().unwrap();
    let m = Mux::start_with(
        Opts {
            rows,
            cols,
            ..Opts::default()
        }
        .mem_log(log.path()),
    );
    let mut soak = Soak {
        m,
        size: 0,
        last_resize: Instant::now(),
        resizes: 0,
    };
    let pid = soak.m.pid();
    soak.m.wait_prompt();
    std::fs::write(
        soak.m.home().join("big.txt"),
        (1..=5000)
            .map(|i| format!("line {i}\n"))
            .collect::<String>(),
    )
    .unwrap();
    // What each tab runs: floods in bursts, a colourful burst, vim, idle shells.
    let work = |n: usize| -> Option<String> {
        match n {
            1 | 2 => Some(
                "while :; do head -c 2M /dev/urandom | base64; sleep 2; done".to_string(),
            ),
            3 => Some(
                "while :; do for i in $(seq 3000); do printf '\\e[3%dm%05d colour \\e[1mline\\e[m\\n' \
                 $((i%8)) $i; done; sleep 1; done"
                    .to_string(),
            ),
            4 => Some("while :; do seq 1 100000; sleep 3; done".to_string()),
            5 => Some("vim -u NONE -N big.txt".to_string()),
            _ => None,
        }
    };
    for n in 1..=TABS {
        if n > 1 {
            soak.m.prefix("c");
            let label = format!("{n}:");
            soak.m
                .wait_for("the new tab", |s| common::tab_bar_of(s).contains(&label));
            soak.m.wait_ready();
        }
        if let Some(cmd) = work(n) {
            soak.m.line(&cmd);
        }
    }
    soak.m
        .wait_for("the panel", |s| s.contents().contains("memmux RSS"));
    let opened = t_start.elapsed();

    // Warm-up: bursts fill the histories, a few cycles, a resize or two.
    for n in 0..WARMUP_CYCLES {
        soak.cycle(n);
    }
    while t_start.elapsed() < opened + Duration::from_secs(20) {
        soak.maybe_resize();
        std::thread::sleep(Duration::from_millis(200));
    }
    // Back to the first size for both measurements.
    soak.m.resize_outer(SIZES[0].0, SIZES[0].1);
    soak.size = 0;
    std::thread::sleep(Duration::from_secs(2));
    // Threads that come and go (a new tab's cgroup join, a flood's parser, the start-up
    // cleanup) hold descriptors and buffers while they run: measure without them, at both
    // ends (a hidden tab's parser runs at SCHED_IDLE, so on a loaded machine it may still
    // be parsing a burst: once seen as RSS +11 %).
    wait_no_passing_threads(pid);
    let rss0 = rss_median(pid);
    let fds0 = fd_count(pid).unwrap();
    let threads0 = threads(pid).steady;
    let names0 = common::thread_names(pid);
    let heap0 = soak.m.with_screen(heap_line).unwrap_or_default();
    let warm = t_start.elapsed();
    eprintln!(
        "soak: {TABS} tabs open after {opened:.1?}, warm after {warm:.1?}: RSS {}, {fds0} fds, \
         {threads0} threads; panel {heap0:?}",
        mib(rss0)
    );

    let cycles = cycles();
    let mut cycle_times = Vec::with_capacity(cycles);
    for n in 0..cycles {
        let t = Instant::now();
        soak.cycle(WARMUP_CYCLES + n);
        cycle_times.push(t.elapsed());
        if n % 50 == 49 {
            eprintln!(
                "soak: after {} cycles RSS {}, {} fds, {} threads",
                n + 1,
                mib(rss_bytes(pid).unwrap_or(0)),
                fd_count(pid).unwrap_or(0),
                thread_count(pid).unwrap_or(0)
            );
        }
        // Now and then, work vim (tab 5) a little.
        if n % 20 == 10 {
            soak.m.prefix("5");
            soak.m.wait_text("line ");
            soak.m.send("G");
            soak.m.wait_text("line 5000");
            soak.m.send("gg");
            soak.m.wait_text("line 1");
        }
    }
    let cycles_done = t_start.elapsed();
    soak.m.resize_outer(SIZES[0].0, SIZES[0].1);
    // Let closed tabs' threads finish and the sampler take a fresh look.
    std::thread::sleep(Duration::from_secs(3));
    wait_no_passing_threads(pid);
    let rss1 = rss_median(pid);
    common::poll_until(Duration::from_secs(10), || {
        fd_count(pid) == Some(fds0) && threads(pid).steady == threads0
    });
    let (
        fds1,
        Threads {
            steady: threads1,
            passing,
        },
    ) = (fd_count(pid).unwrap(), threads(pid));
    let kids = children(pid);
    let zombies: Vec<_> = kids.iter().filter(|(_, st)| *st == 'Z').collect();
    soak.m.wait_for("the leak line", |s| leak_line(s).is_some());
    // The sampler updates once a second: wait for a sample taken after the last close.
    wait_fresh_sample(&log);
    let leak = soak.m.with_screen(leak_line).unwrap_or_default();
    let heap1 = soak.m.with_screen(heap_line).unwrap_or_default();

    let p50 = common::percentile(&cycle_times, 50.0);
    let max = common::percentile(&cycle_times, 100.0);
    eprintln!(
        "soak: {cycles} cycles in {:.1?} (per cycle p50 {p50:.2?}, max {max:.2?}), {} resizes, \
         total {:.1?}",
        cycles_done - warm,
        soak.resizes,
        t_start.elapsed()
    );
    eprintln!(
        "soak: RSS after warm-up {}, after the soak {} ({:+.1}%); fds {fds0} -> {fds1}; threads \
         {threads0} -> {threads1}; {} children, zombies {zombies:?}; panel: {heap1:?}, {leak:?}",
        mib(rss0),
        mib(rss1),
        (rss1 as f64 / rss0 as f64 - 1.0) * 100.0,
        kids.len()
    );
    assert!(common::alive(pid), "memmux died");
    assert!(
        rss1 as f64 <= rss0 as f64 * (1.0 + RSS_TOLERANCE),
        "RSS {} after warm-up, {} after the soak",
        mib(rss0),
        mib(rss1)
    );
    // A leak grows them; fewer after than at warm-up is a helper that was there then and has
    // ended since (the cgroup-join worker ends after 1 s idle: seen as 169 -> 166 descriptors).
    assert!(
        fds1 <= fds0,
        "descriptors after the soak: {fds1}, at warm-up {fds0}"
    );
    // Counted without the threads that come and go: the floods of tabs 1-4 start again every
    // 1-3 s, and a hidden flood's parser was once counted at warm-up and not at the end (8 -> 9
    // with one name fewer). Each of those four tabs has at most one parser; more is a leak.
    assert!(
        threads1 <= threads0,
        "threads after the soak: {threads1} {:?}, at warm-up {threads0} {names0:?}",
        common::thread_names(pid)
    );
    assert!(
        passing <= 4,
        "{passing} short-lived threads after the soak: {:?}",
        common::thread_names(pid)
    );
    assert!(zombies.is_empty(), "zombie children: {zombies:?}");
    assert_eq!(kids.len(), TABS, "children: {kids:?}");
    assert!(
        leak.starts_with("closed tabs leaked 0B"),
        "closed tabs' accounts not at zero: {leak:?}"
    );
}

/// Waits (at most 20 s) until none of memmux's short-lived threads (`PASSING`) runs.
fn wait_no_passing_threads(pid: u32) {
    let gone = common::poll_until(Duration::from_secs(20), || threads(pid).passing == 0);
    assert!(
        gone.is_some(),
        "short-lived threads still running after 20 s"
    );
}

/// Names of the threads that come and go: `cgroup-join` (a new tab's, about 300 ms),
/// `cgroup-clean` (start-up), `pty-parse-N` (a hidden flood's parser, 500 ms after the
/// flood), `export`.
const PASSING: [&str; 4] = ["cgroup-join", "cgroup-clean", "pty-parse", "export"];

/// memmux's threads, those that stay apart from those that come and go.
struct Threads {
    steady: usize,
    passing: usize,
}

fn threads(pid: u32) -> Threads {
    let names = common::thread_names(pid);
    let passing = names
        .iter()
        .filter(|c| PASSING.iter().any(|p| c.starts_with(p)))
        .count();
    Threads {
        steady: names.len() - passing,
        passing,
    }
}

/// The leak check of the soak, quick and alone: open one tab, close it, and the memory panel
/// must say `closed tabs leaked 0B (0)`.
#[test]
fn one_closed_tab_leaves_its_account_at_zero() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut m = Mux::start_with(
        Opts {
            rows: 45,
            cols: 160,
            ..Opts::default()
        }
        .mem_log(log.path()),
    )
    .at_prompt();
    m.wait_for("the leak line", |s| leak_line(s).is_some());
    let before = m.with_screen(leak_line).unwrap_or_default();
    for n in 0..3 {
        m.new_tab(2);
        m.line(&format!("printf 'tab%s\\n' -{n}-ok"));
        m.wait_text(&format!("tab-{n}-ok"));
        m.prefix("x");
        m.wait_text("close tab 2");
        m.send("y");
        m.wait_for("tab 2 to close", |s| !common::tab_bar_of(s).contains("2:"));
    }
    // The sampler updates the panel once a second.
    wait_fresh_sample(&log);
    let after = m.with_screen(leak_line).unwrap_or_default();
    eprintln!("leak line before {before:?}, after 3 tabs opened and closed {after:?}");
    assert_eq!(before, "closed tabs leaked 0B (0)");
    assert_eq!(after, "closed tabs leaked 0B (0)");
}
