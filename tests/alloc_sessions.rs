//! The heap accounts with real sessions: filling one tab's scrollback moves that tab's account
//! and no other; closing a tab brings its account back to zero.

mod common;

use std::sync::Arc;
use std::time::Duration;

use memmux::memory::alloc::{self, TaggedAlloc};
use memmux::session::{CommandSpec, Context, Session, Start};
use memmux::term::scrollback::Limits;

#[global_allocator]
static A: TaggedAlloc = TaggedAlloc;

fn wait(what: &str, ok: impl FnMut() -> bool) {
    common::wait_until(what, Duration::from_secs(20), ok);
}

fn spec(cmd: &str) -> CommandSpec {
    CommandSpec {
        argv: vec!["/bin/sh".into(), "-c".into(), cmd.into()],
        cwd: None,
        term: "xterm-256color".into(),
    }
}

/// 10,000 lines or 16 MiB of history per tab, 64 MiB for all.
fn context() -> Context {
    Context::new(Limits::new(10_000, 16 << 20), 64 << 20)
}

#[test]
fn a_tabs_scrollback_is_charged_to_it_alone_and_freed_on_close() {
    assert!(alloc::is_active());
    let ctx = context();
    // Each tab prints a mark and then waits: its account is measured once the mark is on its
    // screen (threads started, screen allocated, the read parsed), and the busy tab floods only
    // when told. A fixed pause here read the busy tab's account after its flood had begun on a
    // loaded machine (history 164,096 B against +133,136 B measured).
    let quiet = Session::start(
        Start::unheard(1, spec("echo quiet-ready; exec sleep 60"), 24, 80),
        &ctx,
    );
    let busy = Session::start(
        Start::unheard(
            2,
            spec("echo busy-ready; read go; seq 1 30000; sleep 60"),
            24,
            80,
        ),
        &ctx,
    );
    let (qa, ba) = (quiet.shared.account(), busy.shared.account());
    assert_ne!(qa, ba);
    let shows = |s: &Session, mark: &str| s.shared.lock_term().screen().contents().contains(mark);
    wait("the quiet tab's mark", || shows(&quiet, "quiet-ready"));
    wait("the busy tab's mark", || shows(&busy, "busy-ready"));
    let quiet_before = alloc::live_bytes(qa);
    let busy_before = alloc::live_bytes(ba);
    busy.shared
        .send_input(b"\n".to_vec())
        .expect("the busy tab's input queue is empty");
    wait("10,000 rows of history", || {
        busy.shared.history_rows() >= 10_000
    });
    let grew = alloc::live_bytes(ba) - busy_before;
    let history = busy.shared.history_bytes() as isize;
    eprintln!("busy tab: +{grew} bytes for {history} bytes of history");
    assert!(
        grew >= history,
        "the history ({history} B) is not in the tab's account (+{grew} B)"
    );
    assert_eq!(
        alloc::live_bytes(qa),
        quiet_before,
        "the quiet tab's account moved"
    );

    // Close the busy tab: once its threads are gone, its account is back to zero.
    let shared = Arc::downgrade(&busy.shared);
    drop(busy);
    wait("the closed tab's state to be dropped", || {
        shared.upgrade().is_none()
    });
    assert_eq!(
        alloc::live_bytes(ba),
        0,
        "bytes left in the closed tab's account"
    );
    assert_eq!(memmux::memory::leaks(), (0, 0));
    drop(quiet);
}

/// A tab closed while its output moves between the I/O loops (a flood ending: its pty comes
/// back from the flood loop when the parser retires, 500 ms after the last output) leaves
/// nothing in its account. The race is in the loops, not in the test: the close lands at a
/// different point of the hand-back each time (0 to 900 ms after the flood), and a block
/// freed after the account closed shows in `memory::leaks()`. Before the fix this failed in
/// one run of three with one iteration (the pty's 24-byte `Arc` freed after the `Shared`).
#[test]
fn a_tab_closed_as_its_flood_ends_leaves_nothing_in_its_account() {
    assert!(alloc::is_active());
    let ctx = context();
    let before = memmux::memory::leaks();
    for step in 0..10u64 {
        let busy = Session::start(
            Start::unheard(10 + step, spec("seq 1 30000; sleep 60"), 24, 80),
            &ctx,
        );
        let account = busy.shared.account();
        wait("the flood to be parsed", || {
            busy.shared.history_rows() >= 10_000
        });
        // Deliberate offsets across the parser's 500 ms retirement, not a wait for a state.
        std::thread::sleep(Duration::from_millis(step * 100));
        let shared = Arc::downgrade(&busy.shared);
        drop(busy);
        wait("the closed tab's state to be dropped", || {
            shared.upgrade().is_none()
        });
        assert_eq!(
            memmux::memory::leaks(),
            before,
            "a block was left in the account of the tab closed {} ms after its flood",
            step * 100
        );
        wait("the closed tab's account to be empty", || {
            alloc::live_bytes(account) == 0
        });
    }
}
