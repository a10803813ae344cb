//! memmux: a terminal session manager that shows how much memory each session uses.
//!
//! The binary (`src/main.rs`) is a thin shell around [`app::run`]; everything else lives
//! here so integration tests and benches can reach it.

// A panic on a run-time path takes down every tab: errors go up with context instead.
// (Tests may unwrap: clippy.toml allows it in #[cfg(test)] code.)
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod client;
pub mod config;
pub mod frontend;
pub mod input;
pub mod memory;
pub mod server;
pub mod session;
pub mod state;
pub mod term;
pub mod terminal;
pub mod terminfo;
pub mod ui;
pub mod util;
