use super::*;
use crate::memory::activity::Activity;
use crate::memory::alloc;

/// A tab of the roster with no pid, no cgroup and an activity that wakes nobody.
pub(super) fn entry(id: u64) -> RosterEntry {
    RosterEntry {
        id,
        number: id as usize,
        title: String::new(),
        pane: 1,
        pid: None,
        account: alloc::MEMMUX,
        history_rows: Arc::new(AtomicUsize::new(0)),
        history_bytes: Arc::new(AtomicUsize::new(0)),
        activity: Arc::new(Activity::new(Activity::no_waker())),
        cgroup: None,
    }
}

pub(super) fn snap(roster: &[RosterEntry], due: &[bool], tree: u64) -> Snapshot {
    Snapshot {
        unix_ms: 0,
        tabs: roster
            .iter()
            .zip(due)
            .filter(|(_, d)| **d)
            .map(|(r, _)| TabFigures {
                id: r.id,
                sample: Sample {
                    tree_bytes: tree,
                    ..Sample::default()
                },
                biggest: None,
                detail: Detail::default(),
            })
            .collect(),
        self_rss: None,
        heap_total: 0,
        heap_memmux: 0,
        leaked: (0, 0),
        heap_known: false,
        cost: Duration::ZERO,
        system: System::default(),
        left_behind: (0, 0),
        notices: Vec::new(),
        log_state: None,
        quiet: false,
    }
}

/// Runs the pacer over `secs` seconds of virtual time in 50 ms steps, from a wall clock
/// of `unix0` ms; returns the unix ms of every sample of tab 0, with `tree(t)` as the
/// figure and `output(t)` the tab's output at second t.
fn run(
    pacer: &mut Pacer,
    roster: &[RosterEntry],
    unix0: u64,
    secs: u64,
    tree: impl Fn(u64) -> u64,
    output: impl Fn(u64) -> usize,
) -> Vec<u64> {
    let start = Instant::now();
    let mut at = Vec::new();
    let mut wake: Option<Instant> = Some(start);
    for step in 0..secs * 20 {
        let ms = step * 50;
        let now = start + Duration::from_millis(ms);
        let unix = unix0 + ms;
        let out = output(ms / 1000);
        if out > 0 {
            roster[0].activity.note_output(out);
        }
        if wake.is_none_or(|w| w > now) && out == 0 {
            continue;
        }
        let due = pacer.due(roster, now, false);
        if due.iter().any(|d| *d) {
            let s = snap(roster, &due, tree(ms / 1000));
            pacer.sampled(roster, &due, &s, now, unix);
            if due[0] {
                at.push(unix);
            }
        }
        pacer.settle(roster, now);
        wake = pacer.next_wake(roster, now);
    }
    at
}

#[test]
fn a_quiet_tab_is_sampled_once_per_chart_column() {
    let roster = vec![entry(1)];
    let mut pacer = Pacer::new(false);
    // Starts 1.3 s into a column; nothing ever changes.
    let at = run(&mut pacer, &roster, 1_000_001_300, 60, |_| 7, |_| 0);
    let columns: Vec<u64> = at.iter().map(|u| u / 5000).collect();
    let mut unique = columns.clone();
    unique.dedup();
    // The first sample, the busy-at-start seconds, then one per 5 s column, none empty.
    assert!(at.len() <= 16, "{} samples in 60 s: {at:?}", at.len());
    assert_eq!(
        unique,
        (columns[0]..=*columns.last().unwrap()).collect::<Vec<_>>(),
        "a column without a sample: {at:?}"
    );
    assert!(roster[0].activity.is_quiet());
}

#[test]
fn output_or_moving_figures_sample_every_interval() {
    let roster = vec![entry(1)];
    let mut pacer = Pacer::new(false);
    // Quiet for 20 s, then output at 20 s, then memory moving from 40 s to 50 s.
    let at = run(
        &mut pacer,
        &roster,
        1_000_000_000,
        60,
        |t| if (40..50).contains(&t) { t } else { 1 },
        |t| usize::from(t == 20),
    );
    let in_range = |a: u64, b: u64| {
        at.iter()
            .filter(|u| (1_000_000_000 + a * 1000..1_000_000_000 + b * 1000).contains(*u))
            .count()
    };
    assert!(in_range(10, 20) <= 2, "quiet: {at:?}");
    assert!(in_range(20, 23) >= 3, "after output, every second: {at:?}");
    assert!(
        in_range(41, 50) >= 8,
        "while memory moves, every second: {at:?}"
    );
    assert!(in_range(55, 60) <= 1, "quiet again: {at:?}");
}

#[test]
fn with_a_log_every_tab_every_interval() {
    let roster = vec![entry(1), entry(2)];
    let mut pacer = Pacer::new(true);
    let at = run(&mut pacer, &roster, 1_000_000_000, 30, |_| 3, |_| 0);
    assert!(at.len() >= 29, "{} samples in 30 s", at.len());
    assert!(!roster[0].activity.is_quiet());
}

/// A new tab is sampled at once, alone; a closed one makes every tab be sampled again.
/// (Every tab at each new tab made opening N tabs cost N²/2 samples.)
#[test]
fn a_new_tab_is_sampled_alone_and_a_closed_one_samples_every_tab() {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u64>>();
    let tx = Mutex::new(tx);
    // 60 s: no tab comes due by its pace while the test runs.
    let handle = SamplerHandle::start(
        Duration::from_secs(60),
        None,
        Box::new(move |snap: Snapshot| {
            let ids = snap.tabs.iter().map(|t| t.id).collect();
            let _ = tx.lock().unwrap_or_else(|p| p.into_inner()).send(ids);
        }),
    )
    .expect("the sampler thread starts");
    let next = || {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("a snapshot within 20 s")
    };
    handle.set_roster(vec![entry(1)]);
    assert_eq!(next(), vec![1]);
    handle.set_roster(vec![entry(1), entry(2)]);
    assert_eq!(next(), vec![2], "only the new tab is sampled");
    handle.set_roster(vec![entry(1), entry(2), entry(3), entry(4)]);
    let mut got = next();
    // The two new tabs may come in one snapshot or two.
    if got.len() == 1 {
        got.extend(next());
    }
    assert_eq!(got, vec![3, 4]);
    handle.set_roster(vec![entry(2), entry(3), entry(4)]);
    assert_eq!(next(), vec![2, 3, 4], "a closed tab samples every tab");
}

/// A tab whose figures did not change since the UI last had them is left out of the
/// snapshot (its chart carries the last figure); a change, a round that samples every tab on
/// purpose, or a log brings it back.
#[test]
fn only_changed_figures_reach_the_ui() {
    let roster = vec![entry(1), entry(2)];
    let mut pacer = Pacer::new(false);
    let now = Instant::now();
    let due = pacer.due(&roster, now, false);
    let ids = |s: &Snapshot| s.tabs.iter().map(|t| t.id).collect::<Vec<_>>();
    let mut s = snap(&roster, &due, 5);
    pacer.keep_changed(&mut s, false);
    assert_eq!(ids(&s), vec![1, 2], "the first figures go through");
    let mut s = snap(&roster, &due, 5);
    s.tabs[0].sample.unix_ms += 5_000;
    pacer.keep_changed(&mut s, false);
    assert_eq!(
        ids(&s),
        Vec::<u64>::new(),
        "the same figures later stay out"
    );
    let mut s = snap(&roster, &due, 5);
    s.tabs[1].sample.heap_bytes = 4096;
    pacer.keep_changed(&mut s, false);
    assert_eq!(ids(&s), vec![2], "a changed figure goes through");
    let mut s = snap(&roster, &due, 5);
    pacer.keep_changed(&mut s, true);
    assert_eq!(ids(&s), vec![1, 2], "a round of every tab keeps them all");
    // Tab 1 over a limit memmux enforces itself: its unchanged figure goes every round (the
    // enforcer acts once it has stayed over for a while); tab 2 under its limit stays out.
    let over = |pacer: &mut Pacer| {
        let mut s = snap(&roster, &due, 5);
        for t in &mut s.tabs {
            t.detail.cgroup = None;
            t.detail.limit = Some(if t.id == 1 { 1 } else { u64::MAX });
        }
        pacer.keep_changed(&mut s, false);
        ids(&s)
    };
    over(&mut pacer);
    assert_eq!(
        over(&mut pacer),
        vec![1],
        "a figure over its own limit goes on going"
    );
    assert_eq!(
        over(&mut pacer),
        vec![1],
        "a figure over its own limit goes on going"
    );
    let mut logged = Pacer::new(true);
    let due = logged.due(&roster, now, false);
    for _ in 0..2 {
        let mut s = snap(&roster, &due, 5);
        logged.keep_changed(&mut s, false);
        assert_eq!(ids(&s), vec![1, 2], "with a log every sample goes through");
    }
}
