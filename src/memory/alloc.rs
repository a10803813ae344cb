//! Tagged global allocator: every live heap byte is attributed to an account.
//!
//! memmux keeps one account per session plus [`MEMMUX`] for itself. The binary installs
//! the allocator with
//!
//! ```ignore
//! #[global_allocator]
//! static A: memmux::memory::alloc::TaggedAlloc = memmux::memory::alloc::TaggedAlloc;
//! ```
//!
//! and a session's threads run their work inside [`enter`]`(account)`.
//!
//! # Why a header and not a thread-local counter
//! A per-thread counter charges a free to whichever thread frees the block. Session
//! output is parsed on one thread and dropped on another (the UI thread closing the tab),
//! so the bytes stay on the wrong account: measured +12.8 MB left on a closed session.
//! Instead every block carries, in a 16-byte header placed just before the pointer handed
//! out, the account that was current on the allocating thread. `dealloc` and `realloc`
//! read it back, so a block is charged to its original account for its whole life, on
//! whichever thread it is grown or freed.
//!
//! # Block layout
//! ```text
//! inner (from System)                          ptr (handed out)
//! |<------------- offset = max(16, align) ------->|<-- layout.size() -->|
//! |  padding (only when align > 16)  | header 16B |        data         |
//! ```
//! `inner` is allocated from [`System`] with the caller's alignment, so `ptr = inner +
//! offset` keeps it (offset is a multiple of the alignment). The offset is recomputed
//! from the `Layout` that Rust passes back to `dealloc`/`realloc`, so the header only has
//! to store the account. Cost: 16 bytes per block (0 to 16 bytes of real heap, since glibc
//! rounds chunks to 16 bytes anyway), and `align` bytes for over-aligned blocks (4 KiB
//! for a page-aligned block; those are rare).
//!
//! # What is counted
//! The requested size (`layout.size()`), not the header, the padding, nor malloc's slack
//! and per-chunk overhead. The panel therefore shows what the session's data structures
//! asked for; RSS from `/proc` (the other source) shows the rest.
//!
//! # Counters
//! * Per account: one `AtomicIsize` per account, each on its own 128-byte line (Intel's
//!   adjacent-line prefetcher pulls 64-byte lines in pairs, so 64 is not enough to stop two
//!   sessions' threads on two cores from false-sharing).
//! * Live total ([`total_live`]): an independent figure, kept in [`TOTAL_SHARDS`] padded
//!   shards indexed by thread (not by account), summed on read. One global atomic would
//!   make every allocation on every thread hit the same line; the bench
//!   (`benches/alloc.rs`) measured the options, see the numbers on [`total_live`].
//!
//! Two threads allocating in the *same* account do contend on its line (measured 135 to
//! 170 ns per alloc+free pair instead of 22); a session allocates almost only on its own parser
//! thread, so the counters are not sharded per account.
//!
//! # Account ids
//! At most [`MAX_ACCOUNTS`] accounts (ids fit the header's `u16`). Id 0 is [`MEMMUX`],
//! id 1 is reserved for [`is_active`]'s probe. A closed account's id is reused only once
//! its live bytes are back to 0, so late frees of a leaked block never land on a new
//! session. When every id is taken, [`new_account`] returns [`MEMMUX`] (the session's bytes
//! are then shown as memmux's own) and [`try_new_account`] returns `None`.
#![warn(clippy::undocumented_unsafe_blocks)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicIsize, AtomicU8, AtomicUsize, Ordering::Relaxed};

/// Bytes reserved before every block for the header. 16 keeps malloc's own 16-byte
/// alignment for the pointer handed out.
const HEADER: usize = 16;

/// Maximum number of accounts alive (open, or closed but still holding bytes) at once.
/// A power of two so that indexing by a header's id is a mask, never a panic.
pub const MAX_ACCOUNTS: usize = 1024;

/// Number of shards of the live total. Threads are spread over them round-robin; 32
/// keeps two cores (and the few dozen threads memmux runs) on distinct lines, and a read
/// sums 32 values (4 KiB).
pub const TOTAL_SHARDS: usize = 32;

/// The account of memmux itself, and of every thread that has not entered another.
pub const MEMMUX: AccountId = AccountId(0);

/// Reserved for [`is_active`]'s probe allocation; never handed out.
const PROBE: AccountId = AccountId(1);

/// First id [`new_account`] hands out.
const FIRST_SESSION: usize = 2;

/// An account to which live heap bytes are attributed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(u16);

impl AccountId {
    /// The account's index, in `0..MAX_ACCOUNTS`.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The account with this index (to list every account, e.g. in a debug view), or
    /// `None` when `index >= MAX_ACCOUNTS`.
    pub const fn from_index(index: usize) -> Option<AccountId> {
        if index < MAX_ACCOUNTS {
            // `MAX_ACCOUNTS <= 65536` (asserted below), so the cast is lossless.
            Some(AccountId(index as u16))
        } else {
            None
        }
    }
}

/// One counter alone on a 128-byte line (see the module doc for why 128).
#[repr(align(128))]
struct Padded(AtomicIsize);

static ACCOUNTS: [Padded; MAX_ACCOUNTS] = [const { Padded(AtomicIsize::new(0)) }; MAX_ACCOUNTS];
static TOTAL: [Padded; TOTAL_SHARDS] = [const { Padded(AtomicIsize::new(0)) }; TOTAL_SHARDS];

/// Account states, apart from the hot counters: only `new_account`/`close_account` touch
/// them, so scanning them does not pull the counters' lines away from their writers.
const UNUSED: u8 = 0;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;
static STATE: [AtomicU8; MAX_ACCOUNTS] = [const { AtomicU8::new(UNUSED) }; MAX_ACCOUNTS];
/// Where the next `new_account` starts scanning: ids go round the whole table before one
/// is reused, which keeps a stale id from naming a new session for as long as possible.
static NEXT_ID: AtomicUsize = AtomicUsize::new(FIRST_SESSION);
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

const NO_SHARD: u8 = u8::MAX;
const _: () = assert!(TOTAL_SHARDS < NO_SHARD as usize && TOTAL_SHARDS.is_power_of_two());
const _: () = assert!(MAX_ACCOUNTS.is_power_of_two() && MAX_ACCOUNTS <= 1 << 16);

thread_local! {
    // Both are `const`-initialised `Cell`s of plain integers: no lazy initialisation and
    // no destructor, so std registers nothing and never allocates for them, and they stay
    // readable while the thread is torn down (other TLS destructors that free memory run
    // then). `try_with` cannot fail for such keys today; the fallbacks below are there so
    // that a future std change degrades to "charge MEMMUX" instead of a panic, which
    // inside the allocator would abort.
    static CURRENT: Cell<u16> = const { Cell::new(0) };
    static SHARD: Cell<u8> = const { Cell::new(NO_SHARD) };
}

// `#[inline]` on these private helpers matters: the allocator is monomorphic, so without
// it they are not inlined into the binary's crate (which installs the allocator), and
// each allocation paid two extra calls through the GOT to reach the thread-locals.
#[inline]
fn current_raw() -> u16 {
    CURRENT.try_with(Cell::get).unwrap_or(MEMMUX.0)
}

#[inline]
fn total_shard() -> &'static AtomicIsize {
    let index = SHARD
        .try_with(|shard| {
            let s = shard.get();
            if s != NO_SHARD {
                return usize::from(s);
            }
            let s = NEXT_SHARD.fetch_add(1, Relaxed) % TOTAL_SHARDS;
            // `s < TOTAL_SHARDS < NO_SHARD` (asserted above), so the cast is lossless.
            shard.set(s as u8);
            s
        })
        .unwrap_or(0);
    // The mask (TOTAL_SHARDS is a power of two) lets the compiler drop the bounds check
    // and its panic path.
    &TOTAL[index & (TOTAL_SHARDS - 1)].0
}

/// Adds `delta` to `account` and to the live total. Relaxed is enough: each counter is a
/// single location, so its updates are totally ordered, and nothing else is published
/// through them.
#[inline]
fn charge(account: u16, delta: isize) {
    // The mask keeps a corrupt header from indexing out of bounds (no panic path here).
    ACCOUNTS[usize::from(account) & (MAX_ACCOUNTS - 1)]
        .0
        .fetch_add(delta, Relaxed);
    total_shard().fetch_add(delta, Relaxed);
}

/// Distance from the start of the System block to the pointer handed out.
#[inline]
fn offset_for(align: usize) -> usize {
    if align <= HEADER { HEADER } else { align }
}

/// Debug builds also store a marker next to the account so that a block reaching
/// `dealloc`/`realloc` without a header (a bug) aborts instead of corrupting counts.
const MAGIC: u16 = 0x6d6d; // "mm"

/// The layout of the System block behind a caller's `layout`, or `None` if it would
/// exceed `isize::MAX` (the caller then gets a null pointer, as for any failed allocation).
#[inline]
fn inner_layout(layout: Layout) -> Option<Layout> {
    let size = layout.size().checked_add(offset_for(layout.align()))?;
    Layout::from_size_align(size, layout.align()).ok()
}

/// Writes the header for a fresh System block and returns the pointer to hand out.
///
/// # Safety
/// `inner` must be a non-null block of at least `offset_for(align)` bytes.
#[inline]
unsafe fn finish_alloc(inner: *mut u8, align: usize, account: u16) -> *mut u8 {
    let offset = offset_for(align);
    // SAFETY: the block is at least `offset` bytes long (caller), so `ptr` is in bounds
    // and `ptr - 16 .. ptr - 12` lies in the header area inside the block. Unaligned
    // writes because an align-1 block may (in principle) start anywhere.
    unsafe {
        let ptr = inner.add(offset);
        ptr.sub(HEADER).cast::<u16>().write_unaligned(account);
        if cfg!(debug_assertions) {
            ptr.sub(HEADER - 2).cast::<u16>().write_unaligned(MAGIC);
        }
        ptr
    }
}

/// Reads the account stored before `ptr`.
///
/// # Safety
/// `ptr` must have been returned by `TaggedAlloc` and not yet freed.
#[inline]
unsafe fn read_account(ptr: *mut u8) -> u16 {
    // SAFETY: blocks from `TaggedAlloc` have a header in the 16 bytes before `ptr`.
    unsafe {
        if cfg!(debug_assertions) && ptr.sub(HEADER - 2).cast::<u16>().read_unaligned() != MAGIC {
            // A block without our header: counts would go wrong silently. Aborting (no
            // unwinding out of the allocator) makes the test that triggered it fail loudly.
            std::process::abort();
        }
        ptr.sub(HEADER).cast::<u16>().read_unaligned()
    }
}

/// A new block for `layout`: `system` allocates the enlarged block (header in front), which
/// is then charged to the current account and tagged with it. Null when `system` fails.
///
/// # Safety
/// `system` must return null or a block of (at least) the layout it is given.
#[inline(always)]
unsafe fn tagged(layout: Layout, system: impl FnOnce(Layout) -> *mut u8) -> *mut u8 {
    let Some(inner_layout) = inner_layout(layout) else {
        return std::ptr::null_mut();
    };
    let inner = system(inner_layout);
    if inner.is_null() {
        return inner;
    }
    let account = current_raw();
    // `Layout` guarantees size <= isize::MAX, so the cast is lossless.
    charge(account, layout.size() as isize);
    // SAFETY: `inner` is non-null and, by the caller's promise, `inner_layout.size() >= offset`.
    unsafe { finish_alloc(inner, layout.align(), account) }
}

/// The tagged global allocator: [`System`] plus a header and per-account counters.
pub struct TaggedAlloc;

// SAFETY: every method forwards to `System` with a layout that is the caller's enlarged
// by `offset_for(align)` bytes at the front and the same alignment, and hands out
// `inner + offset`, which is aligned (offset is a multiple of align) and has `size`
// usable bytes. `dealloc`/`realloc` recompute the same inner layout from the caller's
// layout, which the `GlobalAlloc` contract guarantees is the one the block was allocated
// (or last reallocated) with.
unsafe impl GlobalAlloc for TaggedAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `inner_layout` has a non-zero size (at least HEADER), and System returns
        // null or a block of it.
        unsafe { tagged(layout, |inner_layout| System.alloc(inner_layout)) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`. The header area is zeroed too and then overwritten.
        unsafe { tagged(layout, |inner_layout| System.alloc_zeroed(inner_layout)) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let offset = offset_for(layout.align());
        // SAFETY: `ptr` came from this allocator with `layout` (GlobalAlloc contract), so
        // it has a header and `ptr - offset` is the System block, allocated with
        // `layout.size() + offset` bytes (which was checked not to overflow then).
        unsafe {
            let account = read_account(ptr);
            let inner = ptr.sub(offset);
            System.dealloc(
                inner,
                Layout::from_size_align_unchecked(layout.size() + offset, layout.align()),
            );
            charge(account, -(layout.size() as isize));
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let offset = offset_for(layout.align());
        let Some(new_inner_size) = new_size.checked_add(offset) else {
            return std::ptr::null_mut();
        };
        if Layout::from_size_align(new_inner_size, layout.align()).is_err() {
            return std::ptr::null_mut();
        }
        // SAFETY: as in `dealloc` for the old block. `System.realloc` keeps the block's
        // alignment: for align <= 16 it is libc `realloc` (in place or mremap for large
        // blocks, so growing a 64 MiB Vec stays cheap); above that it allocates, copies
        // `min(old, new)` bytes from the start of the block, header included, and frees.
        // Either way the header and the data stay at the same offset in the new block,
        // so the block keeps its original account.
        unsafe {
            let account = read_account(ptr);
            let inner = ptr.sub(offset);
            let old_inner =
                Layout::from_size_align_unchecked(layout.size() + offset, layout.align());
            let new_inner = System.realloc(inner, old_inner, new_inner_size);
            if new_inner.is_null() {
                return new_inner;
            }
            // Both sizes are <= isize::MAX (Layout invariants), so the difference fits.
            charge(account, new_size as isize - layout.size() as isize);
            new_inner.add(offset)
        }
    }
}

/// Restores the thread's previous account when dropped. Not `Send`: it restores the
/// thread-local of the thread that entered. Guards are meant to nest (drop in reverse
/// order of `enter`); dropping them out of order restores whatever the last dropped one
/// saw.
#[must_use = "the account is left as soon as the guard is dropped"]
#[derive(Debug)]
pub struct AccountGuard {
    previous: u16,
    _not_send: PhantomData<*const ()>,
}

impl Drop for AccountGuard {
    fn drop(&mut self) {
        // Fails only if the TLS slot were gone, and then there is nothing to restore.
        let _ = CURRENT.try_with(|c| c.set(self.previous));
    }
}

/// Makes `account` the current account of this thread until the guard is dropped: every
/// block allocated meanwhile on this thread is charged to it for its whole life.
///
/// New threads start in [`MEMMUX`]; a session's threads call `enter` first thing.
pub fn enter(account: AccountId) -> AccountGuard {
    let previous = CURRENT
        .try_with(|c| c.replace(account.0))
        .unwrap_or(MEMMUX.0);
    AccountGuard {
        previous,
        _not_send: PhantomData,
    }
}

/// This thread's current account.
pub fn current() -> AccountId {
    AccountId(current_raw())
}

/// Opens an account for a new session, or returns `None` when all [`MAX_ACCOUNTS`] ids
/// are open or closed-but-still-holding-bytes.
pub fn try_new_account() -> Option<AccountId> {
    let slots = MAX_ACCOUNTS - FIRST_SESSION;
    let start = NEXT_ID.load(Relaxed);
    for step in 0..slots {
        let index = FIRST_SESSION + (start - FIRST_SESSION + step) % slots;
        let state = &STATE[index];
        let taken = match state.load(Relaxed) {
            UNUSED => state
                .compare_exchange(UNUSED, OPEN, Relaxed, Relaxed)
                .is_ok(),
            // A closed account is reusable once everything it held is freed. Nobody
            // allocates into it any more (its session's threads have left it before
            // `close_account`), so 0 stays 0.
            CLOSED if ACCOUNTS[index].0.load(Relaxed) == 0 => state
                .compare_exchange(CLOSED, OPEN, Relaxed, Relaxed)
                .is_ok(),
            _ => false,
        };
        if taken {
            NEXT_ID.store(index + 1, Relaxed);
            // `index < MAX_ACCOUNTS <= 65536` (asserted above), so the cast is lossless.
            return Some(AccountId(index as u16));
        }
    }
    None
}

/// Opens an account for a new session. When every id is in use the session is charged
/// to [`MEMMUX`] instead (its bytes still counted, shown as memmux's own); use
/// [`try_new_account`] to tell.
pub fn new_account() -> AccountId {
    try_new_account().unwrap_or(MEMMUX)
}

/// Live bytes (requested sizes) of the blocks charged to `account`.
///
/// Never negative in practice: a block's updates (alloc, reallocs, free) are ordered by
/// happens-before (the pointer has to reach the freeing thread somehow), so they reach
/// the account's single atomic in that order, and any value read is a sum of blocks'
/// current sizes. The type is signed so that a bug (a block charged to one account and
/// discharged from another) shows as a negative figure instead of a wrapped huge one.
pub fn live_bytes(account: AccountId) -> isize {
    ACCOUNTS[account.index() & (MAX_ACCOUNTS - 1)]
        .0
        .load(Relaxed)
}

/// Sum of every account's [`live_bytes`]. Equal to [`total_live`] whenever no allocation
/// is in flight.
pub fn accounts_sum() -> isize {
    ACCOUNTS
        .iter()
        .fold(0isize, |sum, a| sum.wrapping_add(a.0.load(Relaxed)))
}

/// Live bytes of the whole allocator, from counters independent of the accounts (sharded
/// by thread rather than by account, see the module doc).
///
/// Exact when no allocation is in flight. While other threads allocate, the shards are
/// read one after another, not as one snapshot, and a shard alone goes negative when its
/// thread frees blocks another thread allocated: the sum can then be off by the bytes
/// moved meanwhile, and is clamped at 0.
///
/// Why sharded: `benches/alloc.rs`, CPU ns per alloc+free pair of 64 bytes on the 2-core
/// dev machine, one run (System alone: 6.8; with the 16-byte header: 7.9):
///
/// | live total kept as                   | 1 thread | 2 threads, own accounts |
/// |--------------------------------------|---------:|------------------------:|
/// | none (per-account atomics only)      |     13.5 |                    13.5 |
/// | + one global relaxed atomic          |     22.2 |  123 (other runs: 253)  |
/// | + per-thread batch, flushed at 64 KiB|     13.8 |                    13.7 |
/// | + thread-sharded atomics (this)      |     21.7 |                    21.7 |
///
/// Batching is nearly free but never exact: up to 64 KiB per thread is unflushed, and a
/// thread that exits takes its pending delta with it (flushing it would need a TLS
/// destructor registered from inside the allocator). The global atomic is exact but
/// turns every allocation into a cross-core line transfer once two threads allocate. The
/// shards cost one uncontended atomic add per allocation or free (~4 ns) and stay exact.
/// On the vt100 workload (one alloc/free pair per 200-byte line: ~5,000 per MB) none of
/// the options moved parse throughput beyond noise (TaggedAlloc: 76.0 MB/s against 76.7
/// plain, -0.9%; 15 ns x 99k pairs predicts -0.6%).
pub fn total_live() -> usize {
    let sum = TOTAL
        .iter()
        .fold(0isize, |sum, shard| sum.wrapping_add(shard.0.load(Relaxed)));
    usize::try_from(sum).unwrap_or(0)
}

/// Closes a session's account and returns what it still holds: 0, or the bytes its
/// session leaked (or that are still owned elsewhere, e.g. a buffer handed to memmux).
/// The id is reused only once those bytes are freed. Closing [`MEMMUX`] does nothing.
///
/// Call it once the session's threads have left the account: a thread still inside
/// [`enter`] would keep charging it, and those bytes would block (or, freed, follow) the
/// reuse of the id.
pub fn close_account(account: AccountId) -> isize {
    if account.index() >= FIRST_SESSION {
        // Fails only if the account was not open (closed twice): nothing to change then.
        let _ = STATE[account.index() & (MAX_ACCOUNTS - 1)]
            .compare_exchange(OPEN, CLOSED, Relaxed, Relaxed);
    }
    live_bytes(account)
}

/// True when [`TaggedAlloc`] is this process's global allocator (false e.g. in test
/// binaries that do not install it, where the panel says "allocator accounting
/// unavailable").
///
/// Probes once: allocates a byte inside a reserved account and looks whether that account
/// moved. Only this probe uses the account, and each probe frees only its own byte, so a
/// concurrent probe can only add to what this one sees.
pub fn is_active() -> bool {
    const UNKNOWN: u8 = 0;
    const YES: u8 = 1;
    const NO: u8 = 2;
    static ACTIVE: AtomicU8 = AtomicU8::new(UNKNOWN);
    match ACTIVE.load(Relaxed) {
        YES => true,
        NO => false,
        _ => {
            let guard = enter(PROBE);
            // black_box: without it LLVM may remove the allocation altogether.
            let probe = std::hint::black_box(Box::new(0u8));
            let seen = live_bytes(PROBE) > 0;
            drop(probe);
            drop(guard);
            ACTIVE.store(if seen { YES } else { NO }, Relaxed);
            seen
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lib's unit-test binary does not install TaggedAlloc: the panel must be told.
    #[test]
    fn inactive_without_the_global_allocator() {
        assert!(!is_active());
        // Accounts still work as ids; they just never move.
        let a = new_account();
        let _g = enter(a);
        let v = std::hint::black_box(vec![0u8; 4096]);
        assert_eq!(live_bytes(a), 0);
        drop(v);
        assert_eq!(close_account(a), 0);
    }

    #[test]
    fn offsets_keep_alignment() {
        for align in [1, 2, 4, 8, 16] {
            assert_eq!(offset_for(align), HEADER);
        }
        for shift in 5..16 {
            assert_eq!(offset_for(1 << shift), 1 << shift);
        }
        let too_big = Layout::from_size_align(isize::MAX as usize - 8, 8);
        assert!(too_big.is_ok_and(|l| inner_layout(l).is_none()));
    }
}
