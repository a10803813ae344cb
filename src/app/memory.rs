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
    kill_at: Vec<(u32, Instant)>,
}

impl App {
    /// Gives a new tab the configured default ceiling.
    pub(super) fn apply_default_limit(&mut self, session: &Session) {
        let Some(limit) = self.config.tab_memory.limit else {
            return;
        };
        match &session.cgroup {
            Some(cg) => {
                if let Err(e) = cg.set_limit(Some(limit), self.config.tab_memory.high_fraction) {
                    self.state
                        .warn(format!("cannot set tab-memory-limit on the new tab: {e}"));
                }
            }
            None => set_fallback_limit(session.id, Some(limit)),
        }
    }

    /// `set-memory-limit`: asks first when the limit is below what the tab uses now.
    pub(super) fn ask_memory_limit(&mut self, limit: Option<u64>) {
        let Some(tab) = self.state.focused() else {
            return;
        };
        let used = tab.mem.history.latest().map_or(0, |s| s.tree_bytes);
        match limit {
            Some(l) if l < used => {
                self.state.view.mode = Mode::Confirm(Confirm::MemoryLimit(tab.id, l, used));
            }
            _ => {
                let i = self.state.view.focus;
                self.apply_memory_limit(i, limit);
            }
        }
    }

    pub(super) fn apply_memory_limit(&mut self, i: usize, limit: Option<u64>) {
        let high = self.config.tab_memory.high_fraction;
        let Some(tab) = self.state.tabs.get_mut(i) else {
            return;
        };
        let what = limit.map_or("no limit".to_string(), human_bytes);
        let result = match &tab.session().cgroup {
            Some(cg) if cg.joined().is_ok() => cg.set_limit(limit, high).map_err(|e| {
                match e.raw_os_error() {
                    // v1 refuses a limit it cannot reclaim down to.
                    Some(libc::EBUSY) => {
                        "the kernel could not reclaim the tab down to it (EBUSY)".to_string()
                    }
                    _ => e.to_string(),
                }
            }),
            _ => {
                set_fallback_limit(tab.session().id, limit);
                Ok(())
            }
        };
        tab.mem.detail.limit = limit;
        match result {
            Ok(()) => {
                let how = match &tab.session().cgroup {
                    Some(cg) if cg.joined().is_ok() => "",
                    _ => " (enforced by memmux: no cgroup)",
                };
                // Each pane is a cgroup of its own for now: the limit is the focused pane's.
                let pane = if tab.panes.len() > 1 {
                    ", focused pane"
                } else {
                    ""
                };
                self.state
                    .say(format!("tab {}{pane}: memory limit {what}{how}", i + 1));
            }
            Err(e) => self.state.warn(format!(
                "tab {}: cannot set the memory limit {what}: {e}",
                i + 1
            )),
        }
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

    /// Tabs without a cgroup over their limit for [`OVER_FOR`] samples: warn, stop or kill
    /// the biggest process, as `over-limit-action` says.
    pub(super) fn enforce_limits(&mut self, snap: &Snapshot) {
        let action = self.config.tab_memory.over_limit;
        let now = Instant::now();
        // Closed tabs leave nothing behind here.
        let state = &self.state;
        self.enforcer
            .over
            .retain(|(id, _)| state.tab_of(*id).is_some());
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
                // SAFETY: kill(2) on a pid; harmless when it is gone.
                unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
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
            let over = fig.sample.tree_bytes > limit;
            let i = match self.enforcer.over.iter().position(|(id, _)| *id == fig.id) {
                Some(i) => i,
                None => {
                    self.enforcer.over.push((fig.id, None));
                    self.enforcer.over.len() - 1
                }
            };
            if !over {
                self.enforcer.over[i].1 = None;
                continue;
            }
            let since = *self.enforcer.over[i].1.get_or_insert(now);
            if now.saturating_duration_since(since) < OVER_FOR {
                continue;
            }
            // Acted on: the clock starts again, so a tab that stays over is acted on again
            // (a stopped or killed program's successor) no more often than OVER_FOR.
            self.enforcer.over[i].1 = Some(now);
            let n = self.state.tab_of(fig.id).map_or(0, |i| i + 1);
            let used = human_bytes(fig.sample.tree_bytes);
            let lim = human_bytes(limit);
            let Some(big) = &fig.biggest else { continue };
            let (name, pid) = (&big.name, big.pid);
            match action {
                OverLimit::Warn => self.state.warn(format!(
                    "tab {n} uses {used}, over its limit of {lim} (≈, no cgroup)"
                )),
                OverLimit::Stop => {
                    crate::memory::cgroup::tab::signal_all(&[pid], true);
                    self.state.warn(format!(
                        "tab {n} over its limit of {lim}: stopped {name} (pid {pid}); thaw-tab resumes it"
                    ));
                }
                OverLimit::Kill => {
                    // SAFETY: kill(2) on a pid of the tab.
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
                    self.enforcer.kill_at.push((pid, now + KILL_GRACE));
                    self.state.warn(format!(
                        "tab {n} over its limit of {lim}: sent SIGTERM to {name} (pid {pid})"
                    ));
                }
            }
        }
    }
}

fn set_fallback_limit(id: SessionId, limit: Option<u64>) {
    let mut l = FALLBACK_LIMITS.lock().unwrap_or_else(|p| p.into_inner());
    l.retain(|(i, _)| *i != id);
    if let Some(limit) = limit {
        l.push((id, limit));
    }
}
