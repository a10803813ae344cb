//! Memory accounting: the tagged allocator and /proc sampling.

pub mod activity;
// The global allocator and its accounts: unsafe by nature (`GlobalAlloc`).
#[allow(unsafe_code)]
pub mod alloc;
pub mod cgroup;
pub mod fd_budget;
pub mod history;
pub mod procs;
pub mod sampler;
pub mod summary;

use std::sync::Mutex;

/// Bytes left in closed sessions' accounts: leaks, shown in the memory panel rather than hidden.
static LEAKS: Mutex<Vec<(alloc::AccountId, isize)>> = Mutex::new(Vec::new());

/// Records what a closed session's account still held when its state was dropped.
pub fn note_leak(account: alloc::AccountId, bytes: isize) {
    let mut l = LEAKS.lock().unwrap_or_else(|p| p.into_inner());
    // Bounded: one entry per closed session at most, and old ones are summed away.
    if l.len() >= 256 {
        let sum: isize = l.drain(..128).map(|(_, b)| b).sum();
        l.insert(0, (alloc::MEMMUX, sum));
    }
    l.push((account, bytes));
}

/// Total bytes closed sessions left behind, and how many sessions did.
pub fn leaks() -> (isize, usize) {
    let l = LEAKS.lock().unwrap_or_else(|p| p.into_inner());
    (l.iter().map(|(_, b)| b).sum(), l.len())
}
