//! Compact scrollback store (placeholder).
