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
/// 3 s: a tab stays on the full cadence this long after its last output or figure change.
pub const BUSY_FOR: Duration = Duration::from_secs(3);
/// 250 ms past a column's start: where quiet samples land, so that each column gets one
/// sample (a plain 5 s period drifts and now and then leaves a column empty).
const QUIET_PHASE_MS: u64 = 250;

/// What decides that a tab is busy: any change in these between two samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Figures {
    tree: u64,
    heap: u64,
    processes: u32,
    rows: u64,
    bytes: u64,
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

/// When each tab is sampled. A busy tab (output, or figures that moved, in the last
/// [`BUSY_FOR`]) every `interval`; a quiet one once per chart column, and at once when it
/// prints again. Measured, idle memmux with 4 tabs and the panel shown: 3.25 ms of CPU per
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
                Some(_) => cadence.due_at(p, now).is_some_and(|t| t <= now),
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
            if p.last.is_some_and(|old| old != new) {
                p.busy_until = Some(now + BUSY_FOR);
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
            if !self.cadence.busy(p, now) && !r.activity.is_quiet() {
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

    /// When `p` is next due, as seen at `now`.
    fn due_at(&self, p: &Pace, now: Instant) -> Option<Instant> {
        let last = p.last_at?;
        if self.busy(p, now) {
            return Some(last + self.interval);
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
