//! The program an out-of-memory kill took in a tab's cgroup, as the kernel's log names it:
//! more exact than "the biggest process that vanished", which the sampler falls back to when
//! `/dev/kmsg` cannot be read.

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
