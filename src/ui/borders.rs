//! The lines between a tab's panes: one cell wide, joined where they meet, the ones along the
//! focused pane's edges highlighted (as tmux draws them).

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};

use crate::config::Colors;
use crate::state::layout::{Axis, Border, Geometry};

/// Draws every border of `g`; those touching `focus` (the focused pane's place) in the accent
/// colour.
pub fn render(g: &Geometry, focus: Option<Rect>, buf: &mut Buffer, colors: &Colors) {
    let normal = Style::new().fg(colors.bar_fg).add_modifier(Modifier::DIM);
    let active = Style::new().fg(colors.accent);
    let area = buf.area;
    for b in &g.borders {
        let rect = b.rect.intersection(area);
        for y in rect.top()..rect.bottom() {
            for x in rect.left()..rect.right() {
                let style = if focus.is_some_and(|f| touches(f, x, y)) {
                    active
                } else {
                    normal
                };
                buf[(x, y)]
                    .set_symbol(symbol(&g.borders, b.axis, x, y))
                    .set_style(style);
            }
        }
    }
}

/// Whether cell (x, y) is on the ring of cells around `pane`, corners included.
fn touches(pane: Rect, x: u16, y: u16) -> bool {
    let (x, y) = (i32::from(x), i32::from(y));
    let (l, t) = (i32::from(pane.left()) - 1, i32::from(pane.top()) - 1);
    let (r, b) = (i32::from(pane.right()), i32::from(pane.bottom()));
    (l..=r).contains(&x) && (t..=b).contains(&y)
}

/// The axis of the border holding (x, y), if any.
fn border_at(borders: &[Border], x: i32, y: i32) -> Option<Axis> {
    let (Ok(x), Ok(y)) = (u16::try_from(x), u16::try_from(y)) else {
        return None;
    };
    borders
        .iter()
        .find(|b| b.rect.contains(Position::new(x, y)))
        .map(|b| b.axis)
}

/// The box-drawing character for a cell of a border along `axis`: it joins a neighbour cell
/// on a line running towards it (a vertical border ending on a horizontal one makes `┴`).
fn symbol(borders: &[Border], axis: Axis, x: u16, y: u16) -> &'static str {
    let (x, y) = (i32::from(x), i32::from(y));
    let vertical = axis == Axis::Columns;
    let joins = |dx: i32, dy: i32| {
        border_at(borders, x + dx, y + dy).is_some_and(|other| {
            // Towards a neighbour along this border's own line, or a neighbour whose line
            // runs towards this cell.
            let along_mine = if dy != 0 { vertical } else { !vertical };
            let along_theirs = if dy != 0 {
                other == Axis::Columns
            } else {
                other == Axis::Rows
            };
            along_mine || along_theirs
        })
    };
    let (up, down) = (joins(0, -1) || vertical, joins(0, 1) || vertical);
    let (left, right) = (joins(-1, 0) || !vertical, joins(1, 0) || !vertical);
    match (up, down, left, right) {
        (true, true, true, true) => "┼",
        (true, true, false, true) => "├",
        (true, true, true, false) => "┤",
        (false, true, true, true) => "┬",
        (true, false, true, true) => "┴",
        (true, true, false, false) => "│",
        _ => "─",
    }
}
