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

fn is_blank(cell: &vt100::Cell) -> bool {
    !cell.has_contents()
        && cell.fgcolor() == vt100::Color::Default
        && cell.bgcolor() == vt100::Color::Default
        && !cell.inverse()
        && !cell.underline()
}

/// What a frame did with one row of the pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaneRow {
    /// Not drawn: it shows what it showed last frame.
    Kept,
    /// Drawn, with only blanks in it.
    Blank,
    /// Drawn, with something in it.
    Drawn,
}

/// Draws `screen` into `area` of `buf` (which the caller has reset, as ratatui does for every
/// frame), top-left aligned; cells outside the screen stay blank. Returns, per row of `area`,
/// whether only blanks were drawn in it (the compositor skips such rows).
pub fn render_screen(screen: &vt100::Screen, area: Rect, buf: &mut Buffer) -> Vec<bool> {
    render_all(screen, area, buf)
        .into_iter()
        .map(|r| r == PaneRow::Blank)
        .collect()
}

/// [`render_screen`], saying per row what was drawn.
pub fn render_all(screen: &vt100::Screen, area: Rect, buf: &mut Buffer) -> Vec<PaneRow> {
    render(screen, area, buf, None)
}

/// Draws the rows of `area` for which `redraw` is true, blanking each first, and leaves the
/// others as they are in `buf`.
pub fn render_rows(
    screen: &vt100::Screen,
    area: Rect,
    buf: &mut Buffer,
    redraw: impl Fn(u16) -> bool,
) -> Vec<PaneRow> {
    render(screen, area, buf, Some(&redraw))
}

fn render(
    screen: &vt100::Screen,
    area: Rect,
    buf: &mut Buffer,
    redraw: Option<&dyn Fn(u16) -> bool>,
) -> Vec<PaneRow> {
    let mut out = vec![PaneRow::Blank; usize::from(area.height)];
    if area.is_empty() {
        return out;
    }
    let (rows, cols) = screen.size();
    let height = area.height.min(rows.get());
    let width = area.width.min(cols.get());
    for row in 0..area.height {
        if let Some(redraw) = redraw {
            if !redraw(row) {
                out[usize::from(row)] = PaneRow::Kept;
                continue;
            }
            let start = buf.index_of(area.x, area.y + row);
            for cell in &mut buf.content[start..start + usize::from(area.width)] {
                cell.reset();
            }
        }
        if row >= height {
            continue;
        }
        // `Screen::cell` is vt100's only public way to a cell and finds the row afresh on every
        // call (an iterator chain over scrollback and screen rows): ~18 ns a cell, 180 µs for a
        // whole 200x50 pane (benches/render.rs). Reading the row's storage directly was faster
        // but needed a slice over vt100's private Vec, unsound and tied to one vt100 release.
        let cells = (0..width).map_while(|col| screen.cell(row, col));
        if render_row(cells, area, row, width, buf) {
            out[usize::from(row)] = PaneRow::Drawn;
        }
    }
    out
}

/// Draws one row; returns whether anything but blanks was drawn.
fn render_row<'a>(
    cells: impl Iterator<Item = &'a vt100::Cell>,
    area: Rect,
    row: u16,
    width: u16,
    buf: &mut Buffer,
) -> bool {
    let mut drawn = false;
    let base = buf.index_of(area.x, area.y + row);
    let mut skip_next = false;
    for (col, cell) in cells.take(usize::from(width)).enumerate() {
        let col = col as u16;
        if std::mem::take(&mut skip_next) {
            // The right half of a wide character: ratatui skips it when diffing; blank.
            continue;
        }
        if is_blank(cell) {
            // Already blank: the buffer was reset for this frame.
            continue;
        }
        drawn = true;
        let target = &mut buf.content[base + usize::from(col)];
        if cell.is_wide() && col + 1 >= width {
            // Half a wide character doesn't fit at the right edge: show a blank, as xterm does.
            target.set_style(cell_style(cell));
            continue;
        }
        let contents = cell.contents();
        if !contents.is_empty() && !cell.is_wide_continuation() {
            target.set_symbol(&crate::term::shown(contents));
        }
        target.set_style(cell_style(cell));
        skip_next = cell.is_wide();
    }
    drawn
}

/// Applies the colours a program set (OSC 4/10/11, which vt100 does not store) to the rows
/// of `area` just drawn (not `Kept`): palette indexes it changed and the default colours
/// become direct colours; in reverse video (DECSCNM) every cell is drawn reversed. With a
/// default background set or in reverse video no row is blank on the screen.
pub fn apply_palette(
    palette: &crate::term::palette::Palette,
    area: Rect,
    buf: &mut Buffer,
    rows: &mut [PaneRow],
) {
    if palette.is_empty() || area.is_empty() {
        return;
    }
    let tags = &palette.tags;
    let rgb = |(r, g, b): (u8, u8, u8)| Color::Rgb(r, g, b);
    let map = |c: Color, default: Option<(u8, u8, u8)>| match c {
        Color::Indexed(i) => palette.index(i).map_or(c, rgb),
        Color::Reset => default.map_or(c, rgb),
        _ => c,
    };
    for (r, state) in rows.iter_mut().enumerate().take(usize::from(area.height)) {
        if *state == PaneRow::Kept {
            continue;
        }
        if palette.background().is_some() || palette.reverse() {
            *state = PaneRow::Drawn;
        }
        let start = buf.index_of(area.x, area.y + r as u16);
        for cell in &mut buf.content[start..start + usize::from(area.width)] {
            resolve_tag(tags, cell);
            cell.fg = map(cell.fg, palette.foreground());
            cell.bg = map(cell.bg, palette.background());
            if palette.reverse() {
                cell.modifier ^= Modifier::REVERSED;
            }
        }
    }
}

/// A cell whose foreground is a tag (`palette::Tags`): drawn in the program's foreground
/// with the attributes vt100 could not store. Overline has no ratatui modifier: not drawn.
pub fn resolve_tag(tags: &crate::term::palette::Tags, cell: &mut ratatui::buffer::Cell) {
    use crate::term::palette::{BLINK, HIDDEN, STRIKE};
    let Color::Rgb(r, g, b) = cell.fg else { return };
    let Some(extra) = tags.get(vt100::Color::Rgb(r, g, b)) else {
        return;
    };
    cell.fg = color(extra.fg);
    for (bit, m) in [
        (STRIKE, Modifier::CROSSED_OUT),
        (BLINK, Modifier::SLOW_BLINK),
        (HIDDEN, Modifier::HIDDEN),
    ] {
        if extra.bits & bit != 0 {
            cell.modifier |= m;
        }
    }
    if extra.underline != vt100::Color::Default {
        cell.underline_color = color(extra.underline);
    }
}

/// Where the program's cursor is on the outer screen, when it is visible and inside `area`.
pub fn cursor_position(screen: &vt100::Screen, area: Rect) -> Option<(u16, u16)> {
    if screen.hide_cursor() {
        return None;
    }
    // After a character in the last column vt100 leaves the column at the width (a wrap
    // is pending); xterm shows the cursor on the last column then.
    let (row, col) = screen.cursor_position();
    let col = col.min(screen.size().1.get() - 1);
    (row < area.height && col < area.width).then(|| (area.x + col, area.y + row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::clamp_dim;

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

    #[test]
    fn palette_and_default_colours_are_applied_to_drawn_rows() {
        use crate::term::palette::Palette;
        let mut p = vt100::Parser::new(clamp_dim(2), clamp_dim(4), 0);
        p.process(b"\x1b[31mR\x1b[32mG\x1b[mD");
        let area = Rect::new(0, 0, 4, 2);
        let mut buf = Buffer::empty(area);
        let mut rows = render_all(p.screen(), area, &mut buf);
        assert_eq!(rows[1], PaneRow::Blank);
        let mut pal = Palette::default();
        let mut replies = Vec::new();
        pal.osc(&[b"4", b"1", b"#102030"], &mut replies);
        pal.osc(&[b"11", b"#000080"], &mut replies);
        apply_palette(&pal, area, &mut buf, &mut rows);
        assert_eq!(buf[(0, 0)].fg, Color::Rgb(0x10, 0x20, 0x30), "index 1 set");
        assert_eq!(buf[(1, 0)].fg, Color::Indexed(2), "index 2 untouched");
        assert_eq!(buf[(2, 0)].fg, Color::Reset, "no default foreground set");
        assert_eq!(
            buf[(3, 1)].bg,
            Color::Rgb(0, 0, 0x80),
            "blank cells get the background"
        );
        assert_eq!(rows[1], PaneRow::Drawn, "not blank on the screen any more");
        // Reverse video: every cell toggled, blank rows drawn.
        let mut rev = Palette::default();
        rev.set_reverse(true);
        let mut buf3 = Buffer::empty(area);
        let mut rows3 = render_all(p.screen(), area, &mut buf3);
        apply_palette(&rev, area, &mut buf3, &mut rows3);
        assert!(buf3[(0, 0)].modifier.contains(Modifier::REVERSED));
        assert!(buf3[(3, 1)].modifier.contains(Modifier::REVERSED));
        assert_eq!(rows3[1], PaneRow::Drawn);
        // Kept rows are left alone.
        let mut buf2 = Buffer::empty(area);
        let mut kept = vec![PaneRow::Kept; 2];
        apply_palette(&pal, area, &mut buf2, &mut kept);
        assert_eq!(buf2[(0, 0)].bg, Color::Reset);
    }

    #[test]
    fn attributes_vt100_cannot_store_are_drawn() {
        use crate::term::scrollback::{Budget, Limits};
        let limits = Limits::new(10, 1 << 20);
        let mut t = crate::term::Term::new(2, 6, limits, Budget::new(1 << 30));
        t.process(b"\x1b[9;31ma\x1b[29;5mb\x1b[25;8mc\x1b[28;4;58;5;2md\x1b[me");
        let area = Rect::new(0, 0, 6, 2);
        let mut buf = Buffer::empty(area);
        let mut rows = render_all(t.screen(), area, &mut buf);
        apply_palette(t.palette(), area, &mut buf, &mut rows);
        let cell = |x: u16| &buf[(x, 0)];
        assert!(cell(0).modifier.contains(Modifier::CROSSED_OUT));
        assert_eq!(
            cell(0).fg,
            Color::Indexed(1),
            "the program's colour, not the tag"
        );
        assert!(cell(1).modifier.contains(Modifier::SLOW_BLINK));
        assert!(!cell(1).modifier.contains(Modifier::CROSSED_OUT));
        assert!(cell(2).modifier.contains(Modifier::HIDDEN));
        assert!(cell(3).modifier.contains(Modifier::UNDERLINED));
        assert_eq!(cell(3).underline_color, Color::Indexed(2));
        assert_eq!(cell(4).modifier, Modifier::empty());
        assert_eq!(cell(4).fg, Color::Reset);
    }

    #[test]
    fn cursor_shows_on_the_last_column_with_a_wrap_pending() {
        let mut p = vt100::Parser::new(clamp_dim(5), clamp_dim(10), 0);
        p.process(b"0123456789");
        assert_eq!(p.screen().cursor_position(), (0, 10), "vt100: wrap pending");
        let area = Rect::new(3, 1, 10, 5);
        assert_eq!(cursor_position(p.screen(), area), Some((12, 1)));
    }
}
