//! Rows that scroll off a bare vt100 parser's primary screen, captured into a store: the
//! session's path without the rest of `Term`, for the benches and tests of the store.

use super::{RowCapture, Scrollback};

pub struct CaptureSink {
    pub capture: RowCapture,
    pub store: Scrollback,
}

impl vt100::Callbacks for CaptureSink {
    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate: bool) {
        // Rows of the alternate screen (vim, less) are not history.
        if !alternate {
            self.capture.capture(row, &mut self.store);
        }
    }
}
