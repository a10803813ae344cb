//! The machine's memory for the panel's footer (`/proc/meminfo`, `/proc/pressure/memory`),
//! read through files kept open.
//!
//! Every round, quiet ones included, reads both. Opening and closing them each time was 2 of
//! the 4 opens of an idle round with 4 tabs (strace): a path walk, an allocation and a
//! `statx` each, where a `pread` at offset 0 of an open /proc file has the kernel generate
//! its text afresh (as `procs` does for `statm` and `loadavg`).

use std::cell::RefCell;
use std::fs::File;

use super::System;

/// The open files, and one buffer for their text.
#[derive(Default)]
struct Files {
    meminfo: Option<File>,
    pressure: Option<File>,
    buf: Vec<u8>,
}

thread_local! {
    /// The sampling thread's files (the only thread that reads them, once a round).
    static FILES: RefCell<Files> = RefCell::new(Files::default());
}

/// 4 KiB: `/proc/meminfo` is about 1.5 KiB; the two figures wanted are on its first three
/// lines, so a longer one cut short loses nothing.
const BUF: usize = 4096;

/// The machine's total and available memory and its memory pressure; `None` for a figure
/// that cannot be read.
pub fn read() -> System {
    FILES.with(|f| f.borrow_mut().read())
}

impl Files {
    fn read(&mut self) -> System {
        self.buf.resize(BUF, 0);
        let mut out = System::default();
        if let Some(text) = read_at_start(&mut self.meminfo, "/proc/meminfo", &mut self.buf) {
            (out.total, out.available) = meminfo(text);
        }
        if let Some(text) =
            read_at_start(&mut self.pressure, "/proc/pressure/memory", &mut self.buf)
        {
            out.pressure = crate::memory::cgroup::stat::pressure_some_avg10(text);
        }
        out
    }
}

/// The text of `path` from its start, through `file` (see `fd_budget::read_kept`).
fn read_at_start<'a>(file: &mut Option<File>, path: &str, buf: &'a mut [u8]) -> Option<&'a str> {
    let n = crate::memory::fd_budget::read_kept(file, path, buf)?;
    std::str::from_utf8(buf.get(..n)?).ok()
}

/// `MemTotal` and `MemAvailable` of `/proc/meminfo`'s text, in bytes.
fn meminfo(text: &str) -> (Option<u64>, Option<u64>) {
    let kb = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .split_ascii_whitespace()
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .map(|k| k * 1024)
    };
    (kb("MemTotal:"), kb("MemAvailable:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_figures_in_bytes() {
        let text = "MemTotal:       24683772 kB\nMemFree:        20924104 kB\nMemAvailable:   22867548 kB\n";
        assert_eq!(
            meminfo(text),
            (Some(24_683_772 * 1024), Some(22_867_548 * 1024))
        );
        assert_eq!(meminfo("MemFree: 1 kB\n"), (None, None));
    }

    /// Read twice through the kept files, the figures are the machine's: the total as a
    /// fresh read of the file gives it, the available memory below it.
    #[test]
    fn kept_files_read_the_machine_again() {
        for _ in 0..2 {
            let s = read();
            let fresh = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
            let (total, _) = meminfo(&fresh);
            assert_eq!(s.total, total);
            assert!(
                s.available.is_some_and(|a| a <= s.total.unwrap_or(0)),
                "{s:?}"
            );
        }
    }
}
