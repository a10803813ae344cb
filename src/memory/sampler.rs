//! The sampling thread: once per `sample-interval` it reads every session's process tree from
//! /proc and its heap account, and hands the figures to the UI (and to the `--mem-log` file).
//! /proc reads (up to ~20 ms for PSS of a big process) never happen on the UI thread.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::alloc::{self, AccountId};
use super::cgroup::TabCgroup;
use super::cgroup::sample::CgroupSampler;
use super::cgroup::stat::CgroupFigures;
use super::history::{CSV_HEADER, Sample};
use super::procs::{ProcessInfo, Sampler, SamplerConfig};

/// What the sampler needs to know about one tab.
#[derive(Clone, Debug)]
pub struct RosterEntry {
    /// The session's id (stable while the tab lives).
    pub id: u64,
    /// Tab number as shown (1-based) and title, for the CSV log.
    pub number: usize,
    pub title: String,
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
}

struct Control {
    roster: Vec<RosterEntry>,
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
                roster: Vec::new(),
                stop: false,
                poke: false,
                fresh: Vec::new(),
                woken: false,
                rescan: false,
                interval,
            }),
            Condvar::new(),
        ));
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
                let mut wake_at: Option<Instant> = None;
                let not_before = Instant::now() + FIRST_SAMPLE_DELAY;
                loop {
                    let (roster, all, interval) = {
                        let (lock, cv) = &*c;
                        let mut ctl = lock.lock().unwrap_or_else(|p| p.into_inner());
                        loop {
                            if ctl.stop {
                                return;
                            }
                            let now = Instant::now();
                            let wanted = if ctl.poke || ctl.woken || !ctl.fresh.is_empty() {
                                Some(now)
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
                        ctl.woken = false;
                        pacer.forget(&std::mem::take(&mut ctl.fresh));
                        if std::mem::take(&mut ctl.rescan) {
                            sampler.invalidate();
                        }
                        (
                            ctl.roster.clone(),
                            std::mem::take(&mut ctl.poke),
                            ctl.interval,
                        )
                    };
                    pacer.cadence.interval = interval;
                    let now = Instant::now();
                    let unix = unix_ms();
                    let due = pacer.due(&roster, now, all);
                    if due.iter().any(|d| *d) {
                        let mut snapshot = sample(&mut sampler, &mut cgroups, &roster, &due);
                        pacer.sampled(&roster, &due, &snapshot, now, unix);
                        if let Some(l) = &mut log {
                            snapshot.log_state = l.write(&roster, &due, &snapshot);
                        }
                        deliver(snapshot);
                    }
                    pacer.settle(&roster, now);
                    wake_at = pacer.next_wake(&roster, now);
                }
            })?;
        Ok(SamplerHandle { control })
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
        ctl.roster = roster;
        if closed {
            ctl.poke = true;
            cv.notify_one();
        } else if !fresh.is_empty() {
            ctl.fresh.extend(fresh);
            cv.notify_one();
        }
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

/// 200 ms: the first sample waits this long after start. It rescans all of /proc (about
/// 1 ms of CPU) and, at once, competed with the first shell's start for the 2 cores: the
/// shell's prompt came later.
const FIRST_SAMPLE_DELAY: Duration = Duration::from_millis(200);

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
}

/// When each tab is sampled. A busy tab (output, or figures that moved, in the last
/// [`BUSY_FOR`]) every `interval`; a quiet one once per chart column, and at once when it
/// prints again. Measured, idle memmux with 4 tabs and the panel shown: 3.25 ms of CPU per
/// 10 s with every tab sampled every second (of which the sampler 2.1, the UI taking the
/// samples 1.15); see `docs/performance.md` for the figure with this.
pub struct Pacer {
    pub cadence: Cadence,
    paces: HashMap<u64, Pace>,
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
        }
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

    /// Records a sample of the tabs marked in `due`: a tab whose figures moved is busy.
    pub fn sampled(
        &mut self,
        roster: &[RosterEntry],
        due: &[bool],
        snap: &Snapshot,
        now: Instant,
        unix_ms: u64,
    ) {
        let mut figures = snap.tabs.iter();
        for (r, &d) in roster.iter().zip(due) {
            let Some(p) = self.paces.get_mut(&r.id) else {
                continue;
            };
            if d {
                let Some(f) = figures.next() else { break };
                let new = Figures::from(&f.sample);
                if p.last.is_some_and(|old| old != new) {
                    p.busy_until = Some(now + BUSY_FOR);
                    r.activity.mark_busy();
                }
                p.last = Some(new);
                p.last_at = Some(now);
                p.last_unix_ms = unix_ms;
            }
        }
    }

    /// Marks the tabs that are no longer busy as quiet, so that their next output wakes the
    /// sampler.
    pub fn settle(&mut self, roster: &[RosterEntry], now: Instant) {
        for r in roster {
            let Some(p) = self.paces.get_mut(&r.id) else {
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
        }
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

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// CPU time the calling thread has used (user + system); also what the tests and benches
/// time the sampler with.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a valid clock id and a valid timespec pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
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

/// Samples the tabs of `roster` marked in `due` (every tab: `&[true; n]`): from the tab's
/// cgroup when it has one that its program joined, else from its /proc tree (PSS sum).
pub fn sample(
    sampler: &mut Sampler,
    cgroups: &mut CgroupSampler,
    roster: &[RosterEntry],
    due: &[bool],
) -> Snapshot {
    let cpu0 = thread_cpu();
    let ids: Vec<u64> = roster.iter().map(|r| r.id).collect();
    cgroups.retain(&ids);
    let now = unix_ms();
    // Cgroup tabs first: a tab whose cgroup fails falls back to its tree in the same sample.
    let mut from_cgroup: Vec<Option<TabFigures>> = Vec::with_capacity(roster.len());
    let mut notes: Vec<Option<String>> = vec![None; roster.len()];
    for (i, r) in roster.iter().enumerate() {
        let due_here = due.get(i).copied().unwrap_or(false);
        let figures = match (&r.cgroup, due_here) {
            (Some(cg), true) => match cg.joined() {
                Ok(true) => match cgroups.read(r.id, cg) {
                    Ok(c) => Some(cgroup_figures(r, cg, c, now)),
                    Err(e) => {
                        let text = if e.kind() == std::io::ErrorKind::NotFound {
                            format!("cgroup {} was removed; measured by PSS", cg.name())
                        } else {
                            format!("cannot read cgroup {} ({e}); measured by PSS", cg.name())
                        };
                        super::cgroup::notice_once(format!("tab {}: {text}", r.number));
                        notes[i] = Some(text);
                        None
                    }
                },
                // Not yet joined (the first 10-15 ms of the tab): the tree, this once.
                Ok(false) => None,
                Err(e) => {
                    notes[i] = Some(e);
                    None
                }
            },
            _ => None,
        };
        from_cgroup.push(figures);
    }
    let roots: Vec<u32> = roster
        .iter()
        .zip(&from_cgroup)
        .map(|(r, c)| if c.is_some() { 0 } else { r.pid.unwrap_or(0) })
        .collect();
    let trees = sampler.sample_due(
        &roots,
        |i| {
            due.get(i).copied().unwrap_or(false)
                && roster[i].pid.is_some()
                && from_cgroup[i].is_none()
        },
        Instant::now(),
    );
    let mut tabs = Vec::new();
    for (i, ((r, tree), cg)) in roster.iter().zip(&trees).zip(from_cgroup).enumerate() {
        if !due.get(i).copied().unwrap_or(false) {
            continue;
        }
        if let Some(f) = cg {
            tabs.push(f);
            continue;
        }
        let tree = tree.as_ref();
        let rss = tree.map_or(0, |t| t.rss_minus_shared);
        // PSS counts a page shared by n processes 1/n in each: copy-on-write children
        // once in all. Members not yet measured count with their statm figure.
        let headline = tree.and_then(|t| t.pss_now).unwrap_or(rss);
        let frozen = r.cgroup.as_ref().is_some_and(|c| c.frozen().is_some())
            || FROZEN_BY_SIGNAL
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&r.id);
        tabs.push(TabFigures {
            id: r.id,
            sample: Sample {
                unix_ms: now,
                tree_bytes: headline,
                heap_bytes: alloc::live_bytes(r.account).max(0) as u64,
                pss_bytes: tree.and_then(|t| t.pss),
                processes: tree.map_or(0, |t| t.processes as u32),
                scrollback_rows: r.history_rows.load(Ordering::Acquire) as u64,
                scrollback_bytes: r.history_bytes.load(Ordering::Acquire) as u64,
            },
            biggest: tree.and_then(|t| t.biggest.clone()),
            detail: Detail {
                source: super::cgroup::FALLBACK_SOURCE,
                cgroup: None,
                rss_minus_shared: rss,
                limit: fallback_limit(r.id),
                oom_kills: 0,
                oom_victim: None,
                frozen,
                note: notes[i].take(),
            },
        });
    }
    let any = !tabs.is_empty();
    Snapshot {
        tabs,
        self_rss: sampler.own_rss(),
        heap_total: alloc::total_live(),
        heap_memmux: alloc::live_bytes(alloc::MEMMUX),
        leaked: super::leaks(),
        heap_known: alloc::is_active(),
        cost: thread_cpu().saturating_sub(cpu0),
        system: if any { system() } else { System::default() },
        left_behind: super::cgroup::left_behind(),
        notices: super::cgroup::take_notices(),
        log_state: None,
    }
}

/// Tabs without a cgroup frozen with SIGSTOP (ids), so that their figure is marked frozen.
pub static FROZEN_BY_SIGNAL: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// Limits of tabs without a cgroup (enforced by memmux: see `memory::enforce`).
pub static FALLBACK_LIMITS: std::sync::Mutex<Vec<(u64, u64)>> = std::sync::Mutex::new(Vec::new());

fn fallback_limit(id: u64) -> Option<u64> {
    FALLBACK_LIMITS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, l)| *l)
}

fn cgroup_figures(
    r: &RosterEntry,
    cg: &TabCgroup,
    c: super::cgroup::sample::CgroupSample,
    now: u64,
) -> TabFigures {
    TabFigures {
        id: r.id,
        sample: Sample {
            unix_ms: now,
            tree_bytes: c.figures.working_set,
            heap_bytes: alloc::live_bytes(r.account).max(0) as u64,
            pss_bytes: None,
            processes: c.processes,
            scrollback_rows: r.history_rows.load(Ordering::Acquire) as u64,
            scrollback_bytes: r.history_bytes.load(Ordering::Acquire) as u64,
        },
        biggest: c.biggest,
        detail: Detail {
            source: cg.version.source(),
            rss_minus_shared: c.rss_minus_shared,
            limit: cg.limit(),
            oom_kills: c.figures.oom_kills,
            oom_victim: c.oom_victim,
            frozen: cg.frozen().is_some(),
            cgroup: Some(c.figures),
            note: None,
        },
    }
}

/// `/proc/meminfo` and `/proc/pressure/memory`.
fn system() -> System {
    let mut out = System::default();
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        let kb = |key: &str| {
            text.lines()
                .find_map(|l| {
                    l.strip_prefix(key)?
                        .split_ascii_whitespace()
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .map(|k| k * 1024)
        };
        out.total = kb("MemTotal:");
        out.available = kb("MemAvailable:");
    }
    if let Ok(text) = std::fs::read_to_string("/proc/pressure/memory") {
        out.pressure = super::cgroup::stat::pressure_some_avg10(&text);
    }
    out
}

/// `--mem-log`: every sample appended as CSV, header first. Whole rows only: a write that
/// fails part-way (disk full) is cut back to the last whole row, logging stops with the
/// reason in the status line, and resumes (said too) at the first sample that writes again.
pub struct CsvLog {
    file: File,
    line: String,
    /// Bytes of whole rows in the file.
    len: u64,
    stopped: Option<String>,
}

impl CsvLog {
    pub fn open(path: PathBuf) -> std::io::Result<CsvLog> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        if file.metadata()?.len() == 0 {
            writeln!(file, "{CSV_HEADER}")?;
        }
        let len = file.metadata()?.len();
        Ok(CsvLog {
            file,
            line: String::new(),
            len,
            stopped: None,
        })
    }

    /// Appends the rows of `snap`; returns a change of state (stopped, with the reason, or
    /// resumed) when there is one.
    pub fn write(
        &mut self,
        roster: &[RosterEntry],
        due: &[bool],
        snap: &Snapshot,
    ) -> Option<Result<(), String>> {
        use std::fmt::Write as _;
        self.line.clear();
        for (r, _) in roster.iter().zip(due).filter(|(_, d)| **d) {
            let Some(t) = snap.tabs.iter().find(|t| t.id == r.id) else {
                continue;
            };
            let s = &t.sample;
            let d = &t.detail;
            let c = d.cgroup.as_ref();
            let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
            let _ = writeln!(
                self.line,
                "{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                s.unix_ms,
                r.number,
                r.title.replace('"', "\"\""),
                s.processes,
                d.rss_minus_shared,
                opt(s.pss_bytes),
                s.heap_bytes,
                s.scrollback_rows,
                s.scrollback_bytes,
                s.tree_bytes,
                d.source,
                opt(c.and_then(|c| c.anon)),
                opt(c.and_then(|c| c.file)),
                opt(c.and_then(|c| c.shmem)),
                opt(c.and_then(|c| c.kernel)),
                opt(d.limit),
                d.oom_kills,
            );
        }
        if self.line.is_empty() {
            return None;
        }
        match self.file.write_all(self.line.as_bytes()) {
            Ok(()) => {
                self.len += self.line.len() as u64;
                self.stopped.take().map(|_| Ok(()))
            }
            Err(e) => {
                // Cut a torn row back off; if even that fails the next whole write starts
                // after it, and the reason below is what the user sees.
                let _ = self.file.set_len(self.len);
                let reason = e.to_string();
                if self.stopped.as_ref() == Some(&reason) {
                    return None;
                }
                self.stopped = Some(reason.clone());
                Some(Err(reason))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::activity::Activity;

    fn entry(id: u64) -> RosterEntry {
        RosterEntry {
            id,
            number: id as usize,
            title: String::new(),
            pid: None,
            account: alloc::MEMMUX,
            history_rows: Arc::new(AtomicUsize::new(0)),
            history_bytes: Arc::new(AtomicUsize::new(0)),
            activity: Arc::new(Activity::new(Activity::no_waker())),
            cgroup: None,
        }
    }

    fn snap(roster: &[RosterEntry], due: &[bool], tree: u64) -> Snapshot {
        Snapshot {
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
}
