//! Whether memory accounting may keep files open between samples.
//!
//! The samplers keep up to 256 `statm` files each (the /proc one and the cgroup one) and 192
//! cgroup files open to save a path lookup per read (about 12 us each). That is worth it only
//! while descriptors are plentiful: under a hard limit too low for memmux's reserve (`ulimit
//! -Hn 64`), those files took the very descriptors a closed tab had freed, and the next tab
//! could not start. The session layer, which knows the limit, says so here.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};

static SCARCE: AtomicBool = AtomicBool::new(false);

/// Set when the descriptor limit cannot be raised to what memmux reserves; cleared when
/// it can again.
pub fn set_scarce(scarce: bool) {
    SCARCE.store(scarce, Ordering::Release);
}

/// Whether a file read now should be closed again at once rather than kept.
pub fn scarce() -> bool {
    SCARCE.load(Ordering::Acquire)
}

/// Reads `path` from its start into `buf` through `file`, kept open between calls while
/// descriptors are plentiful (opened at the first call, and again after a failure); while
/// they are scarce, opened and closed each time. Kept regardless, `/proc/meminfo`, the
/// pressure file and `loadavg` failed to open while the tabs held every descriptor, then
/// took 3 of the 6 that two closed tabs freed, and the next tab could not start (`ulimit -n
/// 64`). Returns how many bytes were read.
pub fn read_kept(file: &mut Option<File>, path: &str, buf: &mut [u8]) -> Option<usize> {
    if scarce() {
        *file = None;
        return File::open(path).ok()?.read_at(buf, 0).ok();
    }
    if file.is_none() {
        *file = File::open(path).ok();
    }
    let read = file.as_ref()?.read_at(buf, 0);
    if read.is_err() {
        *file = None;
    }
    read.ok()
}
