//! Where a screen's bytes go: a client's terminal (through the bounded writer), standard
//! output (memmux alone in a terminal, `MEMMUX_NO_SERVER`), or nowhere (a session of the server
//! with no client on that screen: frames cost nothing there).

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
