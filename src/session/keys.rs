//! crossterm input events -> the bytes xterm would send (placeholder).
