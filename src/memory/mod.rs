//! Memory accounting: the tagged allocator and /proc sampling.

pub mod alloc;
pub mod history;
pub mod procs;
