//! The scroll view: history and screen rows from the view's top, the selection, search
//! matches, and the `[offset/total]` indicator.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::config::Colors;
use crate::state::copy_mode::{CellLook, Point, Rows, ScrollView};
use crate::term::Term;
use crate::term::scrollback;

use super::pane::{cell_style, color};

fn stored_style(s: scrollback::Style) -> Style {
    let mut m = Modifier::empty();
    for (on, bit) in [
        (s.bold, Modifier::BOLD),
        (s.dim, Modifier::DIM),
        (s.italic, Modifier::ITALIC),
        (s.underline, Modifier::UNDERLINED),
        (s.inverse, Modifier::REVERSED),
    ] {
        if on {
            m |= bit;
        }
    }
    Style {
        fg: Some(color(s.fg)),
        bg: Some(color(s.bg)),
        add_modifier: m,
        ..Style::default()
    }
}

/// Whether `p` lies in `[start, end)`.
fn inside(p: Point, start: Point, end: Point) -> bool {
    p >= start && p < end
}

/// Matches of `query` within one row's text, as column ranges (for highlighting what is on
/// screen; matches across a wrap are highlighted through the current match only).
fn row_matches(text: &str, cols: &[u16], query: &str) -> Vec<(u16, u16)> {
    if query.is_empty() {
        return Vec::new();
    }
    let fold = !query.chars().any(char::is_uppercase);
    let hay: Vec<char> = text
        .chars()
        .map(|c| {
            if fold {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                c
            }
        })
        .collect();
    let needle: Vec<char> = if fold {
        query.to_lowercase().chars().collect()
    } else {
        query.chars().collect()
    };
    let mut out = Vec::new();
    if hay.len() < needle.len() {
        return out;
    }
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if hay[i..i + needle.len()] == needle[..] {
            let end_col = cols
                .get(i + needle.len())
                .copied()
                .unwrap_or_else(|| cols[i + needle.len() - 1] + 1);
            out.push((cols[i], end_col));
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Draws the view into `area`; returns where the cursor goes.
pub fn render(
    view: &ScrollView,
    term: &Term,
    area: Rect,
    buf: &mut Buffer,
    colors: &Colors,
) -> Option<(u16, u16)> {
    let rows = Rows::new(term);
    let selecting = view.anchor.is_some();
    let query = view.search.as_ref().map(|s| s.query.as_str()).unwrap_or("");
    let match_style = Style::new().fg(Color::Black).bg(colors.accent);
    let current_style = Style::new()
        .fg(Color::Black)
        .bg(colors.warn)
        .add_modifier(Modifier::BOLD);
    for y in 0..area.height {
        let abs = view.top + u64::from(y);
        for x in area.left()..area.right() {
            buf[(x, area.y + y)].reset();
        }
        if abs >= rows.end() {
            continue;
        }
        rows.cells(abs, |col, sym, width, look| {
            if col >= area.width || (width == 2 && col + 1 >= area.width) {
                return;
            }
            let cell = &mut buf[(area.x + col, area.y + y)];
            cell.set_symbol(if sym.is_empty() { " " } else { sym });
            cell.set_style(match look {
                CellLook::Stored(s) => stored_style(s),
                CellLook::Screen(c) => cell_style(c),
            });
            super::pane::resolve_tag(&term.palette().tags, cell);
        });
        if !query.is_empty() {
            let (text, cols) = rows.text(abs);
            for (from, to) in row_matches(&text, &cols, query) {
                for c in from..to.min(area.width) {
                    buf[(area.x + c, area.y + y)].set_style(match_style);
                }
            }
        }
        for c in 0..area.width {
            let p = Point { row: abs, col: c };
            if let Some(f) = view.found.filter(|f| inside(p, f.start, f.end)) {
                let _ = f;
                buf[(area.x + c, area.y + y)].set_style(current_style);
            }
            if selecting && view.selected(p) {
                let cell = &mut buf[(area.x + c, area.y + y)];
                let m = cell.modifier;
                cell.set_style(Style::new().add_modifier(Modifier::REVERSED));
                cell.modifier = m ^ Modifier::REVERSED;
            }
        }
    }
    // The position indicator, top right, as tmux shows it.
    let (offset, total) = view.position(term, area.height);
    let label = format!("[{offset}/{total}]");
    let w = label.len() as u16;
    if w <= area.width {
        buf.set_string(
            area.right() - w,
            area.y,
            &label,
            Style::new().fg(Color::Black).bg(colors.accent),
        );
    }
    let cursor = view.cursor;
    (cursor.row >= view.top
        && cursor.row < view.top + u64::from(area.height)
        && cursor.col < area.width)
        .then(|| (area.x + cursor.col, area.y + (cursor.row - view.top) as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_found_per_row_with_case_rules() {
        let text = "abc ABC abc";
        let cols: Vec<u16> = (0..text.len() as u16).collect();
        assert_eq!(
            row_matches(text, &cols, "abc"),
            vec![(0, 3), (4, 7), (8, 11)]
        );
        assert_eq!(row_matches(text, &cols, "ABC"), vec![(4, 7)]);
        assert!(row_matches(text, &cols, "zz").is_empty());
    }
}
