//! Whether memory accounting may keep files open between samples.
//!
//! The samplers keep up to 256 `statm` files each (the /proc one and the cgroup one) and 192
//! cgroup files open to save a path lookup per read (about 12 us each). That is worth it only
//! while descriptors are plentiful: under a hard limit too low for memmux's reserve (`ulimit
//! -Hn 64`), those files took the very descriptors a closed tab had freed, and the next tab
//! could not start. The session layer, which knows the limit, says so here.

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
