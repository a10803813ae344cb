//! The sampling thread: once per `sample-interval` it reads every session's process tree from
//! /proc and its heap account, and hands the figures to the UI (and to the `--mem-log` file).
//! /proc reads (up to ~20 ms for PSS of a big process) never happen on the UI thread.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::alloc::AccountId;
use super::cgroup::TabCgroup;
use super::cgroup::sample::CgroupSampler;
use super::cgroup::stat::CgroupFigures;
use super::history::Sample;
use super::procs::{ProcessInfo, Sampler, SamplerConfig};

mod csv_log;
mod pacer;
mod quiet;
mod round;
mod system;
#[cfg(test)]
mod tests;

pub use csv_log::CsvLog;
pub use pacer::{BUSY_FOR, Cadence, Pacer, QUIET_INTERVAL};
use pacer::{FIRST_SAMPLE_DELAY, unix_ms};
pub use round::{FALLBACK_LIMITS, FROZEN_BY_SIGNAL, sample, sample_changed, thread_cpu};

/// What the sampler needs to know about one tab.
#[derive(Clone, Debug)]
pub struct RosterEntry {
    /// The session's id (stable while the tab lives).
    pub id: u64,
    /// Tab number as shown (1-based) and title, for the CSV log.
    pub number: usize,
    pub title: String,
    /// The pane's number in its tab (1-based, in the layout's order), for the CSV log.
    pub pane: usize,
    /// The program's pid while it runs.
    pub pid: Option<u32>,
    pub account: AccountId,
    pub history_rows: Arc<AtomicUsize>,
    pub history_bytes: Arc<AtomicUsize>,
    /// The session's output, for the pace of its samples.
    pub activity: Arc<super::activity::Activity>,
    /// The tab's memory cgroup, when it has one.
    pub cgroup: Option<Arc<TabCgroup>>,
}

/// One tab's figures at one instant.
#[derive(Clone, Debug)]
pub struct TabFigures {
    pub id: u64,
    /// `tree_bytes` is the headline figure: the cgroup's working set, or the PSS sum.
    pub sample: Sample,
    pub biggest: Option<ProcessInfo>,
    pub detail: Detail,
}

/// Where a tab's headline figure came from, and what else its cgroup says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detail {
    /// `cgroup-v2`, `cgroup-v1` or `pss`.
    pub source: &'static str,
    /// The cgroup's figures (breakdown, peak, OOM kills, pressure); `None` without one.
    pub cgroup: Option<CgroupFigures>,
    /// Sum of `statm` resident minus shared over the tab's processes (the CSV's
    /// `tree_rss_bytes`).
    pub rss_minus_shared: u64,
    pub limit: Option<u64>,
    pub oom_kills: u64,
    /// An out-of-memory kill noticed in this sample: the program's pid and name. (The
    /// app keeps the last one in the tab's copy, for the panel.)
    pub oom_victim: Option<(u32, String)>,
    pub frozen: bool,
    /// Why a tab that had a cgroup is measured by PSS now (removed under memmux's feet, or
    /// its program could not be moved in).
    pub note: Option<String>,
}

impl Detail {
    /// What the history keeps of this with each sample (for `C-b M`).
    pub fn parts(&self) -> super::history::Parts {
        let c = self.cgroup.as_ref();
        super::history::Parts {
            source: self.source,
            rss_minus_shared: self.rss_minus_shared,
            anon: c.and_then(|c| c.anon),
            file: c.and_then(|c| c.file),
            shmem: c.and_then(|c| c.shmem),
            kernel: c.and_then(|c| c.kernel),
            limit: self.limit,
            oom_kills: self.oom_kills,
        }
    }
}

/// The machine's memory, for the panel's footer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct System {
    pub total: Option<u64>,
    pub available: Option<u64>,
    /// `/proc/pressure/memory` `some avg10` (percent).
    pub pressure: Option<f32>,
}

/// Everything sampled at one instant.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// When it was taken, ms since the Unix epoch (the panel's clock).
    pub unix_ms: u64,
    /// The tabs whose figures changed since the last snapshot that had them (every tab
    /// sampled, with `--mem-log`); the others' last figures stand.
    pub tabs: Vec<TabFigures>,
    /// memmux's own resident set.
    pub self_rss: Option<u64>,
    /// The allocator's live total and memmux's own account.
    pub heap_total: usize,
    pub heap_memmux: isize,
    /// Bytes closed tabs left in their accounts, and how many tabs.
    pub leaked: (isize, usize),
    /// False when the tagged allocator isn't installed (heap figures are then zero).
    pub heap_known: bool,
    /// CPU time the sampler itself used for this sample.
    pub cost: Duration,
    pub system: System,
    /// Processes closed tabs left in their cgroups, and their memory.
    pub left_behind: (usize, u64),
    /// Messages for the status line (a cgroup that could not be made, ...).
    pub notices: Vec<String>,
    /// Logging to `--mem-log` stopped (and why), or resumed (`Ok`), in this sample.
    pub log_state: Option<Result<(), String>>,
    /// Taken by a quiet round (`quiet`): no tab printed, moved or changed since the last
    /// snapshot that was not, and `tabs` is empty.
    pub quiet: bool,
}

struct Control {
    /// Shared with the sampling round, which took a copy of 1,000 entries (titles and
    /// all) per round before.
    roster: Arc<Vec<RosterEntry>>,
    stop: bool,
    /// Sample every tab now (a tab closed, the interval changed, an OOM kill).
    poke: bool,
    /// Tabs to sample now, and only them: tabs opened (or whose program or cgroup changed)
    /// since the last sample.
    fresh: Vec<u64>,
    /// A quiet tab had output: look at the tabs' activity now.
    woken: bool,
    /// Rescan /proc at the next sample (a tab started a new command).
    rescan: bool,
    interval: Duration,
}

type ControlCell = Arc<(Mutex<Control>, Condvar)>;

/// The handle the UI keeps: update the roster, stop the thread.
pub struct SamplerHandle {
    control: ControlCell,
    /// A CSV log (`--mem-log`) is written: it names each tab's number and title.
    logs: bool,
}

impl SamplerHandle {
    /// Starts the thread. `deliver` is called on it with every snapshot. With a `log`, every
    /// tab is sampled at every interval (the log is what the user asked for); without, quiet
    /// tabs are sampled once per chart column (see [`Pacer`]).
    pub fn start(
        interval: Duration,
        log: Option<PathBuf>,
        deliver: Box<dyn Fn(Snapshot) + Send>,
    ) -> std::io::Result<SamplerHandle> {
        let control = Arc::new((
            Mutex::new(Control {
                roster: Arc::new(Vec::new()),
                stop: false,
                poke: false,
                fresh: Vec::new(),
                woken: false,
                rescan: false,
                interval,
            }),
            Condvar::new(),
        ));
        let logs = log.is_some();
        let mut log = match log {
            Some(path) => Some(CsvLog::open(path)?),
            None => None,
        };
        let c = Arc::clone(&control);
        // An OOM kill in a tab samples every tab at once (the killed one fully).
        super::cgroup::oom_watch::set_waker({
            let control = Arc::downgrade(&control);
            Arc::new(move || {
                if let Some(control) = control.upgrade() {
                    let (lock, cv) = &*control;
                    lock.lock().unwrap_or_else(|p| p.into_inner()).poke = true;
                    cv.notify_one();
                }
            })
        });
        std::thread::Builder::new()
            .name("mem-sampler".into())
            .spawn(move || {
                let mut sampler = Sampler::new(SamplerConfig::default());
                let mut cgroups = CgroupSampler::default();
                let mut pacer = Pacer::new(log.is_some());
                let mut quiet = quiet::QuietRounds::default();
                let mut wake_at: Option<Instant> = None;
                let mut last_round: Option<Instant> = None;
                let not_before = Instant::now() + FIRST_SAMPLE_DELAY;
                loop {
                    let (roster, all, interval, stirred) = {
                        let (lock, cv) = &*c;
                        let mut ctl = lock.lock().unwrap_or_else(|p| p.into_inner());
                        loop {
                            if ctl.stop {
                                return;
                            }
                            let now = Instant::now();
                            let wanted = if ctl.poke || ctl.woken {
                                Some(now)
                            } else if !ctl.fresh.is_empty() {
                                let fresh_at = last_round.map_or(now, |t| t + pacer::FRESH_GAP);
                                Some(wake_at.map_or(fresh_at, |w| w.min(fresh_at)))
                            } else {
                                wake_at
                            };
                            match wanted.map(|t| t.max(not_before)) {
                                Some(t) if t <= now => break,
                                Some(t) => {
                                    ctl = cv
                                        .wait_timeout(ctl, t - now)
                                        .unwrap_or_else(|p| p.into_inner())
                                        .0;
                                }
                                None => ctl = cv.wait(ctl).unwrap_or_else(|p| p.into_inner()),
                            }
                        }
                        // A tab's output, new tabs or a rescan: not a quiet round.
                        let stirred =
                            std::mem::take(&mut ctl.woken) || !ctl.fresh.is_empty() || ctl.rescan;
                        pacer.forget(&std::mem::take(&mut ctl.fresh));
                        if std::mem::take(&mut ctl.rescan) {
                            sampler.invalidate();
                        }
                        (
                            Arc::clone(&ctl.roster),
                            std::mem::take(&mut ctl.poke),
                            ctl.interval,
                            stirred,
                        )
                    };
                    let now = Instant::now();
                    let unix = unix_ms();
                    let calm =
                        !all && !stirred && log.is_none() && interval == pacer.cadence.interval;
                    if calm && quiet.holds(&roster, &mut cgroups, now) {
                        cgroups.close_round();
                        let mut snapshot = round::totals(&mut sampler, unix);
                        snapshot.quiet = true;
                        deliver(snapshot);
                        last_round = Some(now);
                        wake_at = Some(pacer.next_column(now, unix));
                        continue;
                    }
                    pacer.cadence.interval = interval;
                    let heap = quiet::heap_signature(&roster);
                    let mut due = pacer.due(&roster, now, all);
                    round::with_unsettled(&mut due, &roster, &cgroups);
                    last_round = Some(now);
                    if due.iter().any(|d| *d) {
                        let mut snapshot = if log.is_some() {
                            sample(&mut sampler, &mut cgroups, &roster, &due)
                        } else {
                            sample_changed(&mut sampler, &mut cgroups, &roster, &due, |id| {
                                pacer.delivered(id)
                            })
                        };
                        pacer.sampled(&roster, &due, &snapshot, now, unix);
                        if let Some(l) = &mut log {
                            snapshot.log_state = l.write(&roster, &due, &snapshot);
                        }
                        pacer.keep_changed(&mut snapshot, all);
                        deliver(snapshot);
                    }
                    // A quiet round that fell through to a round sampling no tab.
                    cgroups.abandon_round();
                    pacer.settle(&roster, now);
                    quiet.after_full_round(
                        &roster,
                        heap,
                        due.iter().all(|d| *d),
                        pacer.all_quiet(),
                        &cgroups,
                    );
                    wake_at = pacer.next_wake(&roster, now);
                }
            })?;
        Ok(SamplerHandle { control, logs })
    }

    /// Replaces the list of tabs to sample; samples at once the tabs that are new (or whose
    /// program or cgroup changed), and every tab when one was closed.
    ///
    /// Only the new ones when tabs open: sampling every tab at each new tab made opening N
    /// tabs cost N²/2 tab samples (1,000 tabs: half a million cgroup and /proc reads, about
    /// a third of the session process's CPU while they opened, `perf`).
    pub fn set_roster(&self, roster: Vec<RosterEntry>) {
        let (lock, cv) = &*self.control;
        let mut ctl = lock.lock().unwrap_or_else(|p| p.into_inner());
        let key = |r: &RosterEntry| (r.id, r.pid, r.cgroup.is_some());
        let old: HashMap<u64, (u64, Option<u32>, bool)> =
            ctl.roster.iter().map(|r| (r.id, key(r))).collect();
        let closed = {
            let ids: std::collections::HashSet<u64> = roster.iter().map(|r| r.id).collect();
            old.keys().any(|id| !ids.contains(id))
        };
        let fresh: Vec<u64> = roster
            .iter()
            .filter(|r| old.get(&r.id) != Some(&key(r)))
            .map(|r| r.id)
            .collect();
        ctl.roster = Arc::new(roster);
        if closed {
            ctl.poke = true;
            cv.notify_one();
        } else if !fresh.is_empty() {
            ctl.fresh.extend(fresh);
            cv.notify_one();
        }
    }

    /// Adds entries for tabs just opened, sampled at the next round for new tabs: O(entries),
    /// where [`SamplerHandle::set_roster`] compares the whole roster.
    pub fn add_to_roster(&self, entries: Vec<RosterEntry>) {
        if entries.is_empty() {
            return;
        }
        let (lock, cv) = &*self.control;
        let mut ctl = lock.lock().unwrap_or_else(|p| p.into_inner());
        ctl.fresh.extend(entries.iter().map(|r| r.id));
        Arc::make_mut(&mut ctl.roster).extend(entries);
        cv.notify_one();
    }

    /// Whether a CSV log is written (it names each tab's number and title).
    pub fn logs(&self) -> bool {
        self.logs
    }

    /// Rescans every tab's process tree at the next sample, and samples now.
    pub fn rescan(&self) {
        let (lock, cv) = &*self.control;
        let mut ctl = lock.lock().unwrap_or_else(|p| p.into_inner());
        ctl.rescan = true;
        ctl.poke = true;
        cv.notify_one();
    }

    pub fn set_interval(&self, interval: Duration) {
        let (lock, cv) = &*self.control;
        let mut ctl = lock.lock().unwrap_or_else(|p| p.into_inner());
        ctl.interval = interval;
        ctl.poke = true;
        cv.notify_one();
    }

    /// What a quiet tab's first output calls (see `activity`): the sampler looks at once.
    pub fn waker(&self) -> super::activity::Waker {
        let control = Arc::clone(&self.control);
        Arc::new(move || {
            let (lock, cv) = &*control;
            lock.lock().unwrap_or_else(|p| p.into_inner()).woken = true;
            cv.notify_one();
        })
    }
}

impl Drop for SamplerHandle {
    fn drop(&mut self) {
        let (lock, cv) = &*self.control;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        cv.notify_one();
    }
}
