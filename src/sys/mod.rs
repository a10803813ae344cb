//! Every call into the operating system that Rust's standard library does not make safe, behind
//! safe functions: one idea per file. `rustix` (safe, typed system calls) is used wherever it has
//! the call; `libc` only where it lacks one (glibc's allocator tuning, `posix_spawn`, `fork`,
//! `localtime_r`, `getpwuid_r`, `SCHED_IDLE`, a signal's disposition), each with its SAFETY
//! comment. This module, the allocator (`memory::alloc`) and the SIMD scanner
//! (`term::filter::scan`) are the only places `unsafe` is allowed (the `unsafe_code` lint in
//! lib.rs; `tests/integration/unsafe_blocks.rs` counts the rest).

pub mod code_pages;
pub mod fd;
pub mod inotify;
pub mod mem;
pub mod poll;
pub mod proc;
pub mod rlimit;
pub mod session_fork;
pub mod signal;
pub mod socket;
pub mod spawn;
pub mod time;
pub mod tty;
pub mod user;
