//! The rescan: listing /proc and rebuilding each tree's membership (see the module notes
//! of `procs` for what a full and a partial rescan read, and why).

use super::*;

impl Sampler {
    /// Lists /proc, reads every stat, and rebuilds the membership of every root.
    pub(super) fn rescan(&mut self, roots: &[u32], now: Instant) {
        self.stats.rescans += 1;
        let full = self.force_rescan
            || self
                .last_full_scan
                .is_none_or(|t| now.saturating_duration_since(t) >= self.config.full_every);
        if full {
            self.stats.full_rescans += 1;
            self.last_full_scan = Some(now);
        }
        self.last_scan = Some(now);
        self.force_rescan = false;
        // Read before listing: a process created during the listing moves it again.
        self.scanned_last_pid = self.last_pid();
        // A root's pid may be an outsider's, reused: a root is always read.
        for r in roots {
            self.outsiders.remove(r);
        }
        let (procs, skipped) = self.list_processes(full);

        let mut children: HashMap<u32, Vec<usize>> = HashMap::with_capacity(procs.len());
        let mut by_session: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut by_pid: HashMap<u32, usize> = HashMap::with_capacity(procs.len());
        for (i, p) in procs.iter().enumerate() {
            children.entry(p.ppid).or_default().push(i);
            by_session.entry(p.session).or_default().push(i);
            by_pid.insert(p.pid, i);
        }

        for &root in roots {
            if root == 0 {
                // Session id 0 is the kernel's threads; pid 0 is never a session shell.
                self.trees.entry(root).or_default();
                continue;
            }
            let tree = self.trees.entry(root).or_default();
            // Is the process now at `root` the one first seen there?
            let root_idx = by_pid.get(&root).copied();
            match (root_idx, tree.root_start) {
                (Some(i), None) if !tree.root_reused => tree.root_start = Some(procs[i].starttime),
                (Some(i), Some(s)) if procs[i].starttime != s => tree.root_reused = true,
                // Shell gone (or never seen): should its pid be reused, it is someone else's.
                (None, _) => tree.root_reused = true,
                _ => {}
            }

            // Seeds: the root (unless its pid now belongs to another process), and every
            // process in its session. The kernel keeps a pid out of reuse while any
            // process still has it as session id, so the session match is always safe.
            let mut seen: HashSet<usize> = HashSet::new();
            let mut stack: Vec<usize> = Vec::new();
            if let (Some(i), false) = (root_idx, tree.root_reused) {
                stack.push(i);
            }
            if let Some(v) = by_session.get(&root) {
                stack.extend(v.iter().copied());
            }
            // Then the parent-pid subtree of every seed (children that called setsid).
            while let Some(i) = stack.pop() {
                if !seen.insert(i) {
                    continue;
                }
                if let Some(c) = children.get(&procs[i].pid) {
                    stack.extend(c.iter().copied());
                }
            }

            let mut old = std::mem::take(&mut tree.members);
            let mut members: Vec<Member> = seen
                .into_iter()
                .map(|i| {
                    let p = &procs[i];
                    // Keep the last PSS and the open statm of processes already known (same
                    // pid; the rescan interval is far shorter than pid reuse on a 32768-pid
                    // space, and a statm opened for a process that died reads as gone).
                    let known = old.binary_search_by_key(&p.pid, |m| m.pid).ok();
                    let (statm, pss, pss_rss) = match known {
                        Some(j) => (old[j].statm.take(), old[j].pss, old[j].pss_rss),
                        None => (None, None, None),
                    };
                    Member {
                        pid: p.pid,
                        name: p.name.clone(),
                        statm,
                        rss: 0,
                        pss,
                        pss_rss,
                    }
                })
                .collect();
            members.sort_unstable_by_key(|m| m.pid);
            tree.members = members;
        }
        let members: HashSet<u32> = self
            .trees
            .values()
            .flat_map(|t| t.members.iter().map(|m| m.pid))
            .collect();
        self.outsiders = skipped;
        self.outsiders.extend(
            procs
                .iter()
                .map(|p| p.pid)
                .filter(|pid| !members.contains(pid)),
        );
    }

    /// The stat fields of every live process (zombies and kernel threads excluded), but, unless
    /// `full`, of those known to be outside every tree, which are returned as pids only.
    fn list_processes(&mut self, full: bool) -> (Vec<StatFields>, HashSet<u32>) {
        let mut skipped = HashSet::new();
        let dir = match std::fs::read_dir("/proc") {
            Ok(d) => d,
            Err(e) => {
                self.note_error("/proc", e);
                return (Vec::new(), skipped);
            }
        };
        let mut out = Vec::with_capacity(256);
        for entry in dir {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.note_error("/proc", e);
                    break;
                }
            };
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if !full && self.outsiders.contains(&pid) {
                self.stats.stat_skips += 1;
                skipped.insert(pid);
                continue;
            }
            self.stats.stat_reads += 1;
            self.path.clear();
            let _ = write!(self.path, "/proc/{pid}/stat");
            match read_proc_file(&self.path, &mut self.buf) {
                Ok(()) => {
                    if let Some(s) = parse_stat(&self.buf) {
                        // Z: zombie, X: dead. Kernel threads have session 0 and descend
                        // from kthreadd (pid 2), so no root ever reaches them.
                        if s.state != b'Z' && s.state != b'X' {
                            out.push(s);
                        }
                    }
                }
                Err(ReadFail::Gone { .. }) => self.stats.vanished += 1,
                Err(ReadFail::Other(e)) => {
                    let p = self.path.clone();
                    self.note_error(&p, e);
                }
            }
        }
        (out, skipped)
    }
}
