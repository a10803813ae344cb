//! `--mem-log`: the samples as CSV rows.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use super::{RosterEntry, Snapshot};
use crate::memory::history::CSV_HEADER;

/// `--mem-log`: every sample appended as CSV, header first. Whole rows only: a write that
/// fails part-way (disk full) is cut back to the last whole row, logging stops with the
/// reason in the status line, and resumes (said too) at the first sample that writes again.
pub struct CsvLog {
    file: File,
    line: String,
    /// Bytes of whole rows in the file.
    len: u64,
    stopped: Option<String>,
}

impl CsvLog {
    pub fn open(path: PathBuf) -> std::io::Result<CsvLog> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        if file.metadata()?.len() == 0 {
            writeln!(file, "{CSV_HEADER}")?;
        }
        let len = file.metadata()?.len();
        Ok(CsvLog {
            file,
            line: String::new(),
            len,
            stopped: None,
        })
    }

    /// Appends the rows of `snap`; returns a change of state (stopped, with the reason, or
    /// resumed) when there is one.
    pub fn write(
        &mut self,
        roster: &[RosterEntry],
        due: &[bool],
        snap: &Snapshot,
    ) -> Option<Result<(), String>> {
        use std::fmt::Write as _;
        self.line.clear();
        for (r, _) in roster.iter().zip(due).filter(|(_, d)| **d) {
            let Some(t) = snap.tabs.iter().find(|t| t.id == r.id) else {
                continue;
            };
            let s = &t.sample;
            let d = &t.detail;
            let c = d.cgroup.as_ref();
            let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
            let _ = writeln!(
                self.line,
                "{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                s.unix_ms,
                r.number,
                r.title.replace('"', "\"\""),
                s.processes,
                d.rss_minus_shared,
                opt(s.pss_bytes),
                s.heap_bytes,
                s.scrollback_rows,
                s.scrollback_bytes,
                s.tree_bytes,
                d.source,
                opt(c.and_then(|c| c.anon)),
                opt(c.and_then(|c| c.file)),
                opt(c.and_then(|c| c.shmem)),
                opt(c.and_then(|c| c.kernel)),
                opt(d.limit),
                d.oom_kills,
                r.pane,
            );
        }
        if self.line.is_empty() {
            return None;
        }
        match self.file.write_all(self.line.as_bytes()) {
            Ok(()) => {
                self.len += self.line.len() as u64;
                self.stopped.take().map(|_| Ok(()))
            }
            Err(e) => {
                // Cut a torn row back off; if even that fails the next whole write starts
                // after it, and the reason below is what the user sees.
                let _ = self.file.set_len(self.len);
                let reason = e.to_string();
                if self.stopped.as_ref() == Some(&reason) {
                    return None;
                }
                self.stopped = Some(reason.clone());
                Some(Err(reason))
            }
        }
    }
}
