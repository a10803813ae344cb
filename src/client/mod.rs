//! The client: the user's terminal, connected to the server. It puts the terminal in raw mode
//! and hands it to the session (as tmux's client does: keys and frames then take no hop
//! through the server), relays sizes and signals, and gives the terminal back (cooked mode,
//! main screen, mouse off) once the session let go of it: when it detaches, is stopped or
//! ends. Closing the terminal, SIGHUP, SIGTERM or SIGKILL end only the client: the session
//! goes on.

use std::io;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};

use crate::frontend::terminal;
use crate::server::protocol::{self, Msg, NewSession, VERSION};
use crate::server::socket;

/// Why a connection could not be made.
pub enum ConnectError {
    /// No server runs (no socket, or nobody listens on it).
    NoServer,
    /// The server refused us (another version, another user); its words.
    Refused(String),
    Other(anyhow::Error),
}

/// Connects to the server and says hello.
pub fn connect() -> Result<UnixStream, ConnectError> {
    connect_with(None)
}

/// Connects, says hello and, in the same write, sends `then` (the request), so that a new
/// session costs one round trip to the server less: it reads the request once it answered
/// the hello. A server that refuses the hello reads no further; its refusal is read first.
fn connect_with(then: Option<&Msg>) -> Result<UnixStream, ConnectError> {
    let path = socket::path();
    let mut stream = UnixStream::connect(&path).map_err(|e| match e.kind() {
        // No socket, or a dead server's socket that nobody listens on.
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ConnectError::NoServer,
        _ => ConnectError::Other(
            anyhow::Error::new(e).context(format!("cannot connect to {}", path.display())),
        ),
    })?;
    let hello = Msg::Hello {
        version: VERSION.to_string(),
    };
    let mut frames = protocol::encode(&hello);
    if let Some(then) = then {
        frames.extend_from_slice(&protocol::encode(then));
    }
    // Read even when the write failed: a server that refuses us may have closed already,
    // its refusal waiting to be read.
    let wrote = io::Write::write_all(&mut stream, &frames);
    let answer = match protocol::read_msg(&mut stream) {
        Ok(None) => wrote.map(|()| None),
        other => other,
    };
    match answer {
        Ok(Some(Msg::Hello { .. })) => Ok(stream),
        Ok(Some(Msg::Refuse(why))) => Err(ConnectError::Refused(why)),
        Ok(other) => Err(ConnectError::Other(anyhow::anyhow!(
            "the server at {} answered {other:?} to hello",
            path.display()
        ))),
        Err(e) => Err(ConnectError::Other(
            anyhow::Error::new(e).context(format!("cannot talk to {}", path.display())),
        )),
    }
}

/// Connects, starting a server first when none runs (with `config`, or the default
/// configuration file: it reads `window-size`), and sends `then` with the hello.
pub fn connect_or_start(
    config: Option<&std::path::Path>,
    then: Option<&Msg>,
) -> anyhow::Result<UnixStream> {
    match connect_with(then) {
        Ok(s) => return Ok(s),
        Err(ConnectError::NoServer) => {}
        Err(ConnectError::Refused(why)) => bail!("{why}"),
        Err(ConnectError::Other(e)) => return Err(e),
    }
    // Forked from this process (one thread runs yet), no second exec; it listens on return,
    // and starts the session a new attached client asks for at once.
    let first = match then {
        Some(Msg::New(req)) if !req.detached => Some(req),
        _ => None,
    };
    let started = crate::server::daemon::start_here(config, first)?;
    // A client that dies before it asks for its session, once the server is up (it has left
    // this terminal, whose hang-up would end it otherwise).
    #[cfg(feature = "test-hooks")]
    if std::env::var_os("MEMMUX_TEST_CLIENT_DIES_BEFORE_CONNECT").is_some() {
        let _ = connect();
        std::process::exit(3);
    }
    let connected = connect_with(then);
    if let Some(started) = started {
        started.reap();
    }
    match connected {
        Ok(s) => Ok(s),
        Err(ConnectError::NoServer) => bail!(
            "the memmux server started but does not answer at {}",
            socket::path().display()
        ),
        Err(ConnectError::Refused(why)) => bail!("{why}"),
        Err(ConnectError::Other(e)) => Err(e),
    }
}

/// Sends one request and returns the server's answer.
pub fn request(stream: &mut UnixStream, msg: &Msg) -> anyhow::Result<Msg> {
    protocol::write_msg(stream, msg).context("cannot send to the server")?;
    protocol::read_msg(stream)
        .context("cannot read the server's answer")?
        .context("the server closed the connection")
}

/// The message for commands that need a running server.
pub fn no_server_message() -> String {
    format!(
        "no memmux server is running (no server answers at {})",
        socket::path().display()
    )
}

/// This process's environment, for a new session (what its tabs will see).
pub fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k != socket::ENV && k != "MEMMUX_NO_SERVER")
        .collect()
}

fn terminal_size() -> (u16, u16) {
    match crossterm::terminal::size() {
        Ok((cols, rows)) if cols > 0 && rows > 0 => (rows, cols),
        _ => (24, 80),
    }
}

/// Asks for a new session (attached unless `req.detached`). Returns the exit code.
pub fn new_session(mut req: NewSession, config: Option<&std::path::Path>) -> anyhow::Result<u8> {
    (req.rows, req.cols) = terminal_size();
    if req.detached {
        let mut stream = connect_or_start(config, None)?;
        return match request(&mut stream, &Msg::New(req))? {
            Msg::Done(_) => Ok(0),
            Msg::Error(e) => {
                eprintln!("memmux: {e}");
                Ok(1)
            }
            other => bail!("unexpected answer {other:?}"),
        };
    }
    let stream = connect_or_start(config, Some(&Msg::New(req)))?;
    attached(stream, || Ok(()))
}

/// Attaches to the session `name` (the most recent one when `None`). Returns the exit code.
/// `check` says whether this terminal can be used (else the exit code), once the session is
/// known to exist.
pub fn attach(name: Option<String>, check: fn() -> Result<(), u8>) -> anyhow::Result<u8> {
    let mut stream = match connect() {
        Ok(s) => s,
        Err(ConnectError::NoServer) => {
            eprintln!("memmux: {}", no_server_message());
            return Ok(1);
        }
        Err(ConnectError::Refused(why)) => bail!("{why}"),
        Err(ConnectError::Other(e)) => return Err(e),
    };
    let (rows, cols) = terminal_size();
    protocol::write_msg(&mut stream, &Msg::Attach { name, rows, cols })
        .context("cannot send to the server")?;
    attached(stream, check)
}

/// Waits for `Attached`, hands the terminal over, then waits until the client is sent away or
/// its terminal goes. The session reads the keys and draws the frames itself: this process
/// only relays sizes and signals and gives the terminal back at the end.
fn attached(mut stream: UnixStream, check: impl FnOnce() -> Result<(), u8>) -> anyhow::Result<u8> {
    let name = match protocol::read_msg(&mut stream).context("cannot read the server's answer")? {
        Some(Msg::Attached(name)) => name,
        Some(Msg::Error(e)) => {
            eprintln!("memmux: {e}");
            return Ok(1);
        }
        Some(other) => bail!("unexpected answer {other:?}"),
        None => bail!("the server closed the connection"),
    };
    if let Err(code) = check() {
        return Ok(code);
    }
    // `C-b s` moves the client to another session, `C-b $` renames it: the server says so.
    let name = Arc::new(Mutex::new(name));
    // Raw before the hand-over, so the session never sees (nor saves) the cooked settings;
    // `restore` puts back the ones saved here.
    terminal::take_raw().context("cannot put the terminal in raw mode")?;
    let (rows, cols) = terminal_size();
    // Held until this process ends, however it ends: then the read end handed over hangs up
    // and the session reads this terminal no more (see `Msg::Tty`).
    let (alive_r, _alive_w) = crate::sys::fd::pipe().context("cannot make a pipe")?;
    {
        use std::os::fd::AsFd;
        let stdin = std::io::stdin();
        crate::server::fdpass::send_fds(
            &stream,
            &protocol::encode(&Msg::Tty { rows, cols }),
            &[stdin.as_fd(), alive_r.as_fd()],
        )
        .context("cannot hand the terminal to the server")?;
    }
    drop(alive_r);
    let writer = Arc::new(Mutex::new(
        stream.try_clone().context("cannot share the socket")?,
    ));
    let send = {
        let writer = Arc::clone(&writer);
        move |msg: &Msg| {
            let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
            protocol::write_msg(&mut *w, msg).is_ok()
        }
    };
    let ended_by = Arc::new(AtomicI32::new(0));
    spawn_signals(send, Arc::clone(&writer), Arc::clone(&ended_by))?;
    crate::sys::code_pages::drop_code_pages();
    let mut stream = io::BufReader::with_capacity(4 << 10, stream);
    let why = loop {
        match protocol::read_msg(&mut stream) {
            Ok(Some(Msg::Exit(why))) => break Some(why),
            // The session let go of the terminal first: nothing lands on the shell's screen.
            Ok(Some(Msg::Suspend)) => terminal::stop_self(),
            Ok(Some(Msg::Attached(now))) => *name.lock().unwrap_or_else(|p| p.into_inner()) = now,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break None,
        }
    };
    terminal::restore();
    let name = name.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let sig = ended_by.load(Ordering::Acquire);
    if sig != 0 {
        println!("[memmux client ended by a signal; session {name} goes on]");
        return Ok(128u8.saturating_add(sig as u8));
    }
    match why {
        Some(why) => {
            println!("[{why}]");
            Ok(0)
        }
        None => {
            println!("[the memmux server went away; session {name} may have ended with it]");
            Ok(1)
        }
    }
}

/// Size changes go to the server; SIGTSTP asks the server to take the terminal back from the
/// session, then the client stops (`Msg::Suspend`); SIGCONT takes raw mode again and asks for
/// the terminal to be handed over again. A hang-up ends the client at once (the terminal is
/// gone); SIGTERM, SIGINT and SIGQUIT end it once the session let go of the terminal (the
/// socket's end: the server releases the view, then closes the connection), or after
/// `LEAVE_WAIT` should the server not answer. The session goes on in every case.
fn spawn_signals(
    send: impl Fn(&Msg) -> bool + Send + 'static,
    socket: Arc<Mutex<UnixStream>>,
    ended_by: Arc<AtomicI32>,
) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGWINCH};
    let mut signals = signal_hook::iterator::Signals::new([
        SIGWINCH, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGTSTP, SIGCONT,
    ])
    .context("cannot handle signals")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                match sig {
                    SIGWINCH => {
                        let (rows, cols) = terminal_size();
                        send(&Msg::Resize { rows, cols });
                    }
                    SIGTSTP => {
                        send(&Msg::Suspend);
                    }
                    SIGCONT => {
                        if terminal::take_raw().is_ok() {
                            let (rows, cols) = terminal_size();
                            send(&Msg::Resize { rows, cols });
                            send(&Msg::Redraw);
                        }
                    }
                    SIGHUP => {
                        // The terminal is gone: nothing to restore or print there.
                        std::process::exit(128 + SIGHUP);
                    }
                    _ => {
                        ended_by.store(sig, Ordering::Release);
                        let s = socket.lock().unwrap_or_else(|p| p.into_inner());
                        let _ = s.shutdown(std::net::Shutdown::Write);
                        drop(s);
                        std::thread::sleep(LEAVE_WAIT);
                        terminal::restore();
                        std::process::exit(128 + sig);
                    }
                }
            }
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

/// 3 s for the server to take the terminal back from the session (it waits at most 2 s for
/// the session) before a client ended by a signal leaves anyway.
const LEAVE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
