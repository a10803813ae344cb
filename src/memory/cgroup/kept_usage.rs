//! The usage files of the youngest cgroups right under the base, kept open for the base's
//! books (`books`): the tabs whose moves the books look for first when every tab is idle.
//!
//! At 1,000 idle tabs the base moves when a per-CPU charge stock drains, a few times in the
//! first minute or two, and every drain seen was in one of the 60 tabs made last. Each tab
//! the books read on the way cost about 60 us of the sampler's CPU on a quiet machine
//! (a path of 7 components opened, read twice, closed: the tabs' own kept files, `HOT_MAX`,
//! go to the first panes that read them), so a drain found at the 32nd or 58th tab took
//! 2-2.5 ms, and two of them 7 ms of a 10 s window. A kept file is read in about 1 us.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::{TabCgroup, Version};

/// 48: the youngest cgroups whose usage file is kept open. memmux's own descriptors with
/// 1,000 tabs were 233 (issue 18's bound: 320); drains were found at the 3rd, 32nd and 58th
/// youngest tab.
pub const KEPT: usize = 48;

/// Usage files kept open, by the books' key of their cgroup ([`TabCgroup::book_key`]).
#[derive(Debug, Default)]
pub struct KeptUsage {
    files: BTreeMap<u64, File>,
}

impl KeptUsage {
    /// `top`'s usage (the cgroup right under the base known to the books by `key`), through
    /// its kept file when it has one (dropped if the read fails: the cgroup was removed).
    pub fn usage(&mut self, key: u64, top: &TabCgroup, buf: &mut String) -> io::Result<u64> {
        if let Some(f) = self.files.get(&key) {
            let mut text = [0u8; 32];
            match f.read_at(&mut text, 0) {
                Ok(n) => {
                    if let Some(usage) = std::str::from_utf8(&text[..n])
                        .ok()
                        .and_then(super::stat::number)
                    {
                        return Ok(usage);
                    }
                }
                Err(_) => {
                    self.files.remove(&key);
                }
            }
        }
        top.usage(buf)
    }

    /// Keeps open the usage files of the [`KEPT`] youngest (largest keys) of `tops`, and
    /// closes the others'; none while descriptors are scarce (`fd_budget`).
    pub fn keep_youngest<'a>(&mut self, tops: impl Iterator<Item = (u64, &'a TabCgroup)>) {
        if crate::memory::fd_budget::scarce() {
            self.files.clear();
            return;
        }
        let mut youngest: Vec<(u64, &TabCgroup)> = tops.collect();
        youngest.sort_unstable_by_key(|(key, _)| std::cmp::Reverse(*key));
        youngest.truncate(KEPT);
        self.files
            .retain(|key, _| youngest.iter().any(|(k, _)| k == key));
        for (key, top) in youngest {
            if self.files.contains_key(&key) {
                continue;
            }
            let name = match top.version {
                Version::V1 => "memory.usage_in_bytes",
                Version::V2 => "memory.current",
            };
            if let Ok(f) = File::open(top.dir().join(name)) {
                self.files.insert(key, f);
            }
        }
    }

    /// Closes the files of cgroups not in `keys` (tabs closed).
    pub fn retain(&mut self, keys: &std::collections::HashSet<u64>) {
        self.files.retain(|key, _| keys.contains(key));
    }

    /// How many files are kept open.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::cgroup::tab::{fake_v2_hierarchy, write_files};

    /// The 48 youngest of 50 tabs keep their usage file: with the files gone from the
    /// (fake) tree, they still read through it, and the two oldest fail; a tab closed
    /// gives its file up, and of two younger tabs opened, one takes its place and the other
    /// the oldest kept's.
    #[test]
    fn the_youngest_tabs_keep_their_usage_file() {
        let tmp = tempfile::tempdir().unwrap();
        let h = fake_v2_hierarchy(tmp.path());
        let mut tabs: Vec<TabCgroup> = (0..50)
            .map(|n| {
                let cg = TabCgroup::create(&h, &format!("tab-1-{n}")).unwrap();
                write_files(cg.dir(), &[("memory.current", "4096\n")]);
                cg
            })
            .collect();
        let mut kept = KeptUsage::default();
        kept.keep_youngest(tabs.iter().map(|t| (t.book_key(), t)));
        assert_eq!(kept.len(), KEPT);
        for t in &tabs {
            std::fs::remove_file(t.dir().join("memory.current")).unwrap();
        }
        let mut buf = String::new();
        let read: Vec<bool> = tabs
            .iter()
            .map(|t| kept.usage(t.book_key(), t, &mut buf).is_ok())
            .collect();
        assert_eq!(read.iter().filter(|r| **r).count(), KEPT);
        assert!(!read[0] && !read[1] && read[2] && read[49]);
        // The youngest closes; a younger one opens.
        let closed = tabs.pop().unwrap();
        kept.retain(&tabs.iter().map(|t| t.book_key()).collect());
        assert_eq!(kept.len(), KEPT - 1);
        drop(closed);
        for n in [98, 99] {
            let young = TabCgroup::create(&h, &format!("tab-1-{n}")).unwrap();
            write_files(young.dir(), &[("memory.current", "8192\n")]);
            tabs.push(young);
        }
        kept.keep_youngest(tabs.iter().map(|t| (t.book_key(), t)));
        assert_eq!(kept.len(), KEPT);
        let young = tabs.last().unwrap();
        std::fs::remove_file(young.dir().join("memory.current")).unwrap();
        assert_eq!(kept.usage(young.book_key(), young, &mut buf).unwrap(), 8192);
        assert!(kept.usage(tabs[3].book_key(), &tabs[3], &mut buf).is_ok());
        assert!(kept.usage(tabs[2].book_key(), &tabs[2], &mut buf).is_err());
    }
}
