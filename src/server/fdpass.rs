//! Passing a descriptor over a Unix socket (`SCM_RIGHTS`): the server hands a session the
//! terminal of each further client (a pty slave), beside a framed message that names it.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use crate::sys;

/// Sends `frame` with `fd` attached to its first byte, then the rest of the frame as needed.
pub fn send_fd(sock: &UnixStream, frame: &[u8], fd: impl AsFd) -> io::Result<()> {
    let sent = sys::socket::send_with_fd(sock, frame, fd)?;
    // The descriptor went with the first byte; the rest of the frame as plain bytes.
    io::Write::write_all(&mut &*sock, &frame[sent..])
}

/// Sends `frame` with `fds` attached to its first byte (see `send_fd`).
pub fn send_fds(sock: &UnixStream, frame: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let sent = sys::socket::send_with_fds(sock, frame, fds)?;
    io::Write::write_all(&mut &*sock, &frame[sent..])
}

/// Reads a socket as a byte stream, keeping the descriptors that arrive with the bytes (in
/// order, close-on-exec) for whoever decodes the message they came with.
pub struct FdReader {
    sock: UnixStream,
    pub fds: VecDeque<OwnedFd>,
}

impl FdReader {
    pub fn new(sock: UnixStream) -> FdReader {
        FdReader {
            sock,
            fds: VecDeque::new(),
        }
    }
}

impl Read for FdReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // MSG_CMSG_CLOEXEC (in the wrapper) so that no tab inherits a client's terminal.
        sys::socket::recv_with_fds(&self.sock, buf, &mut self.fds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_descriptor_travels_with_its_message() -> anyhow::Result<()> {
        let (a, b) = UnixStream::pair()?;
        let (mut pipe_r, pipe_w) = {
            let (r, w) = UnixStream::pair()?;
            (r, w)
        };
        let frame = super::super::protocol::encode(&super::super::protocol::Msg::ViewOpen(9));
        send_fd(&a, &frame, &pipe_w)?;
        drop(pipe_w);
        let mut r = FdReader::new(b);
        let got = super::super::protocol::read_msg(&mut r)?;
        assert_eq!(got, Some(super::super::protocol::Msg::ViewOpen(9)));
        let fd = r
            .fds
            .pop_front()
            .ok_or_else(|| anyhow::anyhow!("no descriptor"))?;
        // The received descriptor is the other end's: writing through it reaches `pipe_r`.
        let mut w = UnixStream::from(fd);
        w.write_all(b"hi")?;
        let mut buf = [0u8; 2];
        pipe_r.read_exact(&mut buf)?;
        assert_eq!(&buf, b"hi");
        Ok(())
    }
}
