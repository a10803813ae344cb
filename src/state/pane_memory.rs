//! A tab's memory per pane: the sampler measures each pane (each is a session with its own
//! processes and cgroup); a tab of several panes keeps each pane's figures and a short
//! history (the panel's line per pane), and its own figure is their sum.

use std::sync::Arc;

use super::{State, Tab};
use crate::memory::cgroup::TabCgroup;
use crate::memory::cgroup::stat::CgroupFigures;
use crate::memory::history::History;
use crate::memory::sampler::TabFigures;
use crate::memory::summary::MemView;
use crate::session::SessionId;

/// 240 samples: a pane's history, enough for the panel's chart line of a pane (36 columns of
/// 5 s at one sample a second is 180 samples). The tab keeps the whole `history` for the
/// sum; a single-pane tab keeps no pane history at all, so a tab costs what it did.
pub const PANE_HISTORY: usize = 240;

/// One pane's memory, kept while its tab has several panes.
pub struct PaneMemory {
    /// The pane's session.
    pub id: SessionId,
    /// The latest figures, as the sampler gave them (the pane's own limit included).
    pub latest: TabFigures,
    pub history: History,
    /// The chart line and figures, recomputed after each sample (by the app: the view is
    /// the panel's computation).
    pub view: MemView,
}

/// What a tab's memory is limited by, besides each pane's own ceiling.
#[derive(Default)]
pub struct TabLimit {
    /// The tab's cgroup, its panes' cgroups inside: its limit caps them together.
    pub group: Option<Arc<TabCgroup>>,
    /// Without a cgroup: the tab's limit, enforced by memmux on the sum of its panes.
    pub fallback: Option<u64>,
}

impl TabLimit {
    /// The tab's own limit (not its panes').
    pub fn limit(&self) -> Option<u64> {
        match &self.group {
            Some(g) => g.limit(),
            None => self.fallback,
        }
    }
}

impl Tab {
    /// Pane `id`'s number in the tab, 1-based, in the layout's order (left to right, top to
    /// bottom), as messages and the panel name it.
    pub fn pane_number(&self, id: SessionId) -> Option<usize> {
        self.layout
            .panes()
            .iter()
            .position(|p| *p == id)
            .map(|i| i + 1)
    }

    /// The tab's ceiling as shown: its own, else (one pane) its pane's.
    pub fn shown_limit(&self, pane_limit: Option<u64>) -> Option<u64> {
        self.mem
            .limit
            .limit()
            .or(pane_limit.filter(|_| self.panes.len() == 1))
    }
}

/// The snapshot's figures per tab, under the tab's id, once per snapshot in which any of its
/// panes was measured: a one-pane tab's are its pane's; a tab of several panes gets the sum
/// of its panes' latest figures, and each pane's figures go into its [`PaneMemory`] (whose
/// view the caller refreshes: the ids are returned beside).
pub fn tab_figures(state: &mut State, figs: &[TabFigures]) -> Vec<TabFigures> {
    let mut out = Vec::new();
    let mut touched: Vec<usize> = Vec::new();
    for fig in figs {
        let Some(i) = state.tab_of(fig.id) else {
            continue;
        };
        let tab = &mut state.tabs[i];
        if tab.panes.len() == 1 {
            tab.mem.panes.clear();
            let mut f = TabFigures {
                id: tab.id,
                ..fig.clone()
            };
            f.detail.limit = tab.shown_limit(fig.detail.limit);
            out.push(f);
            continue;
        }
        let panes = &tab.panes;
        tab.mem
            .panes
            .retain(|m| panes.iter().any(|p| p.session.id == m.id));
        match tab.mem.panes.iter_mut().find(|m| m.id == fig.id) {
            Some(m) => m.latest = fig.clone(),
            None => tab.mem.panes.push(PaneMemory {
                id: fig.id,
                latest: fig.clone(),
                history: History::new(PANE_HISTORY),
                view: MemView::default(),
            }),
        }
        if let Some(m) = tab.mem.panes.iter_mut().find(|m| m.id == fig.id) {
            m.history.push_with(fig.sample, fig.detail.parts());
        }
        if !touched.contains(&i) {
            touched.push(i);
        }
    }
    for i in touched {
        let tab = &state.tabs[i];
        let latest: Vec<TabFigures> = tab.mem.panes.iter().map(|m| m.latest.clone()).collect();
        if let Some(mut sum) = sum_figures(tab.id, tab.layout.focus(), &latest) {
            sum.detail.limit = tab.shown_limit(None);
            out.push(sum);
        }
    }
    out
}

/// The sum of panes' figures: bytes, processes and history added up, the cgroup breakdown
/// too (a part unknown in one pane is unknown for the tab; the peak is the sum of the
/// panes' peaks, an upper bound); the biggest process of all; the focused pane's source and
/// pressure.
pub fn sum_figures(id: SessionId, focus: SessionId, figs: &[TabFigures]) -> Option<TabFigures> {
    let first = figs.iter().find(|f| f.id == focus).or(figs.first())?;
    let mut sum = TabFigures {
        id,
        ..first.clone()
    };
    let s = &mut sum.sample;
    s.unix_ms = figs
        .iter()
        .map(|f| f.sample.unix_ms)
        .max()
        .unwrap_or(s.unix_ms);
    s.tree_bytes = figs.iter().map(|f| f.sample.tree_bytes).sum();
    s.heap_bytes = figs.iter().map(|f| f.sample.heap_bytes).sum();
    s.pss_bytes = figs
        .iter()
        .map(|f| f.sample.pss_bytes)
        .try_fold(0u64, |acc, p| p.map(|p| acc + p));
    s.processes = figs.iter().map(|f| f.sample.processes).sum();
    s.scrollback_rows = figs.iter().map(|f| f.sample.scrollback_rows).sum();
    s.scrollback_bytes = figs.iter().map(|f| f.sample.scrollback_bytes).sum();
    sum.biggest = figs
        .iter()
        .filter_map(|f| f.biggest.clone())
        .max_by_key(|b| b.rss_minus_shared);
    let d = &mut sum.detail;
    d.rss_minus_shared = figs.iter().map(|f| f.detail.rss_minus_shared).sum();
    d.oom_kills = figs.iter().map(|f| f.detail.oom_kills).sum();
    d.oom_victim = figs.iter().find_map(|f| f.detail.oom_victim.clone());
    d.frozen = figs.iter().any(|f| f.detail.frozen);
    if let Some(c) = &mut d.cgroup {
        let all = |part: fn(&CgroupFigures) -> Option<u64>| {
            figs.iter()
                .map(|f| f.detail.cgroup.as_ref().and_then(part))
                .try_fold(0u64, |acc, v| v.map(|v| acc + v))
        };
        c.working_set = figs
            .iter()
            .filter_map(|f| f.detail.cgroup.as_ref())
            .map(|c| c.working_set)
            .sum();
        c.usage = figs
            .iter()
            .filter_map(|f| f.detail.cgroup.as_ref())
            .map(|c| c.usage)
            .sum();
        c.peak = all(|c| c.peak);
        c.anon = all(|c| c.anon);
        c.file = all(|c| c.file);
        c.shmem = all(|c| c.shmem);
        c.kernel = all(|c| c.kernel);
        c.sock = all(|c| c.sock);
        c.oom_kills = d.oom_kills;
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::history::Sample;

    fn fig(id: u64, tree: u64, procs: u32) -> TabFigures {
        TabFigures {
            id,
            sample: Sample {
                unix_ms: id,
                tree_bytes: tree,
                heap_bytes: 10,
                pss_bytes: Some(tree),
                processes: procs,
                scrollback_rows: 1,
                scrollback_bytes: 2,
            },
            biggest: None,
            detail: Default::default(),
        }
    }

    #[test]
    fn a_tab_of_panes_is_the_sum_of_its_panes() {
        let sum = sum_figures(7, 2, &[fig(1, 100, 1), fig(2, 50, 3)]).unwrap();
        assert_eq!(sum.id, 7);
        assert_eq!(sum.sample.tree_bytes, 150);
        assert_eq!(sum.sample.pss_bytes, Some(150));
        assert_eq!(sum.sample.processes, 4);
        assert_eq!(sum.sample.heap_bytes, 20);
        assert_eq!(sum.sample.unix_ms, 2);
        // A pane whose PSS is not known leaves the sum unknown, not short.
        let mut b = fig(2, 50, 3);
        b.sample.pss_bytes = None;
        let sum = sum_figures(7, 2, &[fig(1, 100, 1), b]).unwrap();
        assert_eq!(sum.sample.pss_bytes, None);
        assert!(sum_figures(7, 2, &[]).is_none());
        // The cgroup breakdown adds up; a part one pane does not know stays unknown.
        let cg = |anon: u64, kernel: Option<u64>| CgroupFigures {
            working_set: anon,
            usage: anon + 1,
            anon: Some(anon),
            kernel,
            ..CgroupFigures::default()
        };
        let (mut a, mut b) = (fig(1, 100, 1), fig(2, 50, 3));
        a.detail.cgroup = Some(cg(100, Some(4)));
        b.detail.cgroup = Some(cg(50, None));
        let c = sum_figures(7, 2, &[a, b]).unwrap().detail.cgroup.unwrap();
        assert_eq!(
            (c.working_set, c.usage, c.anon, c.kernel),
            (150, 152, Some(150), None)
        );
    }
}
