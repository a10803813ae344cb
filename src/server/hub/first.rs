//! The first session of a server that a client started: the server starts it from the
//! client's request as soon as it exists, before its threads, its configuration and its first
//! connection, and the client's `New` request, read later from the socket, takes it. Before,
//! the session started only once the server had started its threads, accepted the client and
//! read its hello and request: on the path of every cold start, as tmux's server (which
//! forks the shell right away) does not have it (`docs/performance.md`, issue 17 point 6).

use std::sync::Arc;
use std::time::Duration;

use super::{Hub, Session, check_name, lock, session_env};
use crate::server::protocol::NewSession;
use crate::server::spawn;
use crate::sys::signal::Signal;

/// 10 s (the server's hello timeout): a first session that no request took by then is ended,
/// so a client killed between starting the server and connecting leaves no session behind,
/// as before.
const CLAIM_WITHIN: Duration = Duration::from_secs(10);

/// How long the first session waits for its request: [`CLAIM_WITHIN`], or in test-hooks
/// builds `MEMMUX_TEST_FIRST_CLAIM_MS` (a test of the expiry need not wait 10 s).
pub fn claim_within() -> Duration {
    #[cfg(feature = "test-hooks")]
    if let Some(ms) = std::env::var("MEMMUX_TEST_FIRST_CLAIM_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Duration::from_millis(ms);
    }
    CLAIM_WITHIN
}

/// The first session, waiting for the request it was started for.
pub struct First {
    req: NewSession,
    session: Result<Arc<Session>, String>,
}

/// A session started before the hub exists.
pub struct Early {
    req: NewSession,
    started: Result<(String, spawn::Spawned), String>,
}

/// Starts the session `req` asks for, named as [`Hub::create`] names it in an empty server.
/// `socket` is the server's socket path (for the session's `MEMMUX`).
pub fn start(socket: &str, req: &NewSession) -> Early {
    let name = match &req.name {
        Some(n) => check_name(n).map(|()| n.clone()),
        None => Ok("0".to_string()),
    };
    let started = name.and_then(|name| {
        let env_value = session_env(socket, &name);
        // One thread runs yet: the session is a fork of this process, without an exec; if
        // that cannot be, memmux is exec'ed as for any later session.
        let forked = match spawn::session_in_process(req, &env_value) {
            Some(Ok(spawned)) => Some(spawned),
            Some(Err(e)) => {
                crate::util::append_log(&format!("session {name} not forked ({e:#}): exec'ed"));
                None
            }
            None => None,
        };
        forked
            .map_or_else(|| spawn::session(req, &env_value), Ok)
            .map(|spawned| (name, spawned))
            .map_err(|e| format!("{e:#}"))
    });
    Early {
        req: req.clone(),
        started,
    }
}

impl Hub {
    /// Takes `early` in: the first request equal to the one it was started for gets it (or
    /// the error that stopped it).
    pub fn adopt_first(self: &Arc<Self>, early: Early) {
        let Early { req, started } = early;
        let session = started.and_then(|(name, spawned)| {
            let sessions = lock(&self.sessions);
            self.register(sessions, name, &req, spawned)
        });
        *lock(&self.first) = Some(First { req, session });
    }

    /// The first session, when `req` is the request it was started for; once.
    pub fn claim_first(&self, req: &NewSession) -> Option<Result<Arc<Session>, String>> {
        let mut first = lock(&self.first);
        if first.as_ref().is_some_and(|f| f.req == *req) {
            let taken = first.take().map(|f| f.session);
            self.first_claimed.notify_all();
            return taken;
        }
        None
    }

    /// Waits until the first session is claimed or [`claim_within`] has passed, then ends it
    /// if no request took it. The waiting thread ends as soon as the claim comes (a few
    /// milliseconds): ending it only after 10 s faulted the thread-exit code in then, 320 KiB
    /// of the binary's pages that the bench's memory test counted against the tabs it opened
    /// meanwhile.
    pub fn expire_first(&self) {
        let first = lock(&self.first);
        let (mut waited, _) = self
            .first_claimed
            .wait_timeout_while(first, claim_within(), |f| f.is_some())
            .unwrap_or_else(|p| p.into_inner());
        let unclaimed = waited.take();
        drop(waited);
        let Some(first) = unclaimed else {
            return;
        };
        if let Ok(session) = first.session {
            crate::util::append_log(&format!(
                "session {} ended: the client that started the server never asked for it",
                session.name_now()
            ));
            session.signal(Signal::TERM);
        }
    }
}
