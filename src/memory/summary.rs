//! The figures the memory panel and the tab bar show, as plain data: what the state keeps
//! between samples (computed in `ui::memory`, once per sample rather than per frame).

use super::sampler::Snapshot;

/// What the panel knows about memmux itself, from the last sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub self_rss: Option<u64>,
    pub heap_total: usize,
    pub heap_memmux: isize,
    pub leaked: (isize, usize),
    pub heap_known: bool,
    pub system: super::sampler::System,
    /// Processes closed tabs left in their cgroups, and their memory.
    pub left_behind: (usize, u64),
    /// v2: the tabs whose own memory pressure (`memory.pressure` `some avg10`, percent) is
    /// above zero, as (tab number, percent), highest first. Filled from every tab's last
    /// sample, not only those of this snapshot.
    pub tab_pressure: Vec<(usize, f32)>,
    /// When the last snapshot was taken, ms since the Unix epoch: the panel's clock. A
    /// chart reaches up to this instant's column (see [`MemView::tree_at`]).
    pub unix_ms: u64,
}

impl From<&Snapshot> for Totals {
    fn from(s: &Snapshot) -> Totals {
        Totals {
            self_rss: s.self_rss,
            heap_total: s.heap_total,
            heap_memmux: s.heap_memmux,
            leaked: s.leaked,
            heap_known: s.heap_known,
            system: s.system,
            left_behind: s.left_behind,
            tab_pressure: Vec::new(),
            unix_ms: s.unix_ms,
        }
    }
}

/// The tab's memory mark for the tab bar and the panel: above the warning threshold, or a
/// leak suspect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alarm {
    Above,
    Growing,
}

/// What the panel and the tab bar show of a tab, computed once per sample rather than per
/// frame: decoding an hour of history and fitting a line for every tab on every keystroke's
/// frame would be the most expensive part of the frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemView {
    /// Chart columns, newest first, for a chart `cols` wide.
    pub cols: usize,
    pub tree: Vec<u64>,
    /// The heap figure as shown (the latest sample's): part of the view so a new value
    /// redraws the panel.
    pub heap: u64,
    pub peak: u64,
    /// Bytes per minute over the leak window.
    /// The growth as shown: ` +1.2M/min`, or empty when it is below what is worth showing.
    pub growth: String,
    pub alarm: Option<Alarm>,
    /// The chart column (of the panel's fixed clock) of `tree[0]`, the latest sample's.
    pub newest_col: u64,
    /// The latest sample's figure: every column after `newest_col` shows it.
    pub last: u64,
}

impl MemView {
    /// The chart's columns, newest first, as of column `now_col`: the columns since the
    /// latest sample carry its figure. The sampler delivers a tab's figures only when they
    /// changed, so a quiet tab's chart moves on by itself rather than by a sample per tab
    /// per column (at 1,000 idle tabs that was most of memmux's idle CPU).
    pub fn tree_at(&self, now_col: u64) -> std::borrow::Cow<'_, [u64]> {
        if self.carried(now_col) == 0 {
            return std::borrow::Cow::Borrowed(&self.tree);
        }
        std::borrow::Cow::Owned(self.shown(now_col, self.cols).collect())
    }

    /// The highest of the first `cols` columns as of column `now_col`, without a copy.
    pub fn top_at(&self, now_col: u64, cols: usize) -> u64 {
        self.shown(now_col, cols).max().unwrap_or(0)
    }

    fn carried(&self, now_col: u64) -> usize {
        if self.tree.is_empty() {
            return 0;
        }
        let c = now_col.saturating_sub(self.newest_col);
        usize::try_from(c).unwrap_or(usize::MAX).min(self.cols)
    }

    fn shown(&self, now_col: u64, cols: usize) -> impl Iterator<Item = u64> + '_ {
        std::iter::repeat_n(self.last, self.carried(now_col))
            .chain(self.tree.iter().copied())
            .take(cols.min(self.cols.max(self.tree.len())))
    }

    /// Whether the chart looks the same one column later: full and flat at its last figure.
    pub fn still_under_carry(&self) -> bool {
        self.tree.is_empty() || self.tree.len() >= self.cols && self.flat()
    }

    /// Whether the chart looks different at column `now` than at column `before`: drawn
    /// (`drawn`), unless full and flat; as a one-line row's figure and glyph, only when its
    /// highest column (the panel's scale) changed.
    pub fn moves(&self, before: u64, now: u64, drawn: bool) -> bool {
        if drawn {
            !self.still_under_carry()
        } else {
            !self.flat() && self.top_at(now, usize::MAX) != self.top_at(before, usize::MAX)
        }
    }

    /// The first chart column from which [`MemView::moves`] may say so without a new
    /// sample (`None`: never). A drawn chart moves at every column until full and flat. A
    /// one-line row shows its highest column, which stays until the newest column holding
    /// it leaves the window (columns above the last figure; the columns carried since show
    /// the last figure).
    pub fn moves_from(&self, drawn: bool) -> Option<u64> {
        if drawn {
            return (!self.still_under_carry()).then_some(0);
        }
        let top = self.tree.iter().copied().max()?;
        if top <= self.last {
            return None;
        }
        // `top_at(now, usize::MAX)` shows this many columns: column `i` of `tree` is shown
        // while `now - newest_col + i` is below it.
        let window = self.cols.max(self.tree.len()) as u64;
        let newest_top = self.tree.iter().position(|v| *v == top)? as u64;
        Some(self.newest_col + window.saturating_sub(newest_top))
    }

    /// Whether every column shows the last figure: one column later such a chart is only
    /// longer (until full), and its highest column and its newest are the same.
    pub fn flat(&self) -> bool {
        self.tree.iter().all(|v| *v == self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-line row never moves before the column `moves_from` gives, nor at all when it
    /// gives none; and it does move there (the quiet snapshots that skip it until then miss
    /// nothing, and look at it in time).
    #[test]
    fn a_row_moves_from_the_column_its_highest_column_leaves() {
        let views = [
            // Flat, rising to its last figure, a startup peak, two peaks, a chart still filling.
            (vec![5, 5, 5, 5], 5, 4),
            (vec![5, 4, 3, 1], 5, 4),
            (vec![5, 5, 9, 5], 5, 4),
            (vec![5, 7, 9, 7, 5], 5, 6),
            (vec![5, 9], 5, 33),
        ];
        for (tree, last, cols) in views {
            let view = MemView {
                cols,
                tree: tree.clone(),
                last,
                newest_col: 100,
                ..MemView::default()
            };
            let from = view.moves_from(false);
            let moved: Vec<u64> = (101..100 + 3 * cols as u64)
                .filter(|c| view.moves(c - 1, *c, false))
                .collect();
            match from {
                None => assert!(moved.is_empty(), "{tree:?}: moved at {moved:?}"),
                Some(c) => assert_eq!(moved.first(), Some(&c), "{tree:?}: from {c}"),
            }
        }
    }
}
