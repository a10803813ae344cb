//! Strict checks that need the whole process quiet: one `#[test]` in its own binary, so
//! no other test thread allocates meanwhile (libtest's main thread sits blocked waiting
//! for the result). Every check runs its threads to completion before reading, so at each
//! reading no allocation is in flight and the figures must agree exactly.

use std::collections::HashMap;
use std::hint::black_box;
use std::num::NonZeroU16;
use std::sync::mpsc;
use std::thread;

use memmux::memory::alloc::{
    AccountId, MAX_ACCOUNTS, MEMMUX, TaggedAlloc, accounts_sum, close_account, enter, live_bytes,
    new_account, total_live, try_new_account,
};

#[global_allocator]
static A: TaggedAlloc = TaggedAlloc;

const ROWS: NonZeroU16 = NonZeroU16::new(50).expect("50 > 0");
const COLS: NonZeroU16 = NonZeroU16::new(200).expect("200 > 0");

/// Every account's live bytes. The result's buffer is allocated before the first
/// reading, so a reading never includes it.
/// What `make` allocates, made inside `account`.
fn made_in<T>(account: AccountId, make: impl FnOnce() -> T) -> T {
    let _g = enter(account);
    make()
}

fn all_accounts(ids: &[AccountId]) -> Vec<isize> {
    let mut out = Vec::with_capacity(ids.len());
    read_accounts(ids, &mut out);
    out
}

/// Reads into a buffer allocated beforehand (no allocation: `out` has the capacity).
fn read_accounts(ids: &[AccountId], out: &mut Vec<isize>) {
    out.clear();
    assert!(out.capacity() >= ids.len());
    for &id in ids {
        out.push(live_bytes(id));
    }
}

fn assert_total_is_sum(when: &str) {
    let total = total_live();
    let sum = accounts_sum();
    assert_eq!(
        usize::try_from(sum).ok(),
        Some(total),
        "{when}: accounts sum {sum}, total {total}"
    );
}

#[test]
fn quiescent_invariants() {
    assert_total_is_sum("at start (everything so far is MEMMUX's)");
    cross_thread_storm();
    vt100_moves_only_its_account();
    exhaustion_and_reuse();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc_agrees();
    assert_total_is_sum("at the end");
}

/// Four threads, each in its own account, pass blocks round a ring; each frees (and
/// grows first, half the time) what its neighbour allocated.
fn cross_thread_storm() {
    const THREADS: usize = 4;
    let accounts: Vec<AccountId> = (0..THREADS).map(|_| new_account()).collect();
    let start = all_accounts(&accounts);
    thread::scope(|s| {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..THREADS).map(|_| mpsc::channel::<Vec<u8>>()).unzip();
        let mut handles = Vec::with_capacity(THREADS);
        for (i, rx) in receivers.into_iter().enumerate() {
            let tx = senders[(i + 1) % THREADS].clone();
            let account = accounts[i];
            handles.push(s.spawn(move || {
                let _g = enter(account);
                for n in 0..20_000usize {
                    let _ = tx.send(vec![n as u8; 1 + n % 3000]);
                    while let Ok(mut block) = rx.try_recv() {
                        if n % 2 == 0 {
                            block.reserve(n % 5000);
                        }
                        drop(black_box(block));
                    }
                }
            }));
        }
        drop(senders);
        // Join explicitly: `scope` alone returns once the closures have returned, but
        // before the threads have run their TLS destructors (which free, and may
        // allocate); `join` waits for the thread to be gone.
        for handle in handles {
            handle.join().expect("storm thread");
        }
    });
    // Blocks still queued in channels were dropped with the last receiver.
    assert_total_is_sum("after the storm");
    // Each thread's channel bookkeeping (allocated in its account, freed by another)
    // is gone too, so every account is back to where it started.
    assert_eq!(all_accounts(&accounts), start);
    for account in accounts {
        assert_eq!(close_account(account), 0);
    }
}

fn vt100_moves_only_its_account() {
    let a = new_account();
    let every: Vec<AccountId> = (0..MAX_ACCOUNTS)
        .filter_map(AccountId::from_index)
        .collect();
    assert_eq!(every.len(), MAX_ACCOUNTS);
    let line = format!("{}\r\n", "y".repeat(199));
    // Both buffers first: the first reading must already include the second buffer.
    let mut after_all = Vec::with_capacity(every.len());
    let before_all = all_accounts(&every);
    let before_a = live_bytes(a);
    let before_sum = accounts_sum();
    let before_total = total_live();
    let parser = {
        let _g = enter(a);
        let mut parser = vt100::Parser::new(ROWS, COLS, 10_000);
        for _ in 0..12_000 {
            parser.process(line.as_bytes());
        }
        parser
    };
    let moved = live_bytes(a) - before_a;
    assert!(moved >= 10_000 * 200 * 32, "A holds the parser: {moved}");
    // No other account moved (MEMMUX included, which this thread charges outside A),
    // the sum over all accounts moved by exactly A's change, and so did the total.
    read_accounts(&every, &mut after_all);
    for (i, (before, after)) in before_all.iter().zip(&after_all).enumerate() {
        if i != a.index() {
            assert_eq!(before, after, "account {i} moved");
        }
    }
    assert_eq!(accounts_sum() - before_sum, moved);
    assert_eq!(total_live() as isize - before_total as isize, moved);
    assert_total_is_sum("with the parser alive");

    thread::spawn(move || drop(parser))
        .join()
        .expect("dropping thread");
    assert_eq!(live_bytes(a), before_a, "A back to exactly its start");
    assert_eq!(close_account(a), 0);
    assert_total_is_sum("after the parser");
}

fn exhaustion_and_reuse() {
    let leaky = new_account();
    let leak: Vec<u8> = made_in(leaky, || Vec::with_capacity(777));
    assert_eq!(close_account(leaky), 777);

    // Take every free id. None of them may be the leaking account's.
    let mut taken = Vec::with_capacity(MAX_ACCOUNTS);
    while let Some(id) = try_new_account() {
        taken.push(id);
    }
    assert!(!taken.contains(&leaky), "an id holding bytes was reused");
    // MEMMUX, the probe, and the leaking account are not handed out.
    assert_eq!(taken.len(), MAX_ACCOUNTS - 3);
    let mut unique: HashMap<AccountId, ()> = HashMap::with_capacity(taken.len());
    for &id in &taken {
        assert!(unique.insert(id, ()).is_none(), "{id:?} handed out twice");
    }
    // Exhausted: the fallback is memmux's own account.
    assert_eq!(new_account(), MEMMUX);
    // close_account(MEMMUX) is a no-op that reports what memmux holds.
    assert_eq!(close_account(MEMMUX), live_bytes(MEMMUX));

    // Once the leak is freed, the leaking account's id becomes available again.
    drop(leak);
    assert_eq!(live_bytes(leaky), 0);
    assert_eq!(try_new_account(), Some(leaky));
    assert_eq!(try_new_account(), None);
    assert_eq!(close_account(leaky), 0);
    for id in taken {
        assert_eq!(close_account(id), 0);
    }
    assert!(try_new_account().is_some_and(|id| close_account(id) == 0));
}

/// glibc's own bookkeeping is the one figure not computed by TaggedAlloc at all: every
/// counted byte sits in a malloc chunk, so the total can never exceed what glibc has in
/// use, and a block must move both by its size (glibc: plus header and chunk overhead).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn glibc_agrees() {
    fn glibc_in_use() -> usize {
        // SAFETY: mallinfo2 only reads the allocator's statistics (glibc >= 2.33).
        let info = unsafe { libc::mallinfo2() };
        // uordblks: in-use bytes of the arenas; hblkhd: bytes in mmapped chunks.
        info.uordblks + info.hblkhd
    }
    const SIZE: usize = 64 << 20;
    let a = new_account();
    let (glibc_before, total_before) = (glibc_in_use(), total_live());
    assert!(
        total_before <= glibc_before,
        "{total_before} > {glibc_before}"
    );
    let big = made_in(a, || vec![1u8; SIZE]);
    let (glibc_after, total_after) = (glibc_in_use(), total_live());
    assert_eq!(total_after - total_before, SIZE);
    // 64 MiB is mmapped by glibc: the chunk is the block + 16-byte header + glibc's
    // chunk header, rounded up to a page.
    let grown = glibc_after - glibc_before;
    assert!(
        (SIZE + 16..=SIZE + 16 + 2 * 4096).contains(&grown),
        "glibc grew by {grown}"
    );
    assert!(total_after <= glibc_after);
    drop(big);
    assert_eq!(total_live(), total_before);
    assert_eq!(close_account(a), 0);
}
