//! The note an ended tab shows in its pane: how it ended and the two keys that matter now.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use crate::config::Colors;
use crate::session::{ExitStatus, Session, Status};

/// The note's text: `[exit 2] r restart · x close` (a program that could not start: `retry`).
pub fn text(session: &Session) -> Option<String> {
    let note = crate::state::end_note(session)?;
    let again = if matches!(session.status, Status::Failed(_)) {
        "retry"
    } else {
        "restart"
    };
    // Plain `r` and `x`: an ended tab's keys have no program to go to (app/input.rs).
    Some(format!(" [{note}]  r {again} · x close "))
}

/// Draws the note on the pane's last row, over whatever the program left there.
pub fn render(session: &Session, pane: Rect, buf: &mut Buffer, colors: &Colors) {
    let Some(text) = text(session) else {
        return;
    };
    if pane.height == 0 || pane.width == 0 {
        return;
    }
    let ok = session.status == Status::Exited(ExitStatus::Code(0));
    let style = Style::new()
        .fg(colors.bar_bg)
        .bg(if ok { colors.accent } else { colors.warn })
        .add_modifier(Modifier::BOLD);
    let y = pane.bottom() - 1;
    for x in pane.left()..pane.right() {
        buf[(x, y)].reset();
    }
    buf.set_stringn(pane.x, y, text, usize::from(pane.width), style);
}
