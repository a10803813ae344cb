//! memmux: a terminal session manager that shows how much memory each session uses.
//!
//! The binary (`src/main.rs`) is a thin shell around [`app::run`]; everything else lives
//! here so integration tests and benches can reach it.

// A panic on a run-time path takes down every tab: errors go up with context instead.
// (Tests may unwrap: clippy.toml allows it in #[cfg(test)] code.)
#![deny(clippy::unwrap_used, clippy::expect_used)]
// System calls go through `sys` (safe wrappers, rustix where it has the call); `unsafe` is
// allowed only there, in the allocator (`memory::alloc`) and the SIMD scanner
// (`term::filter::scan`). `tests/integration/unsafe_blocks.rs` counts what is left elsewhere.
#![deny(unsafe_code)]

pub mod app;
pub mod client;
pub mod config;
pub mod frontend;
pub mod input;
pub mod memory;
pub mod server;
pub mod session;
pub mod state;
#[allow(unsafe_code)]
pub mod sys;
pub mod term;
pub mod terminfo;
pub mod ui;
pub mod util;
