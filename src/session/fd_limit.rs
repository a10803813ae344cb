//! File descriptors: a tab costs 3 (the pty, the event loop's copy of it, a pidfd), so the
//! common soft limit of 1,024 holds about 320 tabs. memmux raises its soft limit up to the
//! hard one as tabs need it, and when even the hard limit is too low, says so in the tab that
//! did not fit. Programs started in tabs inherit the raised soft limit.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sys;

/// Descriptors per tab, held for its life.
const PER_TAB: u64 = 3;
/// memmux's own: the two memory samplers' caches of open `/proc/PID/statm` files (64 each at
/// most), the tab cgroups' kept-open files (`memory::cgroup::HOT_MAX`, 120), and 64 for the
/// terminal, the event loop's epoll and eventfd, logs, other /proc reads, and the 2 more a
/// tab holds while it starts (the pty's slave, the child's pipe): 312, within the 320 of
/// issue 18's bound (3 per tab + 320).
const OWN: u64 = 2 * crate::memory::procs::MAX_OPEN_STATM as u64
    + crate::memory::cgroup::tab::HOT_MAX as u64
    + 64;

/// Descriptors held for a moment while tabs start, beyond [`OWN`] and [`PER_TAB`], and the
/// reserve that keeps a sampler's passing read from taking the last one a new tab needs:
/// when each tab had its own cgroup-join thread reading /proc and its cgroup for 300 ms or
/// more, a burst (1,000 keys written at once, on a loaded machine) had 300 of them alive at
/// once, and raising the soft limit only when the tabs' own need passed it let them take
/// the last descriptors: 540 of 1,000 tabs failed with EMFILE at the doubled limit of 2,048.
/// One join thread holds a few descriptors at a time now; the reserve stays.
const HEADROOM: u64 = 1024;

/// Tabs holding descriptors.
static TABS: AtomicUsize = AtomicUsize::new(0);

/// A tab's share of the descriptor limit, for as long as it lives.
#[derive(Debug)]
pub struct TabFds(());

impl Drop for TabFds {
    fn drop(&mut self) {
        TABS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts one more tab, first raising the soft descriptor limit (up to the hard one) if it
/// would not hold it. Never refuses: when even the hard limit is too low, the call that runs
/// out fails with EMFILE, and `explain` says why.
pub fn reserve_tab() -> TabFds {
    let tabs = TABS.fetch_add(1, Ordering::AcqRel) as u64 + 1;
    let need = OWN + PER_TAB * tabs;
    let lim = limits();
    if need + HEADROOM > lim.soft && lim.soft < lim.hard {
        // Doubling: a few calls for a thousand tabs, not one per tab.
        let soft = (need + HEADROOM)
            .max(lim.soft.saturating_mul(2))
            .min(lim.hard);
        // On failure the call that runs out fails with EMFILE, and `explain` says why.
        let _ = sys::rlimit::set_open_files_soft(soft);
    }
    // The samplers' kept-open files are part of `OWN`: without room for them, each
    // read opens and closes its file, and the tabs get the descriptors.
    crate::memory::fd_budget::set_scarce(need > lim.hard);
    TabFds(())
}

/// The soft and hard descriptor limits, `u64::MAX` when unlimited (`RLIM_INFINITY`).
struct Limits {
    soft: u64,
    hard: u64,
}

fn limits() -> Limits {
    let l = sys::rlimit::open_files();
    Limits {
        soft: l.soft.unwrap_or(u64::MAX),
        hard: l.hard.unwrap_or(u64::MAX),
    }
}

/// Adds the descriptor limit to an error that ran out of descriptors, with what to do.
pub fn explain(err: anyhow::Error) -> anyhow::Error {
    let emfile = err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.raw_os_error() == Some(libc::EMFILE))
    }) || format!("{err:#}").contains("os error 24");
    if !emfile {
        return err;
    }
    let lim = limits();
    let tabs = TABS.load(Ordering::Acquire);
    let what = if lim.soft >= lim.hard {
        format!(
            "the hard limit is too low for {tabs} tabs ({} descriptors, `ulimit -Hn`; a tab \
             needs {PER_TAB}): raise it (`nofile` in /etc/security/limits.conf) and start memmux \
             again",
            lim.hard
        )
    } else {
        format!(
            "{tabs} tabs with a limit of {} descriptors (hard limit {})",
            lim.soft, lim.hard
        )
    };
    err.context(format!("no file descriptor left for a new tab: {what}"))
}
