//! The integration tests that share one binary: each file is what was its own test binary
//! (`cargo test --test integration core_ui::` runs one of them). One binary links once instead of
//! thirteen times. Tests that replace the global allocator, change the environment, need the
//! test-only memhog, or measure floods and CPU time alone keep binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod app_driver;
mod config_files;
mod config_run;
mod config_values;
#[path = "core.rs"]
mod core_ui;
mod fastpath_differential;
mod filter_vt100;
mod hardening_faults;
mod hardening_output;
mod history;
mod incremental_frames;
mod layering;
mod panes;
mod procs_history;
mod scrollback_roundtrip;
mod unsafe_blocks;
