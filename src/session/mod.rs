//! A session: one program in a pseudo-terminal, its parser and its scrollback.

pub mod keys;
pub mod scrollback;
