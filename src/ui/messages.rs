//! The message log overlay (`C-b ~`, as tmux's `show-messages`): the recent status-line
//! messages, each whole, wrapped to the screen, newest at the bottom.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use unicode_width::UnicodeWidthChar;

use crate::state::Message;

/// Splits `text` into lines at most `width` columns wide (by character: messages carry paths
/// and key names, where breaking at spaces only would leave long lines).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    let mut w = 0;
    for c in text.chars() {
        if c == '\n' {
            out.push(std::mem::take(&mut line));
            w = 0;
            continue;
        }
        let cw = c.width().unwrap_or(0);
        if w + cw > width {
            out.push(std::mem::take(&mut line));
            w = 0;
        }
        line.push(c);
        w += cw;
    }
    out.push(line);
    out
}

/// The log's lines for a box `width` columns wide inside: each message's age, then its text.
fn lines<'a>(
    log: impl Iterator<Item = &'a Message>,
    now: std::time::Instant,
    width: usize,
) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for m in log {
        let age = now.saturating_duration_since(m.at).as_secs();
        // Continuation lines start under the text, clear of the age column.
        let stamp = format!("{age:>4}s ago  ");
        let indent = " ".repeat(stamp.len());
        let wrapped = wrap(&m.text, width.saturating_sub(stamp.len()).max(8));
        for (k, l) in wrapped.into_iter().enumerate() {
            let lead = if k == 0 { &stamp } else { &indent };
            out.push((format!("{lead}{l}"), m.error));
        }
    }
    out
}

/// Draws the log in `area`, scrolled up from its end by `scroll` lines.
pub fn render(
    log: &std::collections::VecDeque<Message>,
    scroll: u16,
    now: std::time::Instant,
    area: Rect,
    buf: &mut Buffer,
) {
    let title = " messages: ↑ ↓ scroll, q closes ";
    let inner = super::help::framed(title, area.width, area.height, area, buf);
    let width = usize::from(inner.width.saturating_sub(1));
    let all = lines(log.iter(), now, width);
    if all.is_empty() {
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            "no messages yet",
            width,
            Style::new().add_modifier(Modifier::DIM),
        );
        return;
    }
    let h = usize::from(inner.height);
    let end = all
        .len()
        .saturating_sub(usize::from(scroll))
        .max(h.min(all.len()));
    let start = end.saturating_sub(h);
    for (row, (text, error)) in all[start..end].iter().enumerate() {
        let style = if *error {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        buf.set_stringn(inner.x + 1, inner.y + row as u16, text, width, style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_every_character() {
        let text =
            "config ignored, defaults in use: /a/very/long/path/config.toml:3:1: unknown key";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20));
        assert_eq!(lines.concat(), text);
        assert_eq!(wrap("a\nb", 10), ["a", "b"]);
        assert_eq!(wrap("", 10), [""]);
    }
}
