//! The base's books: the usage of the cgroup holding every tab's is the sum of the tabs'
//! usages (hierarchical on v1 and v2: a charge to a tab is a charge to each of its
//! ancestors, in the same page counter walk) plus what is charged to the base itself
//! (pages of removed tab cgroups the kernel has not freed yet; no memmux process runs in
//! the base). So when the base moves by D, the tabs that moved account for D exactly, and
//! reading the tabs' usages, the most recently moved first, can stop as soon as they do.
//!
//! Before this, every move of the base (a tab's per-CPU charge stock drained when another
//! cgroup charges on that CPU, reclaim, any tab at work) had every quiet tab read its usage
//! file: 1,000 opens past the kept-open limit, 10-25 ms of the sampler per move.
//!
//! What the books cannot see: two unread tabs moving by exactly opposite amounts in the same
//! interval (or one unread tab moving by exactly what the residual was off when it was last
//! set, a tab having moved between the base's read and its own). Their samples then stand
//! as if nothing moved, until the next move the books cannot account for reads every tab,
//! or the carry's own limits end (60 s of doubt about new processes, 10-15 min at most:
//! see `sample`).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// The usage each tab's cgroup was last read at, their sum, and the base's usage less that
/// sum when the books were last drawn up against every tab.
#[derive(Debug, Default)]
pub struct Books {
    entries: HashMap<u64, Entry>,
    sum: i128,
    residual: Option<i128>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    usage: u64,
    /// When the usage last changed (or was first read): the order to look for a move in.
    changed: Instant,
}

impl Books {
    /// Records tab `id`'s usage as just read.
    pub fn record(&mut self, id: u64, usage: u64, now: Instant) {
        let e = self.entries.entry(id).or_insert(Entry {
            usage: 0,
            changed: now,
        });
        if e.usage != usage {
            e.changed = now;
        }
        self.sum += i128::from(usage) - i128::from(e.usage);
        e.usage = usage;
    }

    /// Tab `id`'s usage as last read.
    pub fn usage(&self, id: u64) -> Option<u64> {
        self.entries.get(&id).map(|e| e.usage)
    }

    /// Forgets tabs not in `ids`.
    pub fn retain(&mut self, ids: &HashSet<u64>) {
        let before = self.entries.len();
        self.entries.retain(|id, _| ids.contains(id));
        if self.entries.len() != before {
            self.sum = self.entries.values().map(|e| i128::from(e.usage)).sum();
        }
    }

    /// Whether `base` is what the books say: the tabs' usages as last read plus the
    /// residual. Unknown (`None`) before the books were first drawn up.
    pub fn balance(&self, base: u64) -> Option<bool> {
        self.residual.map(|r| i128::from(base) - self.sum == r)
    }

    /// Draws the books up at `base`, every tab's usage just read: the base's own charge is
    /// what the tabs do not account for.
    pub fn draw_up(&mut self, base: u64) {
        self.residual = Some(i128::from(base) - self.sum);
    }

    /// Orders `tabs` to look for a move in: those never read first (their usage is in the
    /// base, not in the books), then those flagged (read this round anyway), then the most
    /// recently changed. Returns how many were never read.
    pub fn order<T>(&self, tabs: &mut [(u64, T, bool)]) -> usize {
        tabs.sort_by_key(|(id, _, flagged)| {
            let changed = self.entries.get(id).map(|e| e.changed);
            (changed.is_some(), !*flagged, std::cmp::Reverse(changed))
        });
        tabs.iter()
            .take_while(|(id, _, _)| !self.entries.contains_key(id))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_books_balance_until_a_move_they_have_not_read() {
        let t0 = Instant::now();
        let mut b = Books::default();
        b.record(1, 100, t0);
        b.record(2, 50, t0);
        assert_eq!(b.balance(160), None, "not drawn up yet");
        b.draw_up(160);
        assert_eq!(b.balance(160), Some(true));
        // Tab 2 moves: the base with it.
        assert_eq!(b.balance(170), Some(false));
        b.record(2, 60, t0);
        assert_eq!(b.balance(170), Some(true));
        // A closed tab leaves the sum.
        b.retain(&[2].into_iter().collect());
        assert_eq!(b.balance(70), Some(true));
        assert_eq!(b.usage(1), None);
        assert_eq!(b.usage(2), Some(60));
    }

    #[test]
    fn the_order_is_unread_then_flagged_then_most_recently_moved() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut b = Books::default();
        b.record(1, 10, at(0));
        b.record(2, 10, at(0));
        b.record(3, 10, at(0));
        b.record(2, 20, at(5));
        b.record(3, 30, at(9));
        // Read again at the same usage: not a move.
        b.record(1, 10, at(10));
        let mut tabs = vec![
            (1, (), false),
            (2, (), false),
            (3, (), false),
            (4, (), false),
        ];
        assert_eq!(b.order(&mut tabs), 1);
        let ids: Vec<u64> = tabs.iter().map(|t| t.0).collect();
        assert_eq!(ids, [4, 3, 2, 1]);
        let mut tabs = vec![(1, (), true), (2, (), false), (3, (), false)];
        assert_eq!(b.order(&mut tabs), 0);
        let ids: Vec<u64> = tabs.iter().map(|t| t.0).collect();
        assert_eq!(ids, [1, 3, 2]);
    }
}
