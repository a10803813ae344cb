//! The memory actions: a tab's ceiling, freezing, and memmux's own enforcement of the
//! ceiling for tabs without a cgroup.

use super::*;
use crate::config::OverLimit;
use crate::memory::sampler::{FALLBACK_LIMITS, FROZEN_BY_SIGNAL, Snapshot};
use crate::util::human_bytes;

/// How long a tab without a cgroup stays above its limit (seen in two samples at least this
/// far apart) before memmux acts: one sample over is often a short peak the program gives
/// back. A quiet tab is sampled every 5 s, so action comes 3 to 5 s after the crossing.
const OVER_FOR: Duration = Duration::from_secs(3);
/// SIGTERM, then this long before SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Per tab (without a cgroup): samples over its limit in a row, and a pending SIGKILL.
#[derive(Default)]
pub(super) struct Enforcer {
    /// Since when each tab has been over its limit; `None` once acted on.
    over: Vec<(SessionId, Option<Instant>)>,
    /// Likewise for tabs of several panes (by the tab's id) over the tab's own limit.
    over_tabs: Vec<(SessionId, Option<Instant>)>,
    kill_at: Vec<(u32, Instant)>,
}

impl App {
    /// Gives a new tab the configured default ceiling: its cgroup's, which caps all its
    /// panes together (or memmux's enforcement on the sum without cgroups).
    pub(super) fn apply_default_limit(&mut self, tab: &mut Tab) {
        let Some(limit) = self.config.tab_memory.limit else {
            return;
        };
        match &tab.mem.limit.group {
            Some(g) => {
                if let Err(e) = g.set_limit(Some(limit), self.config.tab_memory.high_fraction) {
                    self.state
                        .warn(format!("cannot set tab-memory-limit on the new tab: {e}"));
                }
            }
            None => match &tab.session().cgroup {
                // No tab cgroup but a cgroup of the pane's own (the tab's could not be made).
                Some(cg) => {
                    if let Err(e) = cg.set_limit(Some(limit), self.config.tab_memory.high_fraction)
                    {
                        self.state
                            .warn(format!("cannot set tab-memory-limit on the new tab: {e}"));
                    }
                }
                None => tab.mem.limit.fallback = Some(limit),
            },
        }
        tab.mem.detail.limit = Some(limit);
    }

    /// `set-memory-limit [-p] SIZE|none`: the focused tab's limit, or with `pane` the focused
    /// pane's. Asks first when the limit is below what the tab (pane) uses now.
    pub(super) fn ask_memory_limit(&mut self, limit: Option<u64>, pane: bool) {
        let Some(tab) = self.state.focused() else {
            return;
        };
        let used = if pane {
            let id = tab.session().id;
            match tab.mem.panes.iter().find(|m| m.id == id) {
                Some(m) => m.latest.sample.tree_bytes,
                // One pane: the tab's figure is the pane's.
                None => tab.mem.history.latest().map_or(0, |s| s.tree_bytes),
            }
        } else {
            tab.mem.history.latest().map_or(0, |s| s.tree_bytes)
        };
        let (tab_id, pane_id) = (tab.id, tab.session().id);
        match limit {
            Some(l) if l < used && pane => {
                self.state.view.mode = Mode::Confirm(Confirm::PaneMemoryLimit(pane_id, l, used));
            }
            Some(l) if l < used => {
                self.state.view.mode = Mode::Confirm(Confirm::MemoryLimit(tab_id, l, used));
            }
            _ if pane => self.apply_pane_memory_limit(pane_id, limit),
            _ => {
                let i = self.state.view.focus;
                self.apply_memory_limit(i, limit);
            }
        }
    }

    /// Sets tab `i`'s own limit: its cgroup's, which caps its panes together; without one,
    /// enforced by memmux on the sum of its panes.
    pub(super) fn apply_memory_limit(&mut self, i: usize, limit: Option<u64>) {
        let high = self.config.tab_memory.high_fraction;
        let Some(tab) = self.state.tabs.get_mut(i) else {
            return;
        };
        let what = limit.map_or("no limit".to_string(), human_bytes);
        let (result, how) = match (&tab.mem.limit.group, tab.panes.len()) {
            (Some(g), _) => (g.set_limit(limit, high).map_err(limit_error), ""),
            // A tab whose cgroup could not be made, of one pane with a cgroup of its own.
            (None, 1)
                if tab
                    .session()
                    .cgroup
                    .as_ref()
                    .is_some_and(|c| c.joined().is_ok()) =>
            {
                let r = match &tab.session().cgroup {
                    Some(cg) => cg.set_limit(limit, high).map_err(limit_error),
                    None => Ok(()),
                };
                (r, "")
            }
            (None, _) => {
                tab.mem.limit.fallback = limit;
                (Ok(()), " (enforced by memmux: no cgroup)")
            }
        };
        tab.mem.detail.limit = tab.shown_limit(None).or(limit);
        match result {
            Ok(()) => self
                .state
                .say(format!("tab {}: memory limit {what}{how}", i + 1)),
            Err(e) => self.state.warn(format!(
                "tab {}: cannot set the memory limit {what}: {e}",
                i + 1
            )),
        }
        self.limit_changed();
    }

    /// `set-memory-limit -p`: pane `id`'s own limit, inside its tab's (the pane's cgroup;
    /// without one, enforced by memmux on the pane's processes).
    pub(super) fn apply_pane_memory_limit(&mut self, id: SessionId, limit: Option<u64>) {
        let high = self.config.tab_memory.high_fraction;
        let Some(i) = self.state.tab_of(id) else {
            return;
        };
        let tab = &mut self.state.tabs[i];
        let Some(pane) = tab.pane_by_id(id) else {
            return;
        };
        let what = limit.map_or("no limit".to_string(), human_bytes);
        let (result, how) = match &pane.session.cgroup {
            Some(cg) if cg.joined().is_ok() => (cg.set_limit(limit, high).map_err(limit_error), ""),
            _ => {
                set_fallback_limit(id, limit);
                (Ok(()), " (enforced by memmux: no cgroup)")
            }
        };
        if let Some(m) = tab.mem.panes.iter_mut().find(|m| m.id == id) {
            m.latest.detail.limit = limit;
        }
        if tab.panes.len() == 1 {
            tab.mem.detail.limit = tab.shown_limit(limit);
        }
        let n = tab.pane_number(id).unwrap_or(1);
        match result {
            Ok(()) => self
                .state
                .say(format!("tab {}, pane {n}: memory limit {what}{how}", i + 1)),
            Err(e) => self.state.warn(format!(
                "tab {}, pane {n}: cannot set the memory limit {what}: {e}",
                i + 1
            )),
        }
        self.limit_changed();
    }

    fn limit_changed(&mut self) {
        self.state.panel_seq += 1;
        if let Some(s) = &self.sampler {
            s.rescan();
        }
    }

    /// Freezes (`on`) or thaws the focused tab.
    pub(super) fn freeze_focused(&mut self, on: bool) {
        let Some(tab) = self.state.focused_mut() else {
            return;
        };
        // Every pane of the tab: each is a session with its own processes (and cgroup).
        let mut result = Ok(());
        for pane in &tab.panes {
            let s = &pane.session;
            let id = s.id;
            let r = match &s.cgroup {
                Some(cg) if cg.joined().is_ok() => cg.freeze(on).map(|_| ()),
                _ => {
                    let pids = crate::session::process::session_members(s.pid().unwrap_or(0));
                    crate::memory::cgroup::tab::signal_all(&pids, on);
                    let mut f = FROZEN_BY_SIGNAL.lock().unwrap_or_else(|p| p.into_inner());
                    f.retain(|x| *x != id);
                    if on {
                        f.push(id);
                    }
                    Ok(())
                }
            };
            if result.is_ok() {
                result = r;
            }
        }
        tab.mem.detail.frozen = on;
        let n = self.state.view.focus + 1;
        match result {
            Ok(_) if on => self.state.say(format!(
                "tab {n} frozen: its programs are stopped until thawed"
            )),
            Ok(_) => self.state.say(format!("tab {n} thawed")),
            Err(e) => self.state.warn(format!("tab {n}: cannot freeze: {e}")),
        }
        self.state.panel_seq += 1;
        self.redraw_now();
    }

    /// Tabs and panes without a cgroup over their limit for [`OVER_FOR`]: warn, stop or kill
    /// the biggest process, as `over-limit-action` says. A pane's limit is checked against
    /// the pane's figure, a tab's against the sum of its panes'.
    pub(super) fn enforce_limits(&mut self, snap: &Snapshot) {
        let now = Instant::now();
        // Closed tabs leave nothing behind here.
        let state = &self.state;
        self.enforcer
            .over
            .retain(|(id, _)| state.tab_of(*id).is_some());
        self.enforcer
            .over_tabs
            .retain(|(id, _)| state.index_of(*id).is_some());
        FALLBACK_LIMITS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(id, _)| state.tab_of(*id).is_some());
        FROZEN_BY_SIGNAL
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|id| state.tab_of(*id).is_some());
        self.enforcer.kill_at.retain(|(pid, at)| {
            if *at <= now {
                // Gone already: nothing to kill.
                let _ = crate::sys::signal::kill(*pid, crate::sys::signal::Signal::KILL);
                false
            } else {
                true
            }
        });
        for fig in &snap.tabs {
            let d = &fig.detail;
            let Some(limit) = d.limit.filter(|_| d.cgroup.is_none()) else {
                continue;
            };
            let Some(i) = self.state.tab_of(fig.id) else {
                continue;
            };
            let tab = &self.state.tabs[i];
            let who = match tab.pane_number(fig.id) {
                Some(p) if tab.panes.len() > 1 => format!("tab {}, pane {p}", i + 1),
                _ => format!("tab {}", i + 1),
            };
            let over = &mut self.enforcer.over;
            let used = fig.sample.tree_bytes;
            if let Some(text) = over_limit(over, fig.id, used, limit, fig.biggest.as_ref(), now) {
                self.act_over_limit(&who, &text, limit, fig.biggest.as_ref(), now);
            }
        }
        // Tabs without a cgroup over their own limit, on the sum of their panes.
        for i in 0..self.state.tabs.len() {
            let tab = &self.state.tabs[i];
            let Some(limit) = tab.mem.limit.fallback else {
                continue;
            };
            let used = tab.mem.history.latest().map_or(0, |s| s.tree_bytes);
            let biggest = tab.mem.biggest.clone();
            let over = &mut self.enforcer.over_tabs;
            if let Some(text) = over_limit(over, tab.id, used, limit, biggest.as_ref(), now) {
                self.act_over_limit(
                    &format!("tab {}", i + 1),
                    &text,
                    limit,
                    biggest.as_ref(),
                    now,
                );
            }
        }
    }

    /// Warns, stops or kills `biggest` for `who` (`tab 2` or `tab 2, pane 3`), over `limit`.
    fn act_over_limit(
        &mut self,
        who: &str,
        used: &str,
        limit: u64,
        biggest: Option<&crate::memory::procs::ProcessInfo>,
        now: Instant,
    ) {
        let lim = human_bytes(limit);
        let Some(big) = biggest else { return };
        let (name, pid) = (&big.name, big.pid);
        match self.config.tab_memory.over_limit {
            OverLimit::Warn => self.state.warn_all(format!(
                "{who} uses {used}, over its limit of {lim} (≈, no cgroup)"
            )),
            OverLimit::Stop => {
                crate::memory::cgroup::tab::signal_all(&[pid], true);
                self.state.warn_all(format!(
                    "{who} over its limit of {lim}: stopped {name} (pid {pid}); thaw-tab resumes it"
                ));
            }
            OverLimit::Kill => {
                // Gone already: the grace period's SIGKILL finds nothing either.
                let _ = crate::sys::signal::kill(pid, crate::sys::signal::Signal::TERM);
                self.enforcer.kill_at.push((pid, now + KILL_GRACE));
                self.state.warn_all(format!(
                    "{who} over its limit of {lim}: sent SIGTERM to {name} (pid {pid})"
                ));
            }
        }
    }
}

/// Whether `id` has been over `limit` for [`OVER_FOR`] (seen in two samples at least this far
/// apart) and is to be acted on now: the figure as text. Acted on, the clock starts again, so
/// one that stays over is acted on again (a stopped or killed program's successor) no more
/// often than [`OVER_FOR`].
fn over_limit(
    over: &mut Vec<(SessionId, Option<Instant>)>,
    id: SessionId,
    used: u64,
    limit: u64,
    biggest: Option<&crate::memory::procs::ProcessInfo>,
    now: Instant,
) -> Option<String> {
    let i = match over.iter().position(|(k, _)| *k == id) {
        Some(i) => i,
        None => {
            over.push((id, None));
            over.len() - 1
        }
    };
    if used <= limit {
        over[i].1 = None;
        return None;
    }
    let since = *over[i].1.get_or_insert(now);
    if now.saturating_duration_since(since) < OVER_FOR || biggest.is_none() {
        return None;
    }
    over[i].1 = Some(now);
    Some(human_bytes(used))
}

/// What the kernel's refusal of a limit means.
fn limit_error(e: std::io::Error) -> String {
    match e.raw_os_error() {
        // v1 refuses a limit it cannot reclaim down to.
        Some(libc::EBUSY) => "the kernel could not reclaim it down to that (EBUSY)".to_string(),
        _ => e.to_string(),
    }
}

fn set_fallback_limit(id: SessionId, limit: Option<u64>) {
    let mut l = FALLBACK_LIMITS.lock().unwrap_or_else(|p| p.into_inner());
    l.retain(|(i, _)| *i != id);
    if let Some(limit) = limit {
        l.push((id, limit));
    }
}

/// The status line's words for an out-of-memory kill the sampler saw in a pane's cgroup
/// (`fig`: a pane's figures): `tab 2, pane 3: out of memory: the kernel killed memhog
/// (pid 42) at the tab's limit of 128 MiB`. The pane is named when the tab has several.
pub(super) fn oom_message(
    state: &State,
    fig: &crate::memory::sampler::TabFigures,
) -> Option<String> {
    let (pid, name) = fig.detail.oom_victim.as_ref()?;
    let i = state.tab_of(fig.id)?;
    let tab = &state.tabs[i];
    let several = tab.panes.len() > 1;
    let who = match tab.pane_number(fig.id) {
        Some(p) if several => format!("tab {}, pane {p}", i + 1),
        _ => format!("tab {}", i + 1),
    };
    let h = human_bytes;
    // Which limit the kernel acted on is in the kernel log only (`oom_memcg`); with both set
    // the message gives both.
    let limits = match (fig.detail.limit, tab.mem.limit.limit()) {
        (Some(p), Some(t)) if p != t || several => {
            format!(" (limits: pane {}, tab {})", h(p), h(t))
        }
        (Some(p), None) if several => format!(" at the pane's limit of {}", h(p)),
        (None, Some(t)) if several => format!(" at the tab's limit of {}", h(t)),
        (Some(l), _) | (None, Some(l)) => format!(" at its limit of {}", h(l)),
        (None, None) => String::new(),
    };
    Some(format!(
        "{who}: out of memory: the kernel killed {name} (pid {pid}){limits}"
    ))
}
