//! Descriptors: duplicating, flags, reads and writes that return what the kernel did (no
//! retry policy hidden here: callers decide on `WouldBlock`), and descriptors inherited at
//! start-up taken into ownership.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use rustix::fs::OFlags;
use rustix::io::FdFlags;

/// A second descriptor of `fd`, close-on-exec (`F_DUPFD_CLOEXEC`).
pub fn dup_cloexec(fd: impl AsFd) -> io::Result<OwnedFd> {
    Ok(rustix::io::fcntl_dupfd_cloexec(fd, 0)?)
}

/// `dup_cloexec` of a descriptor known only by its number, as a library that keeps its
/// descriptors to itself hands it out (portable_pty's `MasterPty::as_raw_fd`); `EBADF` when
/// `fd` is not open. The caller must hold `fd` open for the call, or another thread could
/// reuse the number and this would copy the wrong descriptor.
pub fn dup_cloexec_raw(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: `fcntl(F_DUPFD_CLOEXEC)` reads no memory of ours: on any number it returns a new
    // descriptor or -1; rustix takes only borrowed descriptors, which a number is not.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` was just created, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Sets `O_NONBLOCK` on `fd`, keeping its other status flags.
pub fn set_nonblocking(fd: impl AsFd) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(&fd)?;
    Ok(rustix::fs::fcntl_setfl(&fd, flags | OFlags::NONBLOCK)?)
}

/// Sets close-on-exec on `fd` (`FD_CLOEXEC`).
pub fn set_cloexec(fd: impl AsFd) -> io::Result<()> {
    Ok(rustix::io::fcntl_setfd(fd, FdFlags::CLOEXEC)?)
}

/// One `read(2)`: the count read, 0 at end of file; `Interrupted` and `WouldBlock` come back
/// as errors for the caller to handle.
pub fn read(fd: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    Ok(rustix::io::read(fd, buf)?)
}

/// One `write(2)`: the count written (may be short).
pub fn write(fd: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    Ok(rustix::io::write(fd, buf)?)
}

/// Writes all of `buf` to `fd`, retrying on `EINTR`; stops silently at the first other error
/// or a zero-length write (the terminal is gone: the panic hook and `restore` have nothing
/// better to do).
pub fn write_all_or_give_up(fd: impl AsFd, mut buf: &[u8]) {
    while !buf.is_empty() {
        match rustix::io::write(&fd, buf) {
            Ok(0) => return,
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return,
        }
    }
}

/// Standard output (descriptor 1), borrowed without std's lock: the panic hook may run while
/// another thread holds it.
pub fn stdout() -> BorrowedFd<'static> {
    rustix::stdio::stdout()
}

/// Standard input (descriptor 0), borrowed: the user's terminal, read by the input thread.
pub fn stdin() -> BorrowedFd<'static> {
    rustix::stdio::stdin()
}

/// Whether `fd` is a socket (`fstat`).
pub fn is_socket(fd: impl AsFd) -> io::Result<bool> {
    let st = rustix::fs::fstat(fd)?;
    Ok(rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket)
}

/// Takes descriptor number `fd`, inherited from the process that started this one (the server
/// hands a session its control and views sockets as 3 and 4), into ownership: checked open
/// first, so a number nobody passed is an error rather than a descriptor closed twice later.
///
/// Call it once per number, at start-up, for a number nothing else in the process uses: the
/// returned descriptor closes it when dropped.
pub fn adopt_inherited(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: `fcntl(F_GETFD)` reads the descriptor's flags and touches no memory; it fails
    // with EBADF when `fd` is not open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is open (checked above) and, by this function's contract, inherited and
    // owned by nothing else in this process.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `flock(LOCK_EX)` on `file`, waiting for it; released when the file is closed.
pub fn lock_exclusive(file: impl AsFd) -> io::Result<()> {
    Ok(rustix::fs::flock(
        file,
        rustix::fs::FlockOperation::LockExclusive,
    )?)
}

/// Whether `/dev/tty` (the controlling terminal) can be opened; the error says why not.
pub fn can_open_controlling_tty() -> io::Result<()> {
    let fd = rustix::fs::open(
        "/dev/tty",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    drop(fd);
    Ok(())
}

/// Terminal (or any file) `fd` opened again through `/proc/self/fd`, write-only, non-blocking
/// and close-on-exec: a description of its own, so `O_NONBLOCK` set here is not seen by
/// whoever else holds `fd` (the user's shell, after memmux). `O_NOCTTY`: never made ours.
pub fn reopen_write_nonblocking(fd: impl AsFd) -> io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let path = format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd());
    Ok(rustix::fs::open(
        path.as_str(),
        OFlags::WRONLY | OFlags::NOCTTY | OFlags::CLOEXEC | OFlags::NONBLOCK,
        rustix::fs::Mode::empty(),
    )?)
}

/// Whether `O_NONBLOCK` is set on `fd`'s description.
pub fn is_nonblocking(fd: impl AsFd) -> io::Result<bool> {
    Ok(rustix::fs::fcntl_getfl(fd)?.contains(OFlags::NONBLOCK))
}

/// A pipe, both ends close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_pipe_carries_bytes_and_a_duplicate_shares_it() -> io::Result<()> {
        let (r, w) = pipe()?;
        let w2 = dup_cloexec(&w)?;
        assert_eq!(write(&w2, b"abc")?, 3);
        drop((w, w2));
        let mut buf = [0u8; 8];
        assert_eq!(read(&r, &mut buf)?, 3);
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(
            read(&r, &mut buf)?,
            0,
            "end of file once both writers are gone"
        );
        Ok(())
    }

    #[test]
    fn a_copy_by_number_shares_the_descriptor_and_a_closed_number_is_an_error() -> io::Result<()> {
        let (r, w) = pipe()?;
        let w2 = dup_cloexec_raw(w.as_raw_fd())?;
        assert_ne!(w2.as_raw_fd(), w.as_raw_fd());
        assert!(rustix::io::fcntl_getfd(&w2)?.contains(FdFlags::CLOEXEC));
        drop(w);
        assert_eq!(write(&w2, b"z")?, 1);
        let mut buf = [0u8; 2];
        assert_eq!(read(&r, &mut buf)?, 1);
        assert!(dup_cloexec_raw(RawFd::MAX - 1).is_err());
        Ok(())
    }

    #[test]
    fn a_nonblocking_read_of_an_empty_pipe_would_block() -> io::Result<()> {
        let (r, _w) = pipe()?;
        set_nonblocking(&r)?;
        let err = read(&r, &mut [0u8; 4]).err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::WouldBlock));
        Ok(())
    }

    #[test]
    fn cloexec_is_set_and_sockets_are_told_apart() -> io::Result<()> {
        let (r, _w) = pipe()?;
        set_cloexec(&r)?;
        assert!(rustix::io::fcntl_getfd(&r)?.contains(FdFlags::CLOEXEC));
        assert!(!is_socket(&r)?);
        let (a, _b) = std::os::unix::net::UnixStream::pair()?;
        assert!(is_socket(&a)?);
        Ok(())
    }

    #[test]
    fn adopting_a_closed_number_is_an_error() -> io::Result<()> {
        let (_r, w) = pipe()?;
        // Not a number just closed: another test's thread could open it meanwhile. No
        // process here has two billion descriptors open.
        assert!(adopt_inherited(RawFd::MAX - 1).is_err());
        assert!(adopt_inherited(-1).is_err());
        // An open one is taken: dropping it closes the number.
        let n = dup_cloexec(&w)?;
        let raw = std::os::fd::IntoRawFd::into_raw_fd(n);
        let owned = adopt_inherited(raw)?;
        assert_eq!(owned.as_raw_fd(), raw);
        Ok(())
    }
}
