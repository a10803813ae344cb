//! The heap accounts with real sessions: filling one tab's scrollback moves that tab's account
//! and no other; closing a tab brings its account back to zero.

mod common;

use std::sync::Arc;
use std::time::Duration;

use memmux::memory::alloc::{self, TaggedAlloc};
use memmux::session::scrollback::Limits;
use memmux::session::{CommandSpec, Context, Session};

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

#[test]
fn a_tabs_scrollback_is_charged_to_it_alone_and_freed_on_close() {
    assert!(alloc::is_active());
    let ctx = Context::new(
        Arc::new(|| {}),
        Limits {
            lines: 10_000,
            bytes: 16 << 20,
        },
        64 << 20,
    );
    let quiet = Session::start(1, spec("sleep 60"), 24, 80, &ctx, Box::new(|_| {}));
    let busy = Session::start(
        2,
        spec("sleep 0.3; seq 1 30000; sleep 60"),
        24,
        80,
        &ctx,
        Box::new(|_| {}),
    );
    let (qa, ba) = (quiet.shared.account, busy.shared.account);
    assert_ne!(qa, ba);
    // Both started: their threads are parked, their screens allocated.
    std::thread::sleep(Duration::from_millis(200));
    let quiet_before = alloc::live_bytes(qa);
    let busy_before = alloc::live_bytes(ba);
    wait("10,000 rows of history", || {
        busy.shared
            .history_rows
            .load(std::sync::atomic::Ordering::Acquire)
            >= 10_000
    });
    let grew = alloc::live_bytes(ba) - busy_before;
    let history = busy
        .shared
        .history_bytes
        .load(std::sync::atomic::Ordering::Acquire) as isize;
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
