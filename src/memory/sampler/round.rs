//! One sampling round: each due tab's figures from its cgroup or its /proc tree, and the system's.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::pacer::unix_ms;
use super::{Detail, RosterEntry, Snapshot, System, TabFigures};
use crate::memory::alloc::{self};
use crate::memory::cgroup::TabCgroup;
use crate::memory::cgroup::sample::CgroupSampler;
use crate::memory::history::Sample;
use crate::memory::procs::Sampler;

/// CPU time the calling thread has used (user + system); also what the tests and benches
/// time the sampler with.
pub fn thread_cpu() -> Duration {
    crate::sys::proc::thread_cpu()
}

/// Samples the tabs of `roster` marked in `due` (every tab: `&[true; n]`): from the tab's
/// cgroup when it has one that its program joined, else from its /proc tree (PSS sum).
pub fn sample(
    sampler: &mut Sampler,
    cgroups: &mut CgroupSampler,
    roster: &[RosterEntry],
    due: &[bool],
) -> Snapshot {
    sample_changed(sampler, cgroups, roster, due, |_| None)
}

/// As [`sample`], but leaves out a due tab whose figures would be those of `delivered(id)`
/// (the last the UI had) again: its cgroup's sample is carried unread
/// ([`CgroupSampler::carries`]) and its heap and scrollback figures did not move. Building
/// and comparing 1,000 such figures per chart column was most of the sampler's idle CPU.
pub fn sample_changed(
    sampler: &mut Sampler,
    cgroups: &mut CgroupSampler,
    roster: &[RosterEntry],
    due: &[bool],
    delivered: impl Fn(u64) -> Option<Sample>,
) -> Snapshot {
    let cpu0 = thread_cpu();
    let ids: Vec<u64> = roster.iter().map(|r| r.id).collect();
    cgroups.retain(&ids);
    // Once: a quiet round that fell through to this one compared the base already.
    cgroups.start_round_once(
        roster
            .iter()
            .find_map(|r| r.cgroup.as_ref().and_then(|c| c.base_dir())),
    );
    let now = unix_ms();
    // Cgroup tabs first: a tab whose cgroup fails falls back to its tree in the same sample.
    let mut from_cgroup: Vec<Option<TabFigures>> = Vec::with_capacity(roster.len());
    let mut notes: Vec<Option<String>> = vec![None; roster.len()];
    let mut due = due.to_vec();
    due.resize(roster.len(), false);
    // Whether each due tab printed nothing since it was last marked quiet (see
    // [`CgroupSampler::silent`]): the output count first, then the mark.
    let quiet: Vec<bool> = roster
        .iter()
        .zip(&due)
        .map(|(r, d)| {
            let output = r.activity.output();
            *d && r.cgroup.is_some() && cgroups.silent(r.id, r.activity.is_quiet(), output)
        })
        .collect();
    balance(cgroups, roster, &due, &quiet);
    for (i, r) in roster.iter().enumerate() {
        if let (Some(cg), true) = (&r.cgroup, due[i]) {
            let same = |s: Sample| {
                s.heap_bytes == alloc::live_bytes(r.account).max(0) as u64
                    && s.scrollback_rows == r.history_rows.load(Ordering::Acquire) as u64
                    && s.scrollback_bytes == r.history_bytes.load(Ordering::Acquire) as u64
            };
            if cgroups.carries(r.id, cg, quiet[i]) && delivered(r.id).is_some_and(same) {
                due[i] = false;
            }
        }
    }
    let due = &due[..];
    for (i, r) in roster.iter().enumerate() {
        let due_here = due[i];
        let figures = match (&r.cgroup, due_here) {
            (Some(cg), true) => match cg.joined() {
                Ok(true) => match cgroups.read(r.id, cg, quiet[i]) {
                    Ok(c) => Some(cgroup_figures(r, cg, c, now)),
                    Err(e) => {
                        let text = if e.kind() == std::io::ErrorKind::NotFound {
                            format!("cgroup {} was removed; measured by PSS", cg.name())
                        } else {
                            format!("cannot read cgroup {} ({e}); measured by PSS", cg.name())
                        };
                        crate::memory::cgroup::notice_once(format!("tab {}: {text}", r.number));
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
        .zip(due)
        .map(|((r, c), d)| match (c, r.cgroup.is_some() && !d) {
            // Measured by its cgroup, or left out unchanged: no tree to follow.
            (Some(_), _) | (None, true) => 0,
            (None, false) => r.pid.unwrap_or(0),
        })
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
                source: crate::memory::cgroup::FALLBACK_SOURCE,
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
    cgroups.close_round();
    let mut snap = totals(sampler, now);
    snap.tabs = tabs;
    snap.cost = thread_cpu().saturating_sub(cpu0);
    snap
}

/// When the base moved this round and a due tab's sample could be carried: looks for the
/// tabs that moved ([`CgroupSampler::balance`]), over every tab whose program joined its
/// cgroup, those read this round anyway first, reading no more of the others than there
/// are due tabs that could be carried (each would read its usage without the books). A
/// round none of whose due tabs could be carried leaves the books to the next that needs
/// them. When the base is still or every tab quiet, draws the books up first when they want
/// it ([`CgroupSampler::draw_up_in_one_sweep`]); when the base is still, measures its own
/// kernel memory once after a move drew them up ([`CgroupSampler::measure_own_kernel`]).
pub fn balance(cgroups: &mut CgroupSampler, roster: &[RosterEntry], due: &[bool], quiet: &[bool]) {
    let joined = |flags: Vec<bool>| {
        roster.iter().zip(flags).filter_map(|(r, flag)| {
            let cg = r.cgroup.as_deref()?;
            (cg.joined() == Ok(true)).then_some((r.id, cg, flag))
        })
    };
    // Every tab quiet, the base moves only by charge stocks draining: rarely during a sweep.
    if cgroups.base_still() || (!quiet.is_empty() && quiet.iter().all(|q| *q)) {
        cgroups.draw_up_in_one_sweep(joined(vec![false; roster.len()]));
    }
    if cgroups.base_still() {
        if cgroups.wants_own_kernel() {
            cgroups.measure_own_kernel(joined(vec![false; roster.len()]));
        }
        return;
    }
    let carries = |i: usize| due[i] && quiet[i] && cgroups.may_carry(roster[i].id, true);
    let budget = (0..roster.len()).filter(|i| carries(*i)).count();
    if budget == 0 {
        return;
    }
    let flagged: Vec<bool> = (0..roster.len()).map(|i| due[i] && !carries(i)).collect();
    cgroups.balance(joined(flagged), budget);
}

/// Marks due, in `due` (the pacer's), the tabs marked quiet whose processes were last read
/// while they printed: their first quiet read comes at the next round, with the others,
/// rather than at their next chart column (0-5 s later). 1,000 tabs opened in a burst
/// settled 10-12 s after the last one opened, a full read each spread over three columns.
pub fn with_unsettled(due: &mut [bool], roster: &[RosterEntry], cgroups: &CgroupSampler) {
    if !cgroups.any_unsettled() {
        return;
    }
    for (d, r) in due.iter_mut().zip(roster) {
        if !*d && r.cgroup.is_some() && r.activity.is_quiet() && cgroups.unsettled(r.id) {
            *d = true;
        }
    }
}

/// A snapshot of memmux's own figures and the machine's, without tabs: what a quiet round
/// (`sampler::quiet`) hands the UI. The machine's figures come with every snapshot: a
/// round that left every tab out used to give none, and the panel's footer then read
/// "system ?".
pub fn totals(sampler: &mut Sampler, unix_ms: u64) -> Snapshot {
    let cpu0 = thread_cpu();
    let mut snap = Snapshot {
        unix_ms,
        tabs: Vec::new(),
        self_rss: sampler.own_rss(),
        heap_total: alloc::total_live(),
        heap_memmux: alloc::live_bytes(alloc::MEMMUX),
        leaked: crate::memory::leaks(),
        heap_known: alloc::is_active(),
        cost: Duration::ZERO,
        system: system(),
        left_behind: crate::memory::cgroup::left_behind(),
        notices: crate::memory::cgroup::take_notices(),
        log_state: None,
        quiet: false,
    };
    snap.cost = thread_cpu().saturating_sub(cpu0);
    snap
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
    c: crate::memory::cgroup::sample::CgroupSample,
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

/// `/proc/meminfo` and `/proc/pressure/memory` (through files kept open: `system`).
fn system() -> System {
    super::system::read()
}
