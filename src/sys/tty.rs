//! Terminals: raw mode, window sizes, whether the program on a pty reads lines, and opening a
//! pty pair.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::termios::{self, LocalModes, OptionalActions, Winsize};

/// Puts terminal `fd` in raw mode (`cfmakeraw`): keys arrive byte for byte, output goes out
/// unchanged.
pub fn make_raw(fd: impl AsFd) -> io::Result<()> {
    let mut t = termios::tcgetattr(&fd)?;
    t.make_raw();
    Ok(termios::tcsetattr(&fd, OptionalActions::Now, &t)?)
}

/// Terminal `fd`'s size as (rows, columns).
pub fn window_size(fd: impl AsFd) -> io::Result<(u16, u16)> {
    let ws = termios::tcgetwinsize(fd)?;
    Ok((ws.ws_row, ws.ws_col))
}

/// Sets terminal (or pty master) `fd`'s size; the kernel sends SIGWINCH to its foreground
/// process group when it changed.
pub fn set_window_size(fd: impl AsFd, rows: u16, cols: u16) -> io::Result<()> {
    let ws = Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    Ok(termios::tcsetwinsize(fd, ws)?)
}

/// Whether terminal `fd` is in line (canonical) mode; on a pty master Linux reports the pair's
/// settings, which the program sets on its side. `false` when it cannot be read.
pub fn is_canonical(fd: impl AsFd) -> bool {
    termios::tcgetattr(fd).is_ok_and(|t| t.local_modes.contains(LocalModes::ICANON))
}

/// The foreground process group of terminal `fd`.
pub fn foreground_group(fd: impl AsFd) -> io::Result<u32> {
    Ok(termios::tcgetpgrp(fd)?
        .as_raw_nonzero()
        .get()
        .unsigned_abs())
}

/// A new pty pair (master, slave), both close-on-exec; the slave is opened without becoming
/// this process's controlling terminal.
pub fn open_pty() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::OpenptFlags;
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let name = rustix::pty::ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok((master, slave))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pty_pair_has_the_size_it_was_given_and_goes_raw() -> io::Result<()> {
        let (master, slave) = open_pty()?;
        set_window_size(&master, 33, 101)?;
        assert_eq!(window_size(&slave)?, (33, 101));
        assert!(is_canonical(&master), "a new pty starts in line mode");
        make_raw(&slave)?;
        assert!(
            !is_canonical(&master),
            "raw on the slave is seen from the master"
        );
        // Bytes typed at the master arrive at the slave unchanged in raw mode.
        crate::sys::fd::write(&master, b"a\r")?;
        let mut buf = [0u8; 8];
        let n = crate::sys::fd::read(&slave, &mut buf)?;
        assert_eq!(&buf[..n], b"a\r");
        Ok(())
    }

    #[test]
    fn a_pipe_is_no_terminal() -> io::Result<()> {
        let (r, _w) = crate::sys::fd::pipe()?;
        assert!(window_size(&r).is_err());
        assert!(!is_canonical(&r));
        Ok(())
    }
}
