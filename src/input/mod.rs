//! What the user types, before and as it becomes an action: the decoder of the bytes the
//! user's terminal sends (`tty`), the line editor of the prompts (`line`), the key bindings
//! (`keymap`) and the action table they point into (`action`).

pub mod action;
pub mod keymap;
pub mod line;
pub mod tty;

pub use line::LineInput;
