//! The base's books in the sampler's rounds: when the base moved, which tabs moved (see
//! `books`), and the base's own kernel memory measured once the books balance.

use std::time::Instant;

use super::super::TabCgroup;
use super::super::books;
use super::CgroupSampler;

impl CgroupSampler {
    /// When this round found the base moved: reads the usages of the cgroups right under the
    /// base that hold `tabs` (id, cgroup, and whether the round reads it anyway; see
    /// `books`), those never read first, then those flagged, then the most recently moved,
    /// until the books balance again; in each found moved, its panes' usages. The panes
    /// whose usage moved are [`CgroupSampler::stale`] and the others' samples stand as if
    /// the base had not moved. When no set of them accounts for the move, every tab was
    /// read, the books are drawn up afresh, and the base counts as moved this round (each
    /// quiet tab's sample then stands on its own usage: see [`CgroupSampler::read`]).
    ///
    /// At most `budget` tabs not flagged are read: a round with a few tabs that could be
    /// carried reads no more than it would without the books (each of those its usage), and
    /// when that is not enough the base counts as moved, the books left as they were.
    ///
    /// At 1,000 tabs a move of the base made every quiet tab read its usage (10-25 ms); the
    /// tab that moved is usually the one at work, or the one whose charge stock was drained.
    pub fn balance<'a>(
        &mut self,
        tabs: impl Iterator<Item = (u64, &'a TabCgroup, bool)>,
        budget: usize,
    ) {
        self.balance_at(tabs, budget, Instant::now());
    }

    pub(super) fn balance_at<'a>(
        &mut self,
        tabs: impl Iterator<Item = (u64, &'a TabCgroup, bool)>,
        mut budget: usize,
        now: Instant,
    ) {
        if self.base_still || std::mem::replace(&mut self.accounted, true) {
            return;
        }
        let Some((_, base)) = self.base_usage.clone() else {
            return;
        };
        let mut accounts = books::accounts(tabs);
        let keys = accounts.iter().map(|(key, _, _)| *key).collect();
        self.books.retain(&keys);
        self.kept.retain(&keys);
        let unread = self.books.order(&mut accounts);
        let bound = books::stock_bound();
        // The rounds' own reads since may account for the move already (a tab at work read
        // after the last round read the base), or the base's own charge stock drained.
        if unread == 0 && self.books.balance(base, bound) == Some(true) {
            self.base_still = true;
            return;
        }
        for (k, (key, account, flagged)) in accounts.iter().enumerate() {
            if !*flagged {
                if budget == 0 {
                    return;
                }
                budget -= 1;
            }
            // A cgroup removed under memmux's feet: its round's own read says so.
            let Ok(usage) = self.kept.usage(*key, account.top, &mut self.buf) else {
                continue;
            };
            self.record_account(*key, account, usage, now);
            if k + 1 >= unread && self.books.balance(base, bound) == Some(true) {
                self.base_still = true;
                return;
            }
        }
        self.books.draw_up(base);
        self.kept
            .keep_youngest(accounts.iter().map(|(key, a, _)| (*key, a.top)));
    }

    /// Records the usage of the cgroup right under the base `key` (`account`) as just read;
    /// when it moved since the books last read it, its panes' usages too (see
    /// [`CgroupSampler::note_usage`]).
    fn record_account(&mut self, key: u64, account: &books::Account, usage: u64, now: Instant) {
        let moved = self.books.usage(key) != Some(usage);
        self.books.record(key, usage, now);
        if !moved {
            return;
        }
        for (id, cg) in &account.panes {
            let pane = if std::ptr::eq(*cg, account.top) {
                Ok(usage)
            } else {
                cg.usage(&mut self.buf)
            };
            let Ok(pane) = pane else {
                continue;
            };
            self.note_usage(*id, cg, pane, now);
            if let Some(w) = self.watches.get_mut(id) {
                w.fresh = Some((self.round, pane));
            }
        }
    }

    /// When the books want it ([`books::Books::wants_drawing`]: never drawn up, or tabs
    /// opened since): reads every cgroup right under the base that holds `tabs`, its usage
    /// and its kernel memory, and when the base's usage did not move meanwhile (since the
    /// round read it), draws the books up and sets the base's own kernel memory, in one
    /// sweep. In a round that found the base moved, [`CgroupSampler::balance`] then finds
    /// the books balanced: the tabs whose usage the sweep found moved are stale, the others
    /// carried. The round is one that found the base still or every tab quiet
    /// (`sampler::round::balance`): while tabs start, a sweep would mostly be undone by a
    /// tab moving during it.
    ///
    /// Left to the first move of the base, as before, the same work came as two sweeps of
    /// every tab (the usages when no set of reads accounted for the move, 11-12 ms at 1,000
    /// tabs; the kernel memory a round later, 12-15 ms) whenever the first per-CPU charge
    /// stock drained: 4 to 20 s after 1,000 tabs opened, in the first minute the user sees
    /// them idle. Here it comes in the first round after the tabs opened that found the base
    /// still (within a second of the last one at 1,000 tabs) or every tab quiet (at 100 tabs
    /// the base moved in every round for 10 s, stocks draining, and the first quiet round
    /// came 6 s after the tabs opened).
    pub fn draw_up_in_one_sweep<'a>(
        &mut self,
        tabs: impl Iterator<Item = (u64, &'a TabCgroup, bool)>,
    ) {
        let stamp = super::super::tab::made_and_joined();
        if self.books.checked_at(stamp) {
            return;
        }
        let Some((base, before)) = self.base_usage.clone() else {
            return;
        };
        let accounts = books::accounts(tabs);
        if accounts.is_empty()
            || !self
                .books
                .wants_drawing(accounts.iter().map(|(key, _, _)| *key))
        {
            self.books.set_checked(stamp);
            return;
        }
        self.books.sweep_tried();
        let now = Instant::now();
        for (key, account, _) in &accounts {
            // A cgroup removed under memmux's feet: the books are left to a move.
            let Ok(usage) = self.kept.usage(*key, account.top, &mut self.buf) else {
                return;
            };
            self.record_account(*key, account, usage, now);
        }
        let kernel = books::kernel_of(&base, &accounts, &mut self.buf);
        // A tab moved during the sweep: the residual would be off by its move.
        if books::base_usage(&base) != Some(before) {
            return;
        }
        let keys = accounts.iter().map(|(key, _, _)| *key).collect();
        self.books.retain(&keys);
        self.kept.retain(&keys);
        self.books.draw_up(before);
        self.books.set_kernel(kernel);
        self.books.set_checked(stamp);
        self.kept
            .keep_youngest(accounts.iter().map(|(key, a, _)| (*key, a.top)));
    }

    /// In a round that found the base still: once after the books were drawn up, measures
    /// the base's own kernel memory against the cgroups right under it that hold `tabs` (see
    /// `books`): a read of each one's kernel-memory counter, 10-15 ms at 1,000 tabs, once,
    /// where the base's own charge stock draining read every tab's usage.
    pub fn measure_own_kernel<'a>(
        &mut self,
        tabs: impl Iterator<Item = (u64, &'a TabCgroup, bool)>,
    ) {
        if !self.base_still || !self.books.wants_kernel() {
            return;
        }
        let Some((base, _)) = self.base_usage.clone() else {
            return;
        };
        let accounts = books::accounts(tabs);
        // A tab the books have not read yet: they balance only once it is read.
        if !self
            .books
            .holds_all(accounts.iter().map(|(key, _, _)| *key))
        {
            return;
        }
        let kernel = books::kernel_of(&base, &accounts, &mut self.buf);
        self.books.set_kernel(kernel);
    }

    /// Records pane `id`'s usage (its cgroup `cg`) as just read, against its sample, and in
    /// the books when its cgroup is right under the base.
    pub(super) fn note_usage(&mut self, id: u64, cg: &TabCgroup, usage: u64, now: Instant) {
        if cg.parent().is_none() {
            self.books.record(cg.book_key(), usage, now);
        }
        let moved = self
            .watches
            .get(&id)
            .and_then(|w| w.last.as_ref())
            .is_some_and(|(u, _, _)| *u != usage);
        if moved {
            self.stale.insert(id);
        } else {
            self.stale.remove(&id);
        }
    }

    /// Whether [`CgroupSampler::measure_own_kernel`] has work to do this round.
    pub fn wants_own_kernel(&self) -> bool {
        self.base_still && self.books.wants_kernel()
    }
}
