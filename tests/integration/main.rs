//! The integration tests that share one binary: each file is what was its own test binary
//! (`cargo test --test integration core_ui::` runs one of them). One binary links once instead of
//! twenty times. Tests that replace the global allocator, change the environment, need the
//! test-only memhog, or measure floods and CPU time alone keep binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod app_driver;
mod config_files;
mod config_run;
mod config_special;
mod config_values;
mod conformance;
mod copy_mode;
#[path = "core.rs"]
mod core_ui;
mod discoverable;
mod fastpath_differential;
mod fidelity_programs;
mod filter_vt100;
mod hardening_faults;
mod hardening_output;
mod history;
mod incremental_frames;
mod layering;
mod mem_log_full;
mod panel_column;
mod panes;
mod procs_history;
mod scrollback_roundtrip;
mod tabs_many;
mod unsafe_blocks;
