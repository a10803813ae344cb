//! What the user types, before it becomes an action: the line editor of the prompts,
//! and the decoder of the bytes the user's terminal sends (`tty`).
//! (The action table and the key bindings belong here too.)

pub mod line;
pub mod tty;

pub use line::LineInput;
