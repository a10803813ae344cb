//! Running on the user's terminal: the input thread that reads it, and the loop that takes
//! terminal input, session events, signals and timers on one thread and draws frames.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use ratatui::layout::Rect;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::config::Config;
use crate::frontend::out::Out;
use crate::frontend::terminal;
use crate::sys;
use crate::ui;

use super::{App, AppEvent, INTERACTIVE_FRAME, fastkeys};

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

/// Draws a frame of the view being served on `screen`, asking `size` first after a resize,
/// then the outer terminal's cursor shape, pointer mode and clipboard writes.
pub(super) fn frame_on<W: io::Write>(
    app: &mut App,
    screen: &ui::direct::Shared<W>,
    size: impl Fn() -> anyhow::Result<Rect>,
) -> anyhow::Result<()> {
    let mut screen = screen.lock();
    let term = &mut screen.comp;
    if std::mem::take(&mut app.resized) {
        let area = size()?;
        if term.area() != area {
            term.resize(area);
        }
    }
    app.draw(term)?;
    let mut extra = app.outer_modes().into_bytes();
    extra.append(&mut app.outbox);
    if !extra.is_empty() {
        let out = term.writer_mut();
        out.write_all(&extra)
            .context("cannot write to the terminal")?;
        out.flush().context("cannot write to the terminal")?;
    }
    Ok(())
}

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(i32),
    TerminalGone,
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
    let (tx, mut rx): (UnboundedSender<AppEvent>, UnboundedReceiver<AppEvent>) =
        unbounded_channel();
    let notify = Arc::new(Notify::new());
    let wake: Arc<dyn Fn() + Send + Sync> = {
        let n = Arc::clone(&notify);
        Arc::new(move || n.notify_one())
    };
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
    let mut app = App::new(config, tx.clone(), wake, area);
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

    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut sigquit = signal(SignalKind::quit()).context("cannot handle SIGQUIT")?;
    let mut sigwinch = signal(SignalKind::window_change()).context("cannot handle SIGWINCH")?;
    // From the server: a client attached or lost its screen (see `server::hub`).
    let mut sigusr1 = signal(SignalKind::user_defined1()).context("cannot handle SIGUSR1")?;
    // Stopped from outside (SIGTSTP: `kill -TSTP`, a job-control shell): the terminal is given
    // back first, else the shell is left in raw mode and, after `fg`, memmux in cooked mode
    // where one Ctrl-C (SIGINT) ended every tab. A session of the server has no user terminal
    // (its client does this), and its orphaned process group is never stopped by SIGTSTP.
    let mut sigtstp = match crate::server::child::in_server() {
        false => {
            Some(signal(SignalKind::from_raw(libc::SIGTSTP)).context("cannot handle SIGTSTP")?)
        }
        true => None,
    };
    // Continued (after SIGTSTP, or a SIGSTOP that could not be seen): raw mode and a whole
    // frame again, whatever the shell did to the terminal meanwhile.
    let mut sigcont =
        signal(SignalKind::from_raw(libc::SIGCONT)).context("cannot handle SIGCONT")?;
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

    let mut last_frame: Option<Instant> = None;
    let mut before_last_frame: Option<Instant> = None;
    let mut frame_at: Option<Instant> = None;
    let exit = loop {
        if app.quit {
            break Exit::Quit;
        }
        // Whatever the last event changed (mode, focus, a message): plain keys follow it.
        fast.publish(app.fast_target());
        app.publish_views();
        if app.needs_draw {
            let now = Instant::now();
            let due = match last_frame {
                _ if app.urgent => now,
                // Small output: at most 250 frames/s on average, but two may come back to
                // back, so the shell's first prompt (or an echo right after a memory sample's
                // frame) is drawn at once rather than up to 4 ms (plus the timer's 1 ms
                // granularity) later: measured, the first prompt showed 3.3 ms after it was
                // read, now within 0.3 ms.
                Some(_) if app.interactive => before_last_frame
                    .map_or(now, |t| t + 2 * INTERACTIVE_FRAME.min(app.frame_interval())),
                // Read each time: a reloaded config may have another fps.
                Some(t) => t + app.frame_interval(),
                None => now,
            };
            if due <= now {
                app.size_panel = app.sizing_panel(screen.lock().comp.area().width);
                // The clipboard writes go to every client: each may be the one that copied.
                let outbox = app.outbox.clone();
                if app.primary_shown {
                    frame_on(&mut app, &screen, || {
                        let (w, h) =
                            crossterm::terminal::size().context("cannot read the terminal size")?;
                        Ok(Rect::new(0, 0, w, h))
                    })?;
                } else {
                    // Nobody sees the first view: no frame for it (the memory sampler goes on).
                    app.skip_frame();
                }
                if !app.views.is_empty() {
                    app.outbox = outbox;
                    app.draw_views();
                    app.outbox.clear();
                }
                screen.lock().target = app.direct_target();
                before_last_frame = last_frame;
                last_frame = Some(now);
                frame_at = None;
            } else {
                frame_at = Some(due);
            }
        }
        let timer = [frame_at, app.next_timer()].into_iter().flatten().min();
        tokio::select! {
            biased;
            _ = sigterm.recv() => break Exit::Signal(libc::SIGTERM),
            _ = sighup.recv() => break Exit::Signal(libc::SIGHUP),
            _ = sigint.recv() => break Exit::Signal(libc::SIGINT),
            _ = sigquit.recv() => break Exit::Signal(libc::SIGQUIT),
            _ = sigwinch.recv() => {
                app.resized = true;
                app.views_resized();
                app.redraw_now();
                screen.lock().target = None;
            }
            _ = sigusr1.recv() => {
                app.redraw_everything(&screen);
                app.redraw_views();
            }
            Some(()) = async { sigtstp.as_mut()?.recv().await } => {
                let mut s = screen.lock();
                // No reader draws on the given-back terminal, and the last frame is out
                // before the terminal's modes are left.
                s.target = None;
                drain(&mut s);
                terminal::stop_self();
                drop(s);
            }
            _ = sigcont.recv() => {
                if !crate::server::child::in_server() {
                    let _ = terminal::take_raw();
                }
                app.redraw_everything(&screen);
            }
            Some(ev) = rx.recv() => {
                let gone = matches!(ev, AppEvent::InputGone(_));
                app.handle(ev);
                if gone {
                    break Exit::TerminalGone;
                }
                // Whatever the event changed (mode, focus): the compositor checks the pane
                // and the screen against its last frame before a reader draws.
                screen.lock().target = app.direct_target();
            }
            _ = notify.notified() => app.collect_output(),
            _ = tokio::time::sleep_until(timer.unwrap_or_else(Instant::now).into()), if timer.is_some() => {
                app.on_timer(Instant::now());
            }
        }
    };
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
