//! memmux: a terminal session manager that shows how much memory each session uses.
//!
//! The binary (`src/main.rs`) is a thin shell around [`app::run`]; everything else lives
//! here so integration tests and benches can reach it.

pub mod filter;
pub mod memory;
pub mod session;
