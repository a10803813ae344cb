//! memmux: a terminal session manager that shows how much memory each session uses.
//!
//! The binary (`src/main.rs`) is a thin shell around [`app::run`]; everything else lives
//! here so integration tests and benches can reach it.

pub mod action;
pub mod app;
pub mod config;
pub mod filter;
pub mod keymap;
pub mod memory;
pub mod scroll;
pub mod session;
pub mod state;
pub mod terminal;
pub mod terminfo;
pub mod ui;
pub mod util;
