//! Passing a descriptor over a Unix socket (`SCM_RIGHTS`): the server hands a session the
//! terminal of each further client (a pty slave), beside a framed message that names it.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// Room for the control message of one descriptor (CMSG_SPACE of one `int` is 24 bytes on
/// 64-bit Linux); 64 leaves room should the peer send more, which are then closed.
const CMSG_ROOM: usize = 64;

/// Sends `frame` with `fd` attached to its first byte, then the rest of the frame as needed.
pub fn send_with_fd(sock: &UnixStream, frame: &[u8], fd: RawFd) -> io::Result<()> {
    let mut cbuf = [0u64; CMSG_ROOM / 8];
    let mut iov = libc::iovec {
        iov_base: frame.as_ptr() as *mut libc::c_void,
        iov_len: frame.len(),
    };
    // SAFETY: msghdr is plain data; every pointer set below points at a live local.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is arithmetic.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as _;
    // SAFETY: the control buffer holds at least one header (CMSG_SPACE of an int <= 64 bytes),
    // so CMSG_FIRSTHDR is not null and CMSG_DATA has room for one int.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
    }
    let sent = loop {
        // SAFETY: a valid msghdr over live buffers.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            break n as usize;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    };
    // The descriptor went with the first byte; the rest of the frame as plain bytes.
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
        let mut cbuf = [0u64; CMSG_ROOM / 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: plain data, pointers set to live locals below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = CMSG_ROOM as _;
        let n = loop {
            // SAFETY: a valid msghdr over live buffers; MSG_CMSG_CLOEXEC so that no tab
            // inherits a client's terminal.
            let n =
                unsafe { libc::recvmsg(self.sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
            if n >= 0 {
                break n as usize;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        };
        // SAFETY: walking the control messages the kernel wrote into `cbuf`, within
        // `msg_controllen`; each SCM_RIGHTS payload is an array of ints we now own.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(c).cast::<RawFd>();
                    let payload = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                    for i in 0..payload / std::mem::size_of::<RawFd>() {
                        let fd = std::ptr::read_unaligned(data.add(i));
                        self.fds.push_back(OwnedFd::from_raw_fd(fd));
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Ok(n)
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
        send_with_fd(&a, &frame, pipe_w.as_raw_fd())?;
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
