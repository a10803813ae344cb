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

/// Descriptors of `pid` whose target satisfies `keep`. The memory sampler's bounded caches
/// (`/proc/PID/statm` files, the tab cgroups' files kept open, the youngest tabs' usage
/// files kept for the base's books) are not a tab's.
fn fds_where(pid: u32, keep: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| std::fs::read_link(e.path()).is_ok_and(|l| keep(&l.to_string_lossy())))
                .count()
        })
        .unwrap_or(0)
}

/// What each descriptor of `pid` points at, for a failure's message.
fn fd_targets(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|l| l.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Opens tabs until `n` are open (the new one is focused and named `n:` in the tab bar).
fn open_tabs(m: &mut Mux, from: usize, n: usize) {
    for k in from + 1..=n {
        m.prefix("c");
        let label = format!("{k}:");
        m.wait_for(&format!("tab {k}"), |s| {
            common::tab_bar_of(s).contains(&label)
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
    // Descriptors that come and go (a spawn's pipes, a join's files) once they have gone: a
    // single count saw one more than 3 per tab now and then.
    let mut fds40 = 0;
    common::poll_until(Duration::from_secs(10), || {
        fds40 = pty_side_fds(pid);
        fds40 - fds2 <= 3 * 38
    });
    eprintln!("2 tabs: {fds2} fds, {threads2} threads; 40 tabs: {fds40} fds, {threads40} threads");
    // At most as many: a thread that comes and goes (a parser for a burst) may have been
    // counted with 2 tabs.
    assert!(
        threads40 <= threads2,
        "threads grew with the tabs: {threads2} -> {threads40}"
    );
    assert!(threads40 <= 16, "{threads40} threads");
    assert!(
        fds40 - fds2 <= 3 * 38,
        "38 more tabs took {} descriptors: {:?}",
        fds40 - fds2,
        fd_targets(pid)
    );
    let cgroup_fds = fds_where(pid, |l| l.starts_with("/sys/fs/cgroup/"));
    // The tabs' own kept files and the base's books' (the youngest tabs' usage files).
    assert!(
        cgroup_fds
            <= memmux::memory::cgroup::tab::HOT_MAX + memmux::memory::cgroup::kept_usage::KEPT,
        "{cgroup_fds} cgroup files kept open"
    );
    // Every tab still works: the shell of the fortieth exits and its tab says so.
    m.line("exit 7");
    m.wait_for("[exit 7] in the tab bar", |s| {
        common::tab_bar_of(s).contains("[exit 7]")
    });
}

/// The row holding `text`, with each cell's text, colour and boldness.
fn styled_row(s: &vt100::Screen, text: &str) -> Option<Vec<(String, vt100::Color, bool)>> {
    let (rows, cols) = (s.size().0.get(), s.size().1.get());
    let row = (0..rows).find(|&r| s.contents_between(r, 0, r, cols).contains(text))?;
    Some(
        (0..cols)
            .filter_map(|c| s.cell(row, c))
            .map(|cell| (cell.contents().to_string(), cell.fgcolor(), cell.bold()))
            .collect(),
    )
}

#[test]
fn hidden_quiet_tabs_give_their_screen_back_and_show_it_the_same_when_focused() {
    // 50 rows: parking 8 tabs frees 8 screens of 50 x 100 cells of 32 bytes (1.2 MiB).
    let mut m = Mux::start_with(Opts {
        rows: 50,
        ..Opts::default()
    });
    m.wait_prompt();
    let pid = m.pid();
    m.run("printf '\\033[1;31mparked-red\\033[m \\346\\227\\245\\346\\234\\254 tail\\n'");
    m.wait_text("parked-red 日本 tail");
    let before = m.with_screen(|s| styled_row(s, "parked-red"));
    assert!(before.is_some());
    open_tabs(&mut m, 1, 9);
    m.wait_ready();
    let opened = common::rss_bytes(pid).unwrap_or(0);
    // Tabs 1-8 are hidden; once quiet for 2 s they are parked at a memory sample. RSS fell
    // by 1.03-1.05 MiB here alone (of the 1.2 MiB of screens, the rest kept by the
    // allocator), and stayed above a 1 MiB drop for 30 s once in a loaded full-suite run:
    // half a MiB still tells parked screens from none (nothing else shrinks while idle).
    let took = common::wait_until(
        "hidden tabs parked (RSS down 512 KiB)",
        Duration::from_secs(30),
        || common::rss_bytes(pid).is_some_and(|now| now + (512 << 10) <= opened),
    );
    eprintln!(
        "RSS {} with 9 tabs open, {} {took:?} later",
        common::mib(opened),
        common::mib(common::rss_bytes(pid).unwrap_or(0))
    );
    m.prefix("1");
    m.wait_for("tab 1 shown with its text", |s| {
        styled_row(s, "parked-red").is_some()
    });
    assert_eq!(m.with_screen(|s| styled_row(s, "parked-red")), before);
    // It still works: output, and a key's echo.
    m.run("echo after-the-wake");
    m.wait_text("after-the-wake");
}

/// A burst of new tabs (the keys for 30 written at once, as `bench/compare.py` opens its
/// 1,000) starts no thread per tab: every pane's cgroup join goes to one worker thread,
/// which sweeps /proc once per batch. With a thread per pane (each alive 300 ms or more for
/// its late sweep), the bench counted up to 92 threads while 1,000 tabs opened.
#[test]
fn a_burst_of_new_tabs_keeps_the_thread_count_bounded() {
    let mut m = Mux::start();
    m.wait_prompt();
    let pid = m.pid();
    let before = settled_threads(pid, 6);
    m.send("\x02c".repeat(30));
    let mut most = 0;
    let opened = common::poll_until(Duration::from_secs(60), || {
        most = most.max(thread_count(pid).unwrap_or(0));
        m.tab_bar().contains("31:")
    });
    // The joins and their late sweeps end after the last tab is shown: keep counting.
    common::poll_until(Duration::from_millis(600), || {
        most = most.max(thread_count(pid).unwrap_or(0));
        false
    });
    assert!(opened.is_some(), "31 tabs not shown:\n{}", m.dump());
    eprintln!("{before} threads before the burst, at most {most} during it");
    // 2: the join worker, and a parser thread for a burst of output.
    assert!(
        most <= before + 2 && most <= 16,
        "{most} threads during a burst of 30 new tabs ({before} before)"
    );
    let after = settled_threads(pid, before);
    assert!(
        after <= before,
        "{after} threads after the burst, {before} before"
    );
}

/// The bars of tab `n`'s chart in the panel (the most in its one or two rows).
fn chart_bars(s: &vt100::Screen, n: usize) -> usize {
    let lines: Vec<String> = s
        .contents()
        .lines()
        .filter_map(|l| l.split_once('│').map(|(_, p)| p.trim().to_string()))
        .collect();
    let Some(at) = lines.iter().position(|l| l.starts_with(&format!("{n} "))) else {
        return 0;
    };
    lines
        .iter()
        .skip(at + 1)
        .take(2)
        .map(|l| l.chars().filter(|c| ('▁'..='█').contains(c)).count())
        .max()
        .unwrap_or(0)
}

/// Quiet tabs are not sampled once per chart column any more (the sampler sends only figures
/// that changed): a quiet tab's chart still moves on, one column per 5 s, carrying its last
/// figure. (A bare shell's cgroup may show 0 B, no bar: tab 1 holds 16 MiB and then waits.)
#[test]
fn a_quiet_tabs_chart_moves_on_without_new_samples() {
    let mut m = Mux::start_with(Opts::wide(Opts::default().args));
    m.wait_prompt();
    m.wait_for("the panel", |s| s.contents().contains("memmux RSS"));
    m.wait_shells_joined(1);
    m.line(&format!("{} 16", env!("CARGO_BIN_EXE_memhog")));
    m.wait_text("ready pid=");
    open_tabs(&mut m, 1, 3);
    m.wait_for("a chart for tab 1", |s| chart_bars(s, 1) >= 1);
    let first = m.with_screen(|s| chart_bars(s, 1));
    // Three columns on (15 s), however the first sample fell in its column.
    m.wait_for_within(
        "tab 1's chart three columns longer",
        Duration::from_secs(25),
        |s| chart_bars(s, 1) >= first + 3,
    );
}
