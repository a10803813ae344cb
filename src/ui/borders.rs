//! The lines between a tab's panes: one cell wide, joined where they meet, the ones along the
//! focused pane's edges highlighted (as tmux draws them); and each pane's title on the line
//! right above it.
//!
//! Where titles go: a split tab gives up its top row to a line (`Geometry::title_row`), as
//! tmux does with `pane-border-status top`. Then every pane has a line right above it, the
//! title row or the border of the split that put it below another pane, and that line is at
//! least as wide as the pane: each pane's title sits there, over its own columns, whatever
//! the layout. Borders on the panes' own top rows (zellij's frames) would cost a row in every
//! pane instead of one per tab; titles on the existing borders only would leave the panes
//! along the top without one. One pane alone shows no line: the tab bar has its title.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use unicode_width::UnicodeWidthStr;

use crate::config::Colors;
use crate::state::layout::{Axis, Border, Geometry, PaneId};

/// Draws every border of `g` and its title row; the cells touching `focus` (the focused
/// pane's place) in the accent colour.
pub fn render(g: &Geometry, focus: Option<Rect>, buf: &mut Buffer, colors: &Colors) {
    let normal = Style::new().fg(colors.bar_fg).add_modifier(Modifier::DIM);
    let active = Style::new().fg(colors.accent);
    let area = buf.area;
    let lines = lines(g);
    for b in &lines {
        let rect = b.rect.intersection(area);
        for y in rect.top()..rect.bottom() {
            for x in rect.left()..rect.right() {
                let style = if focus.is_some_and(|f| touches(f, x, y)) {
                    active
                } else {
                    normal
                };
                buf[(x, y)]
                    .set_symbol(symbol(&lines, b.axis, x, y))
                    .set_style(style);
            }
        }
    }
}

/// The borders of `g` and its title row, drawn alike.
fn lines(g: &Geometry) -> Vec<Border> {
    let mut v = g.borders.clone();
    v.extend(g.title_row.map(|rect| Border {
        rect,
        axis: Axis::Rows,
    }));
    v
}

/// Where the title of the pane at `pane` goes: the line above it, when the tab shows lines.
pub fn title_place(g: &Geometry, pane: Rect) -> Option<Rect> {
    g.title_row?;
    let y = pane.y.checked_sub(1)?;
    Some(Rect::new(pane.x, y, pane.width, 1))
}

/// Writes each visible pane's title (`label` of its id) on the line above it: ` title `
/// from the line's second cell, cut with `…` to leave a cell of line at each end, the
/// focused pane's (`focus`) in the accent colour and bold. A title with no room for two
/// columns of text is left out, line and all.
pub fn render_titles(
    g: &Geometry,
    focus: PaneId,
    label: impl Fn(PaneId) -> Option<String>,
    buf: &mut Buffer,
    colors: &Colors,
) {
    let normal = Style::new().fg(colors.bar_fg);
    let active = Style::new().fg(colors.accent).add_modifier(Modifier::BOLD);
    for (id, pane) in g.visible() {
        let (Some(place), Some(text)) = (title_place(g, pane), label(id)) else {
            continue;
        };
        let place = place.intersection(buf.area);
        // A line cell at each end, a space each side of the text.
        let room = usize::from(place.width).saturating_sub(4);
        let Some(text) = fit(&text, room) else {
            continue;
        };
        let style = if id == focus { active } else { normal };
        buf.set_stringn(
            place.x + 1,
            place.y,
            format!(" {text} "),
            usize::from(place.width).saturating_sub(2),
            style,
        );
    }
}

/// `text` in at most `room` columns: whole, or cut with `…`; `None` when fewer than two
/// columns are left (a lone `…` says nothing).
fn fit(text: &str, room: usize) -> Option<String> {
    if text.width() <= room {
        return (!text.is_empty()).then(|| text.to_string());
    }
    (room >= 2).then(|| crate::ui::text::cut(text, room))
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
