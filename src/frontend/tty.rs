//! A handed terminal's settings: raw mode and size, by descriptor (through `sys::tty`).

use std::io;
use std::os::fd::BorrowedFd;

use ratatui::layout::Rect;

/// Puts terminal `fd` in raw mode: keys arrive byte for byte, frames go out unchanged.
pub fn make_raw(fd: BorrowedFd<'_>) -> io::Result<()> {
    crate::sys::tty::make_raw(fd)
}

/// The size of terminal `fd` (at least 1x1).
pub fn size_of(fd: BorrowedFd<'_>) -> io::Result<Rect> {
    let (rows, cols) = crate::sys::tty::window_size(fd)?;
    Ok(Rect::new(0, 0, cols.max(1), rows.max(1)))
}
