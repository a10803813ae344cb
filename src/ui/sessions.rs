//! The session chooser (`C-b s`): every session of the server, one line each with the figures
//! `memmux ls` prints (tabs, clients attached, memory); the keys move the selection, Enter
//! switches this client to the selected session.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use unicode_width::UnicodeWidthStr;

use crate::server::protocol::SessionInfo;

/// What a key does in the chooser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The selection is now this line.
    Select(usize),
    /// Switch to the session on this line.
    Choose(usize),
    /// Close the chooser.
    Cancel,
}

/// The chooser's answer to `key`, with line `selected` of `len` selected.
pub fn key(key: &KeyEvent, selected: usize, len: usize) -> Pick {
    let last = len.saturating_sub(1);
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => Pick::Cancel,
        KeyCode::Char('c' | 'g') if ctrl => Pick::Cancel,
        KeyCode::Enter if len > 0 => Pick::Choose(selected.min(last)),
        KeyCode::Down | KeyCode::Char('j') => Pick::Select((selected + 1).min(last)),
        KeyCode::Up | KeyCode::Char('k') => Pick::Select(selected.saturating_sub(1)),
        KeyCode::Home | KeyCode::Char('g') => Pick::Select(0),
        KeyCode::End | KeyCode::Char('G') => Pick::Select(last),
        // 1..9 choose the session on that line at once, as tmux's chooser does with 0..9.
        KeyCode::Char(c @ '1'..='9') => match (c as usize - '1' as usize) < len {
            true => Pick::Choose(c as usize - '1' as usize),
            false => Pick::Select(selected),
        },
        _ => Pick::Select(selected),
    }
}

/// The line of session `i` as the chooser shows it.
fn line(i: usize, s: &SessionInfo) -> String {
    let number = if i < 9 {
        format!("{}", i + 1)
    } else {
        " ".to_string()
    };
    let mark = if s.current { " (this session)" } else { "" };
    format!(" {number}  {}{mark} ", s.describe())
}

/// The line under it: its tabs, numbered as its tab bar numbers them.
fn tabs_line(s: &SessionInfo) -> String {
    let mut text = String::from("      ");
    for (i, name) in s.tab_names.iter().enumerate() {
        text.push_str(&format!("{}:{name}  ", i + 1));
    }
    let total = s.status.map_or(0, |(tabs, _)| tabs as usize);
    if total > s.tab_names.len() {
        text.push_str(&format!("(+{} more)", total - s.tab_names.len()));
    }
    text
}

/// Each session takes two rows: its figures, then its tabs.
const ROWS: usize = 2;

/// Draws the chooser centred in `area`, session `selected` highlighted.
pub fn render(list: &[SessionInfo], selected: usize, area: Rect, buf: &mut Buffer) {
    let title = " sessions: ↑ ↓ select, Enter switches, q closes ";
    let lines: Vec<(String, String)> = list
        .iter()
        .enumerate()
        .map(|(i, s)| (line(i, s), tabs_line(s)))
        .collect();
    // Tab names may run long: the box is as wide as the figures need, the names are cut.
    let widest = lines
        .iter()
        .map(|(l, _)| l.width())
        .chain([title.width()])
        .max()
        .unwrap_or(0)
        .max(60);
    let want_w = u16::try_from(widest + 2).unwrap_or(u16::MAX);
    let want_h = u16::try_from(lines.len().max(1) * ROWS + 2).unwrap_or(u16::MAX);
    let inner = super::help::framed(title, want_w, want_h, area, buf);
    let width = usize::from(inner.width);
    if lines.is_empty() {
        buf.set_stringn(inner.x, inner.y, " no sessions", width, Style::new());
        return;
    }
    // The selected session stays in view: the list scrolls by whole pages.
    let per_page = (usize::from(inner.height) / ROWS).max(1);
    let first = selected / per_page * per_page;
    let dim = Style::new().add_modifier(Modifier::DIM);
    for (n, (i, (text, tabs))) in lines
        .iter()
        .enumerate()
        .skip(first)
        .take(per_page)
        .enumerate()
    {
        let style = if i == selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else if list[i].current {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        let y = inner.y + (n * ROWS) as u16;
        buf.set_style(Rect::new(inner.x, y, inner.width, 1), style);
        buf.set_stringn(inner.x, y, text, width, style);
        if y + 1 < inner.bottom() {
            buf.set_stringn(inner.x, y + 1, tabs, width, dim);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn session(name: &str, current: bool) -> SessionInfo {
        SessionInfo {
            name: name.into(),
            status: Some((2, 3 << 20)),
            clients: u32::from(current),
            current,
            tab_names: vec!["bash".into()],
        }
    }

    #[test]
    fn keys_move_within_the_list_choose_and_cancel() {
        assert_eq!(key(&press(KeyCode::Down), 0, 3), Pick::Select(1));
        assert_eq!(key(&press(KeyCode::Down), 2, 3), Pick::Select(2));
        assert_eq!(key(&press(KeyCode::Up), 0, 3), Pick::Select(0));
        assert_eq!(key(&press(KeyCode::Char('G')), 0, 3), Pick::Select(2));
        assert_eq!(key(&press(KeyCode::Enter), 1, 3), Pick::Choose(1));
        assert_eq!(key(&press(KeyCode::Char('2')), 0, 3), Pick::Choose(1));
        assert_eq!(key(&press(KeyCode::Char('4')), 0, 3), Pick::Select(0));
        assert_eq!(key(&press(KeyCode::Esc), 1, 3), Pick::Cancel);
        assert_eq!(key(&press(KeyCode::Char('q')), 1, 3), Pick::Cancel);
        assert_eq!(key(&press(KeyCode::Enter), 0, 0), Pick::Select(0));
    }

    #[test]
    fn each_session_is_drawn_with_its_figures_and_the_selection_stays_in_view() {
        let list: Vec<SessionInfo> = (0..12).map(|i| session(&format!("s{i}"), i == 0)).collect();
        let area = Rect::new(0, 0, 80, 10);
        let mut buf = Buffer::empty(area);
        render(&list, 10, area, &mut buf);
        let text: String = (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        assert!(text.contains("s10: 2 tabs, detached, 3.0 MiB"), "{text}");
        // Two tabs, one name known: the other is counted.
        assert!(text.contains("1:bash  (+1 more)"), "{text}");
        assert!(!text.contains("s0:"), "{text}");
        let mut buf = Buffer::empty(area);
        render(&list, 0, area, &mut buf);
        let row: String = (0..area.width)
            .map(|x| buf[(x, 1)].symbol().to_string())
            .collect();
        assert!(
            row.contains("1  s0: 2 tabs, 1 client attached, 3.0 MiB (this session)"),
            "{row}"
        );
    }
}
