//! The help overlay: every action with its keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::action::Action;
use crate::keymap::Keymap;

/// One line per action: keys, name, description.
pub fn lines(keymap: &Keymap) -> Vec<(String, String, String)> {
    Action::all()
        .into_iter()
        .map(|a| {
            let keys: Vec<String> = keymap.keys_for(a).iter().map(|b| keymap.spell(b)).collect();
            (keys.join(", "), a.name(), a.describe())
        })
        .collect()
}

/// Draws the overlay centred in `area`, scrolled down by `scroll` lines.
pub fn render(keymap: &Keymap, scroll: u16, area: Rect, buf: &mut Buffer) {
    let lines = lines(keymap);
    let key_w = lines.iter().map(|l| l.0.chars().count()).max().unwrap_or(0);
    let name_w = lines.iter().map(|l| l.1.len()).max().unwrap_or(0);
    let desc_w = lines.iter().map(|l| l.2.chars().count()).max().unwrap_or(0);
    let want_w = (key_w + name_w + desc_w + 8) as u16;
    let w = want_w.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(popup, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" memmux keys ")
        .style(Style::new());
    let inner = block.inner(popup);
    block.render(popup, buf);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let dim = Style::new().add_modifier(Modifier::DIM);
    let max_scroll = (lines.len() as u16).saturating_sub(inner.height);
    for (row, (keys, name, desc)) in lines
        .iter()
        .skip(usize::from(scroll.min(max_scroll)))
        .take(usize::from(inner.height))
        .enumerate()
    {
        let y = inner.y + row as u16;
        let width = usize::from(inner.width);
        let text = format!(" {keys:<key_w$}  ");
        let (x, _) = buf.set_stringn(inner.x, y, &text, width, bold);
        let rest = usize::from(inner.right().saturating_sub(x));
        let (x, _) = buf.set_stringn(x, y, format!("{name:<name_w$}  "), rest, Style::new());
        let rest = usize::from(inner.right().saturating_sub(x));
        buf.set_stringn(x, y, desc, rest, dim);
    }
}
