//! Where a screen's bytes go: a terminal through the bounded writer (a client's, or memmux's
//! own when it runs alone, `MEMMUX_NO_SERVER`), standard output (when the bounded writer
//! cannot be had), or nowhere (a session of the server with no client on that screen: frames
//! cost nothing there).

use std::io::{self, Write};

use super::writer::TtyWriter;

pub enum Out {
    Stdout(io::Stdout),
    Tty(TtyWriter),
    Nowhere,
}

impl Out {
    /// Whether anyone sees these bytes.
    pub fn shown(&self) -> bool {
        !matches!(self, Out::Nowhere)
    }

    /// Waits (at most `limit`) until what was written is on the terminal, before the terminal
    /// is written some other way (given back to the shell).
    pub fn drain(&mut self, limit: std::time::Duration) {
        match self {
            Out::Stdout(s) => {
                let _ = s.flush();
            }
            Out::Tty(t) => {
                t.drain(limit);
            }
            Out::Nowhere => {}
        }
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::Stdout(s) => s.write(buf),
            Out::Tty(t) => t.write(buf),
            Out::Nowhere => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Stdout(s) => s.flush(),
            Out::Tty(t) => t.flush(),
            Out::Nowhere => Ok(()),
        }
    }
}
