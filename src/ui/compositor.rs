//! Frames to the terminal: a back buffer drawn into and a front buffer holding what the
//! terminal shows, and a diff that skips what can't have changed.
//!
//! ratatui's `Terminal::draw` resets and compares every cell of every frame: 10,000 cells of
//! about 40 bytes for 200x50, two 400 KB buffers walked per keystroke's echo. Measured in the
//! running app (caches cold after the pause between two keys), that was 240 µs a frame, the
//! largest part of memmux's keystroke latency. Here three things are skipped:
//! - pane rows the session's screen did not change since the last frame (an echo changes one),
//!   in every pane of the tab, focused or not: not reset, not drawn, not compared
//!   ([`Canvas::pane_changes`]). Each compositor (one per view) keeps, per pane, the number
//!   of the screen's change log it last drew (`Term::changes`), and its direct draws
//!   ([`Compositor::draw_pane_rows`]) move that number too: two views of one screen each draw
//!   every change once;
//! - pane rows that held only blanks in this frame and the last (a shell screen is mostly such
//!   rows): not compared;
//! - areas whose drawer passes the same key as last frame ([`Canvas::keep`]; the memory panel,
//!   which changes once a sample): not reset, not drawn, not compared;
//! - after the diff, only the changed cells are copied to the front buffer, so the two stay
//!   equal and everything skipped is known to be right on the terminal.
//!
//! When the areas change between frames (a resize, the panel toggled, an overlay), the frame
//! is drawn again whole. The diff follows ratatui's rule for wide characters: writing over any
//! column of one erases all of it, so those columns are sent again.

use std::io::Write;

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::queue;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;

use super::pane::PaneRow;
use crate::term::{Changes, Damage};

/// What the drawing code hands back besides the buffer.
pub struct Canvas<'a> {
    area: Rect,
    buf: &'a mut Buffer,
    cursor: Option<(u16, u16)>,
    /// Areas kept from the last frame may be reused (false while drawing a frame whole).
    reuse: bool,
    /// The keyed areas of the last frame, and those declared in this one (whether kept).
    prev_keyed: &'a [(Rect, u64)],
    keyed: Vec<(Rect, u64)>,
    kept: Vec<Rect>,
    prev_panes: &'a [Slot],
    /// The panes declared before the last one, with their rows.
    panes: Vec<(Declared, Vec<PaneRow>)>,
    /// The pane declared last (its rows are `pane_rows`).
    pane: Option<Declared>,
    /// What was drawn in each row of the pane declared last; empty when unknown (all its rows
    /// are compared).
    pub pane_rows: Vec<PaneRow>,
}

/// A pane declared in a frame: its place, the screen it shows, and the number of that
/// screen's change log it is drawn up to (0: unknown).
#[derive(Clone, Copy)]
struct Declared {
    area: Rect,
    source: Option<u64>,
    seen: u64,
}

/// A pane of the last frame: its place, the screen it showed, the change it showed the
/// screen at, and which of its rows were blank.
struct Slot {
    area: Rect,
    source: Option<u64>,
    seen: u64,
    blank: Vec<bool>,
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

    /// Declares `area` as drawn from inputs summed up by `key`. Returns true when the area
    /// showed the same key last frame: it is then left as it is on the terminal and the caller
    /// draws nothing into it. Otherwise the area is blank and the caller draws it.
    pub fn keep(&mut self, area: Rect, key: u64) -> bool {
        self.keyed.push((area, key));
        let same = self.reuse && self.prev_keyed.contains(&(area, key));
        if same {
            self.kept.push(area);
        } else if self.reuse && self.prev_keyed.iter().any(|(a, _)| *a == area) {
            // Left as it was when the frame began, since it might have been kept.
            reset_area(self.buf, area);
        }
        same
    }

    /// Declares a pane's place and the screen it shows (`None`: something draws over it);
    /// its rows go in `pane_rows` until the next pane is declared. Returns true when rows the
    /// screen did not change may be kept from the last frame (`PaneRow::Kept`); otherwise the
    /// pane is blank and every row is drawn.
    pub fn pane_reuse(&mut self, area: Rect, source: Option<u64>) -> bool {
        if let Some(d) = self.pane.take() {
            self.panes.push((d, std::mem::take(&mut self.pane_rows)));
        }
        self.pane_rows.clear();
        self.pane = Some(Declared {
            area,
            source,
            seen: 0,
        });
        let prev = self
            .prev_panes
            .iter()
            .find(|p| self.reuse && p.area == area);
        if prev.is_some_and(|p| source.is_some() && p.source == source) {
            return true;
        }
        if prev.is_some() {
            // Left as it was when the frame began, since rows might have been kept.
            reset_area(self.buf, area);
        }
        false
    }

    /// Declares a pane as [`Canvas::pane_reuse`] does, showing a screen whose change log is
    /// `changes` (the caller holds its term locked until the rows are drawn). Returns the rows
    /// to draw: `Some` when the others may be kept from the last frame (what changed since
    /// this compositor last drew the pane, in a frame or directly); `None` when the pane is
    /// blank and every row is drawn.
    pub fn pane_changes(
        &mut self,
        area: Rect,
        source: Option<u64>,
        changes: &Changes,
    ) -> Option<Damage> {
        let seen = self
            .prev_panes
            .iter()
            .find(|p| p.area == area && p.source == source)
            .map_or(0, |p| p.seen);
        let reuse = self.pane_reuse(area, source);
        if let Some(d) = &mut self.pane {
            d.seen = changes.seq();
        }
        reuse.then(|| changes.since(seen))
    }

    /// Forgets what was drawn in the rows of every pane declared so far (something was
    /// drawn over them): all their rows are compared.
    pub fn forget_pane_rows(&mut self) {
        self.pane_rows.clear();
        for (_, rows) in &mut self.panes {
            rows.clear();
        }
    }

    /// Every pane declared, with its rows.
    fn take_panes(&mut self) -> Vec<(Declared, Vec<PaneRow>)> {
        let mut panes = std::mem::take(&mut self.panes);
        if let Some(d) = self.pane.take() {
            panes.push((d, std::mem::take(&mut self.pane_rows)));
        }
        panes
    }
}

/// Sends `changes` of `buf`, placing the cursor again after any cell whose width the outer
/// terminal may see otherwise than vt100 does (`unsure_width`): ratatui's backend moves the
/// cursor only where the next cell is not the one after, so a character the terminal drew
/// zero columns wide shifted the rest of the row (seen: U+0605 from `/dev/urandom` pushed the
/// pane's last column over the panel's border).
fn draw_cells<W: Write>(
    backend: &mut CrosstermBackend<W>,
    buf: &Buffer,
    changes: &[(u16, u16)],
) -> std::io::Result<()> {
    let mut start = 0;
    for (i, &(x, y)) in changes.iter().enumerate() {
        if unsure_width(buf[(x, y)].symbol()) {
            let part = &changes[start..=i];
            backend.draw(part.iter().map(|&(x, y)| (x, y, &buf[(x, y)])))?;
            start = i + 1;
        }
    }
    let rest = &changes[start..];
    if !rest.is_empty() || start == 0 {
        backend.draw(rest.iter().map(|&(x, y)| (x, y, &buf[(x, y)])))?;
    }
    Ok(())
}

/// Whether terminals may disagree on how wide `symbol` is. Characters outside the ranges
/// below (format characters such as U+0605 or U+200B, emoji, variation selectors, scripts
/// whose width tables differ between libc versions) are unsure; wide CJK characters are
/// placed after anyway (the next cell is two columns on, so the backend moves the cursor).
fn unsure_width(symbol: &str) -> bool {
    symbol.chars().any(|c| {
        !matches!(u32::from(c),
            // ASCII; Latin, Greek and Cyrillic (without U+00AD, the soft hyphen).
            0x20..=0x7e | 0xa0..=0xac | 0xae..=0x52f
            // Punctuation, currency signs; arrows, mathematical and technical symbols.
            | 0x2010..=0x2027 | 0x2030..=0x205e | 0x20a0..=0x20c0 | 0x2190..=0x23ff
            // Box drawing, blocks and shapes; Braille.
            | 0x2500..=0x25ff | 0x2800..=0x28ff
            // CJK punctuation, kana, ideographs, Hangul syllables, fullwidth forms.
            | 0x3000..=0x303e | 0x3041..=0x30ff | 0x4e00..=0x9fff | 0xac00..=0xd7a3
            | 0xff01..=0xff60)
    })
}

/// Draws frames on a writer (the terminal), sending only what changed.
pub struct Compositor<W: Write> {
    backend: CrosstermBackend<W>,
    /// What the terminal shows.
    front: Buffer,
    /// The frame being drawn; equal to `front` between frames.
    back: Buffer,
    /// The panes of the last frame.
    prev_panes: Vec<Slot>,
    prev_keyed: Vec<(Rect, u64)>,
    /// The screen's contents are unknown (start, resize): send everything next frame.
    full: bool,
    changes: Vec<(u16, u16)>,
    /// Where the last frame or direct draw left the terminal's cursor (`None`: hidden).
    cursor: Option<(u16, u16)>,
    /// Cells the last frame or direct draw compared with the terminal's (for tests: what a
    /// frame costs).
    compared: usize,
}

impl<W: Write> Compositor<W> {
    pub fn new(writer: W, area: Rect) -> Compositor<W> {
        Compositor {
            backend: CrosstermBackend::new(writer),
            front: Buffer::empty(area),
            back: Buffer::empty(area),
            prev_panes: Vec::new(),
            prev_keyed: Vec::new(),
            full: true,
            changes: Vec::new(),
            cursor: None,
            compared: 0,
        }
    }

    /// Cells the last frame or direct draw compared with what the terminal shows.
    pub fn compared(&self) -> usize {
        self.compared
    }

    pub fn area(&self) -> Rect {
        self.back.area
    }

    /// A new terminal size: the next frame is drawn whole, on a cleared screen.
    pub fn resize(&mut self, area: Rect) {
        self.front.resize(area);
        self.back.resize(area);
        self.full = true;
    }

    pub fn writer_mut(&mut self) -> &mut W {
        self.backend.writer_mut()
    }

    /// Renders a frame with `render` and sends the difference to the terminal. `render` runs
    /// twice when the frame's areas differ from the last frame's.
    pub fn draw(&mut self, mut render: impl FnMut(&mut Canvas<'_>)) -> std::io::Result<()> {
        let area = self.back.area;
        let mut whole = self.full;
        let (cursor, panes, keyed, kept) = loop {
            if whole {
                self.back.reset();
            } else {
                // Everything but what may be reused: the pane and keyed areas are reset by
                // `pane_reuse` and `keep` unless kept.
                let mut skip: Vec<Rect> = self.prev_keyed.iter().map(|(a, _)| *a).collect();
                skip.extend(self.prev_panes.iter().map(|p| p.area));
                let mut spans = Vec::new();
                for y in area.top()..area.bottom() {
                    spans_outside(y, area, &skip, &mut spans);
                    for &(x0, x1) in &spans {
                        let row = self.back.index_of(x0, y);
                        for cell in &mut self.back.content[row..row + usize::from(x1 - x0)] {
                            cell.reset();
                        }
                    }
                }
            }
            let mut canvas = Canvas {
                area,
                buf: &mut self.back,
                cursor: None,
                reuse: !whole,
                prev_keyed: &self.prev_keyed,
                keyed: Vec::new(),
                kept: Vec::new(),
                prev_panes: &self.prev_panes,
                panes: Vec::new(),
                pane: None,
                pane_rows: Vec::new(),
            };
            render(&mut canvas);
            let panes = canvas.take_panes();
            let Canvas {
                cursor,
                keyed,
                kept,
                ..
            } = canvas;
            // The same pane places, in any order (the focused pane is declared last).
            let same_panes = panes.len() == self.prev_panes.len()
                && panes
                    .iter()
                    .all(|(d, _)| self.prev_panes.iter().any(|p| p.area == d.area));
            let same_areas = same_panes
                && keyed.len() == self.prev_keyed.len()
                && keyed
                    .iter()
                    .zip(&self.prev_keyed)
                    .all(|((a, _), (b, _))| a == b);
            if whole || same_areas {
                break (cursor, panes, keyed, kept);
            }
            whole = true;
        };

        if self.full {
            self.backend.clear()?;
            // Compare against a blank screen: every non-blank cell is sent.
            self.front.reset();
        }
        self.changes.clear();
        self.compared = 0;
        // Not compared: kept areas and pane rows, and pane rows blank in this frame and the
        // last.
        let mut skip = kept;
        let mut slots = Vec::with_capacity(panes.len());
        for (
            Declared {
                area: pane,
                source,
                seen,
            },
            rows,
        ) in panes
        {
            let unknown = rows.len() != usize::from(pane.height);
            let mut blank = vec![false; usize::from(pane.height)];
            let prev_blank = self
                .prev_panes
                .iter()
                .find(|p| !whole && p.area == pane)
                .map_or(&[][..], |p| &p.blank[..]);
            if !unknown {
                let mut same = vec![false; rows.len()];
                for (r, row) in rows.iter().enumerate() {
                    let before = prev_blank.get(r).copied().unwrap_or(false);
                    (same[r], blank[r]) = match row {
                        PaneRow::Kept => (true, before),
                        PaneRow::Blank => (before, true),
                        PaneRow::Drawn => (false, false),
                    };
                }
                skip.extend(row_rects(pane, &same));
            }
            slots.push(Slot {
                area: pane,
                source,
                seen,
                blank,
            });
        }
        let mut spans = Vec::new();
        for y in area.top()..area.bottom() {
            spans_outside(y, area, &skip, &mut spans);
            for &(x0, x1) in &spans {
                self.diff_span(y, x0, x1);
            }
        }
        for &(x, y) in &self.changes {
            let i = self.back.index_of(x, y);
            self.front.content[i].clone_from(&self.back.content[i]);
        }
        draw_cells(&mut self.backend, &self.back, &self.changes)?;
        self.place_cursor(cursor)?;
        self.prev_panes = slots;
        self.prev_keyed = keyed;
        self.full = false;
        Ok(())
    }

    /// Draws the rows of `pane` that changed (`changes`) since this compositor last drew it,
    /// and the screen's cursor, when the last frame showed this screen (`source`) in this
    /// place; touches nothing else. The pane then counts as drawn up to the latest change: the
    /// next frame draws none of these rows again. Returns false, having done nothing, when the
    /// pane is not there as is or every row changed (a frame is needed).
    pub fn draw_pane_rows(
        &mut self,
        pane: Rect,
        source: u64,
        screen: &vt100::Screen,
        palette: &crate::term::palette::Palette,
        changes: &Changes,
    ) -> std::io::Result<bool> {
        let slot = self.prev_panes.iter().position(|p| {
            p.area == pane && p.source == Some(source) && p.blank.len() == usize::from(pane.height)
        });
        let Some(slot) = slot.filter(|_| !self.full) else {
            return Ok(false);
        };
        let damage = changes.since(self.prev_panes[slot].seen);
        if damage.is_all() {
            return Ok(false);
        }
        if damage.is_none() {
            return Ok(true);
        }
        let mut rows =
            super::pane::render_rows(screen, pane, &mut self.back, |r| damage.contains(r));
        super::pane::apply_palette(palette, pane, &mut self.back, &mut rows);
        self.changes.clear();
        self.compared = 0;
        for (r, row) in rows.iter().enumerate() {
            let y = pane.y + r as u16;
            match row {
                PaneRow::Kept => {}
                PaneRow::Blank if self.prev_panes[slot].blank[r] => {}
                PaneRow::Blank => {
                    self.diff_span(y, pane.left(), pane.right());
                    self.prev_panes[slot].blank[r] = true;
                }
                PaneRow::Drawn => {
                    self.diff_span(y, pane.left(), pane.right());
                    self.prev_panes[slot].blank[r] = false;
                }
            }
        }
        for &(x, y) in &self.changes {
            let i = self.back.index_of(x, y);
            self.front.content[i].clone_from(&self.back.content[i]);
        }
        // Drawn into both buffers: whatever the write does, the next frame compares from
        // here, as it does after a frame.
        self.prev_panes[slot].seen = changes.seq();
        draw_cells(&mut self.backend, &self.back, &self.changes)?;
        self.place_cursor(super::pane::cursor_position(screen, pane))?;
        Ok(true)
    }

    /// Draws `area` again with `render` when it was drawn by a key ([`Canvas::keep`]) in the
    /// last frame and `key` differs from that one; touches nothing else. The area then counts
    /// as drawn by `key`; [`Compositor::place_cursor_again`] sends it. Returns false, having
    /// done nothing, when the last frame had no such area (a frame is needed).
    ///
    /// A chart column's frame at 1,000 tabs drew and compared the whole screen (the tab bar
    /// over 1,000 tabs, every session's size, the panel's plan and scale): this draws the
    /// panel's part that changed.
    pub fn draw_keyed(
        &mut self,
        area: Rect,
        key: u64,
        render: impl FnOnce(&mut Buffer),
    ) -> std::io::Result<bool> {
        let slot = self.prev_keyed.iter().position(|(a, _)| *a == area);
        let Some(slot) = slot.filter(|_| !self.full) else {
            return Ok(false);
        };
        self.changes.clear();
        if self.prev_keyed[slot].1 == key {
            return Ok(true);
        }
        reset_area(&mut self.back, area);
        render(&mut self.back);
        for y in area.top()..area.bottom() {
            self.diff_span(y, area.left(), area.right());
        }
        for &(x, y) in &self.changes {
            let i = self.back.index_of(x, y);
            self.front.content[i].clone_from(&self.back.content[i]);
        }
        self.prev_keyed[slot].1 = key;
        draw_cells(&mut self.backend, &self.back, &self.changes)?;
        Ok(true)
    }

    /// Puts the cursor back where the last frame or direct draw left it, and sends what was
    /// drawn: after [`Compositor::draw_keyed`].
    pub fn place_cursor_again(&mut self) -> std::io::Result<()> {
        self.place_cursor(self.cursor)
    }

    /// Starts drawing keyed areas alone ([`Compositor::draw_keyed`]): what they compare is
    /// counted from here.
    pub fn begin_keyed(&mut self) {
        self.compared = 0;
    }

    /// Shows the cursor at `at` (hides it for `None`) and sends what was queued.
    fn place_cursor(&mut self, at: Option<(u16, u16)>) -> std::io::Result<()> {
        let w = self.backend.writer_mut();
        match at {
            Some((x, y)) => queue!(w, MoveTo(x, y), Show)?,
            None => queue!(w, Hide)?,
        }
        self.cursor = at;
        Backend::flush(&mut self.backend)
    }

    /// Records the cells of row `y` in `[x0, x1)` that differ from the last frame.
    fn diff_span(&mut self, y: u16, x0: u16, x1: u16) {
        let area = self.back.area;
        let w = usize::from(area.width);
        let row = usize::from(y - area.y) * w;
        let (from, to) = (usize::from(x0 - area.x), usize::from(x1 - area.x));
        self.compared += to.saturating_sub(from);
        let next = &self.back.content[row..row + w];
        let prev = &self.front.content[row..row + w];
        let mut i = from;
        // Columns a wide character covered on the terminal until here: stale even where the
        // buffers agree, since writing over either half erases the whole character.
        let mut stale_until = from;
        while i < to {
            let (n, p) = (&next[i], &prev[i]);
            if n == p && i >= stale_until {
                i += cell_width(n).max(1);
                continue;
            }
            self.changes.push((area.x + i as u16, y));
            let nw = cell_width(n).max(1);
            // Every character the new one is written over, whole.
            for (k, old) in prev.iter().enumerate().take((i + nw).min(w)).skip(i) {
                stale_until = stale_until.max(k + cell_width(old));
            }
            i += nw;
        }
    }
}

/// The pane rows marked in `blank`, as rectangles (consecutive rows merged).
fn row_rects(pane: Rect, blank: &[bool]) -> Vec<Rect> {
    let mut out = Vec::new();
    let mut r = 0;
    while r < blank.len().min(usize::from(pane.height)) {
        if !blank[r] {
            r += 1;
            continue;
        }
        let start = r;
        while r < blank.len().min(usize::from(pane.height)) && blank[r] {
            r += 1;
        }
        out.push(Rect::new(
            pane.x,
            pane.y + start as u16,
            pane.width,
            (r - start) as u16,
        ));
    }
    out
}

/// The spans `[x0, x1)` of row `y` of `area` that none of `skip` covers, into `out`.
fn spans_outside(y: u16, area: Rect, skip: &[Rect], out: &mut Vec<(u16, u16)>) {
    out.clear();
    out.push((area.left(), area.right()));
    for r in skip.iter().filter(|r| r.top() <= y && y < r.bottom()) {
        let mut i = 0;
        while i < out.len() {
            let (a, b) = out[i];
            let (c, d) = (r.left().max(a), r.right().min(b));
            if c >= d {
                i += 1;
                continue;
            }
            out.remove(i);
            if d < b {
                out.insert(i, (d, b));
            }
            if a < c {
                out.insert(i, (a, c));
                i += 1;
            }
        }
    }
}

/// Blanks the cells of `area`.
fn reset_area(buf: &mut Buffer, area: Rect) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        let row = buf.index_of(area.x, y);
        for cell in &mut buf.content[row..row + usize::from(area.width)] {
            cell.reset();
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
            if !pane.is_empty() {
                c.pane_reuse(pane, None);
                c.pane_rows = blank
                    .iter()
                    .map(|b| if *b { PaneRow::Blank } else { PaneRow::Drawn })
                    .collect();
            }
            for (x, y, s) in text {
                c.buffer_mut().set_string(*x, *y, s, Style::new());
            }
        })
        .unwrap();
        String::from_utf8_lossy(comp.writer_mut()).to_string()
    }

    #[test]
    fn the_cursor_is_placed_again_after_a_character_of_unsure_width() {
        let area = Rect::new(0, 0, 20, 1);
        let mut c = Compositor::new(Vec::new(), area);
        // U+0605: one column for vt100 (unicode-width), none for glibc's wcwidth (tmux). In
        // its own cell, as vt100 keeps it (ratatui's set_string would join it to the `b`).
        c.writer_mut().clear();
        c.draw(|f| {
            let b = f.buffer_mut();
            b.set_string(0, 0, "a", Style::new());
            b[(1, 0)].set_symbol("\u{605}");
            b.set_string(2, 0, "bc", Style::new());
        })
        .unwrap();
        let out = String::from_utf8_lossy(c.writer_mut()).to_string();
        let after = out.split('\u{605}').nth(1).unwrap_or_default();
        assert!(
            after.contains("\x1b[1;3Hbc"),
            "no cursor move before `b`: {out:?}"
        );
        // Plain text and the panel's own characters are sent as one run.
        let out = frame(&mut c, &[(0, 0, "x█▁│é-yz")], Rect::default(), vec![]);
        assert_eq!(out.matches('H').count(), 1, "{out:?}");
        assert!(unsure_width("\u{200b}") && unsure_width("😀") && !unsure_width("漢"));
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

    /// A frame with a kept-or-drawn area `panel` (text `label` under key `key`) and a pane
    /// whose rows are `Kept` unless listed in `redraw` with their new text.
    fn keyed_frame(
        comp: &mut Compositor<Vec<u8>>,
        key: u64,
        label: &str,
        redraw: &[(u16, &str)],
    ) -> String {
        comp.writer_mut().clear();
        let (pane, panel) = (Rect::new(0, 0, 10, 3), Rect::new(10, 0, 6, 3));
        comp.draw(|c| {
            let reuse = c.pane_reuse(pane, Some(7));
            c.pane_rows = (0..3)
                .map(|r| match redraw.iter().find(|(row, _)| *row == r) {
                    Some((_, text)) => {
                        for x in 0..10 {
                            c.buffer_mut()[(x, r)].reset();
                        }
                        c.buffer_mut().set_string(0, r, text, Style::new());
                        PaneRow::Drawn
                    }
                    None if reuse => PaneRow::Kept,
                    None => PaneRow::Blank,
                })
                .collect();
            if !c.keep(panel, key) {
                c.buffer_mut().set_string(10, 1, label, Style::new());
            }
        })
        .unwrap();
        String::from_utf8_lossy(comp.writer_mut()).to_string()
    }

    /// The screen a terminal shows after `bytes`.
    fn screen_of(bytes: &[u8]) -> Vec<String> {
        let dim = |n| std::num::NonZeroU16::new(n).expect("not zero");
        let mut p = vt100::Parser::new(dim(3), dim(16), 0);
        p.process(bytes);
        p.screen()
            .rows(0, 16)
            .map(|r| r.trim_end().to_string())
            .collect()
    }

    #[test]
    fn kept_areas_and_rows_are_neither_drawn_nor_sent_yet_stay_on_screen() {
        let mut c = Compositor::new(Vec::new(), Rect::new(0, 0, 16, 3));
        let mut all = keyed_frame(&mut c, 1, "one", &[(0, "$ ls"), (1, "a b")]);
        // The same key and no pane rows to redraw: nothing but the cursor goes out.
        let out = keyed_frame(&mut c, 1, "two", &[]);
        assert!(
            !out.contains("ls") && !out.contains("one") && !out.contains("two"),
            "{out:?}"
        );
        all.push_str(&out);
        // A new key draws the area again; a redrawn row is sent, the others are not.
        let out = keyed_frame(&mut c, 2, "three", &[(1, "a b c")]);
        assert!(out.contains("three") && out.contains('c'), "{out:?}");
        assert!(!out.contains("ls"), "{out:?}");
        all.push_str(&out);
        assert_eq!(
            screen_of(all.as_bytes()),
            vec!["$ ls", "a b c     three", ""]
        );
    }

    #[test]
    fn a_pane_without_a_source_is_drawn_whole() {
        let mut c = Compositor::new(Vec::new(), Rect::new(0, 0, 16, 3));
        let mut all = keyed_frame(&mut c, 1, "one", &[(0, "$ ls"), (1, "a b")]);
        let out = frame(
            &mut c,
            &[(0, 0, "$ ls")],
            Rect::new(0, 0, 10, 3),
            vec![false; 3],
        );
        all.push_str(&out);
        // The panel was not declared: the frame was drawn whole, and row 1 is gone.
        assert_eq!(screen_of(all.as_bytes()), vec!["$ ls", "", ""]);
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
