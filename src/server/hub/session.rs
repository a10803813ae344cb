//! One session's side of the hub: its clients and their screens (the session's own pty and
//! the further views it opened), their keys in, its output out, sizes, and who is sent away.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::{Client, Extra, Session, WindowSize, lock};
use crate::server::protocol::{self, CHUNK, Msg};
use crate::server::spawn;

impl Session {
    pub fn name_now(&self) -> String {
        lock(&self.name).clone()
    }

    /// Asks the session to draw everything again, with the terminal's modes (SIGUSR1), once
    /// it can take the signal; before that its first frame is whole anyway.
    pub fn redraw(&self) {
        if self.ready.load(Ordering::Acquire) {
            self.signal(libc::SIGUSR1);
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child by pid; it is reaped only by `pump`, after its pty
        // closed, so the pid is still ours.
        unsafe { libc::kill(self.pid, sig) };
    }

    /// Hands terminal `screen`'s output to its clients.
    pub(super) fn broadcast(&self, screen: u64, data: &[u8]) {
        let clients = lock(&self.clients);
        let mut to = clients.iter().filter(|c| c.screen == screen).peekable();
        if to.peek().is_none() {
            return;
        }
        // The same frame for every client of the screen: encoded once.
        let frame = protocol::encode(&Msg::Output(data.to_vec()));
        for c in to {
            c.out.push(&frame);
        }
    }

    /// Client `id`'s keys to the terminal it sees; false when that terminal is gone.
    pub(super) fn input(&self, id: u64, bytes: &[u8]) -> bool {
        let screen = lock(&self.clients)
            .iter()
            .find(|c| c.id == id)
            .map_or(0, |c| c.screen);
        if screen != 0 {
            let extra = lock(&self.extra)
                .iter()
                .find(|e| e.id == screen)
                .map(|e| Arc::clone(&e.master));
            if let Some(m) = extra {
                return lock(&m).write_all(bytes).is_ok();
            }
        }
        lock(&self.master).write_all(bytes).is_ok()
    }

    /// Adds `client`, giving it a terminal of its own: the session's pty when no other client
    /// has it (so a lone client, and one that reattaches, is served exactly as before), else
    /// a new pty whose slave the session opens as another view. Without one (no pty left, the
    /// session not answering) the client shares the session's pty, as every client did before.
    pub(super) fn add_client(self: &Arc<Self>, mut client: Client) {
        let mut clients = lock(&self.clients);
        client.screen = 0;
        if clients.iter().any(|c| c.screen == 0) {
            match self.open_view(client.id) {
                Ok(()) => client.screen = client.id,
                Err(e) => {
                    crate::util::append_log(&format!(
                        "session {}: client {} shares the first view: {e:#}",
                        self.name_now(),
                        client.id
                    ));
                }
            }
        }
        clients.push(client);
    }

    /// Opens a pty for view `id`, sends its slave to the session and relays its output.
    pub(super) fn open_view(self: &Arc<Self>, id: u64) -> anyhow::Result<()> {
        use anyhow::Context;
        let (master, slave) = spawn::open_pty()?;
        let (rows, cols) = *lock(&self.size);
        spawn::set_size(master.as_raw_fd(), rows, cols);
        let reader = master.try_clone().context("cannot share the pty")?;
        let master_fd = master.as_raw_fd();
        let frame = protocol::encode(&Msg::ViewOpen(id));
        crate::server::fdpass::send_with_fd(&lock(&self.views), &frame, slave.as_raw_fd())
            .context("cannot hand the session its new view")?;
        drop(slave);
        lock(&self.extra).push(Extra {
            id,
            master: Arc::new(Mutex::new(master)),
            master_fd,
        });
        let s = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name(format!("view-{id}"))
            .spawn(move || s.pump_view(id, reader));
        if started.is_err() {
            self.release_screen(id);
            anyhow::bail!("cannot start the view's thread");
        }
        Ok(())
    }

    /// Relays view `id`'s output to its client until the session closes its terminal.
    pub(super) fn pump_view(&self, id: u64, mut master: File) {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match master.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.broadcast(id, &buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EIO: the session closed the view (or ended).
                Err(_) => break,
            }
        }
    }

    /// The client of terminal `screen` left: a view of its own is closed in the session.
    pub(super) fn release_screen(&self, screen: u64) {
        if screen == 0 {
            return;
        }
        let mut extra = lock(&self.extra);
        let before = extra.len();
        extra.retain(|e| e.id != screen);
        if extra.len() != before {
            drop(extra);
            // A session that is gone has closed the slave: its view thread ends anyway.
            let _ = protocol::write_msg(&mut &*lock(&self.views), &Msg::ViewClose(screen));
        }
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

    pub(super) fn to_latest(&self, msg: Msg) {
        let who = self.latest.load(Ordering::Acquire);
        let clients = lock(&self.clients);
        if let Some(c) = clients
            .iter()
            .find(|c| c.id == who)
            .or_else(|| clients.last())
        {
            c.out.send(&msg);
        }
    }

    /// Detaches client `who` (every client when `None`), telling it `why` (nothing when empty).
    pub(super) fn send_away(&self, who: Option<u64>, why: &str) {
        let mut clients = lock(&self.clients);
        let mut gone = Vec::new();
        clients.retain(|c| {
            let go = who.is_none_or(|w| w == c.id);
            if go {
                c.out.close(why);
                gone.push(c.screen);
            }
            !go
        });
        drop(clients);
        for screen in gone {
            self.release_screen(screen);
        }
    }

    /// Sets the pty's size from the attached clients' (`policy`); unchanged while none is.
    pub(super) fn resize(&self, policy: WindowSize) {
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
        let Some(size) = size else { return };
        let mut current = lock(&self.size);
        if *current != size {
            *current = size;
            // Every view has the session's size; the session's own pty last, as its
            // SIGWINCH is what makes the session read every view's size again.
            for e in lock(&self.extra).iter() {
                spawn::set_size(e.master_fd, size.0, size.1);
            }
            spawn::set_size(self.master_fd, size.0, size.1);
        }
    }
}
