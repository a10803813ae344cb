//! The quiet round: while every tab is quiet and measured by its cgroup, a chart column's
//! round looks at a few memmux-wide figures rather than at every tab.
//!
//! At 1,000 idle tabs a round that left every tab out unchanged still went over them five
//! times (their pace, their activity, their heap and scrollback, their cgroup's carried
//! sample, the next wake-up): about 2 ms of the sampler's CPU per 5 s column, in cache
//! misses on 1,000 tabs' scattered state, and the UI then took the empty snapshot in
//! another O(tabs) pass. A quiet round reads the base cgroup's usage and page faults, the
//! kernel's last pid and each tab's heap account (one array), and hands the UI the totals.

use std::sync::Arc;
use std::time::Instant;

use super::RosterEntry;
use crate::memory::alloc;
use crate::memory::cgroup::sample::{CarryBound, CgroupSampler};

/// What the last full round left standing.
struct Settled {
    /// The roster it went over: any change of the roster is a full round.
    roster: Arc<Vec<RosterEntry>>,
    /// The tabs' heap accounts at its start (see [`heap_signature`]).
    heap: u64,
    /// Until when every tab's cgroup sample stands unread.
    bound: CarryBound,
}

/// Whether the next round may be a quiet one.
#[derive(Default)]
pub struct QuietRounds {
    settled: Option<Settled>,
}

/// The tabs' heap figures folded into one number: a tab's heap moves without output when
/// the UI parks its screen or resizes it, and its figure must then reach the panel.
pub fn heap_signature(roster: &[RosterEntry]) -> u64 {
    signature(roster.iter().map(|r| alloc::live_bytes(r.account)))
}

/// FNV-1a over the figures, in order: a figure that moves, or two that trade places, give
/// another number.
fn signature(figures: impl Iterator<Item = isize>) -> u64 {
    figures.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

impl QuietRounds {
    /// After a full round over `roster` that started with the tabs' heaps at `heap`: the
    /// next round may be quiet when every tab was due in it (so each one's figures were
    /// checked against the base as of this round), is measured by a cgroup its program
    /// joined, and is quiet now (`all_quiet`: its next output wakes the sampler), and every
    /// tab's sample may be carried.
    pub fn after_full_round(
        &mut self,
        roster: &Arc<Vec<RosterEntry>>,
        heap: u64,
        all_due: bool,
        all_quiet: bool,
        cgroups: &CgroupSampler,
    ) {
        self.settled = None;
        if !all_due || !all_quiet || roster.is_empty() {
            return;
        }
        let joined = roster
            .iter()
            .all(|r| r.cgroup.as_ref().is_some_and(|c| c.joined() == Ok(true)));
        if !joined {
            return;
        }
        let Some(bound) = cgroups.carry_bound(roster.iter().map(|r| r.id)) else {
            return;
        };
        self.settled = Some(Settled {
            roster: Arc::clone(roster),
            heap,
            bound,
        });
    }

    /// Whether this round can be a quiet one: the roster and the tabs' heaps are those of
    /// the last full round, the base cgroup did not move (this starts the cgroup round: see
    /// [`CgroupSampler::start_round_once`]), and no tab's carried sample ran out. `false`
    /// makes the round a full one.
    pub fn holds(
        &mut self,
        roster: &Arc<Vec<RosterEntry>>,
        cgroups: &mut CgroupSampler,
        now: Instant,
    ) -> bool {
        let Some(s) = &self.settled else {
            return false;
        };
        if !Arc::ptr_eq(&s.roster, roster) || heap_signature(roster) != s.heap {
            self.settled = None;
            return false;
        }
        let base = roster
            .iter()
            .find_map(|r| r.cgroup.as_ref().and_then(|c| c.base_dir()));
        cgroups.start_round_once(base);
        // Every tab is quiet and due at a chart column.
        let all = vec![true; roster.len()];
        super::round::balance(cgroups, roster, &all, &all);
        let holds = cgroups.base_still() && !cgroups.any_stale() && cgroups.within(&s.bound, now);
        if !holds {
            self.settled = None;
        }
        holds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::cgroup::TabCgroup;
    use crate::memory::cgroup::tab::{fake_v2_hierarchy, write_files};
    use std::time::Duration;

    /// Two quiet tabs in a fake v2 tree, their programs joined, and their base.
    fn tabs(tmp: &std::path::Path) -> (Vec<RosterEntry>, std::path::PathBuf) {
        let h = fake_v2_hierarchy(tmp);
        let mut roster = Vec::new();
        for id in 1..=2u64 {
            let cg = TabCgroup::create(&h, &format!("tab-1-{id}")).unwrap();
            write_quiet(cg.dir());
            cg.set_joined(Ok(()));
            let mut tab = crate::memory::sampler::tests::entry(id);
            tab.activity.mark_quiet();
            tab.cgroup = Some(Arc::new(cg));
            roster.push(tab);
        }
        let base = roster[0]
            .cgroup
            .as_ref()
            .unwrap()
            .base_dir()
            .unwrap()
            .to_path_buf();
        write_files(
            &base,
            &[
                ("memory.current", "2097152\n"),
                ("memory.stat", "pgfault 9\n"),
            ],
        );
        (roster, base)
    }

    /// A full round over `roster`: every tab read (`quiet`: while quiet), then settled.
    fn full_round(
        q: &mut QuietRounds,
        roster: &Arc<Vec<RosterEntry>>,
        cgroups: &mut CgroupSampler,
        quiet: bool,
    ) {
        let base = roster[0]
            .cgroup
            .as_ref()
            .unwrap()
            .base_dir()
            .map(|b| b.to_path_buf());
        cgroups.start_round_once(base.as_deref());
        for r in roster.iter() {
            cgroups
                .read(r.id, r.cgroup.as_ref().unwrap(), quiet)
                .unwrap();
        }
        cgroups.close_round();
        q.after_full_round(roster, heap_signature(roster), true, true, cgroups);
    }

    /// Quiet rounds follow a full round that left every tab standing, until the base moves.
    #[test]
    fn quiet_rounds_hold_until_the_base_moves() {
        let tmp = tempfile::tempdir().unwrap();
        let (roster, base) = tabs(tmp.path());
        let roster = Arc::new(roster);
        let mut cgroups = CgroupSampler::default();
        let mut q = QuietRounds::default();
        full_round(&mut q, &roster, &mut cgroups, true);
        for _ in 0..3 {
            assert!(q.holds(&roster, &mut cgroups, Instant::now()));
            cgroups.close_round();
        }
        std::fs::write(base.join("memory.current"), "3145728\n").unwrap();
        assert!(!q.holds(&roster, &mut cgroups, Instant::now()));
        // The full round that follows uses the base as the quiet round read it, once.
        full_round(&mut q, &roster, &mut cgroups, true);
        assert!(q.holds(&roster, &mut cgroups, Instant::now()));
        cgroups.close_round();
        // And not past the tabs' carries.
        let later = Instant::now() + Duration::from_secs(20 * 60);
        assert!(!q.holds(&roster, &mut cgroups, later));
    }

    /// A full round over `roster`, then the base's own charge moved to `usage` and read by a
    /// quiet round (every tab read, the books drawn up): the quiet rounds hold.
    fn settled_books(
        roster: &Arc<Vec<RosterEntry>>,
        base: &std::path::Path,
        usage: &str,
    ) -> (CgroupSampler, QuietRounds) {
        let mut cgroups = CgroupSampler::default();
        let mut q = QuietRounds::default();
        full_round(&mut q, roster, &mut cgroups, true);
        std::fs::write(base.join("memory.current"), usage).unwrap();
        // Every tab quiet, the books never drawn up: the quiet round's sweep draws them up at
        // the base's new charge, which no tab moved.
        assert!(q.holds(roster, &mut cgroups, Instant::now()));
        cgroups.close_round();
        (cgroups, q)
    }

    /// A move of the base that a tab accounts for ends the quiet rounds with that tab found
    /// stale, the other carried; once it is read, they hold again.
    #[test]
    fn a_tab_that_moved_ends_the_quiet_rounds_until_it_is_read() {
        let tmp = tempfile::tempdir().unwrap();
        let (roster, base) = tabs(tmp.path());
        let roster = Arc::new(roster);
        let (mut cgroups, mut q) = settled_books(&roster, &base, "2621440\n");
        // Tab 2 grows by 1 MiB, the base with it.
        let tab2 = roster[1].cgroup.as_ref().unwrap();
        std::fs::write(tab2.dir().join("memory.current"), "2097152\n").unwrap();
        std::fs::write(base.join("memory.current"), "3670016\n").unwrap();
        assert!(!q.holds(&roster, &mut cgroups, Instant::now()));
        assert!(cgroups.base_still() && cgroups.stale(2) && !cgroups.stale(1));
        full_round(&mut q, &roster, &mut cgroups, true);
        assert!(!cgroups.any_stale());
        assert!(q.holds(&roster, &mut cgroups, Instant::now()));
    }

    /// Tabs of panes, as the app makes them (each tab a cgroup under the base, its panes'
    /// inside): tab A split in panes 1 and 2, tab B with pane 3, 1 MiB each, each tab's
    /// cgroup with a charge of its own (`own_kib`), the base with 1 MiB of its own.
    fn tabs_of_panes(tmp: &std::path::Path) -> (Vec<RosterEntry>, Vec<Arc<TabCgroup>>) {
        let h = fake_v2_hierarchy(tmp);
        let mut roster = Vec::new();
        let mut groups = Vec::new();
        for (tab, panes) in [("tab-1-1", &[1u64, 2][..]), ("tab-1-2", &[3][..])] {
            let group = Arc::new(TabCgroup::create_group(&h, tab).unwrap());
            for &id in panes {
                let pane = TabCgroup::create_pane(&group, &format!("pane-{id}")).unwrap();
                write_quiet(pane.dir());
                pane.set_joined(Ok(()));
                let mut entry = crate::memory::sampler::tests::entry(id);
                entry.activity.mark_quiet();
                entry.cgroup = Some(Arc::new(pane));
                roster.push(entry);
            }
            groups.push(group);
        }
        (roster, groups)
    }

    /// The files of a quiet cgroup using 1 MiB.
    fn write_quiet(dir: &std::path::Path) {
        write_files(
            dir,
            &[
                ("memory.current", "1048576\n"),
                ("memory.stat", "anon 0\nfile 0\ninactive_file 0\n"),
                ("memory.events", "oom 0\noom_kill 0\n"),
                ("cgroup.procs", ""),
            ],
        );
    }

    /// Writes `KiB` into the `memory.current` of each of `dirs`.
    fn set_kib(dirs: &[(&std::path::Path, u64)]) {
        for (dir, kib) in dirs {
            std::fs::write(dir.join("memory.current"), format!("{}\n", kib << 10)).unwrap();
        }
    }

    /// With tabs of panes (a split one among them), the books are kept by the tabs'
    /// cgroups: a pane's move is found through its tab's and only that pane goes stale;
    /// a tab's own charge draining (its cgroup's per-CPU stock: the tab moves, none of its
    /// panes), and then the base's, leave every sample standing and the quiet rounds
    /// holding. Without books for such tabs, each of these moves read every tab's usage
    /// (1,000 files at 1,000 tabs).
    #[test]
    fn the_books_follow_tabs_of_panes() {
        let tmp = tempfile::tempdir().unwrap();
        let (roster, groups) = tabs_of_panes(tmp.path());
        let (a, b) = (groups[0].dir(), groups[1].dir());
        let base = tmp.path();
        // Tabs at their panes' sum plus 64 KiB of their own (kernel memory); the base 1 MiB
        // more, and once the books are drawn up, 128 KiB more: 1 MiB of kernel memory of its
        // own (1,152 KiB in all) and 128 KiB of charge stock.
        write_files(base, &[("memory.stat", "kernel 1179648\npgfault 9\n")]);
        for tab in [a, b] {
            write_files(tab, &[("memory.stat", "kernel 65536\n")]);
        }
        set_kib(&[(a, 2112), (b, 1088), (base, 4224)]);
        let roster = Arc::new(roster);
        let (mut cgroups, mut q) = settled_books(&roster, base, "4456448\n");
        // Pane 2 grows by 1 MiB: so do tab A and the base.
        let pane2 = roster[1].cgroup.as_ref().unwrap().dir().to_path_buf();
        set_kib(&[(&pane2, 2048), (a, 3136), (base, 5376)]);
        assert!(!q.holds(&roster, &mut cgroups, Instant::now()));
        assert!(cgroups.base_still(), "the books account for the move");
        assert!(cgroups.stale(2) && !cgroups.stale(1) && !cgroups.stale(3));
        full_round(&mut q, &roster, &mut cgroups, true);
        assert!(q.holds(&roster, &mut cgroups, Instant::now()));
        cgroups.close_round();
        // Tab B's own charge drains: B and the base fall by 64 KiB, pane 3 does not.
        set_kib(&[(b, 1024), (base, 5312)]);
        assert!(q.holds(&roster, &mut cgroups, Instant::now()));
        assert!(!cgroups.any_stale());
        cgroups.close_round();
        // The base's own stock drains: measured against the tabs' kernel memory when the
        // books were drawn up, it reads no tab.
        set_kib(&[(base, 5184)]);
        assert!(q.holds(&roster, &mut cgroups, Instant::now()));
    }

    /// No quiet round after a full round that could not leave every tab standing.
    #[test]
    fn no_quiet_round_unless_every_tab_stands() {
        let tmp = tempfile::tempdir().unwrap();
        let (roster, _base) = tabs(tmp.path());
        let roster = Arc::new(roster);
        let mut cgroups = CgroupSampler::default();
        let mut q = QuietRounds::default();
        // Read while printing: the next round reads them again.
        full_round(&mut q, &roster, &mut cgroups, false);
        assert!(!q.holds(&roster, &mut cgroups, Instant::now()));
        cgroups.abandon_round();
        full_round(&mut q, &roster, &mut cgroups, true);
        // A tab was not due, or one printed since.
        q.after_full_round(&roster, heap_signature(&roster), false, true, &cgroups);
        assert!(!q.holds(&roster, &mut cgroups, Instant::now()));
        q.after_full_round(&roster, heap_signature(&roster), true, false, &cgroups);
        assert!(!q.holds(&roster, &mut cgroups, Instant::now()));
        // Another roster (a tab opened, closed or restarted).
        q.after_full_round(&roster, heap_signature(&roster), true, true, &cgroups);
        let other = Arc::new(roster.to_vec());
        assert!(!q.holds(&other, &mut cgroups, Instant::now()));
        cgroups.abandon_round();
        // Another heap.
        q.after_full_round(&roster, heap_signature(&roster) ^ 1, true, true, &cgroups);
        assert!(!q.holds(&roster, &mut cgroups, Instant::now()));
        // A tab whose program has not joined its cgroup yet.
        let mut young = roster.to_vec();
        let h = fake_v2_hierarchy(tmp.path());
        young[1].cgroup = Some(Arc::new(TabCgroup::create(&h, "tab-1-9").unwrap()));
        let young = Arc::new(young);
        q.after_full_round(&young, heap_signature(&young), true, true, &cgroups);
        assert!(!q.holds(&young, &mut cgroups, Instant::now()));
    }

    /// An abandoned round leaves the base unknown: the next round cannot find it still.
    #[test]
    fn an_abandoned_round_does_not_hide_a_move() {
        let tmp = tempfile::tempdir().unwrap();
        let (roster, base) = tabs(tmp.path());
        let roster = Arc::new(roster);
        let (mut cgroups, mut q) = settled_books(&roster, &base, "2621440\n");
        std::fs::write(base.join("memory.current"), "3145728\n").unwrap();
        assert!(!q.holds(&roster, &mut cgroups, Instant::now()));
        cgroups.abandon_round();
        cgroups.start_round_once(Some(&base));
        assert!(!cgroups.base_still());
    }

    /// A quiet tab whose processes were read while it printed joins the next round, with
    /// the tabs due; one read while quiet, or one not marked quiet, does not.
    #[test]
    fn an_unsettled_quiet_tab_joins_the_next_round() {
        let tmp = tempfile::tempdir().unwrap();
        let (roster, _base) = tabs(tmp.path());
        let mut cgroups = CgroupSampler::default();
        let cg = |i: usize| roster[i].cgroup.as_ref().unwrap();
        // Both read while printing; tab 2 then read quiet.
        cgroups.read(1, cg(0), false).unwrap();
        cgroups.read(2, cg(1), false).unwrap();
        cgroups.read(2, cg(1), true).unwrap();
        let mut due = vec![false, false];
        super::super::round::with_unsettled(&mut due, &roster, &cgroups);
        assert_eq!(due, [true, false]);
        // Not marked quiet (it prints): left to its pace.
        roster[0].activity.mark_busy();
        let mut due = vec![false, false];
        super::super::round::with_unsettled(&mut due, &roster, &cgroups);
        assert_eq!(due, [false, false]);
    }

    #[test]
    fn the_signature_follows_every_figure_and_their_order() {
        let a = signature([1, 2, 3].into_iter());
        assert_eq!(a, signature([1, 2, 3].into_iter()));
        assert_ne!(a, signature([1, 2, 4].into_iter()));
        assert_ne!(a, signature([2, 1, 3].into_iter()));
        assert_ne!(a, signature([1, 2].into_iter()));
    }
}
