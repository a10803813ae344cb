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

/// Inside width of the log's box on a terminal `width` columns wide (borders and a margin).
fn text_width(width: u16) -> usize {
    usize::from(width.saturating_sub(3))
}

/// How far the log scrolls up at most on a terminal `width` x `height`: its oldest line at
/// the top of the box.
pub fn max_scroll(log: &std::collections::VecDeque<Message>, width: u16, height: u16) -> u16 {
    let n = lines(log.iter(), std::time::Instant::now(), text_width(width)).len();
    // The box takes the screen but the status line, less its two borders.
    let shown = usize::from(height.saturating_sub(3));
    u16::try_from(n.saturating_sub(shown)).unwrap_or(u16::MAX)
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
    let width = text_width(area.width);
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
    fn scrolls_up_to_the_oldest_line_and_no_further() {
        let mut log = std::collections::VecDeque::new();
        for i in 0..30 {
            log.push_back(Message {
                text: format!("m{i}"),
                error: false,
                at: std::time::Instant::now(),
            });
        }
        // 80x10: the box shows 7 lines; 30 one-line messages scroll 23 lines up.
        assert_eq!(max_scroll(&log, 80, 10), 23);
        // 20 columns: the 11-column stamp leaves at least 8 for text: still one line each.
        assert_eq!(max_scroll(&log, 20, 10), 23);
        log.push_back(Message {
            text: "x".repeat(100),
            error: true,
            at: std::time::Instant::now(),
        });
        // 77 columns of text: the long one takes two lines.
        assert_eq!(max_scroll(&log, 80, 10), 25);
    }

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
