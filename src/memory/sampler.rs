//! The sampling thread: once per `sample-interval` it reads every session's process tree from
//! /proc and its heap account, and hands the figures to the UI (and to the `--mem-log` file).
//! /proc reads (up to ~20 ms for PSS of a big process) never happen on the UI thread.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::alloc::{self, AccountId};
use super::history::{CSV_HEADER, Sample};
use super::procs::{ProcessInfo, Sampler, SamplerConfig, self_rss};

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
}

/// One tab's figures at one instant.
#[derive(Clone, Debug)]
pub struct TabFigures {
    pub id: u64,
    pub sample: Sample,
    pub biggest: Option<ProcessInfo>,
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
}

struct Control {
    roster: Vec<RosterEntry>,
    stop: bool,
    /// Sample now (a tab opened or closed) rather than at the next tick.
    poke: bool,
    /// Rescan /proc at the next sample (a tab started a new command).
    rescan: bool,
    interval: Duration,
}

/// The handle the UI keeps: update the roster, stop the thread.
pub struct SamplerHandle {
    control: Arc<(Mutex<Control>, Condvar)>,
}

impl SamplerHandle {
    /// Starts the thread. `deliver` is called on it with every snapshot.
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
        std::thread::Builder::new()
            .name("mem-sampler".into())
            .spawn(move || {
                let mut sampler = Sampler::new(SamplerConfig::default());
                let mut next = Instant::now();
                loop {
                    let roster = {
                        let (lock, cv) = &*c;
                        let mut ctl = lock.lock().unwrap_or_else(|p| p.into_inner());
                        loop {
                            if ctl.stop {
                                return;
                            }
                            let now = Instant::now();
                            if ctl.poke || now >= next {
                                ctl.poke = false;
                                next = now + ctl.interval;
                                break;
                            }
                            ctl = cv
                                .wait_timeout(ctl, next - now)
                                .unwrap_or_else(|p| p.into_inner())
                                .0;
                        }
                        if std::mem::take(&mut ctl.rescan) {
                            sampler.invalidate();
                        }
                        ctl.roster.clone()
                    };
                    let snapshot = sample(&mut sampler, &roster);
                    if let Some(l) = &mut log {
                        l.write(&roster, &snapshot);
                    }
                    deliver(snapshot);
                }
            })?;
        Ok(SamplerHandle { control })
    }

    /// Replaces the list of tabs to sample; samples at once when the set of tabs changed.
    pub fn set_roster(&self, roster: Vec<RosterEntry>) {
        let (lock, cv) = &*self.control;
        let mut ctl = lock.lock().unwrap_or_else(|p| p.into_inner());
        let changed = ctl.roster.len() != roster.len()
            || ctl
                .roster
                .iter()
                .zip(&roster)
                .any(|(a, b)| a.id != b.id || a.pid != b.pid);
        ctl.roster = roster;
        if changed {
            ctl.poke = true;
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
        lock.lock().unwrap_or_else(|p| p.into_inner()).interval = interval;
        cv.notify_one();
    }
}

impl Drop for SamplerHandle {
    fn drop(&mut self) {
        let (lock, cv) = &*self.control;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        cv.notify_one();
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a valid clock id and a valid timespec pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Samples every tab of `roster`.
pub fn sample(sampler: &mut Sampler, roster: &[RosterEntry]) -> Snapshot {
    let cpu0 = thread_cpu();
    let roots: Vec<u32> = roster.iter().filter_map(|r| r.pid).collect();
    let trees = sampler.sample(&roots, Instant::now());
    let now = unix_ms();
    let tabs = roster
        .iter()
        .map(|r| {
            let tree = r.pid.and_then(|pid| trees.iter().find(|t| t.root == pid));
            TabFigures {
                id: r.id,
                sample: Sample {
                    unix_ms: now,
                    tree_bytes: tree.map_or(0, |t| t.rss_minus_shared),
                    heap_bytes: alloc::live_bytes(r.account).max(0) as u64,
                    pss_bytes: tree.and_then(|t| t.pss),
                    processes: tree.map_or(0, |t| t.processes as u32),
                    scrollback_rows: r.history_rows.load(Ordering::Acquire) as u64,
                    scrollback_bytes: r.history_bytes.load(Ordering::Acquire) as u64,
                },
                biggest: tree.and_then(|t| t.biggest.clone()),
            }
        })
        .collect();
    Snapshot {
        tabs,
        self_rss: self_rss(),
        heap_total: alloc::total_live(),
        heap_memmux: alloc::live_bytes(alloc::MEMMUX),
        leaked: super::leaks(),
        heap_known: alloc::is_active(),
        cost: thread_cpu().saturating_sub(cpu0),
    }
}

/// `--mem-log`: every sample appended as CSV, header first.
struct CsvLog {
    file: File,
    line: String,
}

impl CsvLog {
    fn open(path: PathBuf) -> std::io::Result<CsvLog> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        if file.metadata()?.len() == 0 {
            writeln!(file, "{CSV_HEADER}")?;
        }
        Ok(CsvLog {
            file,
            line: String::new(),
        })
    }

    fn write(&mut self, roster: &[RosterEntry], snap: &Snapshot) {
        use std::fmt::Write as _;
        self.line.clear();
        for (r, t) in roster.iter().zip(&snap.tabs) {
            let s = &t.sample;
            let _ = writeln!(
                self.line,
                "{},{},\"{}\",{},{},{},{},{},{}",
                s.unix_ms,
                r.number,
                r.title.replace('"', "\"\""),
                s.processes,
                s.tree_bytes,
                s.pss_bytes.map(|p| p.to_string()).unwrap_or_default(),
                s.heap_bytes,
                s.scrollback_rows,
                s.scrollback_bytes
            );
        }
        // A full disk loses log lines, never the session: nothing else to do about it here.
        let _ = self.file.write_all(self.line.as_bytes());
    }
}
