//! The app's side of the memory sampler: which tabs and panes it samples (the roster),
//! and each sample taken into the tabs' figures, the panel's views, parking and alerts.

use super::{App, memory};
use crate::ui;

/// 500 ms: how often the parking pass runs while a hidden tab waits to be quiet for long
/// enough (2 s), so it is parked within half a second of that rather than at the next
/// snapshot that runs the pass (up to a chart column later once every tab is quiet: the
/// bench's 8 new empty tabs, measured 4 s after the last, were left unparked now and then).
const PARK_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// What of the tabs' rows in the panel can change at a quiet snapshot, which brings no tab's
/// figures: the tabs showing a growth rate (it decays as their flat time grows) and the
/// first chart column at which any one-line row's highest column may leave the window
/// ([`crate::memory::summary::MemView::moves_from`]). At 1,000 quiet tabs the passes over
/// every tab at each column (the rates, the rows that move) were most of the UI's CPU for
/// a quiet snapshot (`perf`).
#[derive(Clone, Debug, Default)]
pub(super) struct PanelWatch {
    growth: std::collections::HashSet<u64>,
    moves_from: Option<u64>,
}

impl App {
    /// Samples kept per tab: `history` at one per `sample-interval`.
    pub(super) fn history_capacity(&self) -> usize {
        let every = self.config.sample_interval.as_secs_f64().max(0.05);
        (self.config.history.as_secs_f64() / every).ceil().max(1.0) as usize
    }

    /// Tells the sampler which tabs exist (numbers, titles, pids, accounts).
    pub fn sync_roster(&self) {
        let Some(sampler) = &self.sampler else { return };
        // One entry per pane: each pane is a session with its own process tree (and cgroup);
        // `take_snapshot` sums a tab's panes.
        let roster = (0..self.state.tabs.len())
            .flat_map(|i| self.roster_entries(i))
            .collect();
        sampler.set_roster(roster);
    }

    /// Tells the sampler of the tab at index `i`, just opened after the others: O(1) where
    /// [`App::sync_roster`] is O(tabs). Rebuilding the whole roster (every tab's label) for
    /// each new tab made opening N tabs O(N²) on the UI thread.
    pub(super) fn roster_add(&self, i: usize) {
        if let Some(sampler) = &self.sampler {
            sampler.add_to_roster(self.roster_entries(i));
        }
    }

    /// The sampler's entries for the panes of the tab at index `i`.
    fn roster_entries(&self, i: usize) -> Vec<crate::memory::sampler::RosterEntry> {
        let Some(t) = self.state.tabs.get(i) else {
            return Vec::new();
        };
        let title = t.label();
        t.panes
            .iter()
            .map(|p| {
                let s = &p.session;
                let v = s.shared.sampler_view();
                crate::memory::sampler::RosterEntry {
                    id: s.id,
                    number: i + 1,
                    title: title.clone(),
                    pane: t.pane_number(s.id).unwrap_or(1),
                    pid: s.pid().filter(|_| s.is_running()),
                    account: v.account,
                    history_rows: v.history_rows,
                    history_bytes: v.history_bytes,
                    activity: v.activity,
                    cgroup: s.cgroup.clone(),
                }
            })
            .collect()
    }

    /// Parks the hidden tabs quiet for long enough (session::park); while one waits, runs
    /// again [`PARK_RETRY`] later on the app's timer.
    pub(super) fn park_pass(&mut self, now: std::time::Instant) {
        let focused = self.state.focused().map(|t| t.id);
        self.park_focus = Some(focused);
        let pass = crate::session::park::park_idle(
            self.state
                .tabs
                .iter()
                .filter(|t| Some(t.id) != focused)
                .flat_map(|t| t.panes.iter().map(|p| &*p.session.shared)),
        );
        self.park_waiting = pass.waiting > 0;
        self.park_retry = self.park_waiting.then(|| now + PARK_RETRY);
    }

    /// What a quiet snapshot looks at of the tabs' rows in the panel (see [`PanelWatch`]),
    /// made from every tab at a snapshot with figures and when a row may have moved; `None`
    /// with charts drawn (a few tabs: each is looked at).
    fn panel_watch(&mut self, charts: bool) -> Option<PanelWatch> {
        if charts {
            self.panel_watch = None;
            return None;
        }
        if let Some(w) = self.panel_watch.take() {
            return Some(w);
        }
        let mut watch = PanelWatch::default();
        for t in &self.state.tabs {
            let m = &t.mem;
            if !m.view.growth.is_empty() || m.view.alarm == Some(ui::memory::Alarm::Growing) {
                watch.growth.insert(t.id);
            }
            let drawn = t.panes.len() >= 2;
            let panes = m.panes.iter().filter_map(|p| p.view.moves_from(drawn));
            let from = m.view.moves_from(false).into_iter().chain(panes).min();
            watch.moves_from = match (watch.moves_from, from) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Some(watch)
    }

    /// Takes in a memory sample.
    pub(super) fn take_snapshot(&mut self, snap: &crate::memory::sampler::Snapshot) {
        // Titles and numbers are only for the CSV log: sent again once a sample while it is
        // written (they may lag a second there). Otherwise only a program's end changes
        // what is sampled (tabs opened, closed or restarted tell the sampler themselves):
        // rebuilding 1,000 tabs' entries, labels included, at every sample was most of an
        // idle memmux's CPU with 1,000 tabs.
        if self.sampler.as_ref().is_some_and(|s| s.logs()) || self.roster_stale {
            self.roster_stale = false;
            self.sync_roster();
        }
        // Hidden tabs quiet for a while give their screen back (session::park). A quiet
        // round's snapshot skips the pass when the focus stayed and the last pass left no
        // hidden tab waiting to be quiet long enough: the pass over 1,000 tabs' sessions was
        // a quarter of the UI's idle CPU (`perf`). (Skipping whenever the focus stayed left
        // 8 new empty tabs unparked: 100 KiB each instead of 40, bench/compare.py memory.)
        let focused = self.state.focused().map(|t| t.id);
        if !snap.quiet || self.park_focus != Some(focused) || self.park_waiting {
            self.park_pass(std::time::Instant::now());
        }
        // Only a visible change draws a frame: an idle memmux with the panel shown stays idle
        // once the charts have filled.
        // A quiet round's snapshot: no tab's figures, the same tabs as the last full round.
        let quiet = snap.quiet && snap.tabs.is_empty();
        if !quiet {
            self.panel_watch = None;
        }
        let mut panel_changed = false;
        let mut bar_changed = false;
        let width = self.body.width + self.panel_width();
        let visible = ui::panel_visible(width, &self.state, &self.config)
            && ui::panel_fits(width, self.config.panel_width);
        // With the panel hidden, the status line carries the figures (a pass over every tab
        // for the biggest: only then).
        let figures = (!visible).then(|| ui::status::memory_figures(&self.state));
        let oom: Vec<String> = snap
            .tabs
            .iter()
            .filter_map(|f| memory::oom_message(&self.state, f))
            .collect();
        bar_changed |= !oom.is_empty();
        let cols = ui::memory::chart_cols(self.config.panel_width);
        let tab_figures = crate::state::pane_memory::tab_figures(&mut self.state, &snap.tabs);
        // Each pane's chart line, for the panes just measured.
        for f in &snap.tabs {
            let Some(i) = self.state.tab_of(f.id) else {
                continue;
            };
            if let Some(m) = self.state.tabs[i]
                .mem
                .panes
                .iter_mut()
                .find(|m| m.id == f.id)
            {
                let view = ui::memory::refresh_after(&m.view, &m.history, cols, &self.config);
                panel_changed |= view != m.view;
                m.view = view;
            }
        }
        let mut sampled = std::collections::HashSet::with_capacity(tab_figures.len());
        for fig in tab_figures {
            let fig = &fig;
            sampled.insert(fig.id);
            if let Some(i) = self.state.index_of(fig.id) {
                let tab = &mut self.state.tabs[i];
                tab.mem.history.push_with(fig.sample, fig.detail.parts());
                let biggest = fig.biggest.clone();
                panel_changed |= ui::memory::biggest_text(tab.mem.biggest.as_ref())
                    != ui::memory::biggest_text(biggest.as_ref());
                tab.mem.biggest = biggest;
                panel_changed |= fig.detail != tab.mem.detail;
                bar_changed |= (fig.detail.frozen, fig.detail.oom_kills)
                    != (tab.mem.detail.frozen, tab.mem.detail.oom_kills);
                // The panel keeps naming the last program the kernel killed in the tab.
                let victim = fig
                    .detail
                    .oom_victim
                    .clone()
                    .or_else(|| tab.mem.detail.oom_victim.take());
                tab.mem.detail = fig.detail.clone();
                tab.mem.detail.oom_victim = victim;
                let view =
                    ui::memory::refresh_after(&tab.mem.view, &tab.mem.history, cols, &self.config);
                bar_changed |= view.alarm != tab.mem.view.alarm;
                panel_changed |= view != tab.mem.view;
                tab.mem.view = view;
            }
        }
        // Tabs whose figures did not change were left out of the sample (the charts carry
        // their last figure). One that showed a rate or a leak mark gets its last figure
        // again, so the rate decays as the flat time grows, as it did when every quiet tab
        // was sampled per column.
        let rows = self.panel.map_or(0, |p| usize::from(p.height));
        let charts = 3 * self.state.tabs.len() <= rows + 1;
        let mut watch = self.panel_watch(charts);
        let growth = watch.as_ref().map(|w| &w.growth);
        for tab in self.state.tabs.iter_mut() {
            if growth.is_some_and(|g| g.is_empty()) {
                break;
            }
            if growth.is_some_and(|g| !g.contains(&tab.id)) {
                continue;
            }
            let m = &mut tab.mem;
            let shows_growth =
                !m.view.growth.is_empty() || m.view.alarm == Some(ui::memory::Alarm::Growing);
            if !shows_growth || sampled.contains(&tab.id) {
                continue;
            }
            if let Some(latest) = m.history.latest().filter(|l| l.unix_ms < snap.unix_ms) {
                m.history.push(crate::memory::history::Sample {
                    unix_ms: snap.unix_ms,
                    ..latest
                });
                let view = ui::memory::refresh_after(&m.view, &m.history, cols, &self.config);
                bar_changed |= view.alarm != m.view.alarm;
                panel_changed |= view != m.view;
                m.view = view;
            }
        }
        // A new chart column: the charts move on by themselves (carried figures); only a
        // chart that is not yet full, or not flat, looks different. Where the panel draws no
        // chart, a one-line row per tab (more tabs than a third of its height), a tab shows
        // its last figure and a glyph on the scale of every tab's highest column: only a
        // highest column leaving the window changes that. The chart lines of a tab's panes
        // (2 panes or more) are always drawn. At 1,000 tabs the frame each column drew for
        // charts still filling (the first 3 minutes) was an empty diff over 1,000 tabs'
        // layout, about 1 ms of the UI's CPU.
        let column = ui::memory::column(snap.unix_ms);
        let before = ui::memory::column(self.state.totals.unix_ms);
        // Only from the first column at which a row may move (at 1,000 quiet tabs, a pass
        // over every tab per column found none).
        let may_move = watch
            .as_ref()
            .is_none_or(|w| w.moves_from.is_some_and(|c| column >= c));
        if column != before && may_move {
            // Looked at: the watch is made again from every tab.
            watch = None;
            panel_changed |= self.state.tabs.iter().any(|t| {
                t.mem.view.moves(before, column, charts)
                    || (t.mem.panes.iter())
                        .any(|p| p.view.moves(before, column, t.panes.len() >= 2))
            });
        }
        for text in oom {
            self.state.warn_all(text);
        }
        for n in &snap.notices {
            self.state.warn_all(n.clone());
            bar_changed = true;
        }
        match &snap.log_state {
            Some(Err(why)) => {
                self.state.warn_all(format!(
                    "memory log stopped: {why} (resumes when it can write)"
                ));
                bar_changed = true;
            }
            Some(Ok(())) => {
                self.state.say_all("memory log resumed");
                bar_changed = true;
            }
            None => {}
        }
        self.enforce_limits(snap);
        let mut totals = crate::ui::memory::Totals::from(snap);
        // A tab's pressure comes with its figures: a quiet snapshot has none.
        totals.tab_pressure = if quiet {
            std::mem::take(&mut self.state.totals.tab_pressure)
        } else {
            ui::memory::tab_pressures(&self.state)
        };
        self.panel_watch = watch;
        let footer_changed =
            ui::memory::footer_text(&totals) != ui::memory::footer_text(&self.state.totals);
        self.state.totals = totals;
        // The tabs' part of the panel is drawn again (`ui::panel_key`) when a tab's figures
        // came or a row moved; a footer figure alone redraws the footer.
        if !quiet || panel_changed {
            self.state.panel_seq += 1;
        }
        let status_changed = figures.is_some_and(|f| f != ui::status::memory_figures(&self.state));
        if bar_changed || status_changed {
            self.redraw();
        } else if visible && (panel_changed || footer_changed) {
            self.panel_change.tabs |= panel_changed;
            self.panel_change.footer |= footer_changed;
        }
        // Every tab's latest figure, not the snapshot's: a snapshot carries only the figures
        // that changed (`Pacer::keep_changed`), and `ls` summed a quiet 50 MiB tab away. A
        // quiet snapshot changes none.
        if !quiet || self.tabs_memory.is_none() {
            self.tabs_memory = Some(
                self.state
                    .tabs
                    .iter()
                    .filter_map(|t| t.mem.history.latest().map(|s| s.tree_bytes))
                    .sum(),
            );
        }
        let memory = self.tabs_memory.unwrap_or(0) + snap.self_rss.unwrap_or(0);
        // What `ls` and `C-b s` show changed: sent (the names hashed in place first; copying
        // them at each column was a quarter of a quiet snapshot's CPU, `perf`).
        let status = status_key(&self.state, memory);
        if self.status_sent != Some(status) {
            self.status_sent = Some(status);
            crate::server::child::publish_status(
                self.state.tabs.len() as u32,
                memory,
                self.state.tabs.iter().map(|t| t.label()),
            );
        }
    }
}

/// Sums up what the session tells the server of itself: its memory, its tab count and the
/// names it sends (the first tabs').
fn status_key(state: &crate::state::State, memory: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (memory, state.tabs.len()).hash(&mut h);
    for tab in state
        .tabs
        .iter()
        .take(crate::server::protocol::MAX_TAB_NAMES)
    {
        tab.label_str().hash(&mut h);
    }
    h.finish()
}
