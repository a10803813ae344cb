//! When a hidden tab parks its screen (`term::park` does the parking): after a quiet spell,
//! and the freed screens given back to the system at once.

use super::shared::Shared;

/// 2 s without output: a hidden tab that was quiet this long is parked at the next memory
/// sample. Shorter would park tabs between the lines of a slow build's output for nothing:
/// a wake costs about as much as parsing one screen of text.
pub const QUIET_MS: u64 = 2000;

/// What one pass of [`park_idle`] did and left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParkPass {
    /// Tabs parked by this pass.
    pub parked: usize,
    /// Tabs that printed less than [`QUIET_MS`] ago: a later pass may park them, so the
    /// caller must not skip passes while any is waiting.
    pub waiting: usize,
}

/// Parks the hidden tabs whose output has been quiet for `QUIET_MS`, then gives the freed
/// screens back to the system once. A tab busy on another thread is skipped (tried again at
/// the next pass).
pub fn park_idle<'a>(hidden: impl Iterator<Item = &'a Shared>) -> ParkPass {
    let mut pass = ParkPass::default();
    for shared in hidden {
        if shared.quiet_ms() < QUIET_MS {
            pass.waiting += 1;
        } else if shared.try_park() {
            pass.parked += 1;
        }
    }
    if pass.parked > 0 {
        crate::sys::mem::malloc_trim();
    }
    pass
}
