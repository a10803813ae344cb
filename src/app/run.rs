//! Running on the user's terminal: the input thread that reads it, and the loop that takes
//! terminal input, session events, signals and timers on one thread and draws frames.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use ratatui::layout::Rect;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::config::Config;
use crate::frontend::out::Out;
use crate::frontend::terminal;
use crate::sys;
use crate::ui;

/// Where `views` draws a parked view's frame (it lives beside the loop now).
pub(super) use super::serve::frame_on;
use super::serve::{Exit, Input, Inputs, serve};
use super::{App, AppEvent, fastkeys};

/// Reads the user's terminal on its own thread and forwards events to the loop.
///
/// memmux decodes the bytes itself (`input::tty`): crossterm's reader drops modified F3
/// (`CSI 1 ; 2 R`, taken for a cursor report) and knows no application keypad. The thread
/// blocks in poll(2) on the tty, then reads what is there: a key costs one wake-up, as with
/// crossterm's blocking `read` before (a short poll timeout would busy-wait; measured, a 1 ms
/// spin per key delayed the echo on 2 cores). poll(2) is level-triggered, so a keystroke
/// arriving together with a resize signal is not lost (crossterm's default mio source lost
/// it). A sequence split between reads waits at most `tty::SEQUENCE_WAIT` for its rest.
///
/// Hang-up, an error, or end of file on the tty ends the thread with `InputGone`; a hang-up
/// also brings SIGHUP, on which memmux exits.
///
/// `tty`: the terminal of a client's view (`views`), read instead of standard input; its
/// events then carry the view's id, and the thread also ends when `stop` is closed (the view
/// was closed: the thread's copy of the terminal must go for the server to see it shut), or
/// when the client died (what was read then is dropped: see `ClientTty::client_gone`).
pub(super) fn spawn_input_thread(
    tx: UnboundedSender<AppEvent>,
    fast: Arc<fastkeys::FastKeys>,
    tty: Option<crate::frontend::handed::ClientTty>,
) -> io::Result<std::thread::JoinHandle<()>> {
    use std::os::fd::AsFd;
    let name = match &tty {
        Some(t) => format!("input-{}", t.id),
        None => "input".into(),
    };
    std::thread::Builder::new().name(name).spawn(move || {
        let view = tty.as_ref().map(|t| t.id);
        let fd = tty.as_ref().map_or(sys::fd::stdin(), |t| t.tty.as_fd());
        let stop = tty.as_ref().map(|t| t.stop.as_fd());
        let gone = |why: String| {
            let _ = tx.send(match view {
                Some(id) => AppEvent::ViewGone(id),
                None => AppEvent::InputGone(why),
            });
        };
        let mut parser = crate::input::tty::TtyParser::default();
        let mut buf = [0u8; 4096];
        let mut events = Vec::new();
        loop {
            let ready = match sys::poll::wait_readable(fd, stop, parser.wait()) {
                Ok(r) => r,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return gone(format!("cannot read the terminal: {err}")),
            };
            match ready {
                // The view was closed: the app knows, and holds the terminal no more once
                // this thread has ended.
                Some((_, stopped)) if stopped.any() => return,
                None => parser.flush(&mut events),
                Some((input, _)) if input.readable => {
                    let got = match sys::fd::read(fd, &mut buf) {
                        Ok(0) => return gone("the terminal went away".into()),
                        Ok(n) => n,
                        Err(err)
                            if matches!(
                                err.kind(),
                                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                            ) =>
                        {
                            continue;
                        }
                        Err(err) => return gone(format!("cannot read the terminal: {err}")),
                    };
                    if tty.as_ref().is_some_and(|t| t.client_gone()) {
                        return gone("the client died".into());
                    }
                    if let Some(id) = view {
                        // `window-size = latest` follows the client that typed last.
                        crate::server::child::typed_in(id);
                    }
                    parser.feed(&buf[..got], &mut events);
                    for (which, rgb) in parser.colours.drain(..) {
                        crate::term::palette::OUTER.set(which, rgb);
                    }
                }
                Some((input, _)) if input.gone => {
                    return gone("the terminal went away".into());
                }
                Some(_) => {}
            }
            for ev in events.drain(..) {
                if fast.route(&ev) {
                    continue;
                }
                let ev = match view {
                    Some(id) => AppEvent::ViewInput(id, ev),
                    None => AppEvent::Input(ev),
                };
                if tx.send(ev).is_err() {
                    return;
                }
            }
        }
    })
}

/// Reads the session's views socket (descriptor 4) and tells the loop of views opened and
/// closed; returns the socket's other direction, for the loop's answers. Nothing to do
/// outside a server. Its end is the server's (as is SIGHUP, from the session's own pty): the
/// loop then ends as on a terminal gone.
pub(super) fn spawn_views_thread(
    tx: tokio::sync::mpsc::UnboundedSender<AppEvent>,
) -> Option<std::os::unix::net::UnixStream> {
    use crate::server::protocol::{Msg, read_msg};
    let sock = crate::server::child::take_views()?;
    let ack = sock.try_clone().ok();
    let started = std::thread::Builder::new()
        .name("views".into())
        .spawn(move || {
            let mut r = crate::server::fdpass::FdReader::new(sock);
            while let Ok(Some(msg)) = read_msg(&mut r) {
                let ev = match msg {
                    Msg::ViewOpen(id) => match (r.fds.pop_front(), r.fds.pop_front()) {
                        (Some(fd), alive) => AppEvent::ViewOpened(id, fd, alive),
                        (None, _) => continue,
                    },
                    Msg::ViewClose(id) => AppEvent::ViewClosed(id),
                    // Drawn all again, as a view whose writer fell behind is.
                    Msg::ViewRedraw(id) => AppEvent::ViewLagged(id),
                    _ => continue,
                };
                if tx.send(ev).is_err() {
                    return;
                }
            }
            let _ = tx.send(AppEvent::InputGone("the memmux server went away".into()));
        });
    if let Err(e) = started {
        crate::util::append_log(&format!("cannot read the views socket: {e}"));
    }
    ack
}

/// Waits (at most 500 ms: a terminal that reads takes a frame in well under 1 ms) until what
/// `screen` wrote is on its terminal.
fn drain(s: &mut ui::direct::Screen<io::BufWriter<Out>>) {
    let w = s.comp.writer_mut();
    let _ = io::Write::flush(w);
    w.get_mut().drain(std::time::Duration::from_millis(500));
}

/// How memmux was asked to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The command of the first tab (the shell when `None`).
    pub first: Option<Vec<String>>,
    /// Append every memory sample to this CSV file.
    pub mem_log: Option<PathBuf>,
    /// Shown in the status line at start (e.g. a broken config file at the default path).
    pub warning: Option<String>,
    /// Where the configuration came from, for `reload-config`.
    pub config_source: Option<crate::config::ConfigSource>,
}

/// Runs memmux on the user's terminal until the user quits or a signal ends it.
pub fn run(config: Config, options: Options) -> anyhow::Result<Exit> {
    crate::util::set_log_dir(crate::config::data_dir());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the event loop")?;
    rt.block_on(run_loop(config, options))
}

async fn run_loop(config: Config, options: Options) -> anyhow::Result<Exit> {
    let (tx, rx): (UnboundedSender<AppEvent>, UnboundedReceiver<AppEvent>) = unbounded_channel();
    // The first shell starts before anything else is set up: the rest (signals, raw mode,
    // the frame buffers, the input thread) happens while it starts. Measured from main():
    // the spawn began at 0.8 ms, now at about 0.3 ms; it returns when the program has been
    // exec'ed (0.7-1.5 ms: the fork, then the child's set-up).
    let sampler = {
        let tx = tx.clone();
        let deliver = Box::new(move |snap| {
            let _ = tx.send(AppEvent::Memory(Box::new(snap)));
        });
        let log = options.mem_log.clone();
        crate::memory::sampler::SamplerHandle::start(config.sample_interval, log, deliver)
            .with_context(|| match &options.mem_log {
                Some(p) => format!("cannot open the memory log {}", p.display()),
                None => "cannot start the memory sampler".to_string(),
            })?
    };
    // The size is asked on SIGWINCH only, not per frame (each ask opens /dev/tty twice).
    let (w, h) = crossterm::terminal::size().context("cannot read the terminal size")?;
    let area = Rect::new(0, 0, w, h);
    // 64 KiB: a whole frame of a large screen goes out in one write. The compositor starts
    // empty (0x0, no buffers) and gets its size once the shell is on its way. A session of
    // the server draws its first view nowhere until a client hands its terminal over.
    let in_server = crate::server::child::in_server();
    let out = match in_server {
        true => Out::Nowhere,
        // Alone in the terminal: the bounded writer too, so a terminal that stops reading
        // (XOFF) parks neither the UI nor a tab's reader; standard output if it cannot start.
        false => {
            let tx = tx.clone();
            let lagged = Box::new(move || {
                let _ = tx.send(AppEvent::ViewLagged(0));
            });
            match crate::frontend::writer::TtyWriter::new(crate::sys::fd::stdout(), lagged) {
                Ok(w) => Out::Tty(w),
                Err(_) => Out::Stdout(io::stdout()),
            }
        }
    };
    let stdout = io::BufWriter::with_capacity(64 << 10, out);
    let screen = Arc::new(ui::direct::Shared::new(ui::Compositor::new(
        stdout,
        Rect::default(),
    )));
    let mut app = App::new(config, tx.clone(), area);
    app.screens.add(
        0,
        Arc::clone(&screen) as Arc<dyn crate::session::DirectDraw>,
    );
    app.ctx.sampler_wake = sampler.waker();
    app.sampler = Some(sampler);
    app.config_source = options.config_source;
    app.open_tab(options.first, None);
    // The server hands the first client's terminal over while this process starts: the
    // thread that takes it starts as soon as the first shell is on its way, not after the
    // signals and the terminal's set-up (measured on a busy machine: it then got its first
    // CPU 2 ms after the shell had printed, and the first prompt waited for it).
    let ack = spawn_views_thread(tx.clone());

    // Signals are handled from here on, before the server is told this session is ready and
    // before the terminal is set up.
    let mut inputs = TerminalInputs::new(rx, Arc::clone(&screen))?;
    crate::server::child::ready();
    let guard = terminal::TerminalGuard::enter().context("cannot set up the terminal")?;
    screen.lock().comp.resize(area);
    // A resize before the SIGWINCH handler was in place would go unseen: the first frame
    // asks the size again.
    app.resized = true;
    let fast = Arc::clone(&app.primary_fast);
    app.set_primary(Arc::clone(&screen), !in_server, ack);
    // A session's own pty brings no keys (its clients' terminals do), and the server's going
    // away is seen on the views socket and by SIGHUP: it is not read, one thread fewer per
    // session (17 at 1,000 tabs before, against 16 asked).
    if !in_server {
        spawn_input_thread(tx, Arc::clone(&fast), None).context("cannot start the input thread")?;
    }
    if let Some(w) = options.warning {
        app.state.warn(w);
    }

    let size = || {
        let (w, h) = crossterm::terminal::size().context("cannot read the terminal size")?;
        Ok(Rect::new(0, 0, w, h))
    };
    // The terminal's input never ends (its end is `InputGone`), so neither does the loop
    // but by a quit or a signal.
    let exit = serve(&mut app, &screen, &size, &mut inputs)
        .await?
        .unwrap_or(Exit::TerminalGone);
    fast.publish(None);
    // No reader draws from here on: the terminal is about to be given back, once the last
    // frame is out.
    {
        let mut s = screen.lock();
        s.target = None;
        drain(&mut s);
    }
    app.shutdown();
    drop(screen);
    drop(guard);
    Ok(exit)
}

/// The loop's input from the user's terminal: signals first, then the app's channel (keys,
/// pastes, view and session events, samples). A stop (SIGTSTP) is handled here: the terminal
/// is given back before memmux stops.
struct TerminalInputs {
    rx: UnboundedReceiver<AppEvent>,
    screen: Arc<ui::direct::Shared<io::BufWriter<Out>>>,
    sigterm: Signal,
    sighup: Signal,
    sigint: Signal,
    sigquit: Signal,
    sigwinch: Signal,
    sigusr1: Signal,
    sigtstp: Option<Signal>,
    sigcont: Signal,
}

impl TerminalInputs {
    fn new(
        rx: UnboundedReceiver<AppEvent>,
        screen: Arc<ui::direct::Shared<io::BufWriter<Out>>>,
    ) -> anyhow::Result<TerminalInputs> {
        let sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let sighup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
        let sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let sigquit = signal(SignalKind::quit()).context("cannot handle SIGQUIT")?;
        let sigwinch = signal(SignalKind::window_change()).context("cannot handle SIGWINCH")?;
        // From the server: a client attached or lost its screen (see `server::hub`).
        let sigusr1 = signal(SignalKind::user_defined1()).context("cannot handle SIGUSR1")?;
        // Stopped from outside (SIGTSTP: `kill -TSTP`, a job-control shell): the terminal is given
        // back first, else the shell is left in raw mode and, after `fg`, memmux in cooked mode
        // where one Ctrl-C (SIGINT) ended every tab. A session of the server has no user terminal
        // (its client does this), and its orphaned process group is never stopped by SIGTSTP.
        let sigtstp = match crate::server::child::in_server() {
            false => {
                Some(signal(SignalKind::from_raw(libc::SIGTSTP)).context("cannot handle SIGTSTP")?)
            }
            true => None,
        };
        // Continued (after SIGTSTP, or a SIGSTOP that could not be seen): raw mode and a whole
        // frame again, whatever the shell did to the terminal meanwhile.
        let sigcont =
            signal(SignalKind::from_raw(libc::SIGCONT)).context("cannot handle SIGCONT")?;
        Ok(TerminalInputs {
            rx,
            screen,
            sigterm,
            sighup,
            sigint,
            sigquit,
            sigwinch,
            sigusr1,
            sigtstp,
            sigcont,
        })
    }
}

impl Inputs for TerminalInputs {
    async fn next(&mut self) -> Option<Input> {
        loop {
            return Some(tokio::select! {
                biased;
                _ = self.sigterm.recv() => Input::Signal(libc::SIGTERM),
                _ = self.sighup.recv() => Input::Signal(libc::SIGHUP),
                _ = self.sigint.recv() => Input::Signal(libc::SIGINT),
                _ = self.sigquit.recv() => Input::Signal(libc::SIGQUIT),
                _ = self.sigwinch.recv() => Input::Resized,
                _ = self.sigusr1.recv() => Input::Reattached,
                Some(()) = async { self.sigtstp.as_mut()?.recv().await } => {
                    let mut s = self.screen.lock();
                    // No reader draws on the given-back terminal, and the last frame is out
                    // before the terminal's modes are left.
                    s.target = None;
                    drain(&mut s);
                    terminal::stop_self();
                    drop(s);
                    continue;
                }
                _ = self.sigcont.recv() => {
                    if !crate::server::child::in_server() {
                        let _ = terminal::take_raw();
                    }
                    Input::Continued
                }
                ev = self.rx.recv() => Input::App(ev?),
            });
        }
    }
}
