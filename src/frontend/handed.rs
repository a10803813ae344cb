//! A client's terminal handed to a session (`Msg::Tty`): what the view's input thread reads,
//! and what ends it.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

pub struct ClientTty {
    /// The view's id: its input events carry it.
    pub id: u64,
    pub tty: File,
    /// Closed by the session: the view was closed.
    pub stop: UnixStream,
    /// The read end of the client's liveness pipe (`Msg::Tty`); `None` from a client that
    /// sent none.
    pub alive: Option<OwnedFd>,
}

impl ClientTty {
    /// Whether the client has died. Asked after each read: its pipe hangs up as the client
    /// exits, before its parent (the user's shell) learns of it and reads the terminal
    /// again, so bytes read while the pipe still held came from the client's user, and bytes
    /// read once it hung up may be the shell's (a test harness closing the terminal even
    /// sends `\n` and `^D`: the tab's shell exited on them and the next keys were lost).
    pub fn client_gone(&self) -> bool {
        let Some(alive) = &self.alive else {
            return false;
        };
        matches!(
            crate::sys::poll::wait_readable(alive.as_fd(), None, Some(Duration::ZERO)),
            Ok(Some((r, _))) if r.any()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handed(alive: Option<OwnedFd>) -> anyhow::Result<ClientTty> {
        let (stop, _other) = UnixStream::pair()?;
        Ok(ClientTty {
            id: 1,
            tty: File::open("/dev/null")?,
            stop,
            alive,
        })
    }

    #[test]
    fn a_client_is_gone_once_its_end_of_the_pipe_closed() -> anyhow::Result<()> {
        let (read_end, write_end) = crate::sys::fd::pipe()?;
        let tty = handed(Some(read_end))?;
        assert!(!tty.client_gone());
        drop(write_end);
        assert!(tty.client_gone());
        Ok(())
    }

    #[test]
    fn a_client_that_sent_no_pipe_is_never_taken_for_gone() -> anyhow::Result<()> {
        assert!(!handed(None)?.client_gone());
        Ok(())
    }
}
