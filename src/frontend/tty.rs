//! A handed terminal's settings: raw mode and size, by descriptor.

use std::io;
use std::os::fd::RawFd;

use ratatui::layout::Rect;

/// Puts terminal `fd` in raw mode: keys arrive byte for byte, frames go out unchanged.
pub fn make_raw(fd: RawFd) -> io::Result<()> {
    // SAFETY: termios is plain data, filled by tcgetattr before use.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a termios to fill.
    if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: cfmakeraw edits the struct in place.
    unsafe { libc::cfmakeraw(&mut t) };
    // SAFETY: a valid descriptor and termios.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The size of terminal `fd`.
pub fn size_of(fd: RawFd) -> io::Result<Rect> {
    // SAFETY: winsize is plain data, filled by the ioctl.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize.
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Rect::new(0, 0, ws.ws_col.max(1), ws.ws_row.max(1)))
}
