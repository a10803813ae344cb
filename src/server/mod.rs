//! The per-user server that keeps sessions alive without a terminal. Each session is memmux's
//! whole app running on a pty the server holds (as dtach, abduco and shpool run a program);
//! clients relay the user's terminal to it over a Unix socket. See `docs/architecture.md`
//! ("Server and clients").

pub mod child;
pub mod daemon;
pub mod fdpass;
pub mod hub;
mod outbox;
pub mod protocol;
pub mod socket;
mod spawn;

pub use spawn::{SessionMain, set_session_main};
