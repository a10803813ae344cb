//! Frames to the terminal: two ratatui buffers and a diff that skips what can't have changed.
//!
//! ratatui's `Terminal::draw` compares every cell of the frame: 10,000 comparisons for 200x50,
//! about 100 µs, a third of memmux's CPU while typing. Here the pane reports which of its rows
//! held only blanks, and rows blank in both frames are not compared at all; a shell screen is
//! mostly such rows. The rest of the diff follows ratatui's rules for wide characters.

use std::io::Write;

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::queue;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;

/// What the drawing code hands back besides the buffer.
pub struct Canvas<'a> {
    area: Rect,
    buf: &'a mut Buffer,
    cursor: Option<(u16, u16)>,
    /// The pane's place, and per pane row whether only blanks were drawn in it.
    pub pane: Rect,
    pub pane_blank: Vec<bool>,
}

impl Canvas<'_> {
    pub fn area(&self) -> Rect {
        self.area
    }

    pub fn buffer_mut(&mut self) -> &mut Buffer {
        self.buf
    }

    pub fn set_cursor_position(&mut self, pos: (u16, u16)) {
        self.cursor = Some(pos);
    }
}

/// Draws frames on a writer (the terminal), sending only what changed.
pub struct Compositor<W: Write> {
    backend: CrosstermBackend<W>,
    prev: Buffer,
    next: Buffer,
    prev_pane: Rect,
    prev_blank: Vec<bool>,
    /// The screen's contents are unknown (start, resize): send everything next frame.
    full: bool,
    changes: Vec<(u16, u16)>,
}

impl<W: Write> Compositor<W> {
    pub fn new(writer: W, area: Rect) -> Compositor<W> {
        Compositor {
            backend: CrosstermBackend::new(writer),
            prev: Buffer::empty(area),
            next: Buffer::empty(area),
            prev_pane: Rect::default(),
            prev_blank: Vec::new(),
            full: true,
            changes: Vec::new(),
        }
    }

    pub fn area(&self) -> Rect {
        self.next.area
    }

    /// A new terminal size: the next frame is drawn whole, on a cleared screen.
    pub fn resize(&mut self, area: Rect) {
        self.prev.resize(area);
        self.next.resize(area);
        self.full = true;
    }

    pub fn writer_mut(&mut self) -> &mut W {
        self.backend.writer_mut()
    }

    /// Renders a frame with `render` and sends the difference to the terminal.
    pub fn draw(&mut self, render: impl FnOnce(&mut Canvas<'_>)) -> std::io::Result<()> {
        let area = self.next.area;
        self.next.reset();
        let mut canvas = Canvas {
            area,
            buf: &mut self.next,
            cursor: None,
            pane: Rect::default(),
            pane_blank: Vec::new(),
        };
        render(&mut canvas);
        let cursor = canvas.cursor;
        let pane = canvas.pane;
        let blank = std::mem::take(&mut canvas.pane_blank);

        if self.full {
            self.backend.clear()?;
            // Compare against a blank screen: every non-blank cell is sent.
            self.prev.reset();
        }
        self.changes.clear();
        let width = area.width;
        for y in area.top()..area.bottom() {
            let pane_row = y
                .checked_sub(pane.y)
                .filter(|r| *r < pane.height)
                .map(usize::from);
            let skip_pane = !self.full
                && pane == self.prev_pane
                && pane_row.is_some_and(|r| {
                    blank.get(r).copied().unwrap_or(false)
                        && self.prev_blank.get(r).copied().unwrap_or(false)
                });
            if skip_pane {
                self.diff_span(y, area.left(), pane.left());
                self.diff_span(y, pane.right(), area.left() + width);
            } else {
                self.diff_span(y, area.left(), area.left() + width);
            }
        }
        let next = &self.next;
        self.backend
            .draw(self.changes.iter().map(|&(x, y)| (x, y, &next[(x, y)])))?;
        let w = self.backend.writer_mut();
        match cursor {
            Some((x, y)) => queue!(w, MoveTo(x, y), Show)?,
            None => queue!(w, Hide)?,
        }
        Backend::flush(&mut self.backend)?;
        std::mem::swap(&mut self.prev, &mut self.next);
        self.prev_pane = pane;
        self.prev_blank = blank;
        self.full = false;
        Ok(())
    }

    /// Records the cells of row `y` in `[x0, x1)` that differ from the last frame.
    fn diff_span(&mut self, y: u16, x0: u16, x1: u16) {
        let area = self.next.area;
        let w = usize::from(area.width);
        let row = usize::from(y - area.y) * w;
        let (from, to) = (usize::from(x0 - area.x), usize::from(x1 - area.x));
        let next = &self.next.content[row..row + w];
        let prev = &self.prev.content[row..row + w];
        let mut i = from;
        while i < to {
            let (n, p) = (&next[i], &prev[i]);
            if n == p {
                i += cell_width(n).max(1);
                continue;
            }
            self.changes.push((area.x + i as u16, y));
            let (nw, pw) = (cell_width(n), cell_width(p));
            // A wide character replaced by a narrow one: the columns it covered are stale on
            // the terminal even where the buffers agree.
            if pw > nw {
                let end = (i + pw).min(to);
                for (k, cell) in next.iter().enumerate().take(end).skip(i + 1) {
                    if cell_width(cell) <= 1 {
                        self.changes.push((area.x + k as u16, y));
                    }
                }
                i += pw;
            } else {
                i += nw.max(1);
            }
        }
    }
}

fn cell_width(c: &Cell) -> usize {
    let s = c.symbol();
    if s.len() == 1 { 1 } else { s.width() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Style};

    fn frame(
        comp: &mut Compositor<Vec<u8>>,
        text: &[(u16, u16, &str)],
        pane: Rect,
        blank: Vec<bool>,
    ) -> String {
        comp.writer_mut().clear();
        comp.draw(|c| {
            for (x, y, s) in text {
                c.buffer_mut().set_string(*x, *y, s, Style::new());
            }
            c.pane = pane;
            c.pane_blank = blank.clone();
        })
        .unwrap();
        String::from_utf8_lossy(comp.writer_mut()).to_string()
    }

    #[test]
    fn only_changes_are_sent() {
        let area = Rect::new(0, 0, 20, 3);
        let mut c = Compositor::new(Vec::new(), area);
        let out = frame(&mut c, &[(0, 0, "hello")], Rect::default(), vec![]);
        assert!(out.contains("hello"));
        let out = frame(
            &mut c,
            &[(0, 0, "hello"), (6, 1, "x")],
            Rect::default(),
            vec![],
        );
        assert!(!out.contains("hello"), "{out:?}");
        assert!(out.contains('x'));
    }

    #[test]
    fn blank_pane_rows_are_not_compared_but_real_changes_are_sent() {
        let area = Rect::new(0, 0, 20, 4);
        let pane = Rect::new(0, 1, 10, 2);
        let mut c = Compositor::new(Vec::new(), area);
        frame(&mut c, &[], pane, vec![true, true]);
        // Text outside the pane on a row whose pane part is blank still goes out.
        let out = frame(&mut c, &[(12, 1, "side")], pane, vec![true, true]);
        assert!(out.contains("side"), "{out:?}");
        // A pane row that gets text is no longer blank: it is sent.
        let out = frame(
            &mut c,
            &[(12, 1, "side"), (0, 2, "pane")],
            pane,
            vec![true, false],
        );
        assert!(out.contains("pane"), "{out:?}");
        // And it is erased when it goes blank again (blank now, not blank before).
        let out = frame(&mut c, &[(12, 1, "side")], pane, vec![true, true]);
        assert!(
            out.contains("    ") || out.matches(' ').count() >= 4,
            "{out:?}"
        );
    }

    #[test]
    fn a_wide_character_replaced_by_narrow_ones_is_fully_redrawn() {
        let area = Rect::new(0, 0, 10, 1);
        let mut c = Compositor::new(Vec::new(), area);
        frame(&mut c, &[(0, 0, "漢")], Rect::default(), vec![]);
        let out = frame(&mut c, &[(0, 0, "a")], Rect::default(), vec![]);
        // Both columns the wide character covered are rewritten.
        assert!(out.contains('a'));
        assert!(out.ends_with("\x1b[?25l") || out.contains(' '), "{out:?}");
        let _ = Color::Reset;
    }
}
