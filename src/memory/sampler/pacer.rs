//! When each tab is sampled: the full cadence while it is busy, once per chart column while quiet.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{RosterEntry, Snapshot, TabFigures};
use crate::memory::history::Sample;

/// 200 ms: the first sample waits this long after start. It rescans all of /proc (about
/// 1 ms of CPU) and, at once, competed with the first shell's start for the 2 cores: the
/// shell's prompt came later.
pub(super) const FIRST_SAMPLE_DELAY: Duration = Duration::from_millis(200);

/// 250 ms: rounds for newly opened tabs come at most this often, so that tabs opened in a
/// burst are sampled together. Each round costs O(tabs) (a listing of /proc for the new
/// trees, the roster's copy, the UI taking the snapshot): one round per tab made opening
/// 1,000 tabs quadratic (the sampler was the busiest thread of the session process, `perf`).
pub const FRESH_GAP: Duration = Duration::from_millis(250);

/// 5 s, one chart column: how often a quiet tab is sampled.
pub const QUIET_INTERVAL: Duration = Duration::from_secs(5);
/// 3 s: a tab stays on the full cadence this long after its last output. After a change of
/// its figures without output it stays there until a sample finds them still: a program
/// growing silently is followed every interval, and a one-off step (the kernel draining a
/// per-CPU charge batch, reclaiming page cache) costs one more round rather than three (with
/// 4 idle tabs on a busy machine such steps came about once a column, traced).
pub const BUSY_FOR: Duration = Duration::from_secs(3);
/// 250 ms past a column's start: where quiet samples land, so that each column gets one
/// sample (a plain 5 s period drifts and now and then leaves a column empty). Busy tabs'
/// samples land on the same phase of their interval's grid, so that the tabs due in one
/// second share one round.
const QUIET_PHASE_MS: u64 = 250;

/// 25 ms: a round also takes the tabs due this soon after it. Tabs due on the same instant
/// of the wall clock come due a few µs to 1 ms apart by the monotonic clock (each from its
/// own last sample, in whole ms); without this each came in a round of its own, and each
/// round woke the UI: with 4 idle tabs, 2 or 3 rounds per chart column (traced).
const COALESCE: Duration = Duration::from_millis(25);

/// What decides that a tab is busy: any change in these between two samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Figures {
    tree: u64,
    heap: u64,
    processes: u32,
    rows: u64,
    bytes: u64,
}

impl Figures {
    /// The tab's program moved its memory or its processes. The heap and the scrollback
    /// move without the program only by memmux's own doing (parking a hidden tab's screen, a
    /// resize, another tab's output evicting scrollback from the shared budget): one step,
    /// which reaches the UI in the round that sees it. Counting those as busy put each newly
    /// parked tab on the 1 s cadence for 3 s: three more rounds, each waking the UI.
    fn moved_by_program(&self, new: &Figures) -> bool {
        (self.tree, self.processes) != (new.tree, new.processes)
    }
}

impl From<&Sample> for Figures {
    fn from(s: &Sample) -> Figures {
        Figures {
            tree: s.tree_bytes,
            heap: s.heap_bytes,
            processes: s.processes,
            rows: s.scrollback_rows,
            bytes: s.scrollback_bytes,
        }
    }
}

#[derive(Debug, Default)]
struct Pace {
    last_at: Option<Instant>,
    last_unix_ms: u64,
    last: Option<Figures>,
    output: u64,
    busy_until: Option<Instant>,
    /// The figures last handed to the UI.
    delivered: Option<TabFigures>,
}

/// When each tab is sampled. A busy tab (output in the last [`BUSY_FOR`], or figures that
/// moved at its last sample) every `interval`; a quiet one once per chart column, and at once
/// when it prints again. Measured, idle memmux with 4 tabs and the panel shown: 3.25 ms of CPU per
/// 10 s with every tab sampled every second (of which the sampler 2.1, the UI taking the
/// samples 1.15); see `docs/performance.md` for the figure with this.
pub struct Pacer {
    pub cadence: Cadence,
    paces: HashMap<u64, Pace>,
    /// Every tab was marked quiet at the last [`Pacer::settle`]: the next output of any
    /// wakes the sampler.
    all_quiet: bool,
}

/// The sampling rates.
#[derive(Clone, Copy, Debug)]
pub struct Cadence {
    /// `sample-interval`: the rate of busy tabs.
    pub interval: Duration,
    /// Every tab at every interval (`--mem-log`).
    pub every_tab: bool,
}

impl Pacer {
    pub fn new(every_tab: bool) -> Pacer {
        Pacer {
            cadence: Cadence {
                interval: Duration::from_secs(1),
                every_tab,
            },
            paces: HashMap::new(),
            all_quiet: false,
        }
    }

    /// Whether every tab was quiet at the last [`Pacer::settle`].
    pub fn all_quiet(&self) -> bool {
        self.all_quiet
    }

    /// When the next chart column's quiet samples are due, as seen at `now` (`unix_ms` on
    /// the wall clock): where a quiet round (`sampler::quiet`) waits for the next one.
    pub fn next_column(&self, now: Instant, unix_ms: u64) -> Instant {
        let p = Pace {
            last_at: Some(now),
            last_unix_ms: unix_ms,
            ..Pace::default()
        };
        let quiet = Cadence {
            every_tab: false,
            ..self.cadence
        };
        quiet.due_at(&p, now).unwrap_or(now + QUIET_INTERVAL)
    }

    /// Forgets what is known of these tabs' pace: they are due at once (new tabs, or a new
    /// program in them).
    pub fn forget(&mut self, ids: &[u64]) {
        for id in ids {
            self.paces.remove(id);
        }
    }

    /// Which tabs of `roster` to sample at `now` (all of them when `all`).
    pub fn due(&mut self, roster: &[RosterEntry], now: Instant, all: bool) -> Vec<bool> {
        // A set, not a scan of the roster per pace: 1,000 tabs made that a million
        // comparisons per wake-up.
        let ids: std::collections::HashSet<u64> = roster.iter().map(|r| r.id).collect();
        self.paces.retain(|id, _| ids.contains(id));
        let cadence = self.cadence;
        let mut due = Vec::with_capacity(roster.len());
        for r in roster {
            let p = self.paces.entry(r.id).or_default();
            let output = r.activity.output();
            if output != p.output {
                p.output = output;
                p.busy_until = Some(now + BUSY_FOR);
                r.activity.mark_busy();
            }
            due.push(match p.last_at {
                None => true,
                Some(_) if all => true,
                Some(_) => cadence.due_at(p, now).is_some_and(|t| t <= now + COALESCE),
            });
        }
        due
    }

    /// Records a sample of the tabs marked in `due`: a tab whose figures moved is busy. A due
    /// tab missing from `snap` was left out unchanged ([`super::sample_changed`]).
    pub fn sampled(
        &mut self,
        roster: &[RosterEntry],
        due: &[bool],
        snap: &Snapshot,
        now: Instant,
        unix_ms: u64,
    ) {
        // The snapshot's tabs come in the roster's order.
        let mut figures = snap.tabs.iter().peekable();
        for (r, _) in roster.iter().zip(due).filter(|(_, d)| **d) {
            let Some(p) = self.paces.get_mut(&r.id) else {
                continue;
            };
            p.last_at = Some(now);
            p.last_unix_ms = unix_ms;
            let Some(f) = figures.next_if(|f| f.id == r.id) else {
                continue;
            };
            let new = Figures::from(&f.sample);
            if p.last.is_some_and(|old| old.moved_by_program(&new)) {
                // Busy at the next sample on the busy cadence, and no longer after it unless
                // that one finds them moved again.
                let next = now + self.cadence.busy_wait(unix_ms) + COALESCE;
                p.busy_until = p.busy_until.max(Some(next));
                r.activity.mark_busy();
            }
            p.last = Some(new);
        }
    }

    /// The figures last handed to the UI for tab `id`.
    pub fn delivered(&self, id: u64) -> Option<Sample> {
        Some(self.paces.get(&id)?.delivered.as_ref()?.sample)
    }

    /// Keeps in `snap` only the tabs whose figures differ from those last delivered (apart
    /// from the time): the UI's charts carry a tab's last figure by themselves
    /// (`MemView::tree_at`). All stay in a round that sampled every tab on purpose (`all`:
    /// a tab closed, the interval changed, an OOM kill) and with every tab in each sample
    /// (`--mem-log`). At 1,000 idle tabs the UI took 1,000 unchanged samples per chart
    /// column into the histories, views and totals: most of memmux's idle CPU (`perf`).
    pub fn keep_changed(&mut self, snap: &mut Snapshot, all: bool) {
        if self.cadence.every_tab {
            return;
        }
        snap.tabs.retain(|f| {
            let Some(p) = self.paces.get_mut(&f.id) else {
                return true;
            };
            // A figure over a limit memmux enforces itself (no cgroup) always goes: the app
            // acts only after the tab has stayed over it a while, so it needs the figures
            // that stay the same too.
            let over_own_limit = f.detail.cgroup.is_none()
                && f.detail.limit.is_some_and(|l| f.sample.tree_bytes > l);
            if !all && !over_own_limit && p.delivered.as_ref().is_some_and(|d| same_figures(d, f)) {
                return false;
            }
            p.delivered = Some(f.clone());
            true
        });
    }

    /// Marks the tabs that are no longer busy as quiet, so that their next output wakes the
    /// sampler.
    pub fn settle(&mut self, roster: &[RosterEntry], now: Instant) {
        let mut all_quiet = !self.cadence.every_tab;
        for r in roster {
            let Some(p) = self.paces.get_mut(&r.id) else {
                all_quiet = false;
                continue;
            };
            if !self.cadence.busy_at_next(p, now) && !r.activity.is_quiet() {
                // Output that raced with the mark is seen here, if it did not wake us.
                let output = r.activity.mark_quiet();
                if output != p.output {
                    p.output = output;
                    p.busy_until = Some(now + BUSY_FOR);
                    r.activity.mark_busy();
                }
            }
            all_quiet &= r.activity.is_quiet();
        }
        self.all_quiet = all_quiet;
    }

    /// When the sampler must look again (`None`: only when woken). A busy tab is looked at
    /// after `interval` even if it went quiet meanwhile: then it is marked quiet.
    pub fn next_wake(&self, roster: &[RosterEntry], now: Instant) -> Option<Instant> {
        roster
            .iter()
            .filter_map(|r| self.cadence.due_at(self.paces.get(&r.id)?, now))
            .min()
    }
}

/// The same figures, whenever each was taken.
fn same_figures(a: &TabFigures, b: &TabFigures) -> bool {
    let untimed = |s: &Sample| Sample { unix_ms: 0, ..*s };
    untimed(&a.sample) == untimed(&b.sample) && a.biggest == b.biggest && a.detail == b.detail
}

pub(super) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Cadence {
    fn quiet_interval(&self) -> Duration {
        QUIET_INTERVAL.max(self.interval)
    }

    fn busy(&self, p: &Pace, now: Instant) -> bool {
        self.every_tab || p.busy_until.is_some_and(|t| now < t)
    }

    /// Whether `p` is still busy when its next sample on the busy cadence comes, as seen at
    /// `now`. A tab whose busy time ends before then is quiet for its pace from now on: its
    /// next sample is the column's, and it is marked quiet at once (its output wakes the
    /// sampler). Before, the sampler woke at that busy sample only to find the tab quiet and
    /// mark it: a round that sampled no tab, after every burst of output.
    fn busy_at_next(&self, p: &Pace, now: Instant) -> bool {
        match p.last_at {
            Some(last) => self.busy(p, now.max(last + self.busy_wait(p.last_unix_ms))),
            None => self.busy(p, now),
        }
    }

    /// From a sample at `unix_ms` to the next one on the busy cadence: the next point of the
    /// interval's grid (phase [`QUIET_PHASE_MS`]) at least a quarter interval away, so one
    /// to one and a quarter intervals. A tab woken by its output is sampled at once, off the
    /// grid; its next samples join the other busy tabs' rounds.
    fn busy_wait(&self, unix_ms: u64) -> Duration {
        let period = (self.interval.as_millis() as u64).max(1);
        if self.every_tab {
            return self.interval;
        }
        let phase = QUIET_PHASE_MS % period;
        let earliest = unix_ms + period / 4;
        let next = (earliest.saturating_sub(phase) / period + 1) * period + phase;
        Duration::from_millis(next - unix_ms)
    }

    /// When `p` is next due, as seen at `now`.
    fn due_at(&self, p: &Pace, now: Instant) -> Option<Instant> {
        let last = p.last_at?;
        if self.busy_at_next(p, now) {
            return Some(last + self.busy_wait(p.last_unix_ms));
        }
        let quiet = self.quiet_interval();
        let period = quiet.as_millis().max(1) as u64;
        if quiet > QUIET_INTERVAL {
            return Some(last + quiet);
        }
        // The next column's start plus the phase, measured from the last sample.
        let next = (p.last_unix_ms / period + 1) * period + QUIET_PHASE_MS;
        let wait = next
            .saturating_sub(p.last_unix_ms)
            .min(period + QUIET_PHASE_MS);
        Some(last + Duration::from_millis(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::sampler::Detail;
    use crate::memory::sampler::tests::{entry, snap};

    /// What a tab shows at a virtual instant (ms from the start): its tree and heap figures,
    /// and whether it printed.
    type Script = dyn Fn(usize, u64) -> (u64, u64, bool);

    /// One round: its wall-clock ms, which tabs it sampled, and whether a tab's output woke
    /// it (rather than the wake-up the pacer asked for).
    type Round = (u64, Vec<bool>, bool);

    /// Drives `pacer` as the sampler thread does, event by event, for `secs` seconds of
    /// virtual time from the wall clock `unix0`: a round at each wake-up it asks for, and at
    /// each output of a tab marked quiet (its waker). The monotonic clock runs `skew_us` µs
    /// per second ahead of the wall clock, as two clocks do. `start` is the monotonic
    /// instant of `unix0`.
    fn rounds(
        pacer: &mut Pacer,
        roster: &[RosterEntry],
        start: Instant,
        unix0: u64,
        secs: u64,
        script: &Script,
    ) -> Vec<Round> {
        let skew_us = 40;
        let mut out = Vec::new();
        let mut wake = pacer.next_wake(roster, start).or(Some(start));
        let mut at_us: u64 = 0;
        while at_us < secs * 1_000_000 {
            // The next event: the wake-up asked for, or the next ms at which a quiet tab prints.
            let next_wake_us = wake.map(|w| w.saturating_duration_since(start).as_micros() as u64);
            let mut t = at_us;
            let mut woken = false;
            loop {
                if next_wake_us.is_some_and(|w| w <= t) || t >= secs * 1_000_000 {
                    t = t.max(next_wake_us.unwrap_or(t));
                    break;
                }
                let ms = t / 1000;
                let printed = roster
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| script(*i, ms).2)
                    .count();
                if printed > 0 {
                    for (i, r) in roster.iter().enumerate() {
                        if script(i, ms).2 {
                            woken |= r.activity.is_quiet();
                            r.activity.note_output(1);
                        }
                    }
                    if woken {
                        break;
                    }
                }
                t = (t / 1000 + 1) * 1000;
            }
            at_us = t + 1;
            let now = start + Duration::from_micros(t);
            let unix = unix0 + (t - t * skew_us / 1_000_000) / 1000;
            let ms = t / 1000;
            let due = pacer.due(roster, now, false);
            if due.iter().any(|d| *d) {
                let s = Snapshot {
                    unix_ms: unix,
                    ..quiet_snapshot()
                };
                let s = Snapshot {
                    tabs: roster
                        .iter()
                        .enumerate()
                        .zip(&due)
                        .filter(|(_, d)| **d)
                        .map(|((i, r), _)| TabFigures {
                            id: r.id,
                            sample: Sample {
                                unix_ms: unix,
                                tree_bytes: script(i, ms).0,
                                heap_bytes: script(i, ms).1,
                                ..Sample::default()
                            },
                            biggest: None,
                            detail: Detail::default(),
                        })
                        .collect(),
                    ..s
                };
                pacer.sampled(roster, &due, &s, now, unix);
            }
            out.push((unix, due, woken));
            pacer.settle(roster, now);
            wake = pacer.next_wake(roster, now);
        }
        out
    }

    /// [`rounds`] for 40 s from now, the wall clock at 1,000,000 s.
    fn forty_seconds(pacer: &mut Pacer, roster: &[RosterEntry], script: &Script) -> Vec<Round> {
        rounds(pacer, roster, Instant::now(), 1_000_000_000, 40, script)
    }

    fn quiet_snapshot() -> Snapshot {
        snap(&[], &[], 0)
    }

    /// The wall-clock ms at which tab `i` was sampled.
    fn samples_of(rounds: &[Round], i: usize) -> Vec<u64> {
        rounds
            .iter()
            .filter(|(_, d, _)| d[i])
            .map(|(u, _, _)| *u)
            .collect()
    }

    /// Four quiet tabs opened a moment apart (their first samples ms apart) are then sampled
    /// in one round per chart column, not one round per tab or two.
    #[test]
    fn quiet_tabs_share_one_round_per_column() {
        let roster: Vec<_> = (1..=4).map(entry).collect();
        let mut pacer = Pacer::new(false);
        // Each tab's first sample 0.3 ms after the last one's, in one wall-clock ms (as a
        // burst of new tabs is), 0.7 s into a column.
        let start = Instant::now();
        let unix0 = 1_000_000_700;
        for i in 0..roster.len() {
            let now = start + Duration::from_micros(300 * i as u64);
            let _ = pacer.due(&roster, now, false);
            let mut due = vec![false; roster.len()];
            due[i] = true;
            let s = Snapshot {
                unix_ms: unix0,
                tabs: Vec::new(),
                ..quiet_snapshot()
            };
            pacer.sampled(&roster, &due, &s, now, unix0);
        }
        let rounds = rounds(&mut pacer, &roster, start, unix0, 60, &|_, _| (7, 1, false));
        let within: Vec<_> = rounds
            .iter()
            .filter(|(u, _, _)| *u < unix0 + 60_000)
            .collect();
        for (u, due, _) in &within {
            assert!(
                due.iter().all(|d| *d),
                "a round at {u} left a tab out: {within:?}"
            );
        }
        // Columns start at 5, 10, ..., 60 s: 12 rounds.
        assert!(
            within.len() <= 12,
            "{} rounds in 60 s: {within:?}",
            within.len()
        );
    }

    /// Two tabs printing from different instants of a second: their busy samples share
    /// rounds (one round per second, not two), each still sampled about every second.
    #[test]
    fn busy_tabs_share_rounds_on_the_grid() {
        let roster: Vec<_> = (1..=2).map(entry).collect();
        let mut pacer = Pacer::new(false);
        // Tab 0 prints at ms 100 of every second, tab 1 at ms 700, from 10 s to 30 s.
        let script = |i: usize, ms: u64| {
            let printing = (10_000..30_000).contains(&ms) && ms % 1000 == [100, 700][i];
            (5, 1, printing)
        };
        let rounds = forty_seconds(&mut pacer, &roster, &script);
        let busy: Vec<_> = rounds
            .iter()
            .filter(|(u, d, _)| (1_000_012_000..1_000_030_000).contains(u) && d.iter().any(|d| *d))
            .collect();
        assert!(
            busy.len() <= 19,
            "{} sampling rounds in 18 busy seconds: {busy:?}",
            busy.len()
        );
        for i in 0..2 {
            let at = samples_of(&rounds, i);
            let gaps = at
                .windows(2)
                .filter(|w| (1_000_012_000..1_000_030_000).contains(&w[0]))
                .map(|w| w[1] - w[0]);
            for gap in gaps {
                assert!(
                    gap <= 1250,
                    "tab {i} went {gap} ms unsampled while busy: {at:?}"
                );
            }
        }
    }

    /// Every wake-up the pacer asks for samples a tab: the sampler does not wake at the end
    /// of a tab's busy time only to find it quiet. (A tab's output wakes it at once, even
    /// when the tab was sampled a moment before: that round only puts it on the busy cadence.)
    #[test]
    fn no_wake_up_samples_nothing() {
        let roster = vec![entry(1)];
        let mut pacer = Pacer::new(false);
        // Output at 10.4 s and 20.9 s.
        let script = |_: usize, ms: u64| (3, 1, ms == 10_400 || ms == 20_900);
        let rounds = forty_seconds(&mut pacer, &roster, &script);
        let empty: Vec<_> = rounds
            .iter()
            .filter(|(_, d, woken)| !d[0] && !woken)
            .collect();
        assert!(
            empty.is_empty(),
            "wake-ups that sampled nothing: {empty:?} of {rounds:?}"
        );
        let woken = rounds.iter().filter(|(_, _, w)| *w).count();
        assert_eq!(woken, 2, "each output woke the sampler: {rounds:?}");
        assert!(roster[0].activity.is_quiet());
    }

    /// A tab whose memory moves without output is seen within a column, then followed every
    /// second while it moves; a step of its heap alone (memmux parking its screen) reaches the
    /// UI at the round that sees it without putting the tab on the busy cadence.
    #[test]
    fn moving_memory_is_followed_and_a_heap_step_is_shown_once() {
        let roster = vec![entry(1)];
        let mut pacer = Pacer::new(false);
        let script = |_: usize, ms: u64| {
            let tree = match ms {
                20_000..30_000 => ms / 700,
                50_000.. => 10,
                _ => 9,
            };
            let heap = if ms >= 40_000 { 2 } else { 1 };
            (tree, heap, false)
        };
        let rounds = rounds(
            &mut pacer,
            &roster,
            Instant::now(),
            1_000_000_000,
            58,
            &script,
        );
        let at = samples_of(&rounds, 0);
        let within = |a: u64, b: u64| {
            at.iter()
                .filter(|u| (1_000_000_000 + a..1_000_000_000 + b).contains(*u))
                .count()
        };
        assert!(
            within(20_000, 25_250) >= 1,
            "the move unseen for a column: {at:?}"
        );
        assert!(
            within(25_300, 30_000) >= 4,
            "the moving figure not followed: {at:?}"
        );
        assert!(
            within(41_000, 45_000) == 0,
            "a heap step made the tab busy: {at:?}"
        );
        let seen_heap = at
            .iter()
            .any(|u| (1_000_040_000..1_000_045_300).contains(u));
        assert!(seen_heap, "the heap step unseen for a column: {at:?}");
        // A one-off step of the tree at 50 s: seen at the column, checked once on the busy
        // cadence, then quiet.
        assert_eq!(within(50_000, 55_000), 2, "after a one-off step: {at:?}");
    }
}
