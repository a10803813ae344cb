//! One tab's sample from its cgroup: the figures, the processes (count, biggest, the old
//! `statm` sum for the CSV), and the program an out-of-memory kill took.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::TabCgroup;
use super::books::{self, Books};
use super::stat::CgroupFigures;
use crate::memory::procs::{ProcessInfo, page_size, parse_statm};

mod balance;

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
    /// [`CgroupSampler::doubt`] when the processes were last read.
    procs_doubt: Duration,
    /// The tab's output count when it was last read marked quiet: while it stays the same,
    /// the tab printed nothing since, and a read counts as quiet though a figure that moved
    /// (memmux parking its screen moves its heap) took the mark back (see
    /// [`CgroupSampler::silent`]).
    quiet_output: Option<u64>,
    /// The usage [`CgroupSampler::balance`] read this round (the round's number and the
    /// usage): the round's own read of the tab takes it rather than reading the file again.
    fresh: Option<(u64, u64)>,
}

/// 5 s: the longest an unchanged usage stands for the whole sample. The kernel charges a
/// cgroup in batches of 64 pages per CPU, so a small new process can leave the usage where
/// it was; its count and the biggest process show up within this.
const FULL_EVERY: Duration = Duration::from_secs(5);

/// 60 s: the longest a quiet tab's sample is carried forward, unread, while the usage of
/// the cgroup holding every tab's has not moved (see [`CgroupSampler::base_still`]) and a
/// process may have been created under it ([`CgroupSampler::doubt`]): its process count and
/// biggest process catch up within this even when the kernel's charge batches hide a small
/// new process. At 1,000 idle tabs that is about 17 reads a second instead of 200 (one per
/// tab per 5 s chart column).
const CARRY_FOR: Duration = Duration::from_secs(60);

/// 30 s: each tab's carry ends up to this much before [`CARRY_FOR`] (by its id), so that
/// 1,000 samples taken in the same round do not all expire in the same round again (a full
/// read each, about 100 us: 100 ms of the sampler's CPU at once, every minute).
const CARRY_SPREAD: Duration = Duration::from_secs(30);

/// 15 min: the longest a quiet tab's sample is carried while nothing could have created a
/// process under the base (see [`CgroupSampler::doubt`]), less up to [`KEEP_SPREAD`] by the
/// tab's id. What neither the usage nor a new pid nor a page fault shows is left to this:
/// the kernel moving pages between its file lists (the working set), and a process moved
/// into a tab from outside. 1,000 tabs re-read every 10-15 min cost about 1 ms per 10 s.
const KEEP_FOR: Duration = Duration::from_secs(15 * 60);

/// 5 min: see [`KEEP_FOR`].
const KEEP_SPREAD: Duration = Duration::from_secs(5 * 60);

/// Up to `span` less, by tab `id`: spreads the tabs' expiries over `span`.
fn stagger(id: u64, span: Duration) -> Duration {
    let span_ms = span.as_millis().max(1) as u64;
    // Fibonacci hashing: consecutive ids land far apart.
    let spread = (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % span_ms;
    Duration::from_millis(spread)
}

/// What shows, between two rounds, that no process was created under memmux's tabs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Calm {
    /// The last pid the kernel handed out in memmux's pid namespace (`/proc/loadavg`):
    /// unchanged, no process or thread was created anywhere below it.
    last_pid: Option<u32>,
    /// Page faults of the processes under the base (`memory.stat` `total_pgfault` on v1,
    /// `pgfault` on v2, both hierarchical): unchanged, no process started to run there (a
    /// new process faults at its first write after `fork`, a new program at its first
    /// instruction after `exec`). The kernel flushes these counters every 2 s, so a fault
    /// shows at the latest one round later.
    faults: Option<u64>,
}

/// `statm` files kept open at most (the /proc sampler keeps as many): see
/// [`crate::memory::procs::MAX_OPEN_STATM`].
const MAX_OPEN_STATM: usize = crate::memory::procs::MAX_OPEN_STATM;

/// Per-tab state across samples (keyed by the tab's id).
#[derive(Debug, Default)]
pub struct CgroupSampler {
    watches: HashMap<u64, Watch>,
    buf: String,
    /// `/proc/PID/statm` kept open, by pid, with the tab it was read for: bound to that
    /// process, so a reused pid reads as gone rather than as another process.
    statm: HashMap<u32, (u64, std::fs::File)>,
    /// Tabs whose processes were last read while they printed: each needs one read while
    /// quiet before its sample may be carried (see [`CgroupSampler::unsettled`]).
    unsettled: std::collections::HashSet<u64>,
    /// Reads the figures at every sample, as for a tab whose memory moves all the time
    /// (cost tests).
    pub assume_moving: bool,
    /// The usage of the cgroup holding every tab's, as the last round read it.
    base_usage: Option<(PathBuf, u64)>,
    /// This round found it where the last round left it and where the books say, or the
    /// books accounted for its move ([`CgroupSampler::balance`]): no tab's memory moved but
    /// those found [`CgroupSampler::stale`].
    base_still: bool,
    /// The tabs' usages as last read, against the base's (see `books`).
    books: Books,
    /// The youngest tabs' usage files, kept open for the books (see `kept_usage`).
    kept: super::kept_usage::KeptUsage,
    /// Tabs whose usage as last read is not the one their sample was taken at: found moved
    /// by [`CgroupSampler::balance`], not read in full since. Never carried.
    stale: std::collections::HashSet<u64>,
    /// Rounds started, for [`Watch::fresh`].
    round: u64,
    /// [`CgroupSampler::balance`] ran this round (or had no need to).
    accounted: bool,
    /// The last round's [`Calm`] readings, and when it started.
    calm: Calm,
    round_at: Option<Instant>,
    /// How long, all rounds together, a process may have been created under the base unseen:
    /// the intervals between rounds that neither the last pid nor the base's page faults
    /// show quiet. A quiet tab's sample is carried [`CARRY_FOR`] of this, and while idle
    /// tabs neither fault nor fork this does not grow, however busy the rest of the machine.
    doubt: Duration,
    /// `/proc/loadavg`, kept open.
    loadavg: Option<std::fs::File>,
    /// [`CgroupSampler::start_round`] was called and the round not closed yet
    /// ([`CgroupSampler::close_round`]): a round that looked at the base first (the quiet
    /// round, `sampler::quiet`) and then reads the tabs compares the base once.
    round_open: bool,
}

/// Until when every watched tab's sample stands unread, the base still: in
/// [`CgroupSampler::doubt`] and in time (see [`CgroupSampler::carry_bound`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CarryBound {
    doubt: Duration,
    time: Instant,
}

impl CgroupSampler {
    /// Forgets tabs not in `ids`.
    pub fn retain(&mut self, ids: &[u64]) {
        // A set: `ids.contains` per watch made this 10^6 comparisons per round at 1,000 tabs.
        let ids: std::collections::HashSet<u64> = ids.iter().copied().collect();
        self.watches.retain(|id, _| ids.contains(id));
        self.unsettled.retain(|id| ids.contains(id));
        self.stale.retain(|id| ids.contains(id));
        self.statm.retain(|_, (id, _)| ids.contains(id));
        // The books are kept by cgroup, not by tab: `balance_at` forgets the closed ones.
    }

    /// Whether tab `id`'s usage was found moved since its sample (see
    /// [`CgroupSampler::balance`]).
    pub fn stale(&self, id: u64) -> bool {
        self.stale.contains(&id)
    }

    /// Whether any tab's usage was found moved since its sample.
    pub fn any_stale(&self) -> bool {
        !self.stale.is_empty()
    }

    /// Whether tab `id` printed nothing since it was last seen marked quiet: `marked` (its
    /// activity's quiet mark, read after its `output` count), or the same output count as
    /// then. The pacer takes the mark back when any of the tab's figures moves, its heap
    /// too: memmux parking a hidden tab's screen 2 s after it went quiet made 1,000 young
    /// tabs read their processes again while "busy", and each then needed another quiet
    /// read 5-10 s later before its sample could be carried.
    pub fn silent(&mut self, id: u64, marked: bool, output: u64) -> bool {
        if marked {
            self.watches.entry(id).or_default().quiet_output = Some(output);
            return true;
        }
        self.watches
            .get(&id)
            .is_some_and(|w| w.quiet_output == Some(output))
    }

    /// Whether tab `id` still needs its first read while quiet: its processes were last
    /// read while it printed (see [`Watch::procs_quiet`]).
    pub fn unsettled(&self, id: u64) -> bool {
        self.unsettled.contains(&id)
    }

    /// Whether any tab still needs its first read while quiet.
    pub fn any_unsettled(&self) -> bool {
        !self.unsettled.is_empty()
    }

    /// At the start of a round: reads the usage of `base`, the cgroup holding every tab's
    /// (one file instead of one per tab). When it has not moved since the last round, no
    /// tab's memory moved either, and quiet tabs may keep their last sample
    /// ([`CgroupSampler::read`] with `quiet`). Hierarchical on v1 and v2 alike.
    pub fn start_round(&mut self, base: Option<&Path>) {
        let last_pid = self.last_pid();
        self.start_round_at(base, last_pid, Instant::now());
    }

    /// [`CgroupSampler::start_round`] unless this round was started already.
    pub fn start_round_once(&mut self, base: Option<&Path>) {
        if !self.round_open {
            self.start_round(base);
        }
    }

    /// Ends the round: the next [`CgroupSampler::start_round_once`] reads the base again.
    pub fn close_round(&mut self) {
        self.round_open = false;
    }

    /// Ends a round that read no tab after [`CgroupSampler::start_round`]: the next round
    /// finds the base moved, so that no tab carries its sample over a move it did not see.
    pub fn abandon_round(&mut self) {
        if std::mem::take(&mut self.round_open) {
            self.base_usage = None;
        }
    }

    /// This round found the base's usage where the last one left it.
    pub fn base_still(&self) -> bool {
        self.base_still
    }

    /// When the first of the samples of `ids` stops standing unread (see
    /// [`CgroupSampler::stands`]); `None` when one of them would be read at the next round
    /// anyway (not sampled yet, or its processes last read while it printed).
    pub fn carry_bound(&self, ids: impl Iterator<Item = u64>) -> Option<CarryBound> {
        let mut bound: Option<CarryBound> = None;
        for id in ids {
            let w = self.watches.get(&id).filter(|w| w.procs_quiet)?;
            let (_, at, last) = w.last.as_ref()?;
            let b = if last.figures.pressure.is_some_and(|p| p > 0.0) {
                CarryBound {
                    doubt: Duration::MAX,
                    time: *at + CARRY_FOR,
                }
            } else {
                CarryBound {
                    doubt: w.procs_doubt + (CARRY_FOR - stagger(id, CARRY_SPREAD)),
                    time: *at + (KEEP_FOR - stagger(id, KEEP_SPREAD)),
                }
            };
            bound = Some(match bound {
                None => b,
                Some(a) => CarryBound {
                    doubt: a.doubt.min(b.doubt),
                    time: a.time.min(b.time),
                },
            });
        }
        bound
    }

    /// Whether the samples under `bound` still stand at `now`, as of this round.
    pub fn within(&self, bound: &CarryBound, now: Instant) -> bool {
        self.doubt < bound.doubt && now < bound.time
    }

    /// [`CgroupSampler::start_round`] with the kernel's last pid and the time given.
    fn start_round_at(&mut self, base: Option<&Path>, last_pid: Option<u32>, now: Instant) {
        let read = |b: &Path, files: &[&str]| {
            files
                .iter()
                .find_map(|f| std::fs::read_to_string(b.join(f)).ok())
        };
        let usage = base.and_then(|b| Some((b.to_path_buf(), books::base_usage(b)?)));
        let same = |a: Option<u64>, b: Option<u64>| a.is_some() && a == b;
        let pid_still = same(last_pid.map(u64::from), self.calm.last_pid.map(u64::from));
        // Read after the usage: a process created in between shows in one or the other.
        // Not when the pid proved the interval calm already. Read even when the base's usage
        // moved: the kernel's per-CPU charge stock of a tab's cgroup drains when another
        // cgroup charges on that CPU, so the usage moves on a busy machine while every tab
        // is idle, and counting those intervals as doubt expired every sample within minutes.
        let faults = base.filter(|_| !pid_still).and_then(|b| {
            let stat = read(b, &["memory.stat"])?;
            super::stat::field(&stat, "total_pgfault")
                .or_else(|| super::stat::field(&stat, "pgfault"))
        });
        let calm = Calm { last_pid, faults };
        let proven = pid_still || same(calm.faults, self.calm.faults);
        if let (false, Some(prev)) = (proven, self.round_at) {
            self.doubt += now.saturating_duration_since(prev);
        }
        self.calm = calm;
        self.round_at = Some(now);
        self.round_open = true;
        // Where the last round left it, and where the books say: a tab found moved by the
        // books, or read moved, since they were drawn up, without the base moving since
        // (the base moved in a round that did not read that tab) is looked for again.
        let books = usage
            .as_ref()
            .is_none_or(|(_, u)| self.books.balance(*u, books::stock_bound()) != Some(false));
        self.base_still = usage.is_some() && usage == self.base_usage && books;
        self.base_usage = usage;
        self.round += 1;
        self.accounted = self.base_still;
    }

    fn last_pid(&mut self) -> Option<u32> {
        let mut text = [0u8; 128];
        let n = crate::memory::fd_budget::read_kept(&mut self.loadavg, "/proc/loadavg", &mut text)?;
        crate::memory::procs::parse_loadavg_last_pid(text.get(..n)?)
    }

    /// Whether tab `id`'s sample in `w`, its processes read while it was quiet, may stand for
    /// it at `now`: for [`CARRY_FOR`] of doubt (see [`CgroupSampler::doubt`]) and at most
    /// [`KEEP_FOR`], each less the tab's stagger. A sample showing memory pressure (v2)
    /// stands only [`CARRY_FOR`]: the pressure figure decays by itself.
    fn stands(&self, id: u64, w: &Watch, now: Instant) -> bool {
        let Some((_, at, last)) = &w.last else {
            return false;
        };
        let age = now.saturating_duration_since(*at);
        if last.figures.pressure.is_some_and(|p| p > 0.0) {
            return age < CARRY_FOR;
        }
        let doubt = self.doubt.saturating_sub(w.procs_doubt);
        doubt < CARRY_FOR - stagger(id, CARRY_SPREAD) && age < KEEP_FOR - stagger(id, KEEP_SPREAD)
    }

    /// Reads tab `id`'s cgroup. `NotFound`: the cgroup was removed under memmux's feet.
    /// `quiet`: the tab printed nothing lately; then, when nothing moved under the base
    /// this round, its last sample stands (for up to [`CARRY_FOR`]) without a read.
    pub fn read(&mut self, id: u64, cg: &TabCgroup, quiet: bool) -> io::Result<CgroupSample> {
        self.read_at(id, cg, quiet, Instant::now())
    }

    fn read_at(
        &mut self,
        id: u64,
        cg: &TabCgroup,
        quiet: bool,
        now: Instant,
    ) -> io::Result<CgroupSample> {
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
        let round = self.round;
        let fresh = self
            .watches
            .get_mut(&id)
            .and_then(|w| w.fresh.take())
            .filter(|(r, _)| *r == round);
        let usage = match fresh {
            Some((_, u)) => u,
            None => cg.usage(&mut self.buf)?,
        };
        self.note_usage(id, cg, usage, now);
        if let Some(w) = self
            .watches
            .get(&id)
            .filter(|_| !self.assume_moving && !killed)
        {
            // A quiet tab whose own usage did not move keeps its sample as long as it could
            // have been carried unread: when any other tab moves, 1,000 quiet tabs each read
            // one file rather than seven (a full read, about 100 us each, every round).
            // A quiet tab whose processes were read while it printed is read in full now,
            // not up to FULL_EVERY later: only a quiet read may be carried, and a tab left
            // waiting is read again at every round until then (1,000 young tabs took 10-12 s
            // past the last one's opening to settle, into the bench's idle window).
            let first_quiet = quiet && !w.procs_quiet;
            let stands = if quiet && w.procs_quiet {
                self.stands(id, w, now)
            } else if first_quiet {
                false
            } else {
                w.last
                    .as_ref()
                    .is_some_and(|(_, at, _)| now.saturating_duration_since(*at) < FULL_EVERY)
            };
            if let Some((u, _, last)) = &w.last {
                if *u == usage && stands {
                    // `note_usage` found it not stale.
                    let mut s = last.clone();
                    s.oom_victim = None;
                    return Ok(s);
                }
            }
        }
        let figures = cg.figures(usage, &mut self.buf)?;
        // The processes (a fresh open of cgroup.procs on v1, about 13 us, and a statm per
        // process) at most every FULL_EVERY while a printing tab's memory moves a little,
        // and at once after a big move or an OOM kill, whose victim they name. A quiet
        // tab's move is rare, and its sample may be carried for minutes, so its processes
        // are read at once: a helper's exit (a new shell's start-up before its first output
        // showed 7 processes, then 1) moves the memory and must not leave its count behind.
        if let Some(w) = self.watches.get_mut(&id).filter(|_| !quiet) {
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
                    // Taken while the tab prints, as a read of its processes would be:
                    // not carried once it is quiet (see `Watch::procs_quiet`).
                    w.procs_quiet = false;
                    w.last = Some((usage, now, s.clone()));
                    self.stale.remove(&id);
                    return Ok(s);
                }
            }
        }
        let pids = cg.pids(&mut self.buf)?;
        let page = page_size();
        let mut members = Vec::with_capacity(pids.len());
        for &pid in &pids {
            let bytes = self.statm(id, pid, page).unwrap_or(0);
            members.push((pid, bytes));
        }
        // This tab's processes that left: O(files kept open). Collecting every tab's members
        // for each full read made the young tabs' first reads O(tabs²): at 1,000 tabs, 64
        // files against 1,000 members, some 50 us of each read.
        self.statm
            .retain(|p, (owner, _)| *owner != id || pids.contains(p));
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
                if let Some(v) = super::oom_victim::kmsg_victim(cg.name()) {
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
        if quiet {
            self.unsettled.remove(&id);
        } else {
            self.unsettled.insert(id);
        }
        w.procs_doubt = self.doubt;
        w.last = Some((usage, now, sample.clone()));
        w.procs = Some((usage, now, sample.clone()));
        self.stale.remove(&id);
        Ok(sample)
    }

    /// Whether tab `id`'s sample could be carried this round, read `quiet`, were the base
    /// still: a round none of whose due tabs could has no use for [`CgroupSampler::balance`].
    pub fn may_carry(&self, id: u64, quiet: bool) -> bool {
        quiet
            && self
                .watches
                .get(&id)
                .is_some_and(|w| w.procs_quiet && w.last.is_some())
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
        if !quiet
            || !w.procs_quiet
            || !self.base_still
            || self.assume_moving
            || killed
            || self.stale.contains(&id)
        {
            return None;
        }
        let (_, _, last) = w.last.as_ref()?;
        self.stands(id, w, now).then_some(last)
    }

    fn statm(&mut self, id: u64, pid: u32, page: u64) -> Option<u64> {
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
            self.statm.insert(pid, (id, f));
        }
        let (owner, f) = self.statm.get_mut(&pid)?;
        // A process moved into another tab is that tab's to drop when it leaves.
        *owner = id;
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

    /// A quiet tab in a fake tree whose own files say `mib` MiB and `pids`, and the base
    /// (its parent) at 10 MiB with `faults` page faults.
    fn quiet_tab(mib: u64, pids: &[u32]) -> (tempfile::TempDir, TabCgroup, PathBuf) {
        let procs: String = pids.iter().map(|p| format!("{p}\n")).collect();
        let (tmp, cg) = fake_tab_cgroup(
            "tab-1-5",
            &[
                ("memory.current", &format!("{}\n", mib << 20)),
                ("memory.stat", "anon 0\nfile 0\ninactive_file 0\n"),
                ("memory.events", "oom 0\noom_kill 0\n"),
                ("cgroup.procs", &procs),
            ],
        );
        let base = cg.base_dir().unwrap().to_path_buf();
        std::fs::write(base.join("memory.current"), "10485760\n").unwrap();
        set_faults(&base, 100);
        (tmp, cg, base)
    }

    fn set_faults(base: &Path, n: u64) {
        std::fs::write(base.join("memory.stat"), format!("anon 0\npgfault {n}\n")).unwrap();
    }

    fn set_usage(cg: &TabCgroup, mib: u64) {
        std::fs::write(cg.dir().join("memory.current"), format!("{}\n", mib << 20)).unwrap();
    }

    const ROUND: Duration = Duration::from_secs(5);

    /// Past a minute, a quiet tab's sample is carried while no process could have been
    /// created under the base: the machine handed out no pid, or (a busy machine) the tabs
    /// took no page fault. The tab's own file moves (a fake tree is not hierarchical), so a
    /// read would show; only the long limit ends the carry.
    #[test]
    fn a_quiet_tab_is_carried_past_a_minute_while_no_process_is_created() {
        let me = std::process::id();
        for busy_machine in [false, true] {
            let (_tmp, cg, base) = quiet_tab(10, &[me]);
            let mut s = CgroupSampler::default();
            let t0 = Instant::now();
            s.start_round_at(Some(&base), Some(500), t0);
            assert_eq!(s.read_at(1, &cg, true, t0).unwrap().figures.usage, 10 << 20);
            set_usage(&cg, 20);
            let mut reread = None;
            for k in 1..=200u32 {
                let now = t0 + ROUND * k;
                // A busy machine hands out pids all the time; idle tabs do not fault.
                let pid = if busy_machine { 500 + k } else { 500 };
                if !busy_machine {
                    set_faults(&base, 100 + u64::from(k));
                }
                s.start_round_at(Some(&base), Some(pid), now);
                if s.read_at(1, &cg, true, now).unwrap().figures.usage == 20 << 20 {
                    reread = Some(now - t0);
                    break;
                }
            }
            let reread = reread.expect("the long limit ends the carry");
            assert!(
                reread >= KEEP_FOR - KEEP_SPREAD && reread <= KEEP_FOR + ROUND,
                "re-read after {reread:?} (busy machine: {busy_machine})"
            );
        }
    }

    /// A new process in a quiet tab that moved no memory (the kernel's charge batches) is
    /// counted within [`CARRY_FOR`] of the first round that could not rule it out, however
    /// long the sample had been carried before.
    #[test]
    fn a_new_process_in_a_quiet_tab_is_counted_within_a_minute() {
        let me = std::process::id();
        let parent = std::os::unix::process::parent_id();
        let (_tmp, cg, base) = quiet_tab(10, &[me]);
        let mut s = CgroupSampler::default();
        let t0 = Instant::now();
        s.start_round_at(Some(&base), Some(500), t0);
        assert_eq!(s.read_at(1, &cg, true, t0).unwrap().processes, 1);
        // Five calm minutes.
        let mut now = t0;
        for _ in 0..60 {
            now += ROUND;
            s.start_round_at(Some(&base), Some(500), now);
            assert_eq!(s.read_at(1, &cg, true, now).unwrap().processes, 1);
        }
        // A process starts in the tab: a new pid and its page faults; the usages stand.
        std::fs::write(cg.dir().join("cgroup.procs"), format!("{me}\n{parent}\n")).unwrap();
        let born = now;
        let mut counted = None;
        for k in 1..=30u32 {
            now += ROUND;
            set_faults(&base, 200 + u64::from(k));
            s.start_round_at(Some(&base), Some(600 + k), now);
            if s.read_at(1, &cg, true, now).unwrap().processes == 2 {
                counted = Some(now - born);
                break;
            }
        }
        let counted = counted.expect("the new process is counted");
        assert!(counted <= CARRY_FOR + ROUND, "counted after {counted:?}");
    }

    /// A helper's exit soon after a quiet tab's processes were read (a new shell's start-up
    /// before its first output: seven processes, then one) shows in the count once the tab
    /// is quiet again, however calm the machine stays after: read at once when the tab is
    /// quiet; when it printed meanwhile (its prompt), the count reused for the small move is
    /// not carried past `FULL_EVERY`.
    #[test]
    fn a_helper_that_exited_leaves_the_count() {
        let me = std::process::id();
        let parent = std::os::unix::process::parent_id();
        for printed in [false, true] {
            let (_tmp, cg, base) = quiet_tab(10, &[me, parent]);
            let mut s = CgroupSampler::default();
            let t0 = Instant::now();
            s.start_round_at(Some(&base), Some(500), t0);
            assert_eq!(s.read_at(1, &cg, true, t0).unwrap().processes, 2);
            // The helper exits: its pages leave the tab and the base.
            std::fs::write(cg.dir().join("cgroup.procs"), format!("{me}\n")).unwrap();
            set_usage(&cg, 9);
            std::fs::write(base.join("memory.current"), "9437184\n").unwrap();
            let soon = t0 + Duration::from_secs(1);
            s.start_round_at(Some(&base), Some(500), soon);
            let count = s.read_at(1, &cg, !printed, soon).unwrap().processes;
            assert_eq!(count, if printed { 2 } else { 1 }, "printed: {printed}");
            // Quiet and calm from here on: the base stands and no pid is handed out.
            let mut counted = None;
            for k in 1..=12u32 {
                let now = soon + ROUND * k;
                s.start_round_at(Some(&base), Some(500), now);
                if s.read_at(1, &cg, true, now).unwrap().processes == 1 {
                    counted = Some(now - t0);
                    break;
                }
            }
            let counted = counted.expect("the exited helper leaves the count");
            assert!(
                counted <= FULL_EVERY + ROUND * 2,
                "counted after {counted:?} (printed: {printed})"
            );
        }
    }

    /// The rounds' intervals count as doubt unless the last pid or the faults stood.
    #[test]
    fn only_a_round_that_rules_out_a_new_process_is_calm() {
        let (_tmp, _cg, base) = quiet_tab(10, &[]);
        let mut s = CgroupSampler::default();
        let t0 = Instant::now();
        let round = |s: &mut CgroupSampler, base: Option<&Path>, pid, k| {
            s.start_round_at(base, pid, t0 + ROUND * k);
            s.doubt
        };
        round(&mut s, Some(&base), Some(7), 0);
        // Same pid, more faults (a tab ran, created nothing): calm.
        set_faults(&base, 150);
        assert_eq!(round(&mut s, Some(&base), Some(7), 1), Duration::ZERO);
        // Another pid: the faults, not read while the pid stood, are not known to stand.
        assert_eq!(round(&mut s, Some(&base), Some(8), 2), ROUND);
        // Another pid, the same faults (a process elsewhere on the machine): calm.
        assert_eq!(round(&mut s, Some(&base), Some(9), 3), ROUND);
        // Both moved: a process may have started in a tab.
        set_faults(&base, 151);
        assert_eq!(round(&mut s, Some(&base), Some(10), 4), ROUND * 2);
        // The base's usage moved (a charge stock drained), its faults stood: calm.
        std::fs::write(base.join("memory.current"), "20971520\n").unwrap();
        assert_eq!(round(&mut s, Some(&base), Some(11), 5), ROUND * 2);
        // Nothing known (no base, no pid): doubt.
        round(&mut s, None, None, 6);
        assert_eq!(round(&mut s, None, None, 7), ROUND * 4);
    }

    /// A sample showing memory pressure is read again within [`CARRY_FOR`], calm or not:
    /// the figure decays by itself.
    #[test]
    fn a_sample_under_pressure_is_carried_a_minute_at_most() {
        let (_tmp, cg, base) = quiet_tab(10, &[std::process::id()]);
        std::fs::write(
            cg.dir().join("memory.pressure"),
            "some avg10=2.50 avg60=1.00 avg300=0.20 total=100\nfull avg10=0 avg60=0 avg300=0 total=0\n",
        )
        .unwrap();
        let mut s = CgroupSampler::default();
        let t0 = Instant::now();
        s.start_round_at(Some(&base), Some(500), t0);
        let first = s.read_at(1, &cg, true, t0).unwrap();
        assert!(first.figures.pressure.is_some_and(|p| p > 0.0));
        set_usage(&cg, 20);
        let at = |s: &mut CgroupSampler, secs: u64| {
            let now = t0 + Duration::from_secs(secs);
            s.start_round_at(Some(&base), Some(500), now);
            s.read_at(1, &cg, true, now).unwrap().figures.usage >> 20
        };
        assert_eq!(at(&mut s, 55), 10);
        assert_eq!(at(&mut s, 65), 20);
    }

    /// A tab whose processes were read while it printed has them read again at its first
    /// quiet read, though its usage stands and the last read is younger than
    /// [`FULL_EVERY`]; from then on its sample is carried.
    #[test]
    fn the_first_quiet_read_reads_the_processes_at_once() {
        let me = std::process::id();
        let parent = std::os::unix::process::parent_id();
        let (_tmp, cg, base) = quiet_tab(10, &[me, parent]);
        let mut s = CgroupSampler::default();
        let t0 = Instant::now();
        s.start_round_at(Some(&base), Some(500), t0);
        // Read while printing: a prompt's helper counted.
        assert_eq!(s.read_at(1, &cg, false, t0).unwrap().processes, 2);
        assert!(s.unsettled(1));
        assert!(s.carry_bound([1].into_iter()).is_none());
        // The helper is gone, the usage stands; one second later the tab is quiet.
        std::fs::write(cg.dir().join("cgroup.procs"), format!("{me}\n")).unwrap();
        let t1 = t0 + Duration::from_secs(1);
        s.start_round_at(Some(&base), Some(500), t1);
        assert_eq!(s.read_at(1, &cg, true, t1).unwrap().processes, 1);
        assert!(!s.unsettled(1) && !s.any_unsettled());
        assert!(s.carry_bound([1].into_iter()).is_some());
        // Carried from now on: the file moves, the sample does not.
        std::fs::write(cg.dir().join("cgroup.procs"), format!("{me}\n{parent}\n")).unwrap();
        let t2 = t1 + ROUND;
        s.start_round_at(Some(&base), Some(500), t2);
        assert_eq!(s.read_at(1, &cg, true, t2).unwrap().processes, 1);
    }

    /// A tab stays silent while its output count is the one it had when last read marked
    /// quiet, whoever took the mark back; its first output since ends that.
    #[test]
    fn a_tab_is_silent_until_its_output_moves() {
        let mut s = CgroupSampler::default();
        assert!(!s.silent(1, false, 0), "never seen quiet");
        assert!(s.silent(1, true, 40));
        assert!(
            s.silent(1, false, 40),
            "the mark taken back by a moved figure"
        );
        assert!(!s.silent(1, false, 41), "it printed");
        assert!(!s.silent(2, false, 40), "another tab");
        s.retain(&[2]);
        assert!(!s.silent(1, false, 40), "a closed tab is forgotten");
    }

    /// Three quiet tabs of 10 MiB in one fake tree, and their base at 32 MiB (2 MiB charged
    /// to the base itself), each read once while quiet and the books drawn up, at `t0`.
    fn booked_tabs(t0: Instant) -> (tempfile::TempDir, Vec<TabCgroup>, PathBuf, CgroupSampler) {
        let (tmp, tabs, base) = three_tabs("anon 0\nfile 0\ninactive_file 0\n");
        set_faults(&base, 100);
        let mut s = CgroupSampler::default();
        s.start_round_at(Some(&base), Some(500), t0);
        s.balance_at(ids(&tabs), usize::MAX, t0);
        for (i, cg) in tabs.iter().enumerate() {
            s.read_at(i as u64 + 1, cg, true, t0).unwrap();
        }
        (tmp, tabs, base, s)
    }

    /// Three tabs of 10 MiB with `stat` for their `memory.stat`, in one fake tree, and their
    /// base at 32 MiB.
    fn three_tabs(stat: &str) -> (tempfile::TempDir, Vec<TabCgroup>, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let h = crate::memory::cgroup::tab::fake_v2_hierarchy(tmp.path());
        let tabs: Vec<TabCgroup> = (1..=3)
            .map(|n| {
                let cg = TabCgroup::create(&h, &format!("tab-1-{n}")).unwrap();
                crate::memory::cgroup::tab::write_files(
                    cg.dir(),
                    &[
                        ("memory.current", "10485760\n"),
                        ("memory.stat", stat),
                        ("memory.events", "oom 0\noom_kill 0\n"),
                        ("cgroup.procs", ""),
                    ],
                );
                cg
            })
            .collect();
        let base = tabs[0].base_dir().unwrap().to_path_buf();
        set_base(&base, 32);
        (tmp, tabs, base)
    }

    fn ids(tabs: &[TabCgroup]) -> impl Iterator<Item = (u64, &TabCgroup, bool)> {
        tabs.iter()
            .enumerate()
            .map(|(i, cg)| (i as u64 + 1, cg, false))
    }

    /// A tab's usage moved to `mib` MiB, the base's to `base_mib`.
    fn moves(tab: &TabCgroup, mib: u64, base: &Path, base_mib: u64) {
        set_usage(tab, mib);
        set_base(base, base_mib);
    }

    fn set_base(base: &Path, mib: u64) {
        std::fs::write(base.join("memory.current"), format!("{}\n", mib << 20)).unwrap();
    }

    /// A round at `now`: the base read, the books balanced, each tab's figure in MiB.
    fn round_at(s: &mut CgroupSampler, tabs: &[TabCgroup], base: &Path, now: Instant) -> Vec<u64> {
        s.start_round_at(Some(base), Some(500), now);
        s.balance_at(ids(tabs), usize::MAX, now);
        (0..tabs.len())
            .map(|i| {
                s.read_at(i as u64 + 1, &tabs[i], true, now)
                    .unwrap()
                    .figures
                    .usage
                    >> 20
            })
            .collect()
    }

    /// A move of the base is looked for in the tab that moved last first, and the reading
    /// stops once the moves read account for it: a tab read later would show its own move
    /// (its file moved, the fake base not), so its carried figure shows it was not read.
    #[test]
    fn the_books_stop_at_the_tabs_that_account_for_the_move() {
        let t0 = Instant::now();
        let (_tmp, tabs, base, mut s) = booked_tabs(t0);
        // Tab 3 moves by 1 MiB, the base with it: found first, the youngest of the three
        // (all three read in one sweep).
        moves(&tabs[2], 11, &base, 33);
        assert_eq!(round_at(&mut s, &tabs, &base, t0 + ROUND), [10, 10, 11]);
        assert!(s.base_still(), "the books account for the move");
        // Tab 3 moves again; tab 1's file moves unseen by the base.
        set_usage(&tabs[2], 12);
        moves(&tabs[0], 15, &base, 34);
        assert_eq!(
            round_at(&mut s, &tabs, &base, t0 + ROUND * 2),
            [10, 10, 12],
            "tab 3, the last to move, accounts for it: tab 1 is not read"
        );
    }

    /// A tab that moved is read however long ago it last moved, and is never carried over
    /// its move, whether the books balance in the round that found it or later.
    #[test]
    fn the_books_read_on_until_the_tab_that_moved() {
        let t0 = Instant::now();
        let (_tmp, tabs, base, mut s) = booked_tabs(t0);
        moves(&tabs[2], 11, &base, 33);
        round_at(&mut s, &tabs, &base, t0 + ROUND);
        // Tab 2, not the last to move, moves by 4 MiB.
        moves(&tabs[1], 14, &base, 37);
        assert_eq!(round_at(&mut s, &tabs, &base, t0 + ROUND * 2), [10, 14, 11]);
        assert!(s.base_still() && !s.any_stale());
        // Found moved in a round that does not read it (not due): stale until read.
        moves(&tabs[0], 9, &base, 36);
        let t3 = t0 + ROUND * 3;
        s.start_round_at(Some(&base), Some(500), t3);
        s.balance_at(ids(&tabs), usize::MAX, t3);
        assert!(s.base_still() && s.stale(1) && !s.stale(2));
        s.start_round_at(Some(&base), Some(500), t3 + ROUND);
        assert!(s.stale(1));
        assert_eq!(
            s.read_at(1, &tabs[0], true, t3 + ROUND)
                .unwrap()
                .figures
                .usage
                >> 20,
            9
        );
        assert!(!s.any_stale());
    }

    /// A round with one tab that could be carried reads one tab for the books, not all: the
    /// move not found, the base counts as moved and the books stand for a later round.
    #[test]
    fn the_books_read_no_more_tabs_than_the_budget() {
        let t0 = Instant::now();
        let (_tmp, tabs, base, mut s) = booked_tabs(t0);
        // Tab 1, the oldest, is looked at last.
        moves(&tabs[0], 11, &base, 33);
        let t1 = t0 + ROUND;
        s.start_round_at(Some(&base), Some(500), t1);
        s.balance_at(ids(&tabs), 1, t1);
        assert!(!s.base_still());
        let booked = |s: &CgroupSampler, i: usize| s.books.usage(tabs[i].book_key());
        assert_eq!(booked(&s, 0), Some(10 << 20), "tab 1 not read");
        let t2 = t1 + ROUND;
        s.start_round_at(Some(&base), Some(500), t2);
        s.balance_at(ids(&tabs), usize::MAX, t2);
        assert!(s.base_still() && s.stale(1) && !s.stale(3));
        assert_eq!(booked(&s, 0), Some(11 << 20));
    }

    /// A move no tab accounts for (the base's own charge) reads every tab, counts as a move
    /// of the base, and draws the books up afresh: the next round finds them balanced.
    #[test]
    fn a_move_no_tab_accounts_for_reads_every_tab_once() {
        let t0 = Instant::now();
        let (_tmp, tabs, base, mut s) = booked_tabs(t0);
        set_base(&base, 31);
        set_usage(&tabs[0], 12);
        set_usage(&tabs[2], 8);
        // +2 and -2 against the base's -1: no set of reads balances, all are read.
        assert_eq!(round_at(&mut s, &tabs, &base, t0 + ROUND), [12, 10, 8]);
        assert!(!s.base_still());
        assert_eq!(s.kept.len(), 3, "the youngest tabs' usage files kept open");
        s.start_round_at(Some(&base), Some(500), t0 + ROUND * 2);
        assert!(s.base_still());
    }

    /// The base's own charge stock drains (the base falls by 128 KiB, no tab with it): once
    /// the base's own kernel memory was measured, in a round that found the books balanced,
    /// the books balance at it and no tab is read; not measured, the same drain reads every
    /// tab and draws the books up again. Tab 1's file moves unseen by the base each time: a
    /// tab that is read shows it.
    #[test]
    fn the_base_own_stock_draining_reads_no_tab_once_its_kernel_memory_is_known() {
        for measured in [true, false] {
            let t0 = Instant::now();
            let (_tmp, tabs, base, mut s) = booked_tabs(t0);
            // 1 MiB of kernel memory in each tab; of the base's own 2 MiB, 1920 KiB.
            for cg in &tabs {
                let stat = "anon 0\nfile 0\nkernel 1048576\ninactive_file 0\n";
                std::fs::write(cg.dir().join("memory.stat"), stat).unwrap();
            }
            let kernel = (3 << 20) + (1920 << 10);
            let stat = format!("anon 0\nkernel {kernel}\npgfault 100\n");
            std::fs::write(base.join("memory.stat"), stat).unwrap();
            let t1 = t0 + ROUND;
            s.start_round_at(Some(&base), Some(500), t1);
            assert!(s.base_still());
            if measured {
                s.measure_own_kernel(ids(&tabs));
            }
            set_usage(&tabs[0], 15);
            let drained = (32 << 20) - (128 << 10);
            std::fs::write(base.join("memory.current"), format!("{drained}\n")).unwrap();
            let figures = round_at(&mut s, &tabs, &base, t1 + ROUND);
            if measured {
                assert_eq!(figures, [10, 10, 10], "no tab read");
                assert!(s.base_still());
            } else {
                assert_eq!(figures, [15, 10, 10], "every tab read");
                assert!(!s.base_still());
            }
        }
    }

    /// Quiet tabs read once, never booked: the first still round with every tab quiet draws
    /// the books up and measures the base's own kernel memory in one sweep, so the base's
    /// own charge stock draining later reads no tab (left to that move, it read every tab
    /// and a later round measured the kernel memory). Tab 1's file moves unseen by the base:
    /// a tab that is read shows it.
    #[test]
    fn a_still_round_draws_the_books_up_before_any_move() {
        let t0 = Instant::now();
        let (_tmp, tabs, base, mut s) = unbooked_tabs(t0);
        let t1 = t0 + ROUND;
        s.start_round_at(Some(&base), Some(500), t1);
        assert!(s.base_still());
        s.draw_up_in_one_sweep(ids(&tabs));
        assert!(!s.wants_own_kernel(), "measured in the same sweep");
        assert_eq!(s.kept.len(), 3, "the youngest tabs' usage files kept open");
        // Drawn up, a still round passes over no tab until a cgroup is made or joined (other
        // tests make cgroups meanwhile: a call during which none was made decides).
        let passed_over = |s: &mut CgroupSampler| {
            let seen = std::cell::Cell::new(0);
            s.draw_up_in_one_sweep(ids(&tabs).inspect(|_| seen.set(seen.get() + 1)));
            seen.get()
        };
        let calm = (0..1000).find_map(|_| {
            let stamp = crate::memory::cgroup::tab::made_and_joined();
            let seen = passed_over(&mut s);
            (crate::memory::cgroup::tab::made_and_joined() == stamp).then_some(seen)
        });
        assert_eq!(calm, Some(0), "no tab looked at");
        tabs[2].set_joined(Ok(()));
        assert_eq!(passed_over(&mut s), 3, "a program joined: looked again");
        s.close_round();
        set_usage(&tabs[0], 15);
        let drained = (32 << 20) - (128 << 10);
        std::fs::write(base.join("memory.current"), format!("{drained}\n")).unwrap();
        assert_eq!(
            round_at(&mut s, &tabs, &base, t1 + ROUND),
            [10, 10, 10],
            "no tab read"
        );
        assert!(s.base_still());
    }

    /// A round that found the base moved by a tab, with every tab quiet: the sweep draws the
    /// books up at the base as read, and the round finds them balanced, the tabs that moved
    /// stale and the other carried.
    #[test]
    fn a_sweep_in_a_round_the_base_moved_balances_the_books() {
        let t0 = Instant::now();
        let (_tmp, tabs, base, mut s) = unbooked_tabs(t0);
        moves(&tabs[1], 12, &base, 34);
        set_usage(&tabs[0], 15);
        let t1 = t0 + ROUND;
        s.start_round_at(Some(&base), Some(500), t1);
        assert!(!s.base_still());
        s.draw_up_in_one_sweep(ids(&tabs));
        assert!(!s.wants_own_kernel(), "drawn up and measured");
        s.balance_at(ids(&tabs), usize::MAX, t1);
        assert!(s.base_still(), "the books account for the move");
        assert!(s.stale(1) && s.stale(2) && !s.stale(3));
    }

    /// Three quiet tabs of 10 MiB (1 MiB of it kernel memory) in one fake tree and their base
    /// at 32 MiB (2 MiB charged to the base itself, 1920 KiB of it kernel memory), each read
    /// once while quiet at `t0`, the books never drawn up.
    fn unbooked_tabs(t0: Instant) -> (tempfile::TempDir, Vec<TabCgroup>, PathBuf, CgroupSampler) {
        let (tmp, tabs, base) = three_tabs("anon 0\nfile 0\nkernel 1048576\ninactive_file 0\n");
        let kernel = (3 << 20) + (1920 << 10);
        let stat = format!("anon 0\nkernel {kernel}\npgfault 100\n");
        std::fs::write(base.join("memory.stat"), stat).unwrap();
        let mut s = CgroupSampler::default();
        s.start_round_at(Some(&base), Some(500), t0);
        for (i, cg) in tabs.iter().enumerate() {
            s.read_at(i as u64 + 1, cg, true, t0).unwrap();
        }
        s.close_round();
        (tmp, tabs, base, s)
    }

    /// 1,000 tabs sampled in one round expire over six rounds or more, not in one.
    #[test]
    fn the_expiries_of_many_tabs_are_spread() {
        let mut per_round = std::collections::HashMap::new();
        for id in 1..=1000u64 {
            let s = stagger(id, CARRY_SPREAD);
            assert!(s < CARRY_SPREAD);
            *per_round.entry(s.as_secs() / 5).or_insert(0) += 1;
        }
        assert_eq!(per_round.len(), 6);
        assert!(per_round.values().all(|n| *n < 250), "{per_round:?}");
    }
}
