//! How a session tells the sampler it is busy, without knowing the sampler.
//!
//! The sampler reads a tab once a second while it is busy and once per chart column (5 s)
//! while nothing moves (see `sampler`). A quiet tab is marked `quiet`; its first output after
//! that wakes the sampler, so the panel follows a command from its first line. Cost on the
//! output path: one atomic add and one load per batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Wakes the sampler; a no-op when there is none (tests, benches).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

pub struct Activity {
    /// Output bytes since the session started.
    output: AtomicU64,
    /// Set by the sampler when it slowed down for this tab; the next output clears it and
    /// wakes the sampler.
    quiet: AtomicBool,
    wake: Waker,
}

impl Activity {
    pub fn new(wake: Waker) -> Activity {
        Activity {
            output: AtomicU64::new(0),
            quiet: AtomicBool::new(false),
            wake,
        }
    }

    /// A waker that does nothing, for sessions without a sampler.
    pub fn no_waker() -> Waker {
        Arc::new(|| {})
    }

    /// Called by the session after parsing `bytes` of output.
    pub fn note_output(&self, bytes: usize) {
        // SeqCst on both sides: either the sampler, marking the tab quiet, then sees this
        // output, or this sees the mark and wakes it (see `mark_quiet`).
        self.output.fetch_add(bytes as u64, Ordering::SeqCst);
        if self.quiet.load(Ordering::SeqCst) && self.quiet.swap(false, Ordering::SeqCst) {
            (self.wake)();
        }
    }

    /// Output bytes so far.
    pub fn output(&self) -> u64 {
        self.output.load(Ordering::SeqCst)
    }

    /// Marks the tab quiet; returns its output count read after the mark, so output that
    /// raced with it is seen here if it did not wake the sampler.
    pub fn mark_quiet(&self) -> u64 {
        self.quiet.store(true, Ordering::SeqCst);
        self.output.load(Ordering::SeqCst)
    }

    /// Takes the quiet mark back (the sampler saw output itself).
    pub fn mark_busy(&self) {
        self.quiet.store(false, Ordering::SeqCst);
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity")
            .field("output", &self.output())
            .field("quiet", &self.is_quiet())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn only_the_first_output_after_quiet_wakes() {
        let woken = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&woken);
        let a = Activity::new(Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        a.note_output(3);
        assert_eq!(woken.load(Ordering::SeqCst), 0, "busy tabs wake nobody");
        assert_eq!(a.mark_quiet(), 3);
        a.note_output(2);
        a.note_output(2);
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert_eq!(a.output(), 7);
        assert!(!a.is_quiet());
    }
}
