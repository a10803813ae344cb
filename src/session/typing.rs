//! Typing in a shown tab holds back the floods of hidden tabs for a moment: their parser
//! threads (`reader::read_and_parse`) stop reading for `HOLD` after each key, so the program
//! flooding (a `yes`) fills its pty and blocks, and the kernel's pty work stops with it.
//!
//! Why: on 2 cores, a hidden `yes` read at the idle priority still cost 70 % of a core in
//! `yes` itself and 57 % in the kernel's pty workers (`kworker`, moving its output to
//! memmux's side), both at normal priority, against 28 % for the parse (`perf sched`, 6 s of
//! bench/compare.py's flood test); the keystroke's path (client, input thread, the shell,
//! the loop, the UI) waited 0.25-0.4 ms per hop for a core. Nobody sees a hidden tab's
//! output, and the one typing is the one waiting.
//!
//! What it costs: a program that prints less than the pty's 64 KiB of buffer per `HOLD`
//! (1.3 MB/s) never notices; a flood slows while someone types, down to the gaps between
//! keys and at least one batch per `MIN_READS`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// 50 ms after a key: longer than the whole echo of a key (client to screen, 0.3-2 ms on 2
/// busy cores) and than most gaps between a typist's keys within a word at 20 keys a second;
/// short enough that a program printing under 1.3 MB/s never fills its pty meanwhile.
pub const HOLD: Duration = Duration::from_millis(50);

/// 250 ms: however long the typing lasts (a key held down repeats every 30-40 ms), a held
/// flood still gets one batch (64 KiB) read this often, 256 KiB/s: its program goes on
/// slowly rather than not at all.
pub const MIN_READS: Duration = Duration::from_millis(250);

/// Milliseconds since `epoch()` at the last key, plus 1 (0: no key yet).
static LAST_KEY: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
}

/// Input from the user went to a shown tab.
pub fn note_key() {
    LAST_KEY.store(now_ms(), Ordering::Release);
}

/// How long hidden floods should still hold back, if at all.
pub fn hold_left() -> Option<Duration> {
    let last = LAST_KEY.load(Ordering::Acquire);
    if last == 0 {
        return None;
    }
    let since = Duration::from_millis(now_ms().saturating_sub(last));
    HOLD.checked_sub(since).filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_holds_for_hold_then_not() {
        note_key();
        let left = hold_left().expect("held right after a key");
        assert!(left <= HOLD && left > HOLD / 2, "{left:?}");
        // Pretend the key came HOLD ago.
        LAST_KEY.store(
            now_ms().saturating_sub(HOLD.as_millis() as u64),
            Ordering::Release,
        );
        assert_eq!(hold_left(), None);
    }
}
