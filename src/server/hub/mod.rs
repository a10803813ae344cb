//! The server's sessions and their clients. Each attached client hands its terminal over
//! (`Msg::Tty`, the descriptor by `SCM_RIGHTS`); the server passes it to the session as a view
//! (`Msg::ViewOpen`), and the session reads keys from it and draws on it itself, so neither
//! goes through the server. What is left here: one thread per client for its size, suspend
//! and resume, and what it is told (`outbox`); one thread per session that waits for it to
//! end (its own pty, read and discarded); one for its control socket.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::outbox::Outbox;
use super::protocol::{self, CHUNK, Msg, NewSession, SessionInfo};
use super::spawn;
use crate::sys::signal::Signal;

pub mod first;
mod session;

pub use crate::config::WindowSize;

/// A client without a view in its session (before its terminal came, while suspended).
const NO_SCREEN: u64 = u64::MAX;

pub struct Client {
    id: u64,
    /// The session's view on the client's terminal: 0 for the first view (the one the
    /// session keeps between clients), else the client's id; `NO_SCREEN` while it has none.
    screen: u64,
    /// The client's terminal, kept to hand it again (to another session on `C-b s`, to the
    /// same one after a suspend).
    tty: Option<Arc<OwnedFd>>,
    /// The client's liveness pipe (`Msg::Tty`), handed with its terminal every time.
    alive: Option<Arc<OwnedFd>>,
    out: Arc<Outbox>,
    rows: u16,
    cols: u16,
    /// The session the client is attached to now: `C-b s` moves it. Locked before the
    /// sessions' client lists, whoever takes both (the client's own thread, a switch).
    at: Arc<Mutex<Arc<Session>>>,
}

pub struct Session {
    pub name: Mutex<String>,
    pub pid: u32,
    /// The session's own pty: its size is the session's (`window-size`); nobody sees it.
    master: File,
    /// Where the session learns of its clients' terminals (`Msg::ViewOpen`, `Msg::ViewClose`)
    /// and says it let one go (`Msg::ViewReleased`). Locked after `clients`.
    views: Mutex<UnixStream>,
    clients: Mutex<Vec<Client>>,
    /// Tabs and memory, as the session last said.
    status: Mutex<Option<(u32, u64)>>,
    /// Its first tabs' names, as the session last said.
    tab_names: Mutex<Vec<String>>,
    last_used: Mutex<Instant>,
    /// The client that last typed or attached: the one `C-b d` and `C-b C-z` act on, and the
    /// one whose size `latest` follows.
    latest: AtomicU64,
    size: Mutex<(u16, u16)>,
    /// The session handles SIGUSR1 (it said `Ready`): until then the signal would kill it.
    ready: AtomicBool,
    /// Its program ended: a client switched to it meanwhile is sent away, not left waiting.
    ended: AtomicBool,
}

pub struct Hub {
    sessions: Mutex<Vec<Arc<Session>>>,
    next_client: AtomicU64,
    pub window_size: WindowSize,
    /// Set once the server is going away: no new sessions.
    pub stopping: AtomicBool,
    /// Called when the last session ended: the server exits.
    on_empty: Box<dyn Fn() + Send + Sync>,
    socket: String,
    /// Client writer threads still running: the server waits for them (a bounded time) before
    /// it exits, so each client gets its last words ("session 0 ended").
    writers: Arc<AtomicUsize>,
    /// The session started with the server for the client that started it (`first`), until
    /// that client's request takes it.
    first: Mutex<Option<first::First>>,
    /// Signalled when the first session is claimed, so that the thread waiting to expire it
    /// ends at once rather than after `first::claim_within`.
    first_claimed: std::sync::Condvar,
}

/// The session's `MEMMUX` variable: the server's socket, its pid and the session's name.
fn session_env(socket: &str, name: &str) -> String {
    format!("{socket},{},{name}", std::process::id())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A session name the user can type back: not empty, at most 64 characters, no control
/// characters, and no `,` (it separates the fields of `MEMMUX`).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 64 {
        return Err("a session name has 1 to 64 characters".into());
    }
    if name.chars().any(|c| c.is_control() || c == ',') {
        return Err(format!(
            "{name:?}: a session name cannot hold control characters or `,`"
        ));
    }
    Ok(())
}

impl Hub {
    pub fn new(
        window_size: WindowSize,
        socket: String,
        on_empty: Box<dyn Fn() + Send + Sync>,
    ) -> Hub {
        Hub {
            sessions: Mutex::new(Vec::new()),
            next_client: AtomicU64::new(1),
            window_size,
            stopping: AtomicBool::new(false),
            on_empty,
            socket,
            writers: Arc::new(AtomicUsize::new(0)),
            first: Mutex::new(None),
            first_claimed: std::sync::Condvar::new(),
        }
    }

    /// Waits (at most 2 s: a client that stopped reading gets no more) until every client has
    /// been told why it was sent away.
    pub fn wait_writers(&self) {
        for _ in 0..200 {
            if self.writers.load(Ordering::Acquire) == 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    pub fn find(&self, name: Option<&str>) -> Result<Arc<Session>, String> {
        let sessions = lock(&self.sessions);
        match name {
            None => sessions
                .iter()
                .max_by_key(|s| *lock(&s.last_used))
                .cloned()
                .ok_or_else(|| "no sessions".to_string()),
            Some(n) => sessions
                .iter()
                .find(|s| *lock(&s.name) == n)
                .cloned()
                .ok_or_else(|| {
                    let names: Vec<String> =
                        sessions.iter().map(|s| lock(&s.name).clone()).collect();
                    format!("no session named {n:?}; sessions: {}", names.join(", "))
                }),
        }
    }

    /// Every session, for `ls` and the chooser; `asking` is marked current.
    pub fn sessions(&self, asking: Option<&Arc<Session>>) -> Vec<SessionInfo> {
        lock(&self.sessions)
            .iter()
            .map(|s| SessionInfo {
                name: lock(&s.name).clone(),
                status: *lock(&s.status),
                tab_names: lock(&s.tab_names).clone(),
                clients: lock(&s.clients).len() as u32,
                current: asking.is_some_and(|a| Arc::ptr_eq(a, s)),
            })
            .collect()
    }

    /// One line per session, for `ls`.
    pub fn listing(&self) -> String {
        self.sessions(None)
            .iter()
            .map(|s| s.describe() + "\n")
            .collect()
    }

    /// Renames `session` (`C-b $`): refused when the name is not allowed or another session
    /// has it. Its clients learn the new name (they print it when they leave).
    fn rename(&self, session: &Arc<Session>, name: &str) -> Result<String, String> {
        check_name(name)?;
        {
            let sessions = lock(&self.sessions);
            if sessions
                .iter()
                .any(|s| !Arc::ptr_eq(s, session) && *lock(&s.name) == name)
            {
                return Err(format!("a session named {name:?} already exists"));
            }
            let old = std::mem::replace(&mut *lock(&session.name), name.to_string());
            crate::util::append_log(&format!("session {old} renamed {name}"));
        }
        for c in lock(&session.clients).iter() {
            c.out.send(&Msg::Attached(name.to_string()));
        }
        Ok(format!("session renamed {name}"))
    }

    /// Moves client `who` of `from` (the one that chose) to the session named `to` (`C-b s`): it
    /// leaves `from`'s clients (once `from` let go of its terminal) and joins `to`'s, keeping
    /// its connection; `to` opens a view on its terminal and draws everything there.
    fn switch(&self, from: &Arc<Session>, to: &str, who: u64) -> Result<String, String> {
        let target = self.find(Some(to))?;
        if Arc::ptr_eq(&target, from) {
            return Ok(format!("already in session {to}"));
        }
        // `who`: the client that chose; gone (killed, detached) meanwhile, nobody moves:
        // another client of this session did not ask to.
        let at = {
            let clients = lock(&from.clients);
            clients
                .iter()
                .find(|c| c.id == who)
                .map(|c| Arc::clone(&c.at))
        };
        let at = at.ok_or_else(|| "the client that chose is no longer attached".to_string())?;
        let mut here = lock(&at);
        let mut client = {
            let mut clients = lock(&from.clients);
            let Some(i) = clients.iter().position(|c| Arc::ptr_eq(&c.at, &at)) else {
                return Err("the client left".into());
            };
            clients.remove(i)
        };
        from.release_screen(client.screen);
        client.screen = NO_SCREEN;
        let id = client.id;
        client.out.send(&Msg::Attached(target.name_now()));
        target.latest.store(id, Ordering::Release);
        target.add_client(client, self.window_size);
        *here = Arc::clone(&target);
        drop(here);
        // Ended between the look-up and the push: its goodbye to its clients missed this one.
        if target.ended.load(Ordering::SeqCst) {
            target.send_away(Some(id), &format!("session {to} ended"));
            return Ok(String::new());
        }
        *lock(&target.last_used) = Instant::now();
        *lock(&from.last_used) = Instant::now();
        from.resize(self.window_size);
        Ok(format!("switched to session {to}"))
    }

    /// Answers a switch at once and moves the client on a thread of its own: the move waits
    /// for the session to let go of the client's terminal, which its loop does, and that loop
    /// is waiting for this answer.
    fn switch_later(
        self: &Arc<Self>,
        from: &Arc<Session>,
        to: &str,
        who: u64,
    ) -> Result<String, String> {
        let target = self.find(Some(to))?;
        if Arc::ptr_eq(&target, from) {
            return Ok(format!("already in session {to}"));
        }
        let (hub, from, to) = (Arc::clone(self), Arc::clone(from), to.to_string());
        let answer = format!("switched to session {to}");
        std::thread::Builder::new()
            .name("switch".into())
            .spawn(move || {
                if let Err(e) = hub.switch(&from, &to, who) {
                    crate::util::append_log(&format!("switch to session {to}: {e}"));
                }
            })
            .map_err(|e| format!("cannot switch: {e}"))?;
        Ok(answer)
    }

    /// Starts a session for `req`; returns it.
    pub fn create(self: &Arc<Self>, req: &NewSession) -> Result<Arc<Session>, String> {
        if self.stopping.load(Ordering::Acquire) {
            return Err("the server is shutting down".into());
        }
        let sessions = lock(&self.sessions);
        let name = match &req.name {
            Some(n) => {
                check_name(n)?;
                if sessions.iter().any(|s| *lock(&s.name) == *n) {
                    return Err(format!("a session named {n:?} already exists"));
                }
                n.clone()
            }
            // The smallest number not in use, as tmux names sessions.
            None => (0u32..)
                .map(|n| n.to_string())
                .find(|n| !sessions.iter().any(|s| *lock(&s.name) == *n))
                .unwrap_or_default(),
        };
        let spawned =
            spawn::session(req, &session_env(&self.socket, &name)).map_err(|e| format!("{e:#}"))?;
        self.register(sessions, name, req, spawned)
    }

    /// Takes a started session in (`sessions` is the locked list, held since its name was
    /// chosen) and starts its two threads.
    fn register(
        self: &Arc<Self>,
        mut sessions: MutexGuard<'_, Vec<Arc<Session>>>,
        name: String,
        req: &NewSession,
        spawned: spawn::Spawned,
    ) -> Result<Arc<Session>, String> {
        let reader = spawned
            .master
            .try_clone()
            .map_err(|e| format!("cannot share the pty: {e}"))?;
        let session = Arc::new(Session {
            name: Mutex::new(name.clone()),
            pid: spawned.pid,
            master: spawned.master,
            views: Mutex::new(spawned.views),
            clients: Mutex::new(Vec::new()),
            status: Mutex::new(None),
            tab_names: Mutex::new(Vec::new()),
            last_used: Mutex::new(Instant::now()),
            latest: AtomicU64::new(0),
            size: Mutex::new((req.rows, req.cols)),
            ready: AtomicBool::new(false),
            ended: AtomicBool::new(false),
        });
        sessions.push(Arc::clone(&session));
        drop(sessions);
        let (hub, s) = (Arc::clone(self), Arc::clone(&session));
        let spawned_ok = std::thread::Builder::new()
            .name(format!("session-{name}"))
            .spawn(move || hub.pump(&s, reader))
            .is_ok();
        let (hub, s, control) = (Arc::clone(self), Arc::clone(&session), spawned.control);
        let control_ok = std::thread::Builder::new()
            .name(format!("control-{name}"))
            .spawn(move || hub.control(&s, control))
            .is_ok();
        if !spawned_ok || !control_ok {
            session.signal(Signal::TERM);
            return Err("cannot start the session's threads".into());
        }
        crate::util::append_log(&format!("session {name} started, pid {}", session.pid));
        Ok(session)
    }

    /// Waits for the session's program to end. Nobody sees its own pty (each client's view
    /// is on the client's terminal): what it writes there (a message at exit) is read and
    /// dropped, so it never blocks.
    fn pump(&self, session: &Arc<Session>, mut master: File) {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match master.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EIO: every slave descriptor closed (the session and its tabs are gone).
                Err(_) => break,
            }
        }
        // Reaping our own child; blocks until it has exited (its pty is closed).
        let status = crate::sys::proc::wait_for(session.pid);
        let name = lock(&session.name).clone();
        crate::util::append_log(&format!("session {name} ended ({status:?})"));
        session.ended.store(true, Ordering::SeqCst);
        session.send_away(None, &format!("session {name} ended"));
        let empty = {
            let mut sessions = lock(&self.sessions);
            sessions.retain(|s| !Arc::ptr_eq(s, session));
            sessions.is_empty()
        };
        if empty {
            self.wait_writers();
            (self.on_empty)();
        }
    }

    /// Reads what the session tells the server on its control socket.
    fn control(self: &Arc<Self>, session: &Arc<Session>, mut control: UnixStream) {
        while let Ok(Some(msg)) = protocol::read_msg(&mut control) {
            match msg {
                Msg::Status {
                    tabs,
                    memory,
                    names,
                } => {
                    *lock(&session.status) = Some((tabs, memory));
                    *lock(&session.tab_names) = names;
                }
                Msg::DetachClients => {
                    let who = session.latest.load(Ordering::Acquire);
                    detach_later(session, who);
                }
                Msg::Suspend => {
                    let who = session.latest.load(Ordering::Acquire);
                    suspend_later(session, who);
                }
                Msg::ViewActive(screen) => {
                    if let Some(who) = session.client_of(screen) {
                        let before = session.latest.swap(who, Ordering::AcqRel);
                        if before != who && self.window_size == WindowSize::Latest {
                            session.resize(self.window_size);
                        }
                    }
                }
                Msg::Ready => session.ready.store(true, Ordering::Release),
                Msg::ListSessions => {
                    let list = Msg::Sessions(self.sessions(Some(session)));
                    if protocol::write_msg(&mut control, &list).is_err() {
                        break;
                    }
                }
                Msg::RenameSession(name) => {
                    let reply = answer(self.rename(session, &name));
                    if protocol::write_msg(&mut control, &reply).is_err() {
                        break;
                    }
                }
                Msg::DetachView(screen) => {
                    if let Some(who) = session.client_of(screen) {
                        detach_later(session, who);
                    }
                }
                Msg::SuspendView(screen) => {
                    if let Some(who) = session.client_of(screen) {
                        suspend_later(session, who);
                    }
                }
                Msg::SwitchView(screen, name) => {
                    let reply = match session.client_of(screen) {
                        Some(who) => answer(self.switch_later(session, &name, who)),
                        None => Msg::Error("the client that chose is no longer attached".into()),
                    };
                    if protocol::write_msg(&mut control, &reply).is_err() {
                        break;
                    }
                }
                Msg::SwitchClient(name) => {
                    let who = session.latest.load(Ordering::Acquire);
                    let reply = answer(self.switch_later(session, &name, who));
                    if protocol::write_msg(&mut control, &reply).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
    }

    /// Attaches the client on `stream` to `session` and serves it until it leaves: its
    /// terminal (`Msg::Tty`) goes to the session as a view; then its size, suspend and resume.
    pub fn serve_client(&self, session: &Arc<Session>, stream: UnixStream) {
        let Ok(writer) = stream.try_clone() else {
            return;
        };
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        let out = Arc::new(Outbox::new(writer));
        let name = lock(&session.name).clone();
        if !out.send(&Msg::Attached(name)) {
            return;
        }
        // Descriptors come with `Msg::Tty`; the rest are plain messages.
        let mut reader =
            std::io::BufReader::with_capacity(4 << 10, super::fdpass::FdReader::new(stream));
        // The client checks its terminal and puts it in raw mode first; one that cannot
        // (not a terminal, a dumb one) says so to its user and leaves.
        let (rows, cols, tty, alive) = match protocol::read_msg(&mut reader) {
            Ok(Some(Msg::Tty { rows, cols })) => {
                let fds = &mut reader.get_mut().fds;
                match (fds.pop_front(), fds.pop_front()) {
                    (Some(tty), alive) => (rows, cols, tty, alive),
                    (None, _) => return,
                }
            }
            _ => return,
        };
        let at = Arc::new(Mutex::new(Arc::clone(session)));
        {
            let (o, at) = (Arc::clone(&out), Arc::clone(&at));
            let writers = Arc::clone(&self.writers);
            writers.fetch_add(1, Ordering::AcqRel);
            let started = std::thread::Builder::new()
                .name(format!("client-out-{id}"))
                .spawn(move || {
                    o.run_writer(|| lock(&at).redraw());
                    writers.fetch_sub(1, Ordering::AcqRel);
                });
            if started.is_err() {
                self.writers.fetch_sub(1, Ordering::AcqRel);
                return;
            }
        }
        session.latest.store(id, Ordering::Release);
        *lock(&session.last_used) = Instant::now();
        session.add_client(
            Client {
                id,
                screen: NO_SCREEN,
                tty: Some(Arc::new(tty)),
                alive: alive.map(Arc::new),
                out,
                rows: rows.clamp(1, 1000),
                cols: cols.clamp(1, 1000),
                at: Arc::clone(&at),
            },
            self.window_size,
        );
        while let Ok(Some(msg)) = protocol::read_msg(&mut reader) {
            // Where the client is now: `C-b s` may have moved it since the last message.
            let session = &lock(&at).clone();
            match msg {
                Msg::Resize { rows, cols } => {
                    let session = {
                        // Held so that a switch does not move the client meanwhile.
                        let here = lock(&at);
                        let session = Arc::clone(&*here);
                        let mut clients = lock(&session.clients);
                        let Some(c) = clients.iter_mut().find(|c| c.id == id) else {
                            break;
                        };
                        (c.rows, c.cols) = (rows.clamp(1, 1000), cols.clamp(1, 1000));
                        drop(clients);
                        session
                    };
                    session.client_resized(id, self.window_size);
                }
                // Stopped from outside (SIGTSTP): the session lets go of its terminal first,
                // then the client is told to stop.
                Msg::Suspend => session.suspend(id),
                // Continued, or its screen lost: a view again, or everything drawn again.
                Msg::Redraw => {
                    if !session.give_screen(id) {
                        session.redraw();
                    }
                }
                // Anything else from an attached client is a protocol error: it is closed.
                _ => break,
            }
        }
        let session = lock(&at).clone();
        session.send_away(Some(id), "");
        *lock(&session.last_used) = Instant::now();
        session.resize(self.window_size);
    }

    /// Asks every session to end (SIGTERM: the app hangs up its tabs and exits).
    pub fn kill_all(&self) {
        self.stopping.store(true, Ordering::Release);
        for s in lock(&self.sessions).iter() {
            s.signal(Signal::TERM);
        }
    }

    pub fn is_empty(&self) -> bool {
        lock(&self.sessions).is_empty()
    }
}

/// Detaches client `who` on a thread of its own: the session lets go of its terminal from its
/// loop, which may be waiting for the control thread that asked.
fn detach_later(session: &Arc<Session>, who: u64) {
    let s = Arc::clone(session);
    let _ = std::thread::Builder::new()
        .name("detach".into())
        .spawn(move || {
            let name = s.name_now();
            s.send_away(Some(who), &format!("detached (from session {name})"));
        });
}

/// Suspends client `who` on a thread of its own (see `detach_later`).
fn suspend_later(session: &Arc<Session>, who: u64) {
    let s = Arc::clone(session);
    let _ = std::thread::Builder::new()
        .name("suspend".into())
        .spawn(move || s.suspend(who));
}

fn answer(r: Result<String, String>) -> Msg {
    match r {
        Ok(s) => Msg::Done(s),
        Err(e) => Msg::Error(e),
    }
}
