//! Unix sockets: the peer's uid, a send that never waits, and descriptors passed with bytes
//! (`SCM_RIGHTS`).

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

/// The uid of the process at the other end of `sock` (`SO_PEERCRED`).
pub fn peer_uid(sock: impl AsFd) -> io::Result<u32> {
    Ok(rustix::net::sockopt::socket_peercred(sock)?.uid.as_raw())
}

/// One `send` that never waits and raises no SIGPIPE: how much of `bytes` the socket took
/// (`WouldBlock` when none).
pub fn send_nowait(sock: impl AsFd, bytes: &[u8]) -> io::Result<usize> {
    Ok(rustix::net::send(
        sock,
        bytes,
        SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
    )?)
}

/// Sends `bytes` with `fd` attached to the first byte (one `sendmsg`, retried on `EINTR`);
/// returns how many bytes went (the rest are the caller's to send as plain bytes).
pub fn send_with_fd(sock: impl AsFd, bytes: &[u8], fd: impl AsFd) -> io::Result<usize> {
    send_with_fds(sock, bytes, &[fd.as_fd()])
}

/// Sends `bytes` with `fds` (at most 2: a terminal and its client's liveness pipe) attached
/// to the first byte; see `send_with_fd`.
pub fn send_with_fds(sock: impl AsFd, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if fds.len() > 2 || !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(io::Error::other(
            "no room for the descriptors in the control buffer",
        ));
    }
    loop {
        match rustix::net::sendmsg(
            &sock,
            &[IoSlice::new(bytes)],
            &mut control,
            SendFlags::NOSIGNAL,
        ) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Room for 8 descriptors in one read: a peer that sends more has the rest closed by the
/// kernel (`MSG_CTRUNC`).
const MAX_FDS: usize = 8;

/// One `recvmsg` into `buf` (retried on `EINTR`); the descriptors that came with the bytes are
/// appended to `fds`, close-on-exec. Returns the count of bytes (0 at end of file).
pub fn recv_with_fds(
    sock: impl AsFd,
    buf: &mut [u8],
    fds: &mut impl Extend<OwnedFd>,
) -> io::Result<usize> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let n = loop {
        match rustix::net::recvmsg(
            &sock,
            &mut [IoSliceMut::new(buf)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(r) => break r.bytes,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(got) = msg {
            fds.extend(got);
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_descriptor_travels_with_the_first_byte() -> io::Result<()> {
        let (a, b) = UnixStream::pair()?;
        let (mut pipe_r, pipe_w) = UnixStream::pair()?;
        assert_eq!(send_with_fd(&a, b"hello", &pipe_w)?, 5);
        drop(pipe_w);
        let mut fds = Vec::new();
        let mut buf = [0u8; 16];
        let n = recv_with_fds(&b, &mut buf, &mut fds)?;
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(fds.len(), 1);
        // The received descriptor is the other end's: writing to it reaches `pipe_r`.
        crate::sys::fd::write(&fds[0], b"x")?;
        drop(fds);
        let mut got = Vec::new();
        pipe_r.read_to_end(&mut got)?;
        assert_eq!(got, b"x");
        Ok(())
    }

    #[test]
    fn a_full_socket_refuses_without_waiting_and_peers_are_us() -> io::Result<()> {
        let (a, _b) = UnixStream::pair()?;
        assert_eq!(peer_uid(&a)?, crate::sys::user::uid());
        let chunk = vec![0u8; 64 << 10];
        let mut sent = 0usize;
        let err = loop {
            match send_nowait(&a, &chunk) {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
            assert!(
                sent < 64 << 20,
                "a socket buffer is far smaller than 64 MiB"
            );
        };
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        Ok(())
    }
}
