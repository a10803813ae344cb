//! The terminal shared by the UI thread and the sessions' readers: the UI draws frames; a
//! reader draws the rows its output changed when its tab is the one shown as is (see
//! `session::DirectDraw`), on every view's terminal that shows it so ([`Views`]). Measured on 2 cores, keystroke to echo, medians of five
//! interleaved runs of 100 keys: 0.497 ms with every echo drawn by the UI thread, 0.407 ms
//! with the reader drawing it, tmux 0.513.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use ratatui::layout::Rect;

use super::Compositor;
use crate::session::{DirectDraw, SessionId};
use crate::term::Term;

/// 4 ms: a reader draws at most one frame this often (250 a second, as the UI draws small
/// output); faster output (a progress bar redrawn in a loop) goes through the UI's frames.
const MIN_INTERVAL: Duration = Duration::from_millis(4);

/// Which pane a reader may draw into: the focused tab's, while the UI shows it as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub session: SessionId,
    /// The compositor's name for the screen the pane shows (`ui::session_key`).
    pub source: u64,
    pub pane: Rect,
}

pub struct Screen<W: Write> {
    pub comp: Compositor<W>,
    /// Set by the UI after a frame in normal mode; cleared when anything else may change.
    pub target: Option<Target>,
    last_direct: Option<Instant>,
}

/// The terminal behind a lock, for the UI and the readers.
pub struct Shared<W: Write> {
    screen: Mutex<Screen<W>>,
}

impl<W: Write> Shared<W> {
    pub fn new(comp: Compositor<W>) -> Shared<W> {
        Shared {
            screen: Mutex::new(Screen {
                comp,
                target: None,
                last_direct: None,
            }),
        }
    }

    /// The screen, for the UI to draw on. A reader that panicked while drawing leaves the
    /// compositor as usable as any failed write does.
    pub fn lock(&self) -> MutexGuard<'_, Screen<W>> {
        self.screen.lock().unwrap_or_else(|p| {
            self.screen.clear_poison();
            p.into_inner()
        })
    }
}

impl<W: Write + Send> DirectDraw for Shared<W> {
    fn draw_rows(&self, session: SessionId, term: &mut Term) -> bool {
        // Every row changed (a scroll, a flood): no view draws that directly, so the screen's
        // lock is not even tried.
        if term.changes().latest_is_all() {
            return false;
        }
        // Never wait for the UI: while it draws a frame, the frame after will have the rows.
        let Ok(mut screen) = self.screen.try_lock() else {
            return false;
        };
        let Some(target) = screen.target.filter(|t| t.session == session) else {
            return false;
        };
        let now = Instant::now();
        if screen
            .last_direct
            .is_some_and(|t| now.duration_since(t) < MIN_INTERVAL)
        {
            return false;
        }
        // The compositor's buffers are memmux's, not the session's (this is its reader).
        let _memmux = crate::memory::alloc::enter(crate::memory::alloc::MEMMUX);
        // The compositor remembers which change of this screen it drew last (here or in a
        // frame): it draws what came since, and its next frame does not draw it again.
        match screen.comp.draw_pane_rows(
            target.pane,
            target.source,
            term.screen(),
            term.palette(),
            term.changes(),
        ) {
            Ok(true) => {
                screen.last_direct = Some(now);
                true
            }
            // A failed write is the UI's to report: its next frame meets it too.
            Ok(false) | Err(_) => false,
        }
    }
}

/// The terminals of every view (one per attached client), for the readers: each view that
/// shows the output's pane as is draws it on its own terminal (its own compositor, its own
/// place in the screen's change log). Output counts as drawn when every view drew it; else
/// the UI draws a frame, in which the views that drew send nothing more for those rows.
#[derive(Default)]
pub struct Views {
    /// By view number (0: the session's own terminal). Read by every reader's output, written
    /// when a client attaches or leaves.
    screens: RwLock<Vec<(u64, Arc<dyn DirectDraw>)>>,
}

impl Views {
    pub fn add(&self, id: u64, screen: Arc<dyn DirectDraw>) {
        self.write().push((id, screen));
    }

    pub fn remove(&self, id: u64) {
        self.write().retain(|(v, _)| *v != id);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<(u64, Arc<dyn DirectDraw>)>> {
        self.screens.write().unwrap_or_else(|p| {
            self.screens.clear_poison();
            p.into_inner()
        })
    }
}

impl DirectDraw for Views {
    fn draw_rows(&self, session: SessionId, term: &mut Term) -> bool {
        let screens = self.screens.read().unwrap_or_else(|p| p.into_inner());
        // Every view is asked, even after one could not draw: each that can shows the echo now.
        let mut all = !screens.is_empty();
        for (_, s) in screens.iter() {
            all &= s.draw_rows(session, term);
        }
        all
    }
}
