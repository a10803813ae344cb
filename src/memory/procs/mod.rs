//! /proc sampling of each session's process tree.
//!
//! A session's tree is every process whose session id (`/proc/PID/stat` field 6) equals the
//! session shell's pid (the pty spawner makes the shell a session leader), plus the
//! parent-pid subtree of every such process (that catches children that called `setsid`
//! themselves). `/proc/PID/task/*/children` is not used: it is missing on some kernels.
//!
//! Cost model (release build, 2-core dev machine kind, `benches/procs.rs`): listing `/proc`
//! and reading every `stat` costs about 3.5 us per process (475 us for ~135), reading one
//! `statm` about 1.8 us, one `smaps_rollup` about 3 ms for a 1 GiB process in 4 KiB pages
//! (earlier measurements saw up to 20 ms). So [`Sampler::sample`] rescans `/proc` only
//! every [`SamplerConfig::rescan_every`] (5 s) or when a root is new, reads `statm` of the
//! known pids otherwise, and reads `smaps_rollup` every [`SamplerConfig::pss_every`] (10 s).
//!
//! Figures:
//! - `rss_minus_shared` is `statm` resident minus shared (fields 2 and 3, pages), i.e. the
//!   process's resident anonymous memory (`RssAnon`): heap, stacks, private mmaps. It leaves
//!   out file-backed pages (binaries, shared libraries, page cache of mapped files) and shmem.
//!   It tracks a tree's own memory far better than summed RSS (bash: 284 kB vs 3,180 kB RSS,
//!   most of the RSS being libc and bash's text shared with every other shell).
//! - `pss` is the sum of `smaps_rollup` `Pss`: private pages plus each shared page divided by
//!   the number of processes mapping it. Exact, but costly, so it is refreshed per process at
//!   the slower cadence; between passes the tree figure is the sum of each live member's last
//!   PSS (members that left drop out at once; members not yet measured count with their
//!   `rss_minus_shared` until the next pass).
//!
//! Hand parsing rather than the `procfs` crate: measured side by side (release, 97
//! processes), a full scan cost the same (360 vs 366 us), a `statm` read was slower through
//! `procfs` (2.2-2.4 us vs 1.6 us: `Process::new` opens the pid directory first), and
//! `procfs` 0.17 brings 6 crates, among them rustix 0.38 and linux-raw-sys 0.4 next to the
//! rustix 1.x already in the tree (about 18 s of release build on 2 cores), for three small
//! parsers that are tested here.
//!
//! Between full rescans (every [`SamplerConfig::full_every`], and whenever the caller asks
//! for one because a command started), a rescan reads `stat` only of pids it has not seen
//! before: a process outside every tree stays outside (its session id can only become its
//! own pid, and its children inherit its session or start their own), so only new pids can
//! be new members. That leaves the listing of `/proc` and a few reads: an idle memmux with
//! four tabs spent 3.65 ms of its 4.86 ms of CPU per 10 s in the sampler before this, most
//! of it reading the `stat` of every process on the machine every 5 s. A pid reused by a
//! member-to-be before the next full rescan is missed until then.
//!
//! Processes vanish between listing and reading: ENOENT, ESRCH, EACCES, EPERM and short or
//! empty reads mean "gone" (or "not ours to read"), never an error.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read};
use std::time::{Duration, Instant};

mod files;
mod scan;

pub use files::{
    StatFields, foreground_name, page_size, parse_loadavg_last_pid, parse_smaps_rollup_pss,
    parse_stat, parse_statm, self_rss, smaps_field_kb,
};

/// One process of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    /// `comm` (at most 15 bytes, set by the program; not the full command line).
    pub name: String,
    /// Bytes: `statm` (resident - shared) * page size.
    pub rss_minus_shared: u64,
    /// Bytes: `smaps_rollup` `Pss` from the latest PSS pass that covered this process.
    pub pss: Option<u64>,
}

/// One sample of one session's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeSample {
    /// The session's shell pid, as passed to [`Sampler::sample`].
    pub root: u32,
    pub at: Instant,
    /// Live processes counted (zombies and vanished pids excluded).
    pub processes: usize,
    /// Bytes, sum over the tree.
    pub rss_minus_shared: u64,
    /// Bytes, sum over the tree of each member's latest `smaps_rollup` Pss (see the module
    /// docs for members not yet measured). `None` for an empty tree or when the kernel has
    /// no `smaps_rollup` (before 4.14).
    pub pss: Option<u64>,
    /// When the latest PSS pass over this tree ran (how stale `pss` may be).
    pub pss_at: Option<Instant>,
    /// `pss` brought up to date between passes: each member's PSS moved by how much its
    /// `statm` (resident minus shared) moved since that PSS was read. Private pages a
    /// process touches or frees count 1:1 in both; without this, a program caught half-way
    /// through an allocation kept its half figure until the next pass, 10 s on.
    pub pss_now: Option<u64>,
    /// The member with the largest `rss_minus_shared`.
    pub biggest: Option<ProcessInfo>,
}

impl TreeSample {
    fn empty(root: u32, at: Instant) -> Self {
        TreeSample {
            root,
            at,
            processes: 0,
            rss_minus_shared: 0,
            pss: None,
            pss_at: None,
            pss_now: None,
            biggest: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplerConfig {
    /// Full `/proc` rescans (membership) at most this often, unless a root is new.
    /// Processes started between rescans are missed for up to this long.
    pub rescan_every: Duration,
    /// `smaps_rollup` pass over each tree this often.
    pub pss_every: Duration,
    /// Rescans read every process's `stat` this often (the others read new pids only).
    pub full_every: Duration,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            // 5 s: a full /proc scan costs ~1 ms for 130 processes, most of an idle memmux's
            // CPU; the UI asks for a rescan at once when a tab's foreground command changes.
            rescan_every: Duration::from_secs(5),
            pss_every: Duration::from_secs(10),
            full_every: Duration::from_secs(60),
        }
    }
}

/// Counters, for tests, benches and a debug view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamplerStats {
    /// `/proc` rescans (membership).
    pub rescans: u64,
    /// Rescans that read every process's `stat`.
    pub full_rescans: u64,
    /// Periodic rescans left out because no process was created since the last one (the
    /// kernel's last pid, `/proc/loadavg`, had not moved).
    pub rescans_skipped: u64,
    /// `stat` reads, all rescans together.
    pub stat_reads: u64,
    /// `stat` reads left out: pids known to be outside every tree.
    pub stat_skips: u64,
    /// `statm` reads (fast path).
    pub statm_reads: u64,
    /// `smaps_rollup` reads.
    pub pss_reads: u64,
    /// Pids that vanished between listing and reading (normal, not errors).
    pub vanished: u64,
    /// Reads that failed for any other reason (e.g. EMFILE); the process is skipped.
    pub read_errors: u64,
    pub last_error: Option<String>,
}

#[derive(Debug)]
struct Member {
    pid: u32,
    name: String,
    /// `statm`, kept open and read again from offset 0 each sample: no path lookup, open and
    /// close per read (most of a sample's cost), and bound to this process, so a reused pid
    /// reads as gone rather than as someone else.
    statm: Option<File>,
    /// Latest statm reading, bytes.
    rss: u64,
    /// `rss` when `pss` was measured: an unchanged process is not measured again until
    /// [`PSS_MAX_AGE`] has passed.
    pss_rss: Option<u64>,
    /// Latest smaps_rollup Pss, bytes; `None` until measured or when unreadable (EACCES:
    /// another user's process, e.g. under sudo).
    pss: Option<u64>,
}

/// 64: `statm` files kept open at most, across all trees; more are opened for each read
/// (about 8 us more). The cgroup sampler keeps as many. 256 each put memmux's own
/// descriptors at 485 with 1,000 tabs (3 per tab + 320 is issue 18's bound); a cached file
/// saves its open only for processes whose memory moves, which are few at any time.
pub const MAX_OPEN_STATM: usize = 64;

/// 60 s: the longest a member's PSS goes unmeasured while its resident size stays the same
/// (its PSS can still move when other processes map or unmap pages it shares).
const PSS_MAX_AGE: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Tree {
    /// Sorted by pid.
    members: Vec<Member>,
    /// `stat` field 22 of the root when first seen, to notice the root's pid being reused
    /// after the shell exited (pid_max is 32768 on this machine kind).
    root_start: Option<u64>,
    root_reused: bool,
    pss_at: Option<Instant>,
    /// When every member's PSS was last measured, changed or not.
    pss_all_at: Option<Instant>,
    /// Members at the last PSS pass.
    pss_count: usize,
}

/// Samples sessions' process trees. Not a thread: the caller runs it on its own thread
/// (a PSS pass can take tens of ms, so never on the UI thread).
#[derive(Debug)]
pub struct Sampler {
    config: SamplerConfig,
    trees: HashMap<u32, Tree>,
    last_scan: Option<Instant>,
    last_full_scan: Option<Instant>,
    force_rescan: bool,
    /// Pids in no tree at the last rescan: not read again until the next full rescan.
    outsiders: HashSet<u32>,
    pss_supported: bool,
    stats: SamplerStats,
    /// `/proc/loadavg`, kept open: its last field is the last pid the kernel handed out.
    loadavg: Option<File>,
    /// `/proc/self/statm`, kept open likewise.
    self_statm: Option<File>,
    /// That pid at the last rescan.
    scanned_last_pid: Option<u32>,
    // Reused buffers: sampling allocates nothing in steady state.
    path: String,
    buf: Vec<u8>,
}

/// Why a /proc read produced nothing.
enum ReadFail {
    /// ENOENT/ESRCH/EACCES/EPERM or an empty read: gone, or not ours to read.
    Gone {
        denied: bool,
    },
    Other(io::Error),
}

fn classify(e: io::Error) -> ReadFail {
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => ReadFail::Gone { denied: false },
        Some(libc::EACCES) | Some(libc::EPERM) => ReadFail::Gone { denied: true },
        _ => ReadFail::Other(e),
    }
}

fn read_proc_file(path: &str, buf: &mut Vec<u8>) -> Result<(), ReadFail> {
    buf.clear();
    let mut f = File::open(path).map_err(classify)?;
    f.read_to_end(buf).map_err(classify)?;
    if buf.is_empty() {
        return Err(ReadFail::Gone { denied: false });
    }
    Ok(())
}

impl Sampler {
    pub fn new(config: SamplerConfig) -> Self {
        let mut buf = Vec::with_capacity(2048);
        // smaps_rollup appeared in Linux 4.14; without it PSS would need the full `smaps`
        // (hundreds of lines per process), which is too costly at any cadence: report None.
        let pss_supported = read_proc_file("/proc/self/smaps_rollup", &mut buf).is_ok();
        Sampler {
            config,
            trees: HashMap::new(),
            last_scan: None,
            last_full_scan: None,
            force_rescan: false,
            outsiders: HashSet::new(),
            pss_supported,
            stats: SamplerStats::default(),
            loadavg: File::open("/proc/loadavg").ok(),
            self_statm: File::open("/proc/self/statm").ok(),
            scanned_last_pid: None,
            path: String::with_capacity(64),
            buf,
        }
    }

    pub fn config(&self) -> SamplerConfig {
        self.config
    }

    pub fn stats(&self) -> &SamplerStats {
        &self.stats
    }

    /// Whether this kernel has `/proc/PID/smaps_rollup` (Linux >= 4.14).
    pub fn pss_supported(&self) -> bool {
        self.pss_supported
    }

    /// Makes the next [`Sampler::sample`] rescan `/proc` (e.g. the caller knows a command
    /// was just started in a session).
    pub fn invalidate(&mut self) {
        self.force_rescan = true;
    }

    /// The pids currently known to belong to `root`'s tree (as of the last rescan, minus
    /// those seen to vanish since), sorted.
    pub fn members(&self, root: u32) -> Vec<u32> {
        self.trees
            .get(&root)
            .map(|t| t.members.iter().map(|m| m.pid).collect())
            .unwrap_or_default()
    }

    /// One sample for each root pid (the sessions' shell pids), in order: rescans /proc
    /// when the last scan is older than `rescan_every` (or a root is new), otherwise reads
    /// statm of the known pids only; reads smaps_rollup when `pss_every` has passed for a
    /// tree. Roots not passed are forgotten. A root that no longer exists (and left no
    /// process in its session) gives an empty sample.
    pub fn sample(&mut self, roots: &[u32], now: Instant) -> Vec<TreeSample> {
        self.sample_due(roots, |_| true, now)
            .into_iter()
            .flatten()
            .collect()
    }

    /// As [`Sampler::sample`], but only the roots for which `due(index)` holds are read
    /// (`None` for the others); every root passed is kept.
    pub fn sample_due(
        &mut self,
        roots: &[u32],
        due: impl Fn(usize) -> bool,
        now: Instant,
    ) -> Vec<Option<TreeSample>> {
        // A set: `roots.contains` per tree was 10^6 comparisons per round at 1,000 tabs.
        let kept: HashSet<u32> = roots.iter().copied().collect();
        self.trees.retain(|r, _| kept.contains(r));
        // No tree to follow (every tab measured by its cgroup): no listing of /proc. At
        // 1,000 tabs (3,000 processes) the periodic rescans listed /proc every 5 s and read
        // every process's `stat` every 60 s (about 30 ms) for nothing.
        let following = roots.iter().any(|r| *r != 0);
        if following
            && (self.force_rescan
                || roots.iter().any(|r| !self.trees.contains_key(r))
                || self.periodic_rescan_due(now))
        {
            self.rescan(roots, now);
        }
        let mut out = Vec::with_capacity(roots.len());
        for (i, &root) in roots.iter().enumerate() {
            out.push(due(i).then(|| self.sample_tree(root, now)));
        }
        out
    }

    /// Whether the periodic rescan is due: `rescan_every` passed and a process was created
    /// since the last one (a tree gains members only by new processes, between full rescans;
    /// see the module docs), or a full rescan is due. Skipping the listing of /proc when the
    /// last pid has not moved is most of what keeps an idle memmux at ~0 CPU.
    fn periodic_rescan_due(&mut self, now: Instant) -> bool {
        let stale = self
            .last_scan
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.rescan_every);
        if !stale {
            return false;
        }
        let full_due = self
            .last_full_scan
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.full_every);
        let last_pid = self.last_pid();
        if !full_due && last_pid.is_some() && last_pid == self.scanned_last_pid {
            self.stats.rescans_skipped += 1;
            self.last_scan = Some(now);
            return false;
        }
        true
    }

    /// memmux's own resident set, bytes (as [`self_rss`], from a file kept open).
    pub fn own_rss(&mut self) -> Option<u64> {
        let Some(f) = self.self_statm.as_ref() else {
            return self_rss();
        };
        let mut text = [0u8; 128];
        let n = std::os::unix::fs::FileExt::read_at(f, &mut text, 0).ok()?;
        let text = std::str::from_utf8(&text[..n]).ok()?;
        let resident: u64 = text.split_ascii_whitespace().nth(1)?.parse().ok()?;
        Some(resident * page_size())
    }

    /// The last pid the kernel handed out in memmux's pid namespace (`/proc/loadavg`).
    fn last_pid(&mut self) -> Option<u32> {
        let f = self.loadavg.as_ref()?;
        // 128 bytes: five short fields.
        let mut text = [0u8; 128];
        let n = std::os::unix::fs::FileExt::read_at(f, &mut text, 0).ok()?;
        parse_loadavg_last_pid(&text[..n])
    }

    /// A PSS pass over `root`'s tree now (rescanning first if the root is unknown); returns
    /// the tree's PSS in bytes. Up to tens of ms for GiB-sized processes: not on the UI thread.
    pub fn pss_now(&mut self, root: u32) -> Option<u64> {
        if !self.trees.contains_key(&root) {
            let mut roots: Vec<u32> = self.trees.keys().copied().collect();
            roots.push(root);
            self.rescan(&roots, Instant::now());
        }
        let mut tree = self.trees.remove(&root)?;
        self.read_statm(&mut tree);
        self.pss_pass(&mut tree, Instant::now(), true);
        let pss = tree_pss(&tree).filter(|_| self.pss_supported);
        self.trees.insert(root, tree);
        pss
    }

    fn sample_tree(&mut self, root: u32, now: Instant) -> TreeSample {
        let Some(mut tree) = self.trees.remove(&root) else {
            return TreeSample::empty(root, now);
        };
        self.read_statm(&mut tree);
        let pss_due = match tree.pss_at {
            None => true,
            Some(t) => now.saturating_duration_since(t) >= self.config.pss_every,
        };
        if pss_due && !tree.members.is_empty() {
            self.pss_pass(&mut tree, now, false);
        }
        let sample = if tree.members.is_empty() {
            TreeSample::empty(root, now)
        } else {
            let biggest = tree
                .members
                .iter()
                .max_by_key(|m| m.rss)
                .map(|m| ProcessInfo {
                    pid: m.pid,
                    name: m.name.clone(),
                    rss_minus_shared: m.rss,
                    pss: m.pss,
                });
            TreeSample {
                root,
                at: now,
                processes: tree.members.len(),
                rss_minus_shared: tree.members.iter().map(|m| m.rss).sum(),
                pss: tree_pss(&tree).filter(|_| self.pss_supported),
                pss_at: tree.pss_at.filter(|_| self.pss_supported),
                pss_now: tree_pss_now(&tree).filter(|_| self.pss_supported),
                biggest,
            }
        };
        self.trees.insert(root, tree);
        sample
    }

    fn note_error(&mut self, path: &str, e: io::Error) {
        self.stats.read_errors += 1;
        self.stats.last_error = Some(format!("{path}: {e}"));
    }

    /// Fast path: statm of each known member; drops members that are gone or zombies.
    fn read_statm(&mut self, tree: &mut Tree) {
        let page = page_size();
        let mut open = self
            .trees
            .values()
            .chain(std::iter::once(&*tree))
            .flat_map(|t| &t.members)
            .filter(|m| m.statm.is_some())
            .count();
        let mut members = std::mem::take(&mut tree.members);
        let scarce = super::fd_budget::scarce();
        members.retain_mut(|m| {
            self.stats.statm_reads += 1;
            if scarce && m.statm.take().is_some() {
                open -= 1;
            }
            let mut opened = None;
            if m.statm.is_none() {
                self.path.clear();
                let _ = write!(self.path, "/proc/{}/statm", m.pid);
                match File::open(&self.path) {
                    // Kept only while few are: a file descriptor per process must not run
                    // memmux out of them (soft limit often 1,024).
                    Ok(f) if open < MAX_OPEN_STATM && !scarce => {
                        m.statm = Some(f);
                        open += 1;
                    }
                    Ok(f) => opened = Some(f),
                    Err(e) => {
                        if let ReadFail::Other(e) = classify(e) {
                            let p = self.path.clone();
                            self.note_error(&p, e);
                        } else {
                            self.stats.vanished += 1;
                        }
                        return false;
                    }
                }
            }
            // 128 bytes: statm is seven numbers.
            let mut text = [0u8; 128];
            let read = m
                .statm
                .as_ref()
                .or(opened.as_ref())
                .map(|f| std::os::unix::fs::FileExt::read_at(f, &mut text, 0));
            match read {
                Some(Ok(n)) if n > 0 => match parse_statm(&text[..n], page) {
                    Some(b) => {
                        m.rss = b;
                        true
                    }
                    // Zombie: exited, its memory is freed; it never comes back.
                    None => false,
                },
                Some(Err(e)) => {
                    match classify(e) {
                        ReadFail::Other(e) => {
                            let p = format!("/proc/{}/statm", m.pid);
                            self.note_error(&p, e);
                        }
                        ReadFail::Gone { .. } => self.stats.vanished += 1,
                    }
                    false
                }
                // Gone: nothing to read.
                _ => {
                    self.stats.vanished += 1;
                    false
                }
            }
        });
        tree.members = members;
    }

    /// smaps_rollup of each member. Members that vanished are dropped; members we may not
    /// read (EACCES: another user's process) keep `pss: None` and count with their statm
    /// figure in [`tree_pss`].
    fn pss_pass(&mut self, tree: &mut Tree, now: Instant, all: bool) {
        tree.pss_at = Some(now);
        if !self.pss_supported {
            return;
        }
        // A member that came or went changes how the pages it shares divide among the
        // others (a server forking workers halves its own PSS with its first child), so
        // then every member is measured again, changed or not.
        let all = all
            || tree.members.len() != tree.pss_count
            || tree
                .pss_all_at
                .is_none_or(|t| now.saturating_duration_since(t) >= PSS_MAX_AGE);
        if all {
            tree.pss_all_at = Some(now);
        }
        let mut members = std::mem::take(&mut tree.members);
        members.retain_mut(|m| {
            if !all && m.pss.is_some() && m.pss_rss == Some(m.rss) {
                return true;
            }
            m.pss_rss = Some(m.rss);
            self.path.clear();
            let _ = write!(self.path, "/proc/{}/smaps_rollup", m.pid);
            self.stats.pss_reads += 1;
            match read_proc_file(&self.path, &mut self.buf) {
                Ok(()) => {
                    // (A zombie's smaps_rollup fails with ESRCH: handled as gone below.)
                    m.pss = parse_smaps_rollup_pss(&self.buf);
                    true
                }
                Err(ReadFail::Gone { denied: true }) => {
                    m.pss = None;
                    true
                }
                Err(ReadFail::Gone { denied: false }) => {
                    self.stats.vanished += 1;
                    false
                }
                Err(ReadFail::Other(e)) => {
                    let p = self.path.clone();
                    self.note_error(&p, e);
                    m.pss = None;
                    true
                }
            }
        });
        tree.pss_count = members.len();
        tree.members = members;
    }
}

/// A tree's PSS: each member's last PSS, or its statm figure when not (yet) measurable.
fn tree_pss_now(tree: &Tree) -> Option<u64> {
    if tree.members.is_empty() || tree.pss_at.is_none() {
        return None;
    }
    let now = |m: &Member| match (m.pss, m.pss_rss) {
        (Some(p), Some(at)) => (p + m.rss).saturating_sub(at),
        (Some(p), None) => p,
        (None, _) => m.rss,
    };
    Some(tree.members.iter().map(now).sum())
}

fn tree_pss(tree: &Tree) -> Option<u64> {
    if tree.members.is_empty() || tree.pss_at.is_none() {
        return None;
    }
    Some(tree.members.iter().map(|m| m.pss.unwrap_or(m.rss)).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_parens_and_spaces_in_comm() {
        let line = b"1234 (x) R 1 (2 3)) S 77 1234 1234 0 -1 4194304 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 200\n";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.pid, 1234);
        assert_eq!(s.name, "x) R 1 (2 3)");
        assert_eq!(s.state, b'S');
        assert_eq!(s.ppid, 77);
        assert_eq!(s.session, 1234);
        assert_eq!(s.starttime, 98765);
    }

    #[test]
    fn stat_malformed() {
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"12 (abc"), None);
        assert_eq!(parse_stat(b"12 (abc) S 1"), None);
        assert_eq!(parse_stat(b"x (abc) S 1 2 3"), None);
    }

    #[test]
    fn loadavg_last_pid() {
        assert_eq!(
            parse_loadavg_last_pid(b"0.00 0.01 0.05 1/123 4567\n"),
            Some(4567)
        );
        assert_eq!(parse_loadavg_last_pid(b"0.00 0.01"), None);
        let live = std::fs::read("/proc/loadavg").expect("read /proc/loadavg");
        assert!(parse_loadavg_last_pid(&live).is_some_and(|p| p > 0));
    }

    #[test]
    fn statm_fields() {
        assert_eq!(
            parse_statm(b"1000 300 100 1 0 50 0\n", 4096),
            Some(200 * 4096)
        );
        assert_eq!(parse_statm(b"0 0 0 0 0 0 0\n", 4096), None);
        assert_eq!(parse_statm(b"1000 100 300 1 0 50 0\n", 4096), Some(0));
        assert_eq!(parse_statm(b"1000", 4096), None);
    }

    #[test]
    fn smaps_rollup_pss() {
        let t = b"00400000-7fff [rollup]\nRss:  1696 kB\nPss:   339 kB\nPss_Dirty: 10 kB\n";
        assert_eq!(parse_smaps_rollup_pss(t), Some(339 * 1024));
        assert_eq!(smaps_field_kb(t, "Rss:"), Some(1696));
        assert_eq!(parse_smaps_rollup_pss(b"nothing"), None);
    }

    /// Tabs measured by their cgroups pass root 0: the sampler follows no tree, so it never
    /// lists /proc; a real root is scanned at once.
    #[test]
    fn no_tree_to_follow_lists_no_proc() {
        let mut s = Sampler::new(SamplerConfig::default());
        let t0 = Instant::now();
        for i in 0..3 {
            let later = t0 + Duration::from_secs(120 * i);
            let out = s.sample_due(&[0, 0], |_| false, later);
            assert_eq!(out.len(), 2);
        }
        assert_eq!(s.stats().rescans, 0);
        s.sample_due(&[0, std::process::id()], |i| i == 1, t0);
        assert_eq!(s.stats().rescans, 1);
    }

    #[test]
    fn self_figures() {
        assert!(self_rss().unwrap() > 0);
        assert!(foreground_name(std::process::id()).is_some());
    }
}
