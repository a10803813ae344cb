//! Waiting for a tab's shell to join its memory cgroup. The join runs beside the shell's
//! start-up, never before it (`prompts_do_not_wait_for_the_cgroup_join`), and what a program
//! touched before its shell joined stays charged outside the tab: Linux 6.13 and later move
//! no charges on v1, and v2 never did. A test that starts a program at once and reads the
//! tab's figure must wait for the join first (CI once saw a 48 MiB memhog at 0 B that way).

use std::time::Duration;

use super::Mux;

/// The children of `pid` (every thread's `children` list).
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in tasks.flatten() {
        let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(
            text.split_ascii_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    out.sort_unstable();
    out
}

/// The memory cgroup path of `pid` (`/proc/PID/cgroup`: the v1 `memory` line, else v2's
/// `0::` line).
pub fn memory_cgroup(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let mut unified = None;
    for l in text.lines() {
        let mut it = l.splitn(3, ':');
        let (id, c, p) = (it.next()?, it.next()?, it.next()?);
        if c.split(',').any(|c| c == "memory") {
            return Some(p.to_string());
        }
        if id == "0" && c.is_empty() {
            unified = Some(p.to_string());
        }
    }
    unified
}

/// Waits until memmux `mpid`'s `n` shells are in their panes' cgroups.
pub fn wait_joined(mpid: u32, n: usize) {
    super::wait_until(
        &format!("{n} shells in their panes' cgroups"),
        Duration::from_secs(10),
        || {
            let shells = children_of(mpid);
            shells.len() == n
                && shells.iter().all(|p| {
                    memory_cgroup(*p).is_some_and(|c| {
                        c.contains(&format!("/tab-{mpid}-")) && c.contains("/pane-")
                    })
                })
        },
    );
}

impl Mux {
    /// When the panel says tabs are measured by cgroup, waits until this memmux's `n` shells
    /// joined theirs; with no cgroups (PSS) there is nothing to wait for.
    pub fn wait_shells_joined(&self, n: usize) {
        self.wait_for("the panel's mechanism line", |s| {
            s.contents().contains("tabs: ")
        });
        if self.with_screen(|s| s.contents().contains("tabs: cgroup")) {
            wait_joined(self.pid(), n);
        }
    }
}

/// `cmd` behind a shell guard that waits (at most 10 s) until the shell is in its pane's
/// cgroup: for a client whose server's pid the test does not know. With no cgroups the guard
/// gives up after 10 s and runs `cmd` all the same (measured by PSS then).
pub fn after_join(cmd: &str) -> String {
    format!(
        "for i in $(seq 200); do grep -q '/tab-.*/pane-' /proc/$$/cgroup && break; sleep 0.05; done; {cmd}"
    )
}
