//! The base's books: the usage of the cgroup holding every tab's is the sum of the usages
//! of the cgroups right under it (a tab's, holding its panes'; or a pane's own, when its
//! tab has none) plus what is charged to the base itself (hierarchical on v1 and v2: a
//! charge to a pane is a charge to each of its ancestors, in the same page counter walk).
//! So when the base moves by D, the tabs that moved account for D exactly, and reading the
//! tabs' usages, the most recently moved first, can stop as soon as they do; in a tab found
//! moved, its panes are read to find which moved.
//!
//! Before this, every move of the base (a tab's per-CPU charge stock drained when another
//! cgroup charges on that CPU, reclaim, any tab at work) had every quiet tab read its usage
//! file: 1,000 opens past the kept-open limit, 10-25 ms of the sampler per move. Until
//! 2026-12-07 the books were kept per pane and left off whenever a pane's cgroup sat in
//! its tab's, which since tabs have panes is every tab: every move read every tab. A tab's
//! cgroup has a charge of its own too (its panes' cgroups' kernel structures, charged to
//! the parent, and the per-CPU stock of that charge: 61 pages seen draining from a tab
//! whose pane did not move), which books per pane could not account for.
//!
//! What is charged to the base itself: the kernel structures of the tabs' cgroups (about
//! 10-22 KB each, charged to the parent when a cgroup is made) and the per-CPU charge stock
//! of that charge (up to a batch of 64 pages per CPU, 56-61 pages seen), which drains once,
//! some seconds to a minute after the last tab was made, when other cgroups charge on that
//! CPU. Each such drain moved the base by an amount no tab accounts for: every tab was read
//! (15-25 ms at 1,000 tabs). So the base's own kernel memory is measured ([`kernel_of`]:
//! the base's kernel-memory counter less the tabs', which the stock does not touch), and the
//! books balance at the residual or at that kernel memory alone (the stock drained).
//!
//! When: the books are drawn up and that kernel memory measured in one sweep of every tab
//! as soon as the tabs opened ([`Books::wants_drawing`]), in the first round that finds the
//! base still or every tab quiet, and kept only when the base did not move during it;
//! otherwise by the first move of the base that no set of reads accounts for (every tab
//! read), the kernel memory then measured in the next round that finds the base still.
//!
//! What the books cannot see: two unread tabs moving by exactly opposite amounts in the same
//! interval (or one unread tab moving by exactly what the residual was off when it was last
//! set, a tab having moved between the base's read and its own; or, in a tab found moved,
//! its panes' moves hidden the same way by its own charge). Likewise unread tabs moving by
//! exactly the base's stock, in all, before that stock drained: the books take it for the
//! drain, and find those tabs when the stock does drain (a move nothing accounts for then:
//! the tabs are read); a stock that never drains leaves them unread. Tab cgroups' own stocks
//! are the likeliest such move (the same 64-page batch less the same few pages), and move no
//! pane's figure. Such samples stand as if nothing moved, until the next move the books
//! cannot account for reads every tab, or the carry's own limits end (60 s of doubt about
//! new processes, 10-15 min at most: see `sample`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use super::TabCgroup;

/// The usage each tab's cgroup was last read at, their sum, and the base's usage less that
/// sum when the books were last drawn up against every tab.
#[derive(Debug, Default)]
pub struct Books {
    entries: HashMap<u64, Entry>,
    sum: i128,
    residual: Option<i128>,
    /// The base's own kernel memory, measured since the books were last drawn up ([`kernel_of`]):
    /// the residual less this is the base's own charge stock.
    kernel: Option<i128>,
    /// The books were drawn up and the base's own kernel memory not measured since.
    kernel_wanted: bool,
    /// Sweeps of every tab ([`Books::wants_drawing`]) tried since the books were last drawn
    /// up: at most [`SWEEPS`].
    sweeps: u8,
    /// [`super::tab::made_and_joined`] when the cgroups under the base were last found not
    /// to want a sweep: a still round compares it and passes over no tab (a pass over 1,000
    /// tabs to look for a new one took a quiet round from 70 us to 900 us).
    checked: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    usage: u64,
    /// When the usage last changed (or was first read): the order to look for a move in.
    changed: Instant,
}

/// Sweeps of every tab tried before the books are left to the next move of the base: each
/// is 20-25 ms at 1,000 tabs, and one fails only when a tab moves during it, so on a machine
/// where some tab is always at work the books wait for a move.
const SWEEPS: u8 = 3;

/// 64 pages (`MEMCG_CHARGE_BATCH`): the most a cgroup's per-CPU charge stock holds on one CPU.
const STOCK_PAGES: u64 = 64;

/// A cgroup right under the base as the books keep it: its usage stands for those of the
/// roster's panes inside it (or of the one pane it is).
pub struct Account<'a> {
    pub top: &'a TabCgroup,
    /// The roster's panes measured in it: id and cgroup.
    pub panes: Vec<(u64, &'a TabCgroup)>,
}

/// The roster's panes `tabs` (id, cgroup, read this round anyway) gathered by the cgroup
/// right under the base that holds each: (its [`TabCgroup::book_key`], the account,
/// whether any of its panes is read this round anyway).
pub fn accounts<'a>(
    tabs: impl Iterator<Item = (u64, &'a TabCgroup, bool)>,
) -> Vec<(u64, Account<'a>, bool)> {
    let mut at: HashMap<u64, usize> = HashMap::new();
    let mut out: Vec<(u64, Account<'a>, bool)> = Vec::new();
    for (id, cg, flagged) in tabs {
        let key = cg.book_key();
        let i = *at.entry(key).or_insert_with(|| {
            let top = cg.top();
            out.push((
                key,
                Account {
                    top,
                    panes: Vec::new(),
                },
                false,
            ));
            out.len() - 1
        });
        out[i].1.panes.push((id, cg));
        out[i].2 |= flagged;
    }
    out
}

/// The base's own kernel memory: the base's kernel-memory counter less those of `accounts`
/// (every cgroup right under the base), read now. `None` when a figure is missing.
pub fn kernel_of(base: &Path, accounts: &[(u64, Account, bool)], buf: &mut String) -> Option<i128> {
    let mut tabs: i128 = 0;
    for (_, a, _) in accounts {
        tabs += i128::from(a.top.kernel(buf)?);
    }
    Some(i128::from(base_kernel(base)?) - tabs)
}

/// The base's usage, its tabs' included (v1 `memory.usage_in_bytes`, v2 `memory.current`).
pub fn base_usage(base: &Path) -> Option<u64> {
    ["memory.usage_in_bytes", "memory.current"]
        .iter()
        .find_map(|f| std::fs::read_to_string(base.join(f)).ok())
        .and_then(|t| super::stat::number(&t))
}

/// The base's kernel memory, its tabs' included (v1 `memory.kmem.usage_in_bytes`, v2
/// `memory.stat` `kernel`).
fn base_kernel(base: &Path) -> Option<u64> {
    if let Ok(t) = std::fs::read_to_string(base.join("memory.kmem.usage_in_bytes")) {
        return super::stat::number(&t);
    }
    let stat = std::fs::read_to_string(base.join("memory.stat")).ok()?;
    super::stat::v2(0, &stat).kernel
}

/// The most the base's own charge stocks hold, all CPUs together. Found once: std's count
/// of CPUs reads the cgroup's CPU quota from /proc (53 us a call, measured), and every
/// round checks the base against the books.
pub fn stock_bound() -> u64 {
    static BOUND: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BOUND.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        STOCK_PAGES * crate::memory::procs::page_size() * cpus
    })
}

impl Books {
    /// Records tab `key`'s usage as just read.
    pub fn record(&mut self, key: u64, usage: u64, now: Instant) {
        let e = self.entries.entry(key).or_insert(Entry {
            usage: 0,
            changed: now,
        });
        if e.usage != usage {
            e.changed = now;
        }
        self.sum += i128::from(usage) - i128::from(e.usage);
        e.usage = usage;
    }

    /// Tab `key`'s usage as last read.
    pub fn usage(&self, key: u64) -> Option<u64> {
        self.entries.get(&key).map(|e| e.usage)
    }

    /// Forgets tabs not in `keys`.
    pub fn retain(&mut self, keys: &HashSet<u64>) {
        let before = self.entries.len();
        self.entries.retain(|key, _| keys.contains(key));
        if self.entries.len() != before {
            self.sum = self.entries.values().map(|e| i128::from(e.usage)).sum();
        }
    }

    /// Whether `base` is what the books say: the tabs' usages as last read plus the
    /// residual, or plus the base's own kernel memory alone when its charge stock (at most
    /// `stock_bound`) drained; the residual is then that. Unknown (`None`) before the books
    /// were first drawn up.
    pub fn balance(&mut self, base: u64, stock_bound: u64) -> Option<bool> {
        let r = self.residual?;
        let own = i128::from(base) - self.sum;
        if own == r {
            return Some(true);
        }
        let drained = self
            .kernel
            .is_some_and(|k| own == k && r > k && r - k <= i128::from(stock_bound));
        if drained {
            self.residual = Some(own);
        }
        Some(drained)
    }

    /// Draws the books up at `base`, every tab's usage just read: the base's own charge is
    /// what the tabs do not account for. Its kernel memory is to be measured again.
    pub fn draw_up(&mut self, base: u64) {
        self.residual = Some(i128::from(base) - self.sum);
        self.kernel = None;
        self.kernel_wanted = true;
        self.sweeps = 0;
    }

    /// Whether a sweep of every one of `keys` (kept when the base did not move during it)
    /// should draw the books up: they never were, or a cgroup right under the base is not in them (a tab opened
    /// since: its cgroup's kernel structures are charged to the base itself, so the residual
    /// is off too), and fewer than [`SWEEPS`] such sweeps were tried since they were last
    /// drawn up.
    pub fn wants_drawing(&self, mut keys: impl Iterator<Item = u64>) -> bool {
        self.sweeps < SWEEPS
            && (self.residual.is_none() || !keys.all(|k| self.entries.contains_key(&k)))
    }

    /// Whether the cgroups under the base were found not to want a sweep at `stamp`
    /// ([`super::tab::made_and_joined`]): none was made or joined since.
    pub fn checked_at(&self, stamp: (u64, u64)) -> bool {
        self.checked == Some(stamp)
    }

    /// The cgroups under the base do not want a sweep as of `stamp`.
    pub fn set_checked(&mut self, stamp: (u64, u64)) {
        self.checked = Some(stamp);
    }

    /// A sweep for [`Books::wants_drawing`] is under way, whether it draws the books up or
    /// not (a tab moving meanwhile).
    pub fn sweep_tried(&mut self) {
        self.sweeps = self.sweeps.saturating_add(1);
    }

    /// Whether the base's own kernel memory is to be measured: the books were drawn up
    /// since it was last.
    pub fn wants_kernel(&self) -> bool {
        self.kernel_wanted && self.residual.is_some()
    }

    /// Whether every one of `keys` is in the books.
    pub fn holds_all(&self, mut keys: impl Iterator<Item = u64>) -> bool {
        keys.all(|k| self.entries.contains_key(&k))
    }

    /// The base's own kernel memory as just measured ([`kernel_of`]; `None`: unknown).
    pub fn set_kernel(&mut self, kernel: Option<i128>) {
        self.kernel = kernel;
        self.kernel_wanted = false;
    }

    /// Orders `tabs` to look for a move in: those never read first (their usage is in the
    /// base, not in the books), then those flagged (read this round anyway), then the most
    /// recently changed, and of those changed at once (read in the same sweep) the youngest
    /// (keys are [`TabCgroup::book_key`]s, which grow with each cgroup made): the per-CPU
    /// charge stocks that drain while every tab is idle are those of the cgroups made last
    /// (the kernel keeps a few cgroups' stocks per CPU; at 1,000 tabs every drain seen was
    /// in one of the last 20 made). Returns how many were never read.
    pub fn order<T>(&self, tabs: &mut [(u64, T, bool)]) -> usize {
        tabs.sort_by_key(|(key, _, flagged)| {
            let changed = self.entries.get(key).map(|e| e.changed);
            (
                changed.is_some(),
                !*flagged,
                std::cmp::Reverse(changed),
                std::cmp::Reverse(*key),
            )
        });
        tabs.iter()
            .take_while(|(key, _, _)| !self.entries.contains_key(key))
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
        assert_eq!(b.balance(160, 0), None, "not drawn up yet");
        b.draw_up(160);
        assert_eq!(b.balance(160, 0), Some(true));
        // Tab 2 moves: the base with it.
        assert_eq!(b.balance(170, 0), Some(false));
        b.record(2, 60, t0);
        assert_eq!(b.balance(170, 0), Some(true));
        // A closed tab leaves the sum.
        b.retain(&[2].into_iter().collect());
        assert_eq!(b.balance(70, 0), Some(true));
        assert_eq!(b.usage(1), None);
        assert_eq!(b.usage(2), Some(60));
    }

    /// Once the base's own kernel memory is known, the books balance at it as well (the
    /// base's own charge stock drained) and take it for the residual from then on; not a
    /// fall past what a stock holds, nor before it is measured, nor after the books are
    /// drawn up again (measured again then).
    #[test]
    fn the_books_balance_at_the_base_own_kernel_memory_once_measured() {
        let t0 = Instant::now();
        let mut b = Books::default();
        b.record(1, 100, t0);
        b.draw_up(160);
        assert!(b.wants_kernel());
        assert_eq!(b.balance(150, 16), Some(false), "not measured yet");
        b.set_kernel(Some(50));
        assert!(!b.wants_kernel());
        assert_eq!(b.balance(150, 9), Some(false), "more than a stock holds");
        assert_eq!(b.balance(155, 16), Some(false), "neither");
        assert_eq!(b.balance(150, 16), Some(true), "the stock drained");
        assert_eq!(
            b.balance(160, 16),
            Some(false),
            "the residual is the kernel memory now"
        );
        assert_eq!(b.balance(150, 16), Some(true));
        b.draw_up(170);
        assert!(b.wants_kernel());
        assert_eq!(b.balance(150, 16), Some(false));
    }

    /// A sweep while still is wanted before the books were ever drawn up and after a tab
    /// opened, not otherwise, and is tried three times at most until the books are drawn
    /// up again.
    #[test]
    fn a_sweep_is_wanted_until_the_books_hold_every_tab() {
        let t0 = Instant::now();
        let mut b = Books::default();
        b.record(1, 100, t0);
        assert!(b.wants_drawing([1].into_iter()), "never drawn up");
        b.draw_up(150);
        assert!(!b.wants_drawing([1].into_iter()));
        assert!(b.wants_drawing([1, 2].into_iter()), "tab 2 opened");
        for _ in 0..SWEEPS {
            assert!(b.wants_drawing([1, 2].into_iter()));
            b.sweep_tried();
        }
        assert!(!b.wants_drawing([1, 2].into_iter()), "tried three times");
        b.record(2, 10, t0);
        b.draw_up(170);
        assert!(!b.wants_drawing([1, 2].into_iter()));
        assert!(b.wants_drawing([1, 2, 3].into_iter()));
    }

    /// Tabs read in one sweep (changed at once) are looked at youngest first: the larger
    /// key (`TabCgroup::book_key`, which grows with each cgroup made).
    #[test]
    fn of_tabs_changed_at_once_the_youngest_comes_first() {
        let t0 = Instant::now();
        let mut b = Books::default();
        for key in [7, 3, 9] {
            b.record(key, 10, t0);
        }
        let mut tabs = vec![(3, (), false), (9, (), false), (7, (), false)];
        assert_eq!(b.order(&mut tabs), 0);
        let keys: Vec<u64> = tabs.iter().map(|t| t.0).collect();
        assert_eq!(keys, [9, 7, 3]);
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
