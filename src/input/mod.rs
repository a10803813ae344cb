//! What the user types, before it becomes an action: for now the line editor of the prompts.
//! (The action table and the key bindings belong here too.)

pub mod line;

pub use line::LineInput;
