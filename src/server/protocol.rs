//! The messages between clients, the server and the sessions, and their framing: a 4-byte
//! little-endian length, a type byte, then the fields. Every message is bounded
//! (`MAX_MESSAGE`): a peer that sends a longer one, an unknown type or a field that does not
//! decode is closed, and nothing else is touched.

use std::io::{self, Read, Write};

/// What a client and a server must agree on: the same build of memmux speaks the same
/// messages. A mismatch is refused with both versions named.
pub const VERSION: &str = concat!("memmux ", env!("CARGO_PKG_VERSION"), " protocol 4");

/// 1 MiB: more than a whole environment (Linux caps one at ~2 MiB, typical ones are a few KiB)
/// or a 64 KiB output chunk, and small enough that a hostile peer costs little.
pub const MAX_MESSAGE: usize = 1 << 20;

/// The chooser shows a session's first 32 tab names, cut to 32 characters: one line of them
/// fills any screen already; a status message stays under 5 KiB however many tabs there are.
pub const MAX_TAB_NAMES: usize = 32;
pub const MAX_TAB_NAME: usize = 32;

/// Output is relayed in chunks of at most this size (a pty read).
pub const CHUNK: usize = 64 << 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// First message of every connection, both ways.
    Hello {
        version: String,
    },
    /// The server will not talk to this peer (another version); the connection closes.
    Refuse(String),
    /// Starts a session; attaches the asking client unless `detached`.
    New(NewSession),
    /// Attaches to the named session, or the most recently used one.
    Attach {
        name: Option<String>,
        rows: u16,
        cols: u16,
    },
    List,
    KillSession(String),
    KillServer,
    /// A request succeeded; text for the user (may be empty).
    Done(String),
    /// A request failed; why, for the user.
    Error(String),
    /// The client is now attached to this session.
    Attached(String),
    /// Keys from the client for the session.
    Input(Vec<u8>),
    /// The session's output for the client.
    Output(Vec<u8>),
    /// The client's terminal size.
    Resize {
        rows: u16,
        cols: u16,
    },
    /// The client lost its screen (it was stopped): the session draws everything again.
    Redraw,
    /// The client is no longer attached, and why ("detached", "session ended", ...).
    Exit(String),
    /// From a session to the server: its tab count and memory, for `ls`, and its first tabs'
    /// names (at most `MAX_TAB_NAMES` of `MAX_TAB_NAME` characters each) for the chooser.
    Status {
        tabs: u32,
        memory: u64,
        names: Vec<String>,
    },
    /// From a session to the server: detach every client of this session (`C-b d`).
    DetachClients,
    /// From a session to the server, and from the server to its clients: stop the client as
    /// SIGTSTP would (`C-b C-z`).
    Suspend,
    /// From a session to the server: it handles SIGUSR1 (a full redraw) from now on; before,
    /// the signal would end it.
    Ready,
    /// From a session to the server (`C-b s`): every session, answered with `Sessions`.
    ListSessions,
    /// The answer to `ListSessions`, in the order `ls` prints them.
    Sessions(Vec<SessionInfo>),
    /// From a session to the server: move the client that typed last to the named session
    /// (`C-b s`); answered with `Done` or `Error`.
    SwitchClient(String),
    /// From a session to the server: its new name (`C-b $`); answered with `Done` or `Error`
    /// (a name taken or not allowed). From the server to a client: nothing.
    RenameSession(String),
    /// From the server to a session, on its views socket, with a pty's slave descriptor
    /// (`SCM_RIGHTS`) and the client's liveness pipe (see `Tty`): another client attached;
    /// the session opens view `N` on that terminal.
    ViewOpen(u64),
    /// From the server to a session: view `N`'s client left; the session closes its terminal.
    ViewClose(u64),
    /// From a session to the server: detach the client of view `N` (0: the session's own pty),
    /// the one whose keys asked (`C-b d`).
    DetachView(u64),
    /// From a session to the server: suspend the client of view `N` (`C-b C-z`).
    SuspendView(u64),
    /// From a session to the server: move the client of view `N` to the named session
    /// (`C-b s`); answered with `Done` or `Error`.
    SwitchView(u64, String),
    /// From an attached client, once it has put its terminal in raw mode, with that
    /// terminal's descriptor (`SCM_RIGHTS`) and its size: the session reads keys from it and
    /// draws on it itself, as tmux's server does (no hop through the server either way).
    /// A second descriptor follows: the read end of a pipe whose write end only the client
    /// holds. It hangs up the instant the client dies, before its shell takes the terminal
    /// back, so the session drops what it reads there afterwards (keys meant for the shell).
    Tty {
        rows: u16,
        cols: u16,
    },
    /// From a session to the server, on the views socket, answering `ViewClose(N)`: it wrote
    /// its last bytes to view `N`'s terminal, its input thread has ended and it holds no copy
    /// of it any more, so the client may give the terminal back to the user's shell.
    ViewReleased(u64),
    /// From a session to the server: keys came from view `N`, the first since another view's
    /// (`window-size = latest` follows the client that typed last; the server no longer sees
    /// keys).
    ViewActive(u64),
    /// From the server to a session, on its views socket: view `N`'s terminal changed size
    /// while the session's did not (`window-size = largest | latest`); the session draws it
    /// all again, clearing what the terminal kept or cut.
    ViewRedraw(u64),
}

/// One session as `ls` and the session chooser show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub name: String,
    /// Tabs and memory as the session last said; `None` until its first sample.
    pub status: Option<(u32, u64)>,
    /// Its first tabs' names, as the session last said.
    pub tab_names: Vec<String>,
    pub clients: u32,
    /// The session that asked.
    pub current: bool,
}

impl SessionInfo {
    /// `NAME: 2 tabs, 1 client attached, 12.0 MiB`: one line of `ls`.
    pub fn describe(&self) -> String {
        let (tabs, mem) = match self.status {
            Some((tabs, mem)) => (
                format!("{tabs} tab{}", if tabs == 1 { "" } else { "s" }),
                crate::util::human_bytes(mem),
            ),
            None => ("starting".to_string(), "memory not sampled yet".to_string()),
        };
        let attached = match self.clients {
            0 => "detached".to_string(),
            1 => "1 client attached".to_string(),
            n => format!("{n} clients attached"),
        };
        format!("{}: {tabs}, {attached}, {mem}", self.name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    pub name: Option<String>,
    pub detached: bool,
    /// memmux's own arguments for the session (`--config`, `--mem-log`, `-- CMD`).
    pub args: Vec<String>,
    pub cwd: String,
    pub env: Vec<(String, String)>,
    pub rows: u16,
    pub cols: u16,
}

/// Writes `msg` framed, in one `write_all` (so a message from one thread is never interleaved
/// with another's when each holds the writer's lock).
pub fn write_msg(w: &mut impl Write, msg: &Msg) -> io::Result<()> {
    let frame = encode(msg);
    w.write_all(&frame)?;
    w.flush()
}

/// Reads one message. `Ok(None)`: the peer closed the connection between messages. A frame
/// over `MAX_MESSAGE` or one that does not decode is an `InvalidData` error.
pub fn read_msg(r: &mut impl Read) -> io::Result<Option<Msg>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || len > MAX_MESSAGE {
        return Err(invalid(format!(
            "a message of {len} bytes (at most {MAX_MESSAGE})"
        )));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    decode(&body).map(Some)
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

pub fn encode(msg: &Msg) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0];
    match msg {
        Msg::Hello { version } => {
            b.push(1);
            put_str(&mut b, version);
        }
        Msg::Refuse(s) => {
            b.push(2);
            put_str(&mut b, s);
        }
        Msg::New(n) => {
            b.push(3);
            put_opt(&mut b, n.name.as_deref());
            b.push(u8::from(n.detached));
            put_u32(&mut b, n.args.len() as u32);
            for a in &n.args {
                put_str(&mut b, a);
            }
            put_str(&mut b, &n.cwd);
            put_u32(&mut b, n.env.len() as u32);
            for (k, v) in &n.env {
                put_str(&mut b, k);
                put_str(&mut b, v);
            }
            put_size(&mut b, n.rows, n.cols);
        }
        Msg::Attach { name, rows, cols } => {
            b.push(4);
            put_opt(&mut b, name.as_deref());
            put_size(&mut b, *rows, *cols);
        }
        Msg::List => b.push(5),
        Msg::KillSession(s) => {
            b.push(6);
            put_str(&mut b, s);
        }
        Msg::KillServer => b.push(7),
        Msg::Done(s) => {
            b.push(8);
            put_str(&mut b, s);
        }
        Msg::Error(s) => {
            b.push(9);
            put_str(&mut b, s);
        }
        Msg::Attached(s) => {
            b.push(10);
            put_str(&mut b, s);
        }
        Msg::Input(d) => {
            b.push(11);
            put_bytes(&mut b, d);
        }
        Msg::Output(d) => {
            b.push(12);
            put_bytes(&mut b, d);
        }
        Msg::Resize { rows, cols } => {
            b.push(13);
            put_size(&mut b, *rows, *cols);
        }
        Msg::Redraw => b.push(14),
        Msg::Exit(s) => {
            b.push(15);
            put_str(&mut b, s);
        }
        Msg::Status {
            tabs,
            memory,
            names,
        } => {
            b.push(16);
            put_u32(&mut b, *tabs);
            b.extend_from_slice(&memory.to_le_bytes());
            put_names(&mut b, names);
        }
        Msg::DetachClients => b.push(17),
        Msg::Suspend => b.push(18),
        Msg::Ready => b.push(19),
        Msg::ListSessions => b.push(20),
        Msg::Sessions(list) => {
            b.push(21);
            put_u32(&mut b, list.len() as u32);
            for s in list {
                put_str(&mut b, &s.name);
                match s.status {
                    None => b.push(0),
                    Some((tabs, mem)) => {
                        b.push(1);
                        put_u32(&mut b, tabs);
                        b.extend_from_slice(&mem.to_le_bytes());
                    }
                }
                put_u32(&mut b, s.clients);
                b.push(u8::from(s.current));
                put_names(&mut b, &s.tab_names);
            }
        }
        Msg::SwitchClient(s) => {
            b.push(22);
            put_str(&mut b, s);
        }
        Msg::RenameSession(s) => {
            b.push(23);
            put_str(&mut b, s);
        }
        Msg::ViewOpen(n) => {
            b.push(24);
            b.extend_from_slice(&n.to_le_bytes());
        }
        Msg::ViewClose(n) => {
            b.push(25);
            b.extend_from_slice(&n.to_le_bytes());
        }
        Msg::DetachView(n) => {
            b.push(26);
            b.extend_from_slice(&n.to_le_bytes());
        }
        Msg::SuspendView(n) => {
            b.push(27);
            b.extend_from_slice(&n.to_le_bytes());
        }
        Msg::SwitchView(n, s) => {
            b.push(28);
            b.extend_from_slice(&n.to_le_bytes());
            put_str(&mut b, s);
        }
        Msg::Tty { rows, cols } => {
            b.push(29);
            put_size(&mut b, *rows, *cols);
        }
        Msg::ViewReleased(n) => {
            b.push(30);
            b.extend_from_slice(&n.to_le_bytes());
        }
        Msg::ViewActive(n) => {
            b.push(31);
            b.extend_from_slice(&n.to_le_bytes());
        }
        Msg::ViewRedraw(n) => {
            b.push(32);
            b.extend_from_slice(&n.to_le_bytes());
        }
    }
    let len = (b.len() - 4) as u32;
    b[..4].copy_from_slice(&len.to_le_bytes());
    b
}

fn put_u32(b: &mut Vec<u8>, n: u32) {
    b.extend_from_slice(&n.to_le_bytes());
}

fn put_bytes(b: &mut Vec<u8>, d: &[u8]) {
    put_u32(b, d.len() as u32);
    b.extend_from_slice(d);
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    put_bytes(b, s.as_bytes());
}

fn put_opt(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => b.push(0),
        Some(s) => {
            b.push(1);
            put_str(b, s);
        }
    }
}

fn put_names(b: &mut Vec<u8>, names: &[String]) {
    put_u32(b, names.len() as u32);
    for n in names {
        put_str(b, n);
    }
}

fn put_size(b: &mut Vec<u8>, rows: u16, cols: u16) {
    b.extend_from_slice(&rows.to_le_bytes());
    b.extend_from_slice(&cols.to_le_bytes());
}

/// Reads fields off a message body, failing on anything short or malformed.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(invalid("a truncated message".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> io::Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> io::Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }

    fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| invalid("a string that is not UTF-8".into()))
    }

    fn opt(&mut self) -> io::Result<Option<String>> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.string().map(Some),
            n => Err(invalid(format!("an option tag of {n}"))),
        }
    }

    fn names(&mut self) -> io::Result<Vec<String>> {
        let n = self.count(4)?;
        (0..n).map(|_| self.string()).collect()
    }

    /// A count of items that each take at least `min` bytes: a count the body cannot hold is
    /// refused before anything is allocated for it.
    fn count(&mut self, min: usize) -> io::Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.0.len() {
            return Err(invalid(format!("a count of {n} items")));
        }
        Ok(n)
    }
}

pub fn decode(body: &[u8]) -> io::Result<Msg> {
    let mut f = Fields(body);
    let msg = match f.u8()? {
        1 => Msg::Hello {
            version: f.string()?,
        },
        2 => Msg::Refuse(f.string()?),
        3 => {
            let name = f.opt()?;
            let detached = f.u8()? != 0;
            let n = f.count(4)?;
            let args = (0..n).map(|_| f.string()).collect::<io::Result<_>>()?;
            let cwd = f.string()?;
            let n = f.count(8)?;
            let env = (0..n)
                .map(|_| Ok((f.string()?, f.string()?)))
                .collect::<io::Result<_>>()?;
            let (rows, cols) = (f.u16()?, f.u16()?);
            Msg::New(NewSession {
                name,
                detached,
                args,
                cwd,
                env,
                rows,
                cols,
            })
        }
        4 => Msg::Attach {
            name: f.opt()?,
            rows: f.u16()?,
            cols: f.u16()?,
        },
        5 => Msg::List,
        6 => Msg::KillSession(f.string()?),
        7 => Msg::KillServer,
        8 => Msg::Done(f.string()?),
        9 => Msg::Error(f.string()?),
        10 => Msg::Attached(f.string()?),
        11 => Msg::Input(f.bytes()?),
        12 => Msg::Output(f.bytes()?),
        13 => Msg::Resize {
            rows: f.u16()?,
            cols: f.u16()?,
        },
        14 => Msg::Redraw,
        15 => Msg::Exit(f.string()?),
        16 => Msg::Status {
            tabs: f.u32()?,
            memory: f.u64()?,
            names: f.names()?,
        },
        17 => Msg::DetachClients,
        18 => Msg::Suspend,
        19 => Msg::Ready,
        20 => Msg::ListSessions,
        21 => {
            // Each entry takes at least 14 bytes: a name's length, a status tag, a client
            // count, the current flag and a count of tab names.
            let n = f.count(14)?;
            let list = (0..n)
                .map(|_| {
                    let name = f.string()?;
                    let status = match f.u8()? {
                        0 => None,
                        1 => Some((f.u32()?, f.u64()?)),
                        t => return Err(invalid(format!("a status tag of {t}"))),
                    };
                    Ok(SessionInfo {
                        name,
                        status,
                        clients: f.u32()?,
                        current: f.u8()? != 0,
                        tab_names: f.names()?,
                    })
                })
                .collect::<io::Result<_>>()?;
            Msg::Sessions(list)
        }
        22 => Msg::SwitchClient(f.string()?),
        23 => Msg::RenameSession(f.string()?),
        24 => Msg::ViewOpen(f.u64()?),
        25 => Msg::ViewClose(f.u64()?),
        26 => Msg::DetachView(f.u64()?),
        27 => Msg::SuspendView(f.u64()?),
        28 => Msg::SwitchView(f.u64()?, f.string()?),
        29 => Msg::Tty {
            rows: f.u16()?,
            cols: f.u16()?,
        },
        30 => Msg::ViewReleased(f.u64()?),
        31 => Msg::ViewActive(f.u64()?),
        32 => Msg::ViewRedraw(f.u64()?),
        t => return Err(invalid(format!("a message of unknown type {t}"))),
    };
    if !f.0.is_empty() {
        return Err(invalid(format!(
            "{} bytes after the end of a message",
            f.0.len()
        )));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(m: Msg) {
        let frame = encode(&m);
        let back = read_msg(&mut &frame[..]).unwrap().unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn every_message_roundtrips() {
        roundtrip(Msg::Hello {
            version: VERSION.into(),
        });
        roundtrip(Msg::New(NewSession {
            name: Some("work".into()),
            detached: true,
            args: vec!["--".into(), "htop".into()],
            cwd: "/tmp".into(),
            env: vec![("A".into(), "b=c".into())],
            rows: 24,
            cols: 80,
        }));
        roundtrip(Msg::Attach {
            name: None,
            rows: 1,
            cols: 1000,
        });
        roundtrip(Msg::Output(vec![0, 1, 2, 255]));
        roundtrip(Msg::Status {
            tabs: 3,
            memory: u64::MAX,
            names: vec!["bash".into(), "htop".into()],
        });
        roundtrip(Msg::Suspend);
        roundtrip(Msg::ViewOpen(7));
        roundtrip(Msg::ViewClose(u64::MAX));
        roundtrip(Msg::DetachView(3));
        roundtrip(Msg::SuspendView(0));
        roundtrip(Msg::SwitchView(5, "work".into()));
        roundtrip(Msg::Tty {
            rows: 50,
            cols: 200,
        });
        roundtrip(Msg::ViewReleased(3));
        roundtrip(Msg::ViewActive(4));
        roundtrip(Msg::ViewRedraw(5));
        roundtrip(Msg::ListSessions);
        roundtrip(Msg::Sessions(vec![
            SessionInfo {
                name: "work".into(),
                status: Some((2, 12 << 20)),
                clients: 1,
                current: true,
                tab_names: vec!["bash".into(), "vim".into()],
            },
            SessionInfo {
                name: "0".into(),
                status: None,
                clients: 0,
                current: false,
                tab_names: Vec::new(),
            },
        ]));
        roundtrip(Msg::SwitchClient("work".into()));
        roundtrip(Msg::RenameSession("new name".into()));
    }

    #[test]
    fn a_session_list_that_claims_more_than_it_holds_is_refused() {
        let mut lie = vec![0, 0, 0, 0, 21];
        lie.extend_from_slice(&1000u32.to_le_bytes());
        let len = (lie.len() - 4) as u32;
        lie[..4].copy_from_slice(&len.to_le_bytes());
        assert!(read_msg(&mut &lie[..]).is_err());
    }

    #[test]
    fn oversized_truncated_and_unknown_messages_are_errors() {
        let big = ((MAX_MESSAGE + 1) as u32).to_le_bytes();
        let e = read_msg(&mut &big[..]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let mut frame = encode(&Msg::Exit("bye".into()));
        frame.truncate(frame.len() - 1);
        assert!(read_msg(&mut &frame[..]).is_err());
        let unknown = [1, 0, 0, 0, 200];
        assert!(read_msg(&mut &unknown[..]).is_err());
        // A count of environment entries the body cannot hold allocates nothing.
        let mut lie = vec![0, 0, 0, 0, 3, 0, 0];
        lie.extend_from_slice(&u32::MAX.to_le_bytes());
        let len = (lie.len() - 4) as u32;
        lie[..4].copy_from_slice(&len.to_le_bytes());
        assert!(read_msg(&mut &lie[..]).is_err());
        // A clean close between messages is not an error.
        assert!(read_msg(&mut &[][..]).unwrap().is_none());
    }
}
