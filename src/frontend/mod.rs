//! The user's terminal as the app sees it: a client's tty handed to the session (or the app's
//! own terminal without a server). What goes to it never waits on it (`writer`: bounded, dropped
//! and redrawn when the terminal stops reading); where a screen's bytes go (`out`); raw mode and
//! size of a handed terminal (`tty`); the terminal memmux was started in: its checks, raw mode
//! and modes guard, restored on exit, signal and panic (`terminal`); a client's terminal as a
//! view's input thread reads it, with the pipe that says the client died (`handed`).

pub mod handed;
pub mod out;
pub mod terminal;
pub mod tty;
pub mod writer;
