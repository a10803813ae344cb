//! One session's side of the hub: its clients' views (each on the client's own terminal,
//! handed to the session), their hand-over and release, sizes, and who is sent away.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Client, NO_SCREEN, Session, WindowSize, lock};
use crate::server::protocol::{self, Msg};
use crate::server::spawn;
use crate::sys::signal::Signal;

/// How long the server waits for a session to let go of a client's terminal: it writes what
/// it has queued (at most 500 ms for a terminal that stopped reading) and ends the view's input
/// thread; measured well under 10 ms otherwise. A wedged session holds its client no longer.
const RELEASE: Duration = Duration::from_secs(2);

impl Session {
    pub fn name_now(&self) -> String {
        lock(&self.name).clone()
    }

    /// Asks the session to draw everything again, with the terminal's modes (SIGUSR1), once
    /// it can take the signal; before that its first frame is whole anyway.
    pub fn redraw(&self) {
        if self.ready.load(Ordering::Acquire) {
            self.signal(Signal::USR1);
        }
    }

    pub fn signal(&self, sig: Signal) {
        // Our own child by pid: it is reaped only by `pump`, after its pty closed, so the pid
        // is still ours.
        let _ = crate::sys::signal::kill(self.pid, sig);
    }

    /// Adds `client` (its size counted first, so its view opens at the session's new size),
    /// then gives it a view on its terminal.
    pub(super) fn add_client(self: &Arc<Self>, client: Client, policy: WindowSize) {
        let id = client.id;
        lock(&self.clients).push(client);
        self.resize(policy);
        self.give_screen(id);
    }

    /// Gives client `id` a view on its terminal if it has none: the first view (0) when no
    /// other client has it (it keeps its focus and mode between clients, as the session's
    /// current window does in tmux), else one named by the client's id. False when it had one.
    pub(super) fn give_screen(&self, id: u64) -> bool {
        let mut clients = lock(&self.clients);
        let first_free = !clients.iter().any(|c| c.screen == 0);
        let Some(c) = clients.iter_mut().find(|c| c.id == id) else {
            return false;
        };
        if c.screen != NO_SCREEN {
            return false;
        }
        let Some(tty) = c.tty.clone() else {
            return false;
        };
        let screen = if first_free { 0 } else { id };
        let frame = protocol::encode(&Msg::ViewOpen(screen));
        let mut fds = vec![tty.as_fd()];
        fds.extend(c.alive.as_ref().map(|a| a.as_fd()));
        match crate::server::fdpass::send_fds(&lock(&self.views), &frame, &fds) {
            Ok(()) => c.screen = screen,
            Err(e) => {
                crate::util::append_log(&format!(
                    "session {}: cannot hand client {id}'s terminal over: {e}",
                    self.name_now()
                ));
            }
        }
        true
    }

    /// Closes view `screen` in the session and waits (at most `RELEASE`) until the session
    /// says it wrote its last bytes there and holds the terminal no more: only then may the
    /// client give the terminal back to the user's shell, with no frame landing after.
    pub(super) fn release_screen(&self, screen: u64) {
        if screen == NO_SCREEN {
            return;
        }
        let views = lock(&self.views);
        // A session that is gone has closed its end: nothing to wait for.
        if protocol::write_msg(&mut &*views, &Msg::ViewClose(screen)).is_err() {
            return;
        }
        let _ = views.set_read_timeout(Some(RELEASE));
        let started = std::time::Instant::now();
        while started.elapsed() < RELEASE {
            match protocol::read_msg(&mut &*views) {
                Ok(Some(Msg::ViewReleased(n))) if n == screen => return,
                // A late answer to an earlier close that timed out.
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            }
        }
        crate::util::append_log(&format!(
            "session {}: view {screen} not released within {RELEASE:?}",
            self.name_now()
        ));
    }

    /// Suspends client `who` (`C-b C-z`, SIGTSTP): the session lets go of its terminal, then
    /// the client gives it back to the shell and stops. `Msg::Redraw` on SIGCONT hands it
    /// over again.
    pub(super) fn suspend(&self, who: u64) {
        let screen = {
            let mut clients = lock(&self.clients);
            let Some(c) = clients.iter_mut().find(|c| c.id == who) else {
                return;
            };
            std::mem::replace(&mut c.screen, NO_SCREEN)
        };
        self.release_screen(screen);
        self.to_client(who, Msg::Suspend);
    }

    /// The client that sees view `screen`: its own, or (on a shared one) the latest there.
    pub(super) fn client_of(&self, screen: u64) -> Option<u64> {
        let latest = self.latest.load(Ordering::Acquire);
        let clients = lock(&self.clients);
        let mut on = clients.iter().filter(|c| c.screen == screen);
        let first = on.next()?.id;
        if first == latest || on.any(|c| c.id == latest) {
            return Some(latest);
        }
        Some(first)
    }

    pub(super) fn to_client(&self, who: u64, msg: Msg) {
        if let Some(c) = lock(&self.clients).iter().find(|c| c.id == who) {
            c.out.send(&msg);
        }
    }

    /// Detaches client `who` (every client when `None`), telling it `why` (nothing when empty)
    /// once the session let go of its terminal.
    pub(super) fn send_away(&self, who: Option<u64>, why: &str) {
        let gone: Vec<Client> = {
            let mut clients = lock(&self.clients);
            let (gone, stay) = std::mem::take(&mut *clients)
                .into_iter()
                .partition(|c| who.is_none_or(|w| w == c.id));
            *clients = stay;
            gone
        };
        for c in &gone {
            self.release_screen(c.screen);
        }
        for c in gone {
            c.out.close(why);
        }
    }

    /// Client `who`'s terminal changed size: the session's follows (`policy`); when it does
    /// not, the client's view is drawn again all the same, else a terminal that grew keeps
    /// what a smaller one cut off (`window-size = largest | latest`).
    pub(super) fn client_resized(&self, who: u64, policy: WindowSize) {
        if self.resize(policy) {
            return;
        }
        let screen = lock(&self.clients)
            .iter()
            .find(|c| c.id == who)
            .map(|c| c.screen);
        if let Some(screen) = screen.filter(|s| *s != NO_SCREEN) {
            let _ = protocol::write_msg(&mut &*lock(&self.views), &Msg::ViewRedraw(screen));
        }
    }

    /// Sets the pty's size from the attached clients' (`policy`); unchanged while none is.
    /// True when it changed (every view is then drawn again at the new size).
    pub(super) fn resize(&self, policy: WindowSize) -> bool {
        let size = {
            let clients = lock(&self.clients);
            let sized = clients.iter().filter(|c| c.rows > 0);
            match policy {
                WindowSize::Smallest => sized.fold(None, |acc: Option<(u16, u16)>, c| {
                    Some(acc.map_or((c.rows, c.cols), |(r, k)| (r.min(c.rows), k.min(c.cols))))
                }),
                WindowSize::Largest => sized.fold(None, |acc: Option<(u16, u16)>, c| {
                    Some(acc.map_or((c.rows, c.cols), |(r, k)| (r.max(c.rows), k.max(c.cols))))
                }),
                WindowSize::Latest => {
                    let who = self.latest.load(Ordering::Acquire);
                    let mut sized: Vec<&Client> = sized.collect();
                    sized.sort_by_key(|c| c.id != who);
                    sized.first().map(|c| (c.rows, c.cols))
                }
            }
        };
        let Some(size) = size else { return false };
        let mut current = lock(&self.size);
        if *current == size {
            return false;
        }
        *current = size;
        // Every view draws at the session's size: its SIGWINCH makes the session read it.
        spawn::resize(&self.master, size.0, size.1);
        true
    }
}
