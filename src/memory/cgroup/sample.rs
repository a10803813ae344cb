//! One tab's sample from its cgroup: the figures, the processes (count, biggest, the old
//! `statm` sum for the CSV), and the program an out-of-memory kill took.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::TabCgroup;
use super::stat::CgroupFigures;
use crate::memory::procs::{ProcessInfo, page_size, parse_statm};

/// One tab, one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CgroupSample {
    pub figures: CgroupFigures,
    pub processes: u32,
    /// Sum of `statm` resident minus shared over the processes (the old headline, kept for
    /// the CSV's `tree_rss_bytes`).
    pub rss_minus_shared: u64,
    pub biggest: Option<ProcessInfo>,
    /// The newest out-of-memory kill noticed in this sample: pid and name of the program.
    pub oom_victim: Option<(u32, String)>,
}

#[derive(Debug, Default)]
struct Watch {
    oom_kills: u64,
    /// The processes at the last sample with their `statm` bytes, and the biggest's name.
    members: Vec<(u32, u64)>,
    biggest: Option<(u32, String)>,
    /// The last full sample, the usage it was read at, and when: an unchanged usage gives
    /// the same sample without reading anything else (a new process or an exit charges or
    /// frees pages), for up to [`FULL_EVERY`].
    last: Option<(u64, Instant, CgroupSample)>,
    /// Likewise, the last sample that read the processes.
    procs: Option<(u64, Instant, CgroupSample)>,
    /// The processes were last read while the tab was quiet. Only such a sample is carried
    /// forward unread: one read while the tab printed may count a prompt's short-lived
    /// helpers (a shell's start-up counted 18 processes in a tab of 3 shells), and the
    /// kernel's charge batches may not show their exit in the usage.
    procs_quiet: bool,
}

/// 5 s: the longest an unchanged usage stands for the whole sample. The kernel charges a
/// cgroup in batches of 64 pages per CPU, so a small new process can leave the usage where
/// it was; its count and the biggest process show up within this.
const FULL_EVERY: Duration = Duration::from_secs(5);

/// 60 s: the longest a quiet tab's sample is carried forward, unread, while the usage of
/// the cgroup holding every tab's has not moved (see [`CgroupSampler::base_still`]): its
/// process count and biggest process catch up within this even when the kernel's charge
/// batches hide a small new process. At 1,000 idle tabs that is about 17 reads a second
/// instead of 200 (one per tab per 5 s chart column).
const CARRY_FOR: Duration = Duration::from_secs(60);

/// `statm` files kept open at most (the /proc sampler keeps as many): see
/// [`crate::memory::procs::MAX_OPEN_STATM`].
const MAX_OPEN_STATM: usize = crate::memory::procs::MAX_OPEN_STATM;

/// Per-tab state across samples (keyed by the tab's id).
#[derive(Debug, Default)]
pub struct CgroupSampler {
    watches: HashMap<u64, Watch>,
    buf: String,
    /// `/proc/PID/statm` kept open, by pid: bound to that process, so a reused pid reads as
    /// gone rather than as another process.
    statm: HashMap<u32, std::fs::File>,
    /// Reads the figures at every sample, as for a tab whose memory moves all the time
    /// (cost tests).
    pub assume_moving: bool,
    /// The usage of the cgroup holding every tab's, as the last round read it.
    base_usage: Option<(PathBuf, u64)>,
    /// This round found it where the last round left it: no tab's memory moved.
    base_still: bool,
}

impl CgroupSampler {
    /// Forgets tabs not in `ids`.
    pub fn retain(&mut self, ids: &[u64]) {
        // A set: `ids.contains` per watch made this 10^6 comparisons per round at 1,000 tabs.
        let ids: std::collections::HashSet<u64> = ids.iter().copied().collect();
        self.watches.retain(|id, _| ids.contains(id));
    }

    /// At the start of a round: reads the usage of `base`, the cgroup holding every tab's
    /// (one file instead of one per tab). When it has not moved since the last round, no
    /// tab's memory moved either, and quiet tabs may keep their last sample
    /// ([`CgroupSampler::read`] with `quiet`). Hierarchical on v1 and v2 alike.
    pub fn start_round(&mut self, base: Option<&Path>) {
        let now = base.and_then(|b| {
            let usage = ["memory.usage_in_bytes", "memory.current"]
                .iter()
                .find_map(|f| std::fs::read_to_string(b.join(f)).ok())
                .and_then(|t| super::stat::number(&t))?;
            Some((b.to_path_buf(), usage))
        });
        self.base_still = now.is_some() && now == self.base_usage;
        self.base_usage = now;
    }

    /// Reads tab `id`'s cgroup. `NotFound`: the cgroup was removed under memmux's feet.
    /// `quiet`: the tab printed nothing lately; then, when nothing moved under the base
    /// this round, its last sample stands (for up to [`CARRY_FOR`]) without a read.
    pub fn read(&mut self, id: u64, cg: &TabCgroup, quiet: bool) -> io::Result<CgroupSample> {
        let now = Instant::now();
        // The OOM watcher saw a kill this sampler has not: read everything now.
        let killed = self
            .watches
            .get(&id)
            .is_some_and(|w| cg.oom_noticed() > w.oom_kills);
        if let Some(last) = self.carried(id, cg, quiet, now) {
            let mut s = last.clone();
            s.oom_victim = None;
            return Ok(s);
        }
        let usage = cg.usage(&mut self.buf)?;
        if let Some(w) = self
            .watches
            .get(&id)
            .filter(|_| !self.assume_moving && !killed)
        {
            // A quiet tab whose own usage did not move keeps its sample as long as it could
            // have been carried unread: when any other tab moves, 1,000 quiet tabs each read
            // one file rather than seven (a full read, about 100 us each, every round).
            let stands = if quiet && w.procs_quiet {
                CARRY_FOR
            } else {
                FULL_EVERY
            };
            if let Some((u, at, last)) = &w.last {
                if *u == usage && now.saturating_duration_since(*at) < stands {
                    let mut s = last.clone();
                    s.oom_victim = None;
                    return Ok(s);
                }
            }
        }
        let figures = cg.figures(usage, &mut self.buf)?;
        // The processes (a fresh open of cgroup.procs on v1, about 13 us, and a statm per
        // process) at most every FULL_EVERY while the memory moves a little, and at once
        // after a big move or an OOM kill, whose victim they name.
        if let Some(w) = self.watches.get_mut(&id) {
            if let Some((u, at, last)) = &w.procs {
                // A move of more than an eighth (at least 16 MiB) is worth naming the
                // process that made it.
                let small = usage.abs_diff(*u) <= (*u / 8).max(16 << 20);
                if now.saturating_duration_since(*at) < FULL_EVERY
                    && figures.oom_kills == w.oom_kills
                    && small
                {
                    let mut s = last.clone();
                    s.figures = figures;
                    s.oom_victim = None;
                    w.last = Some((usage, now, s.clone()));
                    return Ok(s);
                }
            }
        }
        let pids = cg.pids(&mut self.buf)?;
        let page = page_size();
        let mut members = Vec::with_capacity(pids.len());
        for &pid in &pids {
            let bytes = self.statm(pid, page).unwrap_or(0);
            members.push((pid, bytes));
        }
        let live: Vec<u32> = self
            .watches
            .values()
            .flat_map(|w| w.members.iter().map(|m| m.0))
            .chain(pids.iter().copied())
            .collect();
        self.statm.retain(|p, _| live.contains(p));
        let big = members.iter().max_by_key(|(_, b)| *b).copied();
        let w = self.watches.entry(id).or_default();
        let biggest = big.map(|(pid, bytes)| {
            let name = match &w.biggest {
                Some((p, n)) if *p == pid => n.clone(),
                _ => comm(pid),
            };
            ProcessInfo {
                pid,
                name,
                rss_minus_shared: bytes,
                pss: None,
            }
        });
        // The kernel's OOM killer takes the process with the most memory (oom_score), so
        // without the kernel log the victim is the biggest of those that vanished.
        let oom_victim = (figures.oom_kills > w.oom_kills)
            .then(|| {
                if let Some(v) = kmsg_victim(cg.name()) {
                    return Some(v);
                }
                let gone = w
                    .members
                    .iter()
                    .filter(|(p, _)| !pids.contains(p))
                    .max_by_key(|(_, b)| *b);
                // Noticed at once (the OOM watcher), the victim may not have exited yet:
                // then it is the biggest at the last sample.
                let Some(gone) = gone else {
                    return w.biggest.clone();
                };
                let name = match &w.biggest {
                    Some((p, n)) if *p == gone.0 => n.clone(),
                    _ => "?".to_string(),
                };
                Some((gone.0, name))
            })
            .map(|v| v.unwrap_or((0, "a program".to_string())));
        w.oom_kills = figures.oom_kills;
        w.biggest = biggest.as_ref().map(|b| (b.pid, b.name.clone()));
        let sample = CgroupSample {
            figures,
            processes: members.len() as u32,
            rss_minus_shared: members.iter().map(|(_, b)| b).sum(),
            biggest,
            oom_victim,
        };
        w.members = members;
        w.procs_quiet = quiet;
        w.last = Some((usage, now, sample.clone()));
        w.procs = Some((usage, now, sample.clone()));
        Ok(sample)
    }

    /// Whether [`CgroupSampler::read`] would give tab `id`'s last sample again without
    /// reading anything: the tab is quiet, so is everything under memmux's cgroup, no OOM
    /// kill, and the sample is younger than [`CARRY_FOR`].
    pub fn carries(&self, id: u64, cg: &TabCgroup, quiet: bool) -> bool {
        self.carried(id, cg, quiet, Instant::now()).is_some()
    }

    fn carried(&self, id: u64, cg: &TabCgroup, quiet: bool, now: Instant) -> Option<&CgroupSample> {
        let w = self.watches.get(&id)?;
        let killed = cg.oom_noticed() > w.oom_kills;
        if !quiet || !w.procs_quiet || !self.base_still || self.assume_moving || killed {
            return None;
        }
        let (_, at, last) = w.last.as_ref()?;
        (now.saturating_duration_since(*at) < CARRY_FOR).then_some(last)
    }

    fn statm(&mut self, pid: u32, page: u64) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        let scarce = crate::memory::fd_budget::scarce();
        if scarce {
            self.statm.remove(&pid);
        }
        if !self.statm.contains_key(&pid) {
            let f = std::fs::File::open(format!("/proc/{pid}/statm")).ok()?;
            if scarce || self.statm.len() >= MAX_OPEN_STATM {
                let mut text = [0u8; 128];
                let n = f.read_at(&mut text, 0).ok()?;
                return parse_statm(&text[..n], page);
            }
            self.statm.insert(pid, f);
        }
        let f = self.statm.get(&pid)?;
        let mut text = [0u8; 128];
        match f.read_at(&mut text, 0) {
            Ok(n) if n > 0 => parse_statm(&text[..n], page),
            _ => {
                self.statm.remove(&pid);
                None
            }
        }
    }
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// The newest kernel log record of an OOM kill in the cgroup named `name`
/// (`oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/.../NAME,...,task=NAME,pid=N,...`):
/// its program and pid. Reads `/dev/kmsg` without blocking (root or `dmesg_restrict = 0`);
/// `None` when it cannot be read or holds no such record.
pub fn kmsg_victim(name: &str) -> Option<(u32, String)> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
        .ok()?;
    let mut found = None;
    // One record per read; 8 KiB is the kernel's record limit. The ring holds a few
    // thousand records at most, so this ends (EAGAIN at its end).
    let mut rec = vec![0u8; 8192];
    for _ in 0..100_000 {
        let n = match f.read(&mut rec) {
            Ok(0) => break,
            Ok(n) => n,
            // EPIPE: records overwritten while reading; go on with the next.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(_) => break,
        };
        if let Some(v) = parse_oom_record(&String::from_utf8_lossy(&rec[..n]), name) {
            found = Some(v);
        }
    }
    found
}

/// The victim named by one kmsg record, if it is an OOM kill of a program in cgroup `name`
/// (`tab-<pid>-<n>` or `tab-<pid>-<n>/pane-<m>`).
pub fn parse_oom_record(record: &str, name: &str) -> Option<(u32, String)> {
    let text = record.split_once(';').map_or(record, |(_, t)| t);
    let rest = text.trim().strip_prefix("oom-kill:")?;
    let mut memcg_hit = false;
    let mut task = None;
    let mut pid = None;
    for kv in rest.split(',') {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        match k {
            // The victim's cgroup: a pane's, whether its own limit or its tab's was hit
            // (`oom_memcg` is the one at its limit, the tab's then).
            "task_memcg" => memcg_hit = v.strip_suffix(name).is_some_and(|d| d.ends_with('/')),
            "task" => task = Some(v.to_string()),
            "pid" => pid = v.parse().ok(),
            _ => {}
        }
    }
    memcg_hit.then_some(())?;
    Some((pid?, task?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::cgroup::tab::fake_tab_cgroup;

    /// A kill the OOM watcher saw is read at once, though the usage did not move (which
    /// otherwise reuses the last sample for up to 5 s), and names the biggest process when
    /// the victim has not exited yet and the kernel log does not say.
    #[test]
    fn a_kill_the_watcher_saw_is_read_at_once_and_named() {
        let me = std::process::id();
        let (_tmp, cg) = fake_tab_cgroup(
            "tab-1-7",
            &[
                ("memory.current", "10485760\n"),
                ("memory.stat", "anon 8388608\nfile 0\ninactive_file 0\n"),
                ("memory.events", "oom 0\noom_kill 0\n"),
                ("cgroup.procs", &format!("{me}\n")),
            ],
        );
        let d = cg.dir().to_path_buf();
        let mut s = CgroupSampler::default();
        let first = s.read(1, &cg, false).unwrap();
        assert_eq!((first.processes, first.figures.oom_kills), (1, 0));
        let biggest = first.biggest.clone().map(|b| (b.pid, b.name));
        assert_eq!(biggest.as_ref().map(|b| b.0), Some(me));
        // The kernel counts a kill; the usage reads the same.
        std::fs::write(d.join("memory.events"), "oom 1\noom_kill 1\n").unwrap();
        let unseen = s.read(1, &cg, false).unwrap();
        assert_eq!(
            unseen.figures.oom_kills, 0,
            "the same usage reuses the sample"
        );
        cg.set_oom_noticed(1);
        let seen = s.read(1, &cg, false).unwrap();
        assert_eq!(seen.figures.oom_kills, 1);
        assert_eq!(seen.oom_victim, biggest);
        // Said once: the next sample names no new victim.
        assert_eq!(s.read(1, &cg, false).unwrap().oom_victim, None);
    }

    /// A quiet tab keeps its last sample, unread, while the base's usage stands; a move of
    /// the base (any tab's memory) or output in the tab reads it again.
    #[test]
    fn quiet_tabs_are_not_read_while_nothing_moved_under_the_base() {
        let mib = |n: u64| format!("{}\n", n << 20);
        let (_tmp, cg) = fake_tab_cgroup(
            "tab-1-3",
            &[
                ("memory.current", &mib(10)),
                ("memory.stat", "anon 0\nfile 0\ninactive_file 0\n"),
                ("memory.events", "oom 0\noom_kill 0\n"),
                ("cgroup.procs", ""),
            ],
        );
        let d = cg.dir().to_path_buf();
        let base = cg.base_dir().unwrap().to_path_buf();
        assert_eq!(base, d.parent().unwrap());
        std::fs::write(base.join("memory.current"), mib(10)).unwrap();
        let mut s = CgroupSampler::default();
        let usage = |x: &CgroupSample| x.figures.usage;
        s.start_round(Some(&base));
        assert_eq!(usage(&s.read(1, &cg, true).unwrap()), 10 << 20);
        // The tab's file moves but the base's does not (a fake tree is not hierarchical):
        // the quiet tab is not read.
        std::fs::write(d.join("memory.current"), mib(20)).unwrap();
        s.start_round(Some(&base));
        assert_eq!(usage(&s.read(1, &cg, true).unwrap()), 10 << 20);
        // Output in the tab: read whatever the base says.
        assert_eq!(usage(&s.read(1, &cg, false).unwrap()), 20 << 20);
        // A big move while the tab prints reads its processes again; a sample whose
        // processes were read while it printed is not carried: the first quiet round reads.
        std::fs::write(d.join("memory.current"), mib(60)).unwrap();
        assert_eq!(usage(&s.read(1, &cg, false).unwrap()), 60 << 20);
        std::fs::write(d.join("memory.current"), mib(25)).unwrap();
        s.start_round(Some(&base));
        assert_eq!(usage(&s.read(1, &cg, true).unwrap()), 25 << 20);
        // Read while quiet, it is carried from now on.
        std::fs::write(d.join("memory.current"), mib(26)).unwrap();
        s.start_round(Some(&base));
        assert_eq!(usage(&s.read(1, &cg, true).unwrap()), 25 << 20);
        std::fs::write(d.join("memory.current"), mib(30)).unwrap();
        std::fs::write(base.join("memory.current"), mib(30)).unwrap();
        s.start_round(Some(&base));
        assert_eq!(
            usage(&s.read(1, &cg, true).unwrap()),
            30 << 20,
            "the base moved"
        );
        // No base known: every read reads.
        std::fs::write(d.join("memory.current"), mib(40)).unwrap();
        s.start_round(None);
        assert_eq!(usage(&s.read(1, &cg, true).unwrap()), 40 << 20);
    }

    #[test]
    fn oom_records_of_the_tab_only() {
        let rec = "6,1234,5678,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),\
                   cpuset=/,mems_allowed=0,oom_memcg=/a/memmux-9/tab-9-2,task_memcg=/a/memmux-9/tab-9-2,\
                   task=memhog,pid=4321,uid=0";
        assert_eq!(
            parse_oom_record(rec, "tab-9-2"),
            Some((4321, "memhog".to_string()))
        );
        assert_eq!(parse_oom_record(rec, "tab-9-22"), None);
        // A pane killed by its tab's limit: the record names the pane as the victim's cgroup.
        let pane = "6,1,2,-;oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a/memmux-9/tab-9-2,\
                    task_memcg=/a/memmux-9/tab-9-2/pane-3,task=memhog,pid=77,uid=0";
        assert_eq!(
            parse_oom_record(pane, "tab-9-2/pane-3"),
            Some((77, "memhog".to_string()))
        );
        assert_eq!(parse_oom_record(pane, "tab-9-2/pane-4"), None);
        assert_eq!(parse_oom_record(pane, "tab-9-2"), None);
        assert_eq!(parse_oom_record("6,1,2,-;some other line", "tab-9-2"), None);
    }
}
