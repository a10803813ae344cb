//! One memory cgroup per tab: what the tab's programs charged, counted once, a ceiling, an
//! out-of-memory kill that takes one program, and a freezer.
//!
//! The mechanism is chosen once at start ([`detect`]): cgroup v2 with the memory controller
//! delegated to memmux, else cgroup v1 with a writable memory controller, else none (the
//! sampler then falls back to PSS sums from /proc). [`init`] publishes the choice; the pty
//! spawner asks for a [`Placement`] per tab and joins the program to it right after it starts
//! ([`join`]); the sampler reads [`tab::TabCgroup::read`]; closing a tab drops its
//! [`tab::TabCgroup`], which removes the cgroup or, while processes are left in it, keeps it
//! on the [`left_behind`] list until they are gone or memmux exits ([`release_at_exit`]).

pub mod books;
pub mod detect;
pub mod join;
pub mod kept_usage;
pub mod oom_victim;
pub mod oom_watch;
pub mod sample;
pub mod stat;
pub mod tab;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub use tab::TabCgroup;

/// Which cgroup interface a hierarchy speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    /// The `memory_source` name of the CSV and the panel.
    pub fn source(self) -> &'static str {
        match self {
            Version::V1 => "cgroup-v1",
            Version::V2 => "cgroup-v2",
        }
    }
}

/// Where memmux makes its tabs' cgroups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    pub version: Version,
    /// The directory holding the tabs' cgroups (`tab-<pid>-<n>`). v1: `memmux-<pid>` inside
    /// memmux's own memory cgroup; v2: the delegated root.
    pub base: PathBuf,
    /// Where memmux itself sits, and where processes left behind by closed tabs go when
    /// memmux exits.
    pub home: PathBuf,
    /// v1 only: the freezer hierarchy's counterpart of `base` and `home`, when mounted and
    /// writable.
    pub freezer: Option<(PathBuf, PathBuf)>,
    /// Directories memmux made for itself (v1 `base`, v2 its own leaf), removed at exit,
    /// deepest first.
    pub made: Vec<PathBuf>,
}

/// The mechanism in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Cgroup(Hierarchy),
    /// No cgroups: the reason, as the panel and `--print-config=effective` give it.
    None(String),
}

impl Mechanism {
    /// One line: `cgroup-v1 at /sys/fs/cgroup/memory/...` or `none: <why>`.
    pub fn describe(&self) -> String {
        match self {
            Mechanism::Cgroup(h) => {
                let freezer = match (&h.version, &h.freezer) {
                    (Version::V1, None) => ", no freezer (SIGSTOP)",
                    _ => "",
                };
                format!("{} at {}{freezer}", h.version.source(), h.base.display())
            }
            Mechanism::None(why) => format!("none ({why}); figures are PSS sums"),
        }
    }

    /// `cgroup-v1`, `cgroup-v2` or `pss`.
    pub fn source(&self) -> &'static str {
        match self {
            Mechanism::Cgroup(h) => h.version.source(),
            Mechanism::None(_) => "pss",
        }
    }
}

/// The settings of the cgroup backend that come from the config file.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// `cgroups = false` turns the backend off (the PSS fallback is used).
    pub enabled: bool,
    /// A delegated cgroup v2 directory the user named (`cgroup-root`).
    pub root: Option<PathBuf>,
    /// `memory.high` as a fraction of `memory.max` on v2 (throttling before the kill).
    pub high_fraction: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            root: None,
            high_fraction: 0.9,
        }
    }
}

static MECHANISM: OnceLock<Mechanism> = OnceLock::new();
static HIGH_FRACTION: Mutex<f64> = Mutex::new(0.9);
/// Numbers the tabs' cgroups (names never reused within one memmux).
static NEXT: AtomicU64 = AtomicU64::new(1);
/// Numbers the panes' cgroups, apart from the tabs': the first tab is still `tab-<pid>-1`.
static NEXT_PANE: AtomicU64 = AtomicU64::new(1);

/// Publishes the mechanism chosen at start. Later calls are ignored (the choice is made once).
pub fn init(mechanism: Mechanism, settings: &Settings) {
    set_high_fraction(settings.high_fraction);
    let _ = MECHANISM.set(mechanism);
}

/// The mechanism in force; `None` before [`init`] (library use, unit tests).
pub fn mechanism() -> Option<&'static Mechanism> {
    MECHANISM.get()
}

/// The `memory_source` of tabs without a cgroup.
pub const FALLBACK_SOURCE: &str = "pss";

pub fn set_high_fraction(f: f64) {
    *HIGH_FRACTION.lock().unwrap_or_else(|p| p.into_inner()) = f.clamp(0.5, 1.0);
}

pub fn high_fraction() -> f64 {
    *HIGH_FRACTION.lock().unwrap_or_else(|p| p.into_inner())
}

/// The environment variable that marks every process a tab started (see [`join`]).
pub const TOKEN_ENV: &str = "MEMMUX_TAB_CGROUP";

/// Makes the cgroup of a new tab, which its panes' cgroups go into (see [`placing_in`]).
/// `None` without cgroups, or when it cannot be made (the reason is queued once for the
/// status line: see [`take_notices`]; the tab's panes then get cgroups of their own at the
/// top, each with its own limit, as before panes had a tab).
pub fn new_tab_group() -> Option<Arc<TabCgroup>> {
    let Some(Mechanism::Cgroup(h)) = mechanism() else {
        return None;
    };
    let _memmux = super::alloc::enter(super::alloc::MEMMUX);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    match TabCgroup::create_group(h, &format!("tab-{}-{n}", std::process::id())) {
        Ok(cg) => Some(Arc::new(cg)),
        Err(e) => {
            notice_once(format!(
                "no memory cgroup for new tabs ({e}); their panes are limited one by one"
            ));
            None
        }
    }
}

thread_local! {
    /// The tab whose pane is being started on this thread (see [`placing_in`]).
    static PLACING_IN: std::cell::RefCell<Option<Arc<TabCgroup>>> =
        const { std::cell::RefCell::new(None) };
}

/// Until the guard drops, programs started on this thread ([`Placement::new`]) get a pane
/// cgroup inside `tab`. The spawn path (`session::pty`) knows nothing of tabs or panes, and
/// stays so: the app, which does, says where the next pane goes around `Session::start`.
pub fn placing_in(tab: Option<Arc<TabCgroup>>) -> PlacingGuard {
    let before = PLACING_IN.with(|p| p.replace(tab));
    PlacingGuard { before }
}

/// Restores the placement before [`placing_in`].
pub struct PlacingGuard {
    before: Option<Arc<TabCgroup>>,
}

impl Drop for PlacingGuard {
    fn drop(&mut self) {
        let before = self.before.take();
        PLACING_IN.with(|p| *p.borrow_mut() = before);
    }
}

/// A pane's (or a tab's) cgroup, made before its program starts; [`Placement::join`] puts
/// the program in.
pub struct Placement {
    cgroup: Arc<TabCgroup>,
}

impl Placement {
    /// Makes a cgroup for a new pane: inside its tab's cgroup when [`placing_in`] named one,
    /// else one of its own at the top (`tab-<pid>-<n>`). `None` without cgroups, or when it
    /// cannot be made (the reason is queued once for the status line: see [`take_notices`]).
    pub fn new() -> Option<Placement> {
        let Some(Mechanism::Cgroup(h)) = mechanism() else {
            return None;
        };
        // memmux's bookkeeping, not the tab's: the cgroup outlives the tab's account (the
        // sampler holds it a moment longer), which would read as a leak of the closed tab.
        let _memmux = super::alloc::enter(super::alloc::MEMMUX);
        let tab = PLACING_IN.with(|p| p.borrow().clone());
        let made = match &tab {
            Some(tab) => {
                let m = NEXT_PANE.fetch_add(1, Ordering::Relaxed);
                TabCgroup::create_pane(tab, &format!("pane-{m}"))
            }
            None => {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                TabCgroup::create(h, &format!("tab-{}-{n}", std::process::id()))
            }
        };
        match made {
            Ok(cgroup) => Some(Placement {
                cgroup: Arc::new(cgroup),
            }),
            Err(e) => {
                notice_once(format!(
                    "no memory cgroup for new tabs ({e}); they are measured by PSS"
                ));
                None
            }
        }
    }

    /// The value of [`TOKEN_ENV`] for the program: the cgroup's name, unique per memmux.
    pub fn token(&self) -> &str {
        self.cgroup.name()
    }

    /// Joins the started program (off the calling thread: see [`join::start`]) and returns
    /// the tab's cgroup.
    pub fn join(self, pid: u32) -> Arc<TabCgroup> {
        let _memmux = super::alloc::enter(super::alloc::MEMMUX);
        join::start(Arc::clone(&self.cgroup), pid);
        self.cgroup
    }
}

static NOTICES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Queues a message for the status line, once per distinct text.
pub fn notice_once(text: String) {
    let mut said = SAID.lock().unwrap_or_else(|p| p.into_inner());
    if said.contains(&text) || said.len() >= 64 {
        return;
    }
    said.push(text.clone());
    NOTICES.lock().unwrap_or_else(|p| p.into_inner()).push(text);
}

/// Messages queued since the last call.
pub fn take_notices() -> Vec<String> {
    std::mem::take(&mut *NOTICES.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Cgroups of closed tabs that still hold processes (a daemon that ignored SIGHUP).
static LEFT: Mutex<Vec<tab::Remains>> = Mutex::new(Vec::new());

pub(crate) fn leave_behind(r: tab::Remains) {
    LEFT.lock().unwrap_or_else(|p| p.into_inner()).push(r);
}

/// What closed tabs left behind: removes the cgroups that have emptied, and returns the
/// processes and working-set bytes of the others.
pub fn left_behind() -> (usize, u64) {
    let mut left = LEFT.lock().unwrap_or_else(|p| p.into_inner());
    left.retain(|r| !r.try_remove());
    left.iter().fold((0, 0), |(n, b), r| {
        let (pn, pb) = r.usage();
        (n + pn, b + pb)
    })
}

/// At exit: moves what closed tabs left behind into memmux's own cgroup, and removes every
/// cgroup memmux made. Never leaves an empty cgroup behind; says what it could not remove.
pub fn release_at_exit() -> Vec<String> {
    let mut problems = Vec::new();
    let left = std::mem::take(&mut *LEFT.lock().unwrap_or_else(|p| p.into_inner()));
    for r in left {
        if let Err(e) = r.evict_and_remove() {
            problems.push(e);
        }
    }
    if let Some(Mechanism::Cgroup(h)) = mechanism() {
        // Tabs whose cgroup is still referenced (the sampler's last roster) are not on the
        // left-behind list: every `tab-<pid>-N` memmux made goes the same way.
        for r in tab_dirs(h) {
            if let Err(e) = r.evict_and_remove() {
                problems.push(e);
            }
        }
        problems.extend(release_hierarchy(h));
    }
    problems
}

/// Every tab cgroup of this memmux under `h.base`.
fn tab_dirs(h: &Hierarchy) -> Vec<tab::Remains> {
    let prefix = format!("tab-{}-", std::process::id());
    let Ok(dir) = std::fs::read_dir(&h.base) else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| {
            let freezer = h
                .freezer
                .as_ref()
                .map(|(fbase, fhome)| (fbase.join(e.file_name()), fhome.clone()));
            tab::Remains::at(e.path(), h.home.clone(), freezer)
        })
        .collect()
}

/// Removes the directories memmux made for itself (after moving memmux back home on v2).
pub fn release_hierarchy(h: &Hierarchy) -> Vec<String> {
    let mut problems = Vec::new();
    if h.version == Version::V2 && h.made.contains(&h.home) {
        // memmux's leaf can go only once memmux is out of it, and memmux may go back to
        // the root only once the root no longer enables memory for its children (no
        // internal processes): so, the tabs being gone, disable it, then move every
        // process of the leaf (memmux and what closed tabs left behind) up.
        let _ = std::fs::write(h.base.join("cgroup.subtree_control"), "-memory");
        let procs = std::fs::read_to_string(h.home.join("cgroup.procs")).unwrap_or_default();
        for pid in stat::pids(&procs) {
            if let Err(e) = std::fs::write(h.base.join("cgroup.procs"), pid.to_string()) {
                problems.push(format!(
                    "cannot move {pid} out of {}: {e}",
                    h.home.display()
                ));
            }
        }
    }
    let mut dirs: Vec<&PathBuf> = h.made.iter().collect();
    if let Some((f, _)) = &h.freezer {
        dirs.push(f);
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        if let Err(e) = remove_dir(d) {
            problems.push(format!("cannot remove {}: {e}", d.display()));
        }
    }
    problems
}

/// `rmdir` of a cgroup; one that is already gone counts as removed.
pub fn remove_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}
