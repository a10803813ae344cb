//! The app's loop over a stream of input: the user's keys and pastes, resizes, view and session
//! events, memory samples, ticks of a test's clock. It handles each, keeps the frame pacing and
//! draws frames on a screen. The real binary feeds it from the user's terminal, the signals and
//! the app's channel (`run`); the in-process driver from a test's script (`driver`): both run
//! this same function.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use anyhow::Context;
use ratatui::layout::Rect;

use super::{App, AppEvent, INTERACTIVE_FRAME};
use crate::ui;

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(i32),
    TerminalGone,
}

/// One input of the loop.
#[derive(Debug)]
pub enum Input {
    /// From the app's channel: keys, pastes, view and session events, samples, exports.
    App(AppEvent),
    /// The user's terminal may have a new size (SIGWINCH; the loop asks it before the next
    /// frame).
    Resized,
    /// A client attached or lost its screen (SIGUSR1): the terminal's modes and a whole frame
    /// again, on every view.
    Reattached,
    /// memmux was continued after a stop (SIGCONT): the terminal's modes and a whole frame.
    Continued,
    /// The clock is at this instant (a test's clock): timers due by then fire.
    Tick(Instant),
    /// A signal that ends memmux.
    Signal(i32),
}

/// Where the loop's input comes from.
pub trait Inputs {
    /// The next input, waiting for it; `None` when there is no more (the loop returns).
    /// Dropped unfinished when a timer of the loop fires first: it must lose nothing then.
    fn next(&mut self) -> impl Future<Output = Option<Input>>;
}

/// Runs the app on `screen` until it quits or a signal ends it (`Some`), or `inputs` ends
/// (`None`, after drawing the frame still wanted). `size` says the terminal's size after a
/// resize.
pub async fn serve<W: io::Write + Send>(
    app: &mut App,
    screen: &ui::direct::Shared<W>,
    size: &dyn Fn() -> anyhow::Result<Rect>,
    inputs: &mut impl Inputs,
) -> anyhow::Result<Option<Exit>> {
    let mut pacing = Pacing::default();
    let mut frame_at: Option<Instant> = None;
    loop {
        if app.quit {
            return Ok(Some(Exit::Quit));
        }
        // Whatever the last event changed (mode, focus, a message): plain keys follow it.
        app.primary_fast.publish(app.fast_target());
        app.publish_views();
        // A sample that changed only the panel: its changed parts, at once (one per chart
        // column at most). Else a whole frame, below.
        if app.panel_change.any() && !app.needs_draw {
            app.panel_frame(screen)?;
        }
        if app.needs_draw {
            let now = Instant::now();
            let wanted = Wanted {
                urgent: app.urgent,
                interactive: app.interactive,
                seen: app.primary_shown || !app.views.is_empty(),
                // Read each time: a reloaded config may have another fps.
                interval: app.frame_interval(),
            };
            let due = pacing.due(&wanted, now);
            if due <= now {
                frame(app, screen, size)?;
                pacing.drawn(&wanted, now);
                frame_at = None;
            } else {
                frame_at = Some(due);
            }
        }
        let timer = [frame_at, app.next_timer()].into_iter().flatten().min();
        tokio::select! {
            biased;
            input = inputs.next() => {
                let Some(input) = input else {
                    // The input ended (a test's script): the frame still wanted, then return.
                    if app.needs_draw {
                        frame(app, screen, size)?;
                    }
                    return Ok(None);
                };
                if let Some(exit) = take(app, screen, input) {
                    return Ok(Some(exit));
                }
            }
            _ = tokio::time::sleep_until(timer.unwrap_or_else(Instant::now).into()), if timer.is_some() => {
                app.on_timer(Instant::now());
            }
        }
    }
}

/// What a wanted frame is for (`App::urgent`, `App::interactive`), whether anyone sees it,
/// and the configured gap between frames.
struct Wanted {
    urgent: bool,
    interactive: bool,
    seen: bool,
    interval: Duration,
}

/// When a wanted frame may be drawn: output's frames are paced, others go at once.
#[derive(Default)]
struct Pacing {
    last: Option<Instant>,
    before_last: Option<Instant>,
}

impl Pacing {
    fn due(&self, w: &Wanted, now: Instant) -> Instant {
        match self.last {
            _ if w.urgent => now,
            // Small output: at most 250 frames/s on average, but two may come back to back,
            // so the shell's first prompt (or an echo right after a memory sample's frame) is
            // drawn at once rather than up to 4 ms (plus the timer's 1 ms granularity) later:
            // measured, the first prompt showed 3.3 ms after it was read, now within 0.3 ms.
            Some(_) if w.interactive => self
                .before_last
                .map_or(now, |t| t + 2 * INTERACTIVE_FRAME.min(w.interval)),
            Some(t) => t + w.interval,
            None => now,
        }
    }

    /// A frame went out. Output's pacing counts output's frames: not an urgent one (a key's
    /// effect, a view opened, a resize), nor one nobody saw (no view yet). Before, a new
    /// session's first two frames (one for nobody at start, one when the client's view
    /// opened) made the shell's first prompt, read right after them, wait for the pacing:
    /// traced, bash wrote it at 12.4 ms and its frame went out at 17.0 ms (issue 17 point 6).
    fn drawn(&mut self, w: &Wanted, now: Instant) {
        if !w.urgent && w.seen {
            self.before_last = self.last;
            self.last = Some(now);
        }
    }
}

/// Handles one input; `Some` when it ends the loop.
fn take<W: io::Write + Send>(
    app: &mut App,
    screen: &ui::direct::Shared<W>,
    input: Input,
) -> Option<Exit> {
    match input {
        Input::Signal(sig) => return Some(Exit::Signal(sig)),
        Input::Resized => {
            app.resized = true;
            app.views_resized();
            app.redraw_now();
            screen.lock().target = None;
        }
        Input::Reattached => {
            app.redraw_everything(screen);
            app.redraw_views();
        }
        Input::Continued => app.redraw_everything(screen),
        Input::Tick(now) => app.on_timer(now),
        // A session's events change no focus: straight to the app, not through `handle`'s
        // bookkeeping of the views' focus.
        Input::App(AppEvent::Session(id, ev)) => app.session_event(id, ev),
        Input::App(ev) => {
            let gone = matches!(ev, AppEvent::InputGone(_));
            // A sample moves no focus and no mode: what sessions are shown and where a
            // reader draws stay (`note_shown` goes over every pane: 1,000 tabs per column).
            let sample = matches!(ev, AppEvent::Memory(_));
            app.handle(ev);
            if sample {
                return None;
            }
            app.note_shown();
            if gone {
                return Some(Exit::TerminalGone);
            }
            // Whatever the event changed (mode, focus): the compositor checks the pane and
            // the screen against its last frame before a reader draws.
            screen.lock().target = app.direct_target();
        }
    }
    None
}

/// Draws a frame on the first view (when anyone sees it) and on the other views.
fn frame<W: io::Write + Send>(
    app: &mut App,
    screen: &ui::direct::Shared<W>,
    size: &dyn Fn() -> anyhow::Result<Rect>,
) -> anyhow::Result<()> {
    app.size_panel = app.sizing_panel(screen.lock().comp.area().width);
    app.note_shown();
    // The clipboard writes go to every client: each may be the one that copied.
    let outbox = app.outbox.clone();
    if app.primary_shown {
        frame_on(app, screen, size)?;
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
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn output(interactive: bool) -> Wanted {
        Wanted {
            urgent: false,
            interactive,
            seen: true,
            interval: Duration::from_millis(16),
        }
    }

    #[test]
    fn small_output_gets_two_frames_back_to_back_then_waits() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        let w = output(true);
        for at in [t0, t0 + MS] {
            assert_eq!(p.due(&w, at), at);
            p.drawn(&w, at);
        }
        // The third waits for 2 x 4 ms after the first.
        assert_eq!(p.due(&w, t0 + 2 * MS), t0 + 8 * MS);
        // A stream waits the configured interval after the last.
        assert_eq!(p.due(&output(false), t0 + 2 * MS), t0 + 17 * MS);
    }

    #[test]
    fn a_new_sessions_first_prompt_does_not_wait_for_its_first_frames() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        // At start: a frame nobody sees (no view yet).
        let unseen = Wanted {
            seen: false,
            ..output(false)
        };
        p.drawn(&unseen, t0);
        // The client's view opens: drawn at once, urgently.
        let opened = Wanted {
            urgent: true,
            ..output(false)
        };
        assert_eq!(p.due(&opened, t0 + MS), t0 + MS);
        p.drawn(&opened, t0 + MS);
        // The shell's first prompt, read right after: at once, twice (the prompt may come in
        // two reads).
        let prompt = output(true);
        for at in [t0 + 2 * MS, t0 + 3 * MS] {
            assert_eq!(p.due(&prompt, at), at);
            p.drawn(&prompt, at);
        }
        // Then output is paced again.
        assert_eq!(p.due(&prompt, t0 + 4 * MS), t0 + 10 * MS);
    }
}
