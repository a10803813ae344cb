//! When a hidden tab parks its screen (`term::park` does the parking): after a quiet spell,
//! and the freed screens given back to the system at once.

use super::shared::Shared;

/// 2 s without output: a hidden tab that was quiet this long is parked at the next memory
/// sample. Shorter would park tabs between the lines of a slow build's output for nothing:
/// a wake costs about as much as parsing one screen of text.
pub const QUIET_MS: u64 = 2000;

/// Parks the hidden tabs whose output has been quiet for `QUIET_MS`, then gives the freed
/// screens back to the system once. Returns how many were parked now. A tab busy on another
/// thread is skipped (tried again at the next call).
pub fn park_idle<'a>(hidden: impl Iterator<Item = &'a Shared>) -> usize {
    let mut parked = 0;
    for shared in hidden {
        if shared.quiet_ms() >= QUIET_MS && shared.try_park() {
            parked += 1;
        }
    }
    if parked > 0 {
        crate::sys::mem::malloc_trim();
    }
    parked
}
