//! The figures of one cgroup, and the parsers of the files they come from (v1 and v2 spell
//! them differently).

/// One tab's memory as its cgroup reports it. Bytes; `None` where the kernel does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CgroupFigures {
    /// Working set: usage minus inactive file cache (`docker stats`, the kubelet).
    pub working_set: u64,
    /// Usage including all page cache (v2 `memory.current`, v1 `usage_in_bytes`).
    pub usage: u64,
    /// Highest usage since the cgroup was made (v2 `memory.peak`, v1 `max_usage_in_bytes`).
    pub peak: Option<u64>,
    pub anon: Option<u64>,
    /// File cache, shmem excluded.
    pub file: Option<u64>,
    /// Shared memory and tmpfs (/dev/shm) pages.
    pub shmem: Option<u64>,
    pub kernel: Option<u64>,
    pub sock: Option<u64>,
    /// Programs the kernel killed for the cgroup's limit, since it was made.
    pub oom_kills: u64,
    /// v2 `memory.pressure` `some avg10` (percent).
    pub pressure: Option<f32>,
}

/// The value of `key` in a `key value` per line file (`memory.stat`, `memory.events`,
/// `memory.oom_control`).
pub fn field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

/// A single number (`memory.current`, `usage_in_bytes`); `max` reads as `None`.
pub fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// v1: `usage_in_bytes` and the hierarchical `total_*` lines of `memory.stat`.
pub fn v1(usage: u64, stat: &str) -> CgroupFigures {
    let inactive = field(stat, "total_inactive_file").unwrap_or(0);
    let cache = field(stat, "total_cache");
    let shmem = field(stat, "total_shmem");
    CgroupFigures {
        working_set: usage.saturating_sub(inactive),
        usage,
        anon: field(stat, "total_rss"),
        file: cache.map(|c| c.saturating_sub(shmem.unwrap_or(0))),
        shmem,
        ..CgroupFigures::default()
    }
}

/// v2: `memory.current` and `memory.stat` (`anon file kernel sock shmem inactive_file`).
pub fn v2(current: u64, stat: &str) -> CgroupFigures {
    let inactive = field(stat, "inactive_file").unwrap_or(0);
    let shmem = field(stat, "shmem");
    // `kernel` is 5.18+; before, its parts.
    let kernel = field(stat, "kernel").or_else(|| {
        let parts = ["kernel_stack", "pagetables", "percpu", "slab"];
        let v: Vec<u64> = parts.iter().filter_map(|k| field(stat, k)).collect();
        (!v.is_empty()).then(|| v.iter().sum())
    });
    CgroupFigures {
        working_set: current.saturating_sub(inactive),
        usage: current,
        anon: field(stat, "anon"),
        // v2 `file` includes shmem, as v1 `cache` does.
        file: field(stat, "file").map(|f| f.saturating_sub(shmem.unwrap_or(0))),
        shmem,
        kernel,
        sock: field(stat, "sock"),
        ..CgroupFigures::default()
    }
}

/// v1 `memory.oom_control`: `oom_kill N` (4.13+).
pub fn v1_oom_kills(oom_control: &str) -> u64 {
    field(oom_control, "oom_kill").unwrap_or(0)
}

/// v2 `memory.events`: `oom_kill N`.
pub fn v2_oom_kills(events: &str) -> u64 {
    field(events, "oom_kill").unwrap_or(0)
}

/// `some avg10=1.23 avg60=... total=...`: the `some avg10` percentage.
pub fn pressure_some_avg10(text: &str) -> Option<f32> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    line.split_ascii_whitespace()
        .find_map(|w| w.strip_prefix("avg10="))?
        .parse()
        .ok()
}

/// `cgroup.procs`: one pid a line.
pub fn pids(text: &str) -> Vec<u32> {
    text.split_ascii_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_working_set_is_usage_minus_total_inactive_file() {
        let stat = "cache 100\nrss 5\ninactive_file 7\ntotal_cache 4096\ntotal_rss 8192\n\
                    total_shmem 1024\ntotal_inactive_file 2048\n";
        let f = v1(20_000, stat);
        assert_eq!(f.working_set, 20_000 - 2048);
        assert_eq!(f.anon, Some(8192));
        assert_eq!(f.file, Some(3072));
        assert_eq!(f.shmem, Some(1024));
        assert_eq!(f.kernel, None);
    }

    #[test]
    fn v2_figures_and_old_kernels_kernel_parts() {
        let stat = "anon 300\nfile 500\nkernel 40\nsock 8\nshmem 200\ninactive_file 100\n";
        let f = v2(1000, stat);
        assert_eq!((f.working_set, f.anon, f.file), (900, Some(300), Some(300)));
        assert_eq!((f.kernel, f.sock, f.shmem), (Some(40), Some(8), Some(200)));
        let old = "anon 1\nkernel_stack 16\nslab 32\npercpu 8\n";
        assert_eq!(v2(10, old).kernel, Some(56));
        // More inactive cache than usage (racy counters) never wraps.
        assert_eq!(v2(10, "inactive_file 50\n").working_set, 0);
    }

    #[test]
    fn events_pressure_and_procs() {
        assert_eq!(
            v2_oom_kills("low 0\nhigh 3\nmax 9\noom 2\noom_kill 2\noom_group_kill 0\n"),
            2
        );
        assert_eq!(
            v1_oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n"),
            5
        );
        assert_eq!(v1_oom_kills("oom_kill_disable 0\nunder_oom 0\n"), 0);
        let p = "some avg10=1.50 avg60=0.20 avg300=0.00 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(pressure_some_avg10(p), Some(1.5));
        assert_eq!(pressure_some_avg10(""), None);
        assert_eq!(pids("12\n345\n\n"), vec![12, 345]);
        assert_eq!(number("max\n"), None);
        assert_eq!(number("4096\n"), Some(4096));
    }
}
