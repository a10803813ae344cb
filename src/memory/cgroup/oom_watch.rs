//! Noticing an out-of-memory kill in a tab at once, not at the next sample (1-5 s later).
//!
//! One thread and one descriptor for all tabs, whatever their number:
//! - v2: one inotify descriptor with a watch on each tab's `memory.events` (the kernel
//!   reports a change of that file as a modification; a watch is not a descriptor).
//! - v1: one eventfd, registered through each tab's `cgroup.event_control` on its
//!   `memory.oom_control`. The kernel keeps only the eventfd (the `oom_control` descriptor is
//!   closed once registered), and one eventfd may be registered with many cgroups: it counts
//!   the OOM events of every tab. An eventfd per tab would cost a descriptor per tab for no
//!   gain: which tab it was is read from the tabs' `oom_kill` counters (about 2 us a tab).
//!
//! v1 signals when a cgroup goes out of memory, before the kernel picks and kills a program;
//! the counter moves a moment later, so the thread reads the counters again a few times.
//! v2 signals `memory.events` changes, also for `high` and `max` events (a throttled tab),
//! at most every 10 ms per cgroup (the kernel's rate limit): each costs one read of the file.
//!
//! On a kill the thread records the tab's counter ([`super::TabCgroup::oom_noticed`]) and
//! calls the waker (the sampler's): the sampler reads that tab at once and names the program.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use super::{TabCgroup, Version};

/// What the thread calls when a tab's OOM-kill counter moved.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

static WAKER: Mutex<Option<Waker>> = Mutex::new(None);

/// The watcher of this process: `None` when it could not be set up (the reason was said
/// once; kills are then noticed at the next sample).
static WATCHER: OnceLock<Option<&'static Watcher>> = OnceLock::new();

/// Sets what is called when an OOM kill is noticed (the sampler's poke).
pub fn set_waker(w: Waker) {
    *WAKER.lock().unwrap_or_else(|p| p.into_inner()) = Some(w);
}

fn wake() {
    let w = WAKER.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(w) = w {
        w();
    }
}

struct Entry {
    /// v2: the inotify watch descriptor; v1: unused (-1).
    wd: i32,
    cg: Weak<TabCgroup>,
}

/// The one descriptor of every tab: v1's eventfd, v2's inotify.
enum Source {
    V1(crate::sys::poll::EventFd),
    V2(crate::sys::inotify::Inotify),
}

/// The thread's side: the descriptor, the tabs it watches, what it calls on a kill.
pub struct Watcher {
    version: Version,
    source: Source,
    tabs: Mutex<Vec<Entry>>,
    on_kill: Waker,
}

/// 5 ms, 40 times: how long the v1 thread keeps looking for the counter to move after an
/// out-of-memory event (the kill follows within microseconds on an idle machine; a
/// tab that stays out of memory without a kill, `oom_kill_disable`, gives up after 200 ms).
const V1_RECHECK: Duration = Duration::from_millis(5);
const V1_RECHECKS: usize = 40;

/// Watches `cg` for OOM kills. Starts the thread with the first tab. A failure is said once
/// (kills are then noticed at the next sample).
pub fn watch(cg: &Arc<TabCgroup>) {
    let watcher = WATCHER.get_or_init(|| match Watcher::start(cg.version, Arc::new(wake)) {
        Ok(w) => Some(w),
        Err(e) => {
            super::notice_once(format!(
                "out-of-memory kills are noticed at the next sample only ({e})"
            ));
            None
        }
    });
    let Some(w) = watcher else { return };
    if let Err(e) = w.watch(cg) {
        // Said once, not per tab (a full inotify watch table refuses every tab alike).
        super::notice_once(format!(
            "out-of-memory kills in some tabs are noticed at the next sample only ({e})"
        ));
    }
}

impl Watcher {
    /// Starts a watcher of `version` cgroups (memmux has one: see [`watch`]; tests make
    /// their own) that calls `on_kill` when a watched tab's OOM-kill counter moves.
    pub fn start(version: Version, on_kill: Waker) -> io::Result<&'static Watcher> {
        // Blocking reads: the thread waits in `read`.
        let source = match version {
            Version::V1 => Source::V1(crate::sys::poll::EventFd::new(false)?),
            Version::V2 => Source::V2(crate::sys::inotify::Inotify::new()?),
        };
        // The watcher lives as long as memmux: leaked once, so the thread holds a plain
        // reference.
        let w: &'static Watcher = Box::leak(Box::new(Watcher {
            version,
            source,
            tabs: Mutex::new(Vec::new()),
            on_kill,
        }));
        std::thread::Builder::new()
            .name("oom-watch".into())
            .spawn(move || w.run())?;
        Ok(w)
    }

    /// Watches `cg` (a cgroup of the watcher's version).
    pub fn watch(&self, cg: &Arc<TabCgroup>) -> io::Result<()> {
        if self.version != cg.version {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a cgroup of the other version",
            ));
        }
        let wd = self.add(cg)?;
        cg.set_oom_noticed(cg.read_oom_kills().unwrap_or(0));
        let mut tabs = self.tabs.lock().unwrap_or_else(|p| p.into_inner());
        // Tabs closed since: their entries go now (v2 also on IN_IGNORED).
        tabs.retain(|e| e.cg.strong_count() > 0);
        tabs.push(Entry {
            wd,
            cg: Arc::downgrade(cg),
        });
        Ok(())
    }

    /// Registers `cg`; returns its watch descriptor (v2) or -1 (v1).
    fn add(&self, cg: &TabCgroup) -> io::Result<i32> {
        match &self.source {
            Source::V2(inotify) => inotify.watch_modify(&cg.dir().join("memory.events")),
            Source::V1(eventfd) => {
                let control = std::fs::File::open(cg.dir().join("memory.oom_control"))?;
                let line = format!(
                    "{} {}",
                    std::os::fd::AsFd::as_fd(eventfd).as_raw_fd(),
                    control.as_raw_fd()
                );
                std::fs::write(cg.dir().join("cgroup.event_control"), line)?;
                Ok(-1)
            }
        }
    }

    fn run(&self) {
        let _memmux = crate::memory::alloc::enter(crate::memory::alloc::MEMMUX);
        loop {
            let read = match &self.source {
                Source::V2(inotify) => inotify.read().map(|changes| self.on_inotify(&changes)),
                Source::V1(eventfd) => eventfd.take().map(|_| self.on_oom_event()),
            };
            if let Err(e) = read {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                super::notice_once(format!(
                    "out-of-memory kills are noticed at the next sample only ({e})"
                ));
                return;
            }
        }
    }

    /// v2: the tabs whose `memory.events` changed.
    fn on_inotify(&self, events: &[crate::sys::inotify::Change]) {
        let gone: Vec<i32> = events
            .iter()
            .filter(|c| c.ignored)
            .map(|c| c.watch)
            .collect();
        let changed: Vec<i32> = events
            .iter()
            .filter(|c| !c.ignored)
            .map(|c| c.watch)
            .collect();
        let tabs: Vec<Arc<TabCgroup>> = {
            let mut tabs = self.tabs.lock().unwrap_or_else(|p| p.into_inner());
            tabs.retain(|e| !gone.contains(&e.wd) && e.cg.strong_count() > 0);
            tabs.iter()
                .filter(|e| changed.contains(&e.wd))
                .filter_map(|e| e.cg.upgrade())
                .collect()
        };
        if note_kills(&tabs) {
            (self.on_kill)();
        }
    }

    /// v1: some tab went out of memory; its counter moves once the kernel has killed.
    fn on_oom_event(&self) {
        for _ in 0..V1_RECHECKS {
            let tabs: Vec<Arc<TabCgroup>> = {
                let mut tabs = self.tabs.lock().unwrap_or_else(|p| p.into_inner());
                tabs.retain(|e| e.cg.strong_count() > 0);
                tabs.iter().filter_map(|e| e.cg.upgrade()).collect()
            };
            if note_kills(&tabs) {
                (self.on_kill)();
                return;
            }
            std::thread::sleep(V1_RECHECK);
        }
    }
}

/// Records the OOM-kill counters of `tabs`; true when one moved.
fn note_kills(tabs: &[Arc<TabCgroup>]) -> bool {
    let mut moved = false;
    for cg in tabs {
        if let Some(k) = cg.read_oom_kills() {
            if k > cg.oom_noticed() {
                cg.set_oom_noticed(k);
                moved = true;
            }
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    //! v2 against a fake tree (tmpfs reports writes as modifications, as cgroupfs does a
    //! change of `memory.events`); v1 is tested on the real controller in
    //! `tests/cgroup_oom_watch.rs`.

    use super::*;
    use crate::memory::cgroup::Hierarchy;
    use crate::memory::cgroup::tab::{fake_tab_cgroup, fake_v2_hierarchy};
    use std::sync::mpsc;

    #[test]
    fn v2_a_kill_wakes_at_once_and_other_events_do_not() {
        let quiet = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n";
        let (tmp, cg) = fake_tab_cgroup("tab-1-1", &[("memory.events", quiet)]);
        let cg = Arc::new(cg);
        let events = cg.dir().join("memory.events");
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let w = Watcher::start(
            Version::V2,
            Arc::new(move || {
                let _ = tx.lock().unwrap().send(());
            }),
        )
        .unwrap();
        w.watch(&cg).unwrap();
        assert_eq!(cg.oom_noticed(), 0);
        // A throttled tab (`high` moves) changes the file without a kill: no wake; the
        // kill after it wakes once. The watcher has no timer: a wake is the event's.
        std::fs::write(&events, "low 0\nhigh 7\nmax 0\noom 0\noom_kill 0\n").unwrap();
        std::fs::write(&events, "low 0\nhigh 7\nmax 1\noom 1\noom_kill 1\n").unwrap();
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the watcher woke on the kill");
        assert_eq!(cg.oom_noticed(), 1);
        // A v1 cgroup is refused by a v2 watcher.
        let v1 = Hierarchy {
            version: Version::V1,
            ..fake_v2_hierarchy(tmp.path())
        };
        let other = Arc::new(TabCgroup::create(&v1, "tab-1-2").unwrap());
        assert!(w.watch(&other).is_err());
        // A removed cgroup (IN_IGNORED) leaves the list; nothing else is woken.
        drop(cg);
        std::fs::remove_dir_all(tmp.path().join("tab-1-1")).unwrap();
        assert!(rx.try_recv().is_err());
    }
}
