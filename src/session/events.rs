//! How a session tells the app what happened: one `Listener`, given when the session starts,
//! hears every event of it (output, bell, title, clipboard write, notice, exit) from whichever
//! thread saw it. Output is coalesced here, in the sender: the first output after the app
//! last took it (`Shared::take_output`) sends one `Event::Output`, and the rest of a burst
//! only adds to a counter, so a flood costs the app one wake-up per look, not one per read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::SessionId;
use super::process::ExitStatus;
use crate::memory::alloc;

/// What a session tells the app.
#[derive(Debug)]
pub enum Event {
    /// The program printed since the app last took its output (`Shared::take_output`); sent
    /// once until then.
    Output,
    /// The program rang the bell (at most one per parsed batch).
    Bell,
    /// The program set its title (OSC 0/2), cleaned (`term::clean_title`): the newest of a
    /// parsed batch.
    Title(String),
    /// The program wrote the clipboard (OSC 52, base64), when the config allows it.
    Clipboard(Vec<u8>),
    /// Something the user must be told about this session (a contained parser failure).
    Notice(String),
    /// The program ended.
    Exited(ExitStatus),
}

/// Hears a session's events. Called on the session's threads (the I/O loop, a parser thread,
/// the waiter): it must not block.
pub trait Listener: Send + Sync {
    fn send(&self, session: SessionId, event: Event);
}

/// Hears nothing: sessions nobody watches (benchmarks, drawing tests).
pub struct Ignore;

impl Listener for Ignore {
    fn send(&self, _: SessionId, _: Event) {}
}

/// A session's side of its listener, with the flag that coalesces output.
pub(super) struct Sender {
    id: SessionId,
    listener: Arc<dyn Listener>,
    /// Output was parsed that the app has not taken yet; while set, output sends nothing.
    output_pending: AtomicBool,
    /// Output bytes parsed since the app last took them: a few bytes (an echo) are drawn at
    /// once, a flood at the frame rate.
    output_bytes: AtomicUsize,
}

impl Sender {
    pub(super) fn new(id: SessionId, listener: Arc<dyn Listener>) -> Sender {
        Sender {
            id,
            listener,
            output_pending: AtomicBool::new(false),
            output_bytes: AtomicUsize::new(0),
        }
    }

    /// Sends `event`. What travels to the app is memmux's memory, not the session's: a block
    /// of the app's channel (about 1 KiB every 32 events) and the text of a title, clipboard
    /// write or notice (parsed, so allocated, in the session's account: copied here) may be
    /// freed after the session's account closed, where they would read as a leak.
    pub(super) fn send(&self, event: Event) {
        let _memmux = alloc::enter(alloc::MEMMUX);
        let event = match event {
            Event::Title(t) => Event::Title(t.as_str().to_owned()),
            Event::Clipboard(d) => Event::Clipboard(d.as_slice().to_vec()),
            Event::Notice(n) => Event::Notice(n.as_str().to_owned()),
            e => e,
        };
        self.listener.send(self.id, event);
    }

    /// Notes `bytes` of parsed output; tells the app only if it took the last output, and
    /// not at all when the screen is `drawn` already (`DirectDraw`): then the bytes are only
    /// counted.
    pub(super) fn output(&self, bytes: usize, drawn: bool) {
        self.output_bytes.fetch_add(bytes, Ordering::Relaxed);
        if !drawn {
            self.changed();
        }
    }

    /// The screen changed (output, the program's end): one `Event::Output` per look.
    pub(super) fn changed(&self) {
        if !self.output_pending.swap(true, Ordering::AcqRel) {
            self.send(Event::Output);
        }
    }

    /// The output bytes since the last call; the next output sends `Event::Output` again.
    pub(super) fn take_output(&self) -> usize {
        self.output_pending.store(false, Ordering::Release);
        self.output_bytes.swap(0, Ordering::Relaxed)
    }

    /// Output sends nothing until `take_output`: a hidden tab already marked busy costs the
    /// app nothing however much it prints.
    pub(super) fn hold_output(&self) {
        self.output_pending.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Record(Mutex<Vec<String>>);

    impl Listener for Record {
        fn send(&self, session: SessionId, event: Event) {
            let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
            v.push(format!("{session}:{event:?}"));
        }
    }

    fn sent(r: &Record) -> Vec<String> {
        std::mem::take(&mut *r.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    #[test]
    fn a_burst_of_output_sends_one_event_until_the_app_takes_it() {
        let r = Arc::new(Record::default());
        let s = Sender::new(7, Arc::clone(&r) as Arc<dyn Listener>);
        for _ in 0..100 {
            s.output(10, false);
        }
        assert_eq!(sent(&r), ["7:Output"]);
        assert_eq!(s.take_output(), 1000);
        assert_eq!(s.take_output(), 0, "taken");
        s.output(3, false);
        assert_eq!(
            sent(&r),
            ["7:Output"],
            "taken: the next output is told again"
        );
        s.hold_output();
        assert_eq!(s.take_output(), 3);
        s.hold_output();
        s.output(5, false);
        assert!(sent(&r).is_empty(), "held: output tells nobody");
        assert_eq!(s.take_output(), 5);
        s.output(4, true);
        assert!(sent(&r).is_empty(), "drawn already: only counted");
        assert_eq!(s.take_output(), 4);
    }

    #[test]
    fn other_events_are_sent_as_they_come() {
        let r = Arc::new(Record::default());
        let s = Sender::new(2, Arc::clone(&r) as Arc<dyn Listener>);
        s.send(Event::Bell);
        s.send(Event::Bell);
        s.send(Event::Title("t".into()));
        assert_eq!(sent(&r), ["2:Bell", "2:Bell", "2:Title(\"t\")"]);
    }
}
