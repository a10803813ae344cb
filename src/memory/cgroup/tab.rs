//! One tab's cgroup: made before the tab's program starts, read by the sampler, limited,
//! frozen, and removed once the tab is closed and its processes are gone.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::stat::{self, CgroupFigures};
use super::{Hierarchy, Version};

/// How a tab was frozen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreezeMethod {
    /// v2 `cgroup.freeze`.
    CgroupV2,
    /// v1 freezer hierarchy.
    Freezer,
    /// SIGSTOP / SIGCONT to each process (no freezer here).
    Signals,
}

#[derive(Debug, Default)]
struct TabState {
    /// Set by the join thread when the program could not be moved in.
    join_error: Option<String>,
    joined: bool,
    limit: Option<u64>,
    frozen: Option<FreezeMethod>,
}

/// A tab's cgroup, or a pane's inside its tab's. Dropping it removes the cgroup, or keeps it
/// on the left-behind list while processes (or, for a tab, its panes' cgroups) remain in it.
///
/// A tab's cgroup holds no process: its panes' cgroups do, so that the tab's limit caps all
/// its panes together (the kernel charges a pane's pages to the tab too: v1 is hierarchical
/// on every kernel since 5.11, v2 always) and a pane may have a ceiling of its own.
#[derive(Debug)]
pub struct TabCgroup {
    pub version: Version,
    /// `tab-<pid>-<n>`, or `tab-<pid>-<n>/pane-<m>` for a pane: unique within one memmux
    /// (the join sweep's token), and the path under the hierarchy's base.
    name: String,
    /// A pane's tab: kept alive (and so not removed) while one of its panes' cgroups is.
    parent: Option<std::sync::Arc<TabCgroup>>,
    /// A tab's cgroup with its panes' inside (holds no process itself).
    group: bool,
    dir: PathBuf,
    home: PathBuf,
    /// v1 freezer counterpart of `dir`, and of `home`.
    freezer: Option<(PathBuf, PathBuf)>,
    state: Mutex<TabState>,
    /// `Hot` files, opened on first read: six descriptors per tab.
    hot: Mutex<[Option<std::fs::File>; 6]>,
    /// The figures besides usage and `memory.stat` at their last read (see `figures`).
    side: Mutex<Option<Side>>,
    /// The OOM-kill counter as the watcher last read it ([`super::oom_watch`]): ahead of
    /// the sampler's, it makes the sampler read the tab at once.
    oom_noticed: AtomicU64,
    /// Unique among the cgroups this memmux made (never reused): what the base's books
    /// know a tab's cgroup by ([`TabCgroup::book_key`]).
    serial: u64,
}

/// Numbers every [`TabCgroup`] made (see `TabCgroup::serial`).
static SERIAL: AtomicU64 = AtomicU64::new(1);

/// Counts the programs the join thread moved into their cgroups, or failed to.
static JOINS: AtomicU64 = AtomicU64::new(0);

/// Moves whenever a cgroup is made or a program joins one: what the base's books compare to
/// know, without a pass over every tab, that no cgroup came under the base since they last
/// looked (`books::Books::wants_drawing`).
pub fn made_and_joined() -> (u64, u64) {
    (
        SERIAL.load(Ordering::Acquire),
        JOINS.load(Ordering::Acquire),
    )
}

/// 120: hot files kept open across all tabs, 20 tabs' worth. Past it a tab's files are opened
/// for each read (about 12 us more each), so that a tab costs its 3 descriptors and no more:
/// at 6 per tab kept open, 1,000 tabs would hold 6,000 descriptors. 192 (32 tabs) put
/// memmux's own descriptors at 485 with 1,000 tabs, past issue 18's bound of 320.
pub const HOT_MAX: usize = 120;

/// 5 s: how long a tab past [`HOT_MAX`] goes without reading its peak, OOM kills and
/// kernel memory or pressure (the longest an unchanged usage stands for a whole sample too).
pub const SIDE_EVERY: Duration = Duration::from_secs(5);

/// A tab's figures besides usage and `memory.stat`, as last read.
#[derive(Clone, Copy, Debug)]
struct Side {
    at: Instant,
    peak: Option<u64>,
    oom_kills: u64,
    kernel: Option<u64>,
    pressure: Option<f32>,
}

/// Hot files open now, all tabs together.
static HOT_OPEN: AtomicUsize = AtomicUsize::new(0);

/// The files a sample reads (the last four only when the usage moved).
#[derive(Clone, Copy)]
enum Hot {
    Usage = 0,
    Stat = 1,
    Procs = 2,
    Peak = 3,
    Oom = 4,
    /// v1 kernel memory, v2 pressure.
    Extra = 5,
}

/// What memmux knows of a tab's cgroup from its figures, for the panel and the CSV.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading {
    pub figures: CgroupFigures,
    pub pids: Vec<u32>,
}

impl TabCgroup {
    /// Makes `<base>/<name>` (and its freezer counterpart, where there is one): a cgroup
    /// whose programs join it directly (one per tab without panes, the tests' use).
    pub fn create(h: &Hierarchy, name: &str) -> io::Result<TabCgroup> {
        TabCgroup::make(h, name, None)
    }

    /// Makes a tab's cgroup, `<base>/<name>`, for its panes' cgroups ([`Self::create_pane`]).
    /// v2: memory is enabled for its children (`+memory` in `cgroup.subtree_control`), which
    /// the no-internal-processes rule allows because the tab's cgroup holds no process.
    pub fn create_group(h: &Hierarchy, name: &str) -> io::Result<TabCgroup> {
        let mut cg = TabCgroup::make(h, name, None)?;
        cg.group = true;
        if h.version == Version::V2 {
            if let Err(e) = std::fs::write(cg.dir.join("cgroup.subtree_control"), "+memory") {
                let _ = super::remove_dir(&cg.dir);
                if let Some((f, _)) = &cg.freezer {
                    let _ = super::remove_dir(f);
                }
                // Not removed again by the drop.
                cg.dir = PathBuf::new();
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot enable memory for the panes of {name}: {e}"),
                ));
            }
        }
        Ok(cg)
    }

    /// Makes pane cgroup `pane` (`pane-<m>`) inside the tab's cgroup `tab`.
    pub fn create_pane(tab: &std::sync::Arc<TabCgroup>, pane: &str) -> io::Result<TabCgroup> {
        let inner = Hierarchy {
            version: tab.version,
            base: tab.dir.clone(),
            home: tab.home.clone(),
            freezer: tab.freezer.clone(),
            made: Vec::new(),
        };
        let mut cg = TabCgroup::make(&inner, pane, Some(std::sync::Arc::clone(tab)))?;
        cg.name = format!("{}/{pane}", tab.name);
        Ok(cg)
    }

    fn make(
        h: &Hierarchy,
        name: &str,
        parent: Option<std::sync::Arc<TabCgroup>>,
    ) -> io::Result<TabCgroup> {
        let dir = h.base.join(name);
        std::fs::create_dir(&dir)?;
        if h.version == Version::V1 {
            // v1 charges a page to the cgroup that first touched it, and the program joins
            // after it started: with bit 0 set, the kernel moves the program's anonymous
            // pages (the shell's first 1-2 MiB) with it. Linux 6.13 and later refuse the
            // write (EINVAL: charge moving was removed); those pages then stay with memmux's
            // cgroup, as the README says.
            let _ = std::fs::write(dir.join("memory.move_charge_at_immigrate"), "1");
        }
        let freezer = h.freezer.as_ref().and_then(|(fbase, fhome)| {
            let d = fbase.join(name);
            std::fs::create_dir(&d).ok()?;
            Some((d, fhome.clone()))
        });
        Ok(TabCgroup {
            version: h.version,
            name: name.to_string(),
            parent,
            group: false,
            dir,
            home: h.home.clone(),
            freezer,
            state: Mutex::new(TabState::default()),
            hot: Mutex::new(Default::default()),
            oom_noticed: AtomicU64::new(0),
            side: Mutex::new(None),
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cgroup that holds every tab's (memmux's base): the parent of a tab's, or of a
    /// pane's tab's.
    pub fn base_dir(&self) -> Option<&Path> {
        match &self.parent {
            Some(tab) => tab.dir.parent(),
            None => self.dir.parent(),
        }
    }

    /// A pane's tab cgroup.
    pub fn parent(&self) -> Option<&std::sync::Arc<TabCgroup>> {
        self.parent.as_ref()
    }

    /// The cgroup right under the base that holds this one: a pane's tab's, else itself.
    pub fn top(&self) -> &TabCgroup {
        let mut top = self;
        while let Some(p) = &top.parent {
            top = p;
        }
        top
    }

    /// What the base's books know this cgroup's top by (see `books`).
    pub fn book_key(&self) -> u64 {
        self.top().serial
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TabState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves `pid` (the whole process) into the tab's cgroup, and its freezer cgroup.
    pub fn add(&self, pid: u32) -> io::Result<()> {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())?;
        if let Some((f, _)) = &self.freezer {
            // A process the freezer did not get is still measured and limited; freezing it
            // falls back to signals (see `freeze`).
            let _ = std::fs::write(f.join("cgroup.procs"), pid.to_string());
        }
        Ok(())
    }

    /// Called by the join thread: the program is in (or could not be moved, and why).
    pub(crate) fn set_joined(&self, result: Result<(), String>) {
        let mut s = self.state();
        match result {
            Ok(()) => s.joined = true,
            Err(e) => s.join_error = Some(e),
        }
        JOINS.fetch_add(1, Ordering::Release);
    }

    /// Whether the program was moved in; `Err` with the reason if it could not be.
    pub fn joined(&self) -> Result<bool, String> {
        let s = self.state();
        match &s.join_error {
            Some(e) => Err(e.clone()),
            None => Ok(s.joined),
        }
    }

    /// The processes in the cgroup.
    pub fn pids(&self, buf: &mut String) -> io::Result<Vec<u32>> {
        match self.version {
            // v1 keeps a pid list per open file and rebuilds it only after it has gone
            // unread for a second: a descriptor kept open reads a stale list.
            Version::V1 => read_into(&self.dir.join("cgroup.procs"), buf)?,
            Version::V2 => self.read_hot(Hot::Procs, buf)?,
        }
        Ok(stat::pids(buf))
    }

    /// Usage including page cache (v1 `usage_in_bytes`, v2 `memory.current`): the cheap
    /// read (about 1 us from a descriptor kept open) that decides whether the rest is read.
    /// `NotFound`: the cgroup was removed under memmux's feet.
    pub fn usage(&self, buf: &mut String) -> io::Result<u64> {
        self.read_hot(Hot::Usage, buf)?;
        Ok(stat::number(buf).unwrap_or(0))
    }

    /// Everything else, given `usage`: `memory.stat` (about 7 us on v1), peak, kernel
    /// memory (v1) or pressure (v2), OOM kills. v1 socket memory (`kmem.tcp`) is left
    /// unknown: v1 accounts it only for cgroups with a TCP limit.
    ///
    /// Past [`HOT_MAX`] (a tab whose files are opened for each read), peak, OOM kills and
    /// kernel memory or pressure are read at most every [`SIDE_EVERY`]: opening them took
    /// 48 tabs whose memory moved every second from about 950 us a sample (the /proc
    /// sampler's figure) to 1,500. Meanwhile the peak is at least the usage, and the OOM
    /// watcher's count stands for the kills.
    pub fn figures(&self, usage: u64, buf: &mut String) -> io::Result<CgroupFigures> {
        self.read_hot(Hot::Stat, buf)?;
        let mut f = match self.version {
            Version::V1 => stat::v1(usage, buf),
            Version::V2 => stat::v2(usage, buf),
        };
        let cold = self.hot.lock().unwrap_or_else(|p| p.into_inner())[Hot::Peak as usize].is_none()
            && HOT_OPEN.load(Ordering::Acquire) >= HOT_MAX;
        if cold {
            let side = *self.side.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(side) = side.filter(|s| s.at.elapsed() < SIDE_EVERY) {
                f.peak = Some(side.peak.unwrap_or(0).max(usage));
                f.oom_kills = side.oom_kills.max(self.oom_noticed());
                f.kernel = f.kernel.or(side.kernel);
                f.pressure = side.pressure;
                return Ok(f);
            }
        }
        f.peak = self
            .read_hot(Hot::Peak, buf)
            .ok()
            .and_then(|_| stat::number(buf));
        if self.read_hot(Hot::Oom, buf).is_ok() {
            f.oom_kills = match self.version {
                Version::V1 => stat::v1_oom_kills(buf),
                Version::V2 => stat::v2_oom_kills(buf),
            };
        }
        if self.read_hot(Hot::Extra, buf).is_ok() {
            match self.version {
                Version::V1 => f.kernel = stat::number(buf),
                Version::V2 => f.pressure = stat::pressure_some_avg10(buf),
            }
        }
        if f.peak.is_none() {
            f.peak = Some(f.usage);
        }
        *self.side.lock().unwrap_or_else(|p| p.into_inner()) = Some(Side {
            at: Instant::now(),
            peak: f.peak,
            oom_kills: f.oom_kills,
            kernel: f.kernel,
            pressure: f.pressure,
        });
        Ok(f)
    }

    /// The kernel memory charged to the cgroup and those inside it, read now (v1
    /// `memory.kmem.usage_in_bytes`, v2 `memory.stat` `kernel`): the base's books tell the
    /// base's own charge stock from its own kernel memory by it (see `books`).
    pub fn kernel(&self, buf: &mut String) -> Option<u64> {
        match self.version {
            Version::V1 => {
                self.read_hot(Hot::Extra, buf).ok()?;
                stat::number(buf)
            }
            Version::V2 => {
                self.read_hot(Hot::Stat, buf).ok()?;
                stat::v2(0, buf).kernel
            }
        }
    }

    /// The OOM-kill counter (v2 `memory.events`, v1 `memory.oom_control` `oom_kill`).
    pub fn read_oom_kills(&self) -> Option<u64> {
        let mut buf = String::new();
        self.read_hot(Hot::Oom, &mut buf).ok()?;
        Some(match self.version {
            Version::V1 => stat::v1_oom_kills(&buf),
            Version::V2 => stat::v2_oom_kills(&buf),
        })
    }

    /// The OOM-kill counter as the watcher last saw it.
    pub fn oom_noticed(&self) -> u64 {
        self.oom_noticed.load(Ordering::Acquire)
    }

    pub(crate) fn set_oom_noticed(&self, kills: u64) {
        self.oom_noticed.fetch_max(kills, Ordering::AcqRel);
    }

    /// Reads the figures and the processes, all of them.
    pub fn read(&self, buf: &mut String) -> io::Result<Reading> {
        let usage = self.usage(buf)?;
        let figures = self.figures(usage, buf)?;
        let pids = self.pids(buf)?;
        Ok(Reading { figures, pids })
    }

    /// Reads one of the files read at every sample through a descriptor kept open (an open
    /// costs about 12 us, a read from offset 0 of an open one about 1 us).
    fn read_hot(&self, which: Hot, buf: &mut String) -> io::Result<()> {
        let mut hot = self.hot.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut hot[which as usize];
        let scarce = crate::memory::fd_budget::scarce();
        if scarce && slot.take().is_some() {
            HOT_OPEN.fetch_sub(1, Ordering::AcqRel);
        }
        if slot.is_none() {
            let name = match (which, self.version) {
                (Hot::Usage, Version::V1) => "memory.usage_in_bytes",
                (Hot::Usage, Version::V2) => "memory.current",
                (Hot::Stat, _) => "memory.stat",
                (Hot::Procs, _) => "cgroup.procs",
                (Hot::Peak, Version::V1) => "memory.max_usage_in_bytes",
                (Hot::Peak, Version::V2) => "memory.peak",
                (Hot::Oom, Version::V1) => "memory.oom_control",
                (Hot::Oom, Version::V2) => "memory.events",
                (Hot::Extra, Version::V1) => "memory.kmem.usage_in_bytes",
                (Hot::Extra, Version::V2) => "memory.pressure",
            };
            let path = self.dir.join(name);
            if scarce {
                return read_into(&path, buf);
            }
            if HOT_OPEN.fetch_add(1, Ordering::AcqRel) >= HOT_MAX {
                HOT_OPEN.fetch_sub(1, Ordering::AcqRel);
                return read_into(&path, buf);
            }
            match std::fs::File::open(path) {
                Ok(f) => *slot = Some(f),
                Err(e) => {
                    HOT_OPEN.fetch_sub(1, Ordering::AcqRel);
                    return Err(e);
                }
            }
        }
        let Some(f) = slot.as_ref() else {
            return Err(io::ErrorKind::NotFound.into());
        };
        let r = read_at_start(f, buf);
        if r.is_err() {
            // A removed cgroup reads ENODEV from an open descriptor: say NotFound, and
            // open again next time.
            *slot = None;
            HOT_OPEN.fetch_sub(1, Ordering::AcqRel);
            if !self.dir.exists() {
                return Err(io::ErrorKind::NotFound.into());
            }
        }
        r
    }

    /// The limit memmux set (`None`: no limit).
    pub fn limit(&self) -> Option<u64> {
        self.state().limit
    }

    /// Sets the ceiling (`None` removes it). v2: `memory.max`, and `memory.high` at
    /// `high_fraction` of it so the tab is throttled before it is killed; v1:
    /// `memory.limit_in_bytes` (the kernel rounds it to whole pages).
    pub fn set_limit(&self, limit: Option<u64>, high_fraction: f64) -> io::Result<()> {
        match self.version {
            Version::V1 => {
                let v = limit.map_or("-1".to_string(), |l| l.to_string());
                std::fs::write(self.dir.join("memory.limit_in_bytes"), v)?;
            }
            Version::V2 => {
                let (max, high) = match limit {
                    Some(l) => (
                        l.to_string(),
                        ((l as f64 * high_fraction) as u64).max(1).to_string(),
                    ),
                    None => ("max".to_string(), "max".to_string()),
                };
                // Order: never a moment with high above max; the kernel accepts either, but
                // a lower max first would kill where the new high would only throttle.
                if limit.is_some() {
                    std::fs::write(self.dir.join("memory.high"), &high)?;
                    std::fs::write(self.dir.join("memory.max"), &max)?;
                } else {
                    std::fs::write(self.dir.join("memory.max"), &max)?;
                    std::fs::write(self.dir.join("memory.high"), &high)?;
                }
            }
        }
        self.state().limit = limit;
        Ok(())
    }

    /// How the tab is frozen, if it is.
    pub fn frozen(&self) -> Option<FreezeMethod> {
        self.state().frozen
    }

    /// Freezes (or thaws) every process of the tab.
    pub fn freeze(&self, on: bool) -> io::Result<FreezeMethod> {
        let method = match (self.version, &self.freezer) {
            (Version::V2, _) => {
                std::fs::write(self.dir.join("cgroup.freeze"), if on { "1" } else { "0" })?;
                FreezeMethod::CgroupV2
            }
            (Version::V1, Some((f, _))) => {
                let state = if on { "FROZEN" } else { "THAWED" };
                std::fs::write(f.join("freezer.state"), state)?;
                FreezeMethod::Freezer
            }
            (Version::V1, None) => {
                let mut buf = String::new();
                signal_all(&self.pids(&mut buf)?, on);
                FreezeMethod::Signals
            }
        };
        self.state().frozen = on.then_some(method);
        Ok(method)
    }
}

/// SIGSTOP (or SIGCONT) to each of `pids`; a pid that is gone is skipped.
pub fn signal_all(pids: &[u32], stop: bool) {
    use crate::sys::signal::{self, Signal};
    let sig = if stop { Signal::STOP } else { Signal::CONT };
    for &p in pids {
        // A pid that is gone: nothing to stop or continue.
        let _ = signal::kill(p, sig);
    }
}

/// The whole text of a kernfs file from offset 0 of an open descriptor (a read returns at
/// most a page of a seq_file: loop to the end).
fn read_at_start(f: &std::fs::File, buf: &mut String) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut bytes = std::mem::take(buf).into_bytes();
    bytes.clear();
    let mut chunk = [0u8; 4096];
    let mut at = 0u64;
    let result = loop {
        match f.read_at(&mut chunk, at) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        }
    };
    *buf = String::from_utf8(bytes).unwrap_or_default();
    result
}

fn read_into(path: &Path, buf: &mut String) -> io::Result<()> {
    buf.clear();
    std::fs::File::open(path)?.read_to_string(buf)?;
    Ok(())
}

fn read_number(path: &Path, buf: &mut String) -> Option<u64> {
    read_into(path, buf).ok()?;
    stat::number(buf)
}

impl Drop for TabCgroup {
    fn drop(&mut self) {
        let _memmux = crate::memory::alloc::enter(crate::memory::alloc::MEMMUX);
        {
            let mut hot = self.hot.lock().unwrap_or_else(|p| p.into_inner());
            let open = hot.iter_mut().filter_map(Option::take).count();
            HOT_OPEN.fetch_sub(open, Ordering::AcqRel);
        }
        if self.dir.as_os_str().is_empty() {
            return;
        }
        let remains = Remains {
            dir: self.dir.clone(),
            home: self.home.clone(),
            freezer: self.freezer.clone(),
            group: self.group,
        };
        if self.frozen().is_some() {
            // Frozen processes would never see the hang-up and so never leave.
            let _ = self.freeze(false);
        }
        if !remains.try_remove() {
            super::leave_behind(remains);
        }
    }
}

/// A closed tab's (or pane's) cgroup that still held processes (or, a tab's, panes' cgroups
/// that did).
#[derive(Debug)]
pub struct Remains {
    dir: PathBuf,
    home: PathBuf,
    freezer: Option<(PathBuf, PathBuf)>,
    /// A tab's cgroup of panes: its processes are its panes' (counted there, not again).
    group: bool,
}

impl Remains {
    /// A tab cgroup at `dir` (its processes go to `home` at exit).
    pub fn at(dir: PathBuf, home: PathBuf, freezer: Option<(PathBuf, PathBuf)>) -> Remains {
        Remains {
            dir,
            home,
            freezer,
            group: false,
        }
    }

    /// The cgroups inside this one (a tab's panes'), with their freezer counterparts.
    fn children(&self) -> Vec<Remains> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        dir.flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| {
                let freezer = self
                    .freezer
                    .as_ref()
                    .map(|(f, fhome)| (f.join(e.file_name()), fhome.clone()));
                Remains::at(e.path(), self.home.clone(), freezer)
            })
            .collect()
    }

    /// Removes the cgroup if it is empty; true when it is gone.
    pub fn try_remove(&self) -> bool {
        if super::remove_dir(&self.dir).is_err() {
            return false;
        }
        if let Some((f, _)) = &self.freezer {
            let _ = super::remove_dir(f);
        }
        true
    }

    /// Processes left and their working set (0 when unreadable; 0 for a tab's cgroup of
    /// panes, whose panes' cgroups count theirs).
    pub fn usage(&self) -> (usize, u64) {
        if self.group {
            return (0, 0);
        }
        let mut buf = String::new();
        let n = read_into(&self.dir.join("cgroup.procs"), &mut buf)
            .map(|_| stat::pids(&buf).len())
            .unwrap_or(0);
        let bytes = read_number(&self.dir.join("memory.usage_in_bytes"), &mut buf)
            .or_else(|| read_number(&self.dir.join("memory.current"), &mut buf))
            .unwrap_or(0);
        (n, bytes)
    }

    /// Moves every process out to memmux's own cgroup, then removes the cgroup (the cgroups
    /// inside it first: a tab's panes').
    pub fn evict_and_remove(&self) -> Result<(), String> {
        for child in self.children() {
            child.evict_and_remove()?;
        }
        let mut buf = String::new();
        if let Some((f, _)) = &self.freezer {
            let _ = std::fs::write(f.join("freezer.state"), "THAWED");
        }
        let _ = std::fs::write(self.dir.join("cgroup.freeze"), "0");
        for round in 0..10 {
            match read_into(&self.dir.join("cgroup.procs"), &mut buf) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(format!("cannot read {}: {e}", self.dir.display())),
            }
            let pids = stat::pids(&buf);
            for p in &pids {
                let _ = std::fs::write(self.home.join("cgroup.procs"), p.to_string());
                if let Some((_, fhome)) = &self.freezer {
                    let _ = std::fs::write(fhome.join("cgroup.procs"), p.to_string());
                }
            }
            if self.try_remove() {
                return Ok(());
            }
            // A process forked while being moved: another round. 10 rounds and still
            // busy means something keeps forking faster than it can be moved.
            if round == 9 {
                break;
            }
        }
        Err(format!(
            "cannot remove {}: processes keep appearing in it",
            self.dir.display()
        ))
    }
}

/// A v2 hierarchy rooted at `base` (a temporary directory): the fake tree the unit tests of
/// tab, sample and oom_watch build.
#[cfg(test)]
pub(crate) fn fake_v2_hierarchy(base: &Path) -> Hierarchy {
    Hierarchy {
        version: Version::V2,
        base: base.to_path_buf(),
        home: base.join("memmux-1"),
        freezer: None,
        made: Vec::new(),
    }
}

/// Writes each `(file, content)` of `files` into `dir`: a cgroup's files as the kernel
/// would show them.
#[cfg(test)]
pub(crate) fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        if let Err(e) = std::fs::write(dir.join(name), content) {
            panic!("writing {name} in {}: {e}", dir.display());
        }
    }
}

/// A tab cgroup `name` in a fake v2 tree in a new temporary directory (kept alive by the
/// `TempDir` returned), with `files` written into it.
#[cfg(test)]
pub(crate) fn fake_tab_cgroup(
    name: &str,
    files: &[(&str, &str)],
) -> (tempfile::TempDir, TabCgroup) {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("temporary directory: {e}"),
    };
    let cg = match TabCgroup::create(&fake_v2_hierarchy(tmp.path()), name) {
        Ok(cg) => cg,
        Err(e) => panic!("fake cgroup {name}: {e}"),
    };
    write_files(cg.dir(), files);
    (tmp, cg)
}

#[cfg(test)]
mod tests {
    //! A v2 tab cgroup in a fake tree: the files memmux writes, the figures it reads, and a
    //! cgroup removed under its feet.

    use super::*;

    fn hierarchy(base: &Path) -> Hierarchy {
        fake_v2_hierarchy(base)
    }

    #[test]
    fn v2_limit_freeze_and_figures() {
        let tmp = tempfile::tempdir().unwrap();
        let cg = TabCgroup::create(&hierarchy(tmp.path()), "tab-1-1").unwrap();
        let d = tmp.path().join("tab-1-1");
        cg.set_limit(Some(100 << 20), 0.9).unwrap();
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read("memory.max"), (100u64 << 20).to_string());
        let high = ((100u64 << 20) as f64 * 0.9) as u64;
        assert_eq!(read("memory.high"), high.to_string());
        assert_eq!(cg.limit(), Some(100 << 20));
        cg.set_limit(None, 0.9).unwrap();
        assert_eq!(
            (read("memory.max"), read("memory.high")),
            ("max".into(), "max".into())
        );
        assert_eq!(cg.freeze(true).unwrap(), FreezeMethod::CgroupV2);
        assert_eq!(read("cgroup.freeze"), "1");
        assert!(cg.frozen().is_some());
        cg.freeze(false).unwrap();
        assert_eq!(read("cgroup.freeze"), "0");

        write_files(
            &d,
            &[
                ("memory.current", "10485760\n"),
                (
                    "memory.stat",
                    "anon 6291456\nfile 4194304\nkernel 262144\nsock 0\nshmem 1048576\ninactive_file 2097152\n",
                ),
                ("memory.peak", "20971520\n"),
                ("memory.events", "low 0\nhigh 4\nmax 1\noom 1\noom_kill 1\n"),
                (
                    "memory.pressure",
                    "some avg10=2.50 avg60=0 avg300=0 total=9\n",
                ),
                ("cgroup.procs", "42\n43\n"),
            ],
        );
        let r = cg.read(&mut String::new()).unwrap();
        assert_eq!(r.pids, vec![42, 43]);
        let f = r.figures;
        assert_eq!(f.working_set, 10485760 - 2097152);
        assert_eq!(
            (f.anon, f.file, f.shmem),
            (Some(6291456), Some(3145728), Some(1048576))
        );
        assert_eq!(
            (f.peak, f.oom_kills, f.pressure),
            (Some(20971520), 1, Some(2.5))
        );

        // Removed under memmux's feet: NotFound, not a panic; the drop copes too. (Here the
        // cgroup's files were never opened: an unlinked plain file stays readable, where
        // cgroupfs answers ENODEV; tests/cgroup_v1.rs removes a real one.)
        let cg2 = TabCgroup::create(&hierarchy(tmp.path()), "tab-1-3").unwrap();
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(tmp.path().join("tab-1-3")).unwrap();
        let e = cg2.read(&mut String::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(cg.set_limit(Some(64 << 20), 0.9).is_err());
        drop(cg);
        drop(cg2);
    }

    /// A tab of two panes on v2: the tab's cgroup enables memory for its children and holds
    /// no process, each pane is a cgroup inside it with a limit of its own, the tab's limit
    /// is written to the tab's; names are unique paths under the base; dropping a pane
    /// removes its cgroup, and the tab's goes with the last reference to it (a pane left
    /// behind keeps it on the left-behind list until the pane's is removed).
    #[test]
    fn v2_panes_nest_in_their_tab() {
        let tmp = tempfile::tempdir().unwrap();
        let h = hierarchy(tmp.path());
        let tab = std::sync::Arc::new(TabCgroup::create_group(&h, "tab-1-7").unwrap());
        let td = tmp.path().join("tab-1-7");
        let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read(&td, "cgroup.subtree_control"), "+memory");
        let a = TabCgroup::create_pane(&tab, "pane-1").unwrap();
        let b = TabCgroup::create_pane(&tab, "pane-2").unwrap();
        assert_eq!(a.name(), "tab-1-7/pane-1");
        assert_eq!(b.dir(), td.join("pane-2"));
        assert!(std::sync::Arc::ptr_eq(a.parent().unwrap(), &tab));
        tab.set_limit(Some(256 << 20), 0.9).unwrap();
        a.set_limit(Some(64 << 20), 0.5).unwrap();
        assert_eq!(read(&td, "memory.max"), (256u64 << 20).to_string());
        assert_eq!(
            read(&td.join("pane-1"), "memory.max"),
            (64u64 << 20).to_string()
        );
        assert_eq!(
            read(&td.join("pane-1"), "memory.high"),
            (32u64 << 20).to_string()
        );
        assert!(!td.join("pane-2").join("memory.max").exists());
        // Programs join the pane's cgroup, never the tab's.
        a.add(4242).unwrap();
        assert_eq!(read(&td.join("pane-1"), "cgroup.procs"), "4242");
        assert!(!td.join("cgroup.procs").exists());

        // The fake tree's directories hold plain files, which cgroupfs would not: empty
        // them so that rmdir stands for the kernel's removal of an empty cgroup.
        let empty = |d: &Path| {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                if e.file_type().unwrap().is_file() {
                    std::fs::remove_file(e.path()).unwrap();
                }
            }
        };
        empty(&td.join("pane-2"));
        drop(b);
        assert!(
            !td.join("pane-2").exists(),
            "a closed pane's cgroup is removed"
        );
        empty(&td);
        // Pane 1 still holds "processes" (its files): left behind, and the tab's cgroup with
        // it, on the list in that order (the pane's removed first).
        drop(tab);
        assert!(td.exists(), "the tab's cgroup lives while a pane's does");
        drop(a);
        assert!(td.join("pane-1").exists());
        empty(&td.join("pane-1"));
        // The list is the process's (other tests' cgroups may be on it): look at the tree.
        super::super::left_behind();
        assert!(!td.exists(), "the tab's cgroup removed once its panes' are");
    }

    #[test]
    fn a_cgroup_that_cannot_be_made_says_why() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("gone");
        let e = TabCgroup::create(&hierarchy(&missing), "tab-1-2").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
