//! The vt100 screen of a session, copied cell by cell into a ratatui buffer.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

/// vt100's colour as ratatui's.
pub fn color(c: vt100::Color) -> Color {
    match c {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(i) => Color::Indexed(i),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// The style of one vt100 cell.
pub fn cell_style(cell: &vt100::Cell) -> Style {
    let mut m = Modifier::empty();
    if cell.bold() {
        m |= Modifier::BOLD;
    }
    if cell.dim() {
        m |= Modifier::DIM;
    }
    if cell.italic() {
        m |= Modifier::ITALIC;
    }
    if cell.underline() {
        m |= Modifier::UNDERLINED;
    }
    if cell.inverse() {
        m |= Modifier::REVERSED;
    }
    Style {
        fg: Some(color(cell.fgcolor())),
        bg: Some(color(cell.bgcolor())),
        add_modifier: m,
        ..Style::default()
    }
}

/// Draws `screen` into `area` of `buf`, top-left aligned; cells outside the screen stay blank.
pub fn render_screen(screen: &vt100::Screen, area: Rect, buf: &mut Buffer) {
    let (rows, cols) = screen.size();
    let height = area.height.min(rows.get());
    let width = area.width.min(cols.get());
    for row in 0..height {
        let mut col = 0;
        while col < width {
            let target = &mut buf[(area.x + col, area.y + row)];
            let Some(cell) = screen.cell(row, col) else {
                col += 1;
                continue;
            };
            if cell.is_wide() && col + 1 >= width {
                // Half a wide character doesn't fit at the right edge: show a blank, as xterm does.
                target.reset();
                target.set_style(cell_style(cell));
                col += 1;
                continue;
            }
            let contents = cell.contents();
            if contents.is_empty() || cell.is_wide_continuation() {
                target.set_symbol(" ");
            } else {
                target.set_symbol(contents);
            }
            target.set_style(cell_style(cell));
            if cell.is_wide() {
                // ratatui skips the column after a wide symbol when diffing; keep it blank.
                buf[(area.x + col + 1, area.y + row)].reset();
                col += 2;
            } else {
                col += 1;
            }
        }
    }
}

/// Where the program's cursor is on the outer screen, when it is visible and inside `area`.
pub fn cursor_position(screen: &vt100::Screen, area: Rect) -> Option<(u16, u16)> {
    if screen.hide_cursor() {
        return None;
    }
    let (row, col) = screen.cursor_position();
    (row < area.height && col < area.width).then(|| (area.x + col, area.y + row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::term::clamp_dim;

    fn render(input: &[u8], w: u16, h: u16) -> Buffer {
        let mut p = vt100::Parser::new(clamp_dim(h), clamp_dim(w), 0);
        p.process(input);
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        render_screen(p.screen(), area, &mut buf);
        buf
    }

    #[test]
    fn colours_and_attributes_are_copied() {
        let buf = render(
            b"\x1b[1;31mR\x1b[0;38;5;200;48;2;1;2;3mX\x1b[0;3;4;7;2mY",
            10,
            2,
        );
        let r = &buf[(0, 0)];
        assert_eq!(r.symbol(), "R");
        assert_eq!(r.fg, Color::Indexed(1));
        assert!(r.modifier.contains(Modifier::BOLD));
        let x = &buf[(1, 0)];
        assert_eq!((x.fg, x.bg), (Color::Indexed(200), Color::Rgb(1, 2, 3)));
        let y = &buf[(2, 0)];
        for m in [
            Modifier::ITALIC,
            Modifier::UNDERLINED,
            Modifier::REVERSED,
            Modifier::DIM,
        ] {
            assert!(y.modifier.contains(m), "{m:?}");
        }
    }

    #[test]
    fn wide_characters_take_two_columns() {
        let buf = render("a漢b".as_bytes(), 10, 2);
        assert_eq!(buf[(0, 0)].symbol(), "a");
        assert_eq!(buf[(1, 0)].symbol(), "漢");
        assert_eq!(buf[(2, 0)].symbol(), " ");
        assert_eq!(buf[(3, 0)].symbol(), "b");
    }

    #[test]
    fn cursor_follows_and_hides() {
        let mut p = vt100::Parser::new(clamp_dim(5), clamp_dim(10), 0);
        p.process(b"ab\r\nc");
        let area = Rect::new(3, 1, 10, 5);
        assert_eq!(cursor_position(p.screen(), area), Some((4, 2)));
        p.process(b"\x1b[?25l");
        assert_eq!(cursor_position(p.screen(), area), None);
    }
}
