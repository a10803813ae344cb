//! Where the app gets a session for a new tab or pane: a program on a pty (`PtySpawner`), or
//! in tests a scripted one (`driver::FakeSpawner`), so the app's behaviour can be driven
//! in-process without programs or a terminal.

use crate::session::{Context, Session, Start};

/// Starts the session of a new pane. Never fails: a program that cannot start is a session
/// in `Status::Failed` with the reason in its pane (`Session::start`).
pub trait Spawner {
    fn start(&self, start: Start, ctx: &Context) -> Session;
}

/// The real one: the program on a new pty, served by the I/O loop.
pub struct PtySpawner;

impl Spawner for PtySpawner {
    fn start(&self, start: Start, ctx: &Context) -> Session {
        Session::start(start, ctx)
    }
}
