//! The scroll view over a session: its history followed by its live screen, with a cursor,
//! a selection and search. Rows are numbered absolutely (a history row keeps its number as
//! rows arrive and old ones are evicted), so new output never moves what the user reads.

use crate::term::Term;

mod rows;
mod words;

pub use rows::{CellLook, Found, Point, Rows};
use words::Walker;
pub use words::WordMotion;

/// An open search prompt or the last search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    pub query: String,
    pub backward: bool,
}

/// What a selection covers between its anchor and the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Shape {
    /// Characters in reading order (`v`).
    #[default]
    Chars,
    /// Whole lines (`V`).
    Lines,
    /// The rectangle with the two as corners (`C-v` or `r`).
    Rect,
}

/// A jump to a character on the cursor's line: `f` (to it), `t` (till, one before it), `F`
/// and `T` the same backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    To,
    Till,
    BackTo,
    BackTill,
}

impl Jump {
    fn reversed(self) -> Jump {
        match self {
            Jump::To => Jump::BackTo,
            Jump::Till => Jump::BackTill,
            Jump::BackTo => Jump::To,
            Jump::BackTill => Jump::Till,
        }
    }
}

/// The state of the scroll view of the focused tab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScrollView {
    /// Absolute row shown at the top of the pane.
    pub top: u64,
    pub cursor: Point,
    /// Where the selection started, while selecting.
    pub anchor: Option<Point>,
    pub shape: Shape,
    /// `f t F T` typed, waiting for the character.
    pub jump: Option<Jump>,
    /// The last jump and its character, for `;` and `,`.
    pub last_jump: Option<(Jump, char)>,
    pub search: Option<Search>,
    /// The current match, highlighted apart from the others.
    pub found: Option<Found>,
    /// A search being typed: direction and text.
    pub prompt: Option<(bool, crate::state::LineInput)>,
    /// A short note for the status line ("not found: foo").
    pub note: Option<String>,
}

impl ScrollView {
    /// Opens the view at the bottom, with the cursor where the program's cursor is.
    pub fn new(term: &Term, height: u16) -> ScrollView {
        let rows = Rows::new(term);
        let (crow, ccol) = term.screen().cursor_position();
        let cursor = Point {
            row: rows.end() - u64::from(rows.screen_rows()) + u64::from(crow),
            col: ccol,
        };
        let mut v = ScrollView {
            top: rows.end().saturating_sub(u64::from(height)),
            cursor,
            anchor: None,
            shape: Shape::Chars,
            jump: None,
            last_jump: None,
            search: None,
            found: None,
            prompt: None,
            note: None,
        };
        v.clamp(term, height);
        v
    }

    fn max_top(rows: &Rows<'_>, height: u16) -> u64 {
        rows.end()
            .saturating_sub(u64::from(height))
            .max(rows.first())
    }

    /// Keeps the view and cursor inside the rows that exist (old rows may have been evicted).
    pub fn clamp(&mut self, term: &Term, height: u16) {
        let rows = Rows::new(term);
        let last = rows.end().saturating_sub(1).max(rows.first());
        self.top = self.top.clamp(rows.first(), Self::max_top(&rows, height));
        self.cursor.row = self.cursor.row.clamp(rows.first(), last);
        if let Some(a) = &mut self.anchor {
            a.row = a.row.clamp(rows.first(), last);
        }
    }

    /// Scrolls so the cursor is visible.
    fn follow(&mut self, term: &Term, height: u16) {
        let h = u64::from(height.max(1));
        if self.cursor.row < self.top {
            self.top = self.cursor.row;
        } else if self.cursor.row >= self.top + h {
            self.top = self.cursor.row + 1 - h;
        }
        self.clamp(term, height);
    }

    /// Moves the cursor by `delta` rows, scrolling at the edges.
    pub fn move_rows(&mut self, term: &Term, height: u16, delta: i64) {
        self.cursor.row = self.cursor.row.saturating_add_signed(delta);
        self.clamp(term, height);
        self.follow(term, height);
    }

    /// Scrolls the view by `delta` rows, the cursor moving with it.
    pub fn scroll(&mut self, term: &Term, height: u16, delta: i64) {
        let before = self.top;
        self.top = self.top.saturating_add_signed(delta);
        self.clamp(term, height);
        let moved = self.top as i64 - before as i64;
        // At an edge the view can't move: the cursor goes the rest of the way.
        self.cursor.row =
            self.cursor
                .row
                .saturating_add_signed(if moved == 0 { delta } else { moved });
        self.clamp(term, height);
        self.follow(term, height);
    }

    pub fn move_cols(&mut self, term: &Term, delta: i32) {
        let cols = term.screen().size().1.get();
        let c = i32::from(self.cursor.col) + delta;
        self.cursor.col = c.clamp(0, i32::from(cols) - 1) as u16;
    }

    pub fn line_start(&mut self) {
        self.cursor.col = 0;
    }

    pub fn line_end(&mut self, term: &Term) {
        let rows = Rows::new(term);
        let (text, cols) = rows.text(self.cursor.row);
        let trimmed = text.trim_end().chars().count();
        self.cursor.col = if trimmed == 0 { 0 } else { cols[trimmed - 1] };
    }

    pub fn to_top(&mut self, term: &Term, height: u16) {
        let first = Rows::new(term).first();
        self.top = first;
        self.cursor.row = first;
        self.clamp(term, height);
    }

    pub fn to_bottom(&mut self, term: &Term, height: u16) {
        let rows = Rows::new(term);
        self.top = Self::max_top(&rows, height);
        self.cursor.row = rows.end().saturating_sub(1);
        self.clamp(term, height);
    }

    /// True when the view shows the newest rows (the live screen's bottom).
    pub fn at_bottom(&self, term: &Term, height: u16) -> bool {
        self.top >= Self::max_top(&Rows::new(term), height)
    }

    /// `[offset/total]`: rows scrolled up from the bottom, and rows of history.
    pub fn position(&self, term: &Term, height: u16) -> (u64, usize) {
        let rows = Rows::new(term);
        (
            Self::max_top(&rows, height).saturating_sub(self.top),
            rows.history_len(),
        )
    }

    /// Runs the search (the last one, or the other way with `reverse`), moving to the match.
    pub fn search_next(&mut self, term: &Term, height: u16, reverse: bool) {
        let Some(search) = self.search.clone() else {
            self.note = Some("no search yet: / or ? to search".to_string());
            return;
        };
        let backward = search.backward != reverse;
        let rows = Rows::new(term);
        let from = self.found.map(|f| f.start).unwrap_or(self.cursor);
        match rows.find(&search.query, from, backward) {
            Some(m) => {
                self.found = Some(m);
                self.cursor = m.start;
                self.note = None;
                // Put the match a third of the way down, so its context shows.
                if m.start.row < self.top || m.start.row >= self.top + u64::from(height) {
                    self.top = m.start.row.saturating_sub(u64::from(height / 3));
                }
                self.clamp(term, height);
            }
            None => {
                self.found = None;
                self.note = Some(format!("not found: {}", search.query));
            }
        }
    }

    /// Starts a selection of `shape` at the cursor; the same shape again ends it; another
    /// shape changes the selection's (as vi's `v`, `V`, `C-v`).
    pub fn select(&mut self, shape: Shape) {
        if self.anchor.is_some() && self.shape == shape {
            self.anchor = None;
        } else {
            self.anchor.get_or_insert(self.cursor);
            self.shape = shape;
        }
    }

    /// Turns rectangle selection on or off (tmux's `r` / `C-v`), starting a selection if none.
    pub fn toggle_rect(&mut self) {
        match (self.anchor, self.shape) {
            (None, _) => self.select(Shape::Rect),
            (Some(_), Shape::Rect) => self.shape = Shape::Chars,
            (Some(_), _) => self.shape = Shape::Rect,
        }
    }

    /// The selection's extent in reading order, `end` exclusive (for lines: from column 0 of
    /// the first row to the end of the last). A rectangle's rows are the same; its columns
    /// come from [`ScrollView::rect_cols`].
    pub fn selection(&self) -> Option<(Point, Point)> {
        let a = self.anchor?;
        let (s, e) = if a <= self.cursor {
            (a, self.cursor)
        } else {
            (self.cursor, a)
        };
        Some(match self.shape {
            Shape::Chars | Shape::Rect => (
                s,
                Point {
                    row: e.row,
                    col: e.col.saturating_add(1),
                },
            ),
            Shape::Lines => (
                Point { row: s.row, col: 0 },
                Point {
                    row: e.row,
                    col: u16::MAX,
                },
            ),
        })
    }

    /// A rectangle selection's columns, `end` exclusive.
    fn rect_cols(&self) -> Option<(u16, u16)> {
        let a = self.anchor?;
        let (l, r) = (a.col.min(self.cursor.col), a.col.max(self.cursor.col));
        Some((l, r.saturating_add(1)))
    }

    /// Whether the cell at `p` is selected.
    pub fn selected(&self, p: Point) -> bool {
        let Some((s, e)) = self.selection() else {
            return false;
        };
        match self.shape {
            Shape::Rect => {
                let (l, r) = self.rect_cols().unwrap_or((0, 0));
                p.row >= s.row && p.row <= e.row && p.col >= l && p.col < r
            }
            _ => p >= s && p < e,
        }
    }

    /// The selected text, if selecting.
    pub fn selected_text(&self, term: &Term) -> Option<String> {
        let (s, e) = self.selection()?;
        let rows = Rows::new(term);
        if self.shape != Shape::Rect {
            return Some(rows.text_between(s, e));
        }
        let (l, r) = self.rect_cols()?;
        let lines: Vec<String> = (s.row..=e.row)
            .map(|row| {
                let (text, cols) = rows.text(row);
                let part: String = text
                    .chars()
                    .zip(cols)
                    .filter(|(_, c)| *c >= l && *c < r)
                    .map(|(ch, _)| ch)
                    .collect();
                part.trim_end().to_string()
            })
            .collect();
        Some(lines.join("\n"))
    }

    /// Moves to the next word's start (`w`), the previous word's start (`b`) or the word's
    /// end (`e`), crossing rows; a word is a run of letters, digits and `_`, or a run of other
    /// non-blank characters, as in vi.
    pub fn word(&mut self, term: &Term, height: u16, motion: WordMotion) {
        let rows = Rows::new(term);
        let mut c = Walker::new(&rows, self.cursor);
        let moved = match motion {
            WordMotion::NextStart => {
                let k = c.class();
                if k != 0 {
                    while c.class() == k {
                        if !c.forward() {
                            return;
                        }
                    }
                }
                c.skip_blanks(true)
            }
            WordMotion::End => {
                c.forward() && c.skip_blanks(true) && {
                    c.run_edge(true);
                    true
                }
            }
            WordMotion::PrevStart => {
                c.back() && c.skip_blanks(false) && {
                    c.run_edge(false);
                    true
                }
            }
        };
        if moved {
            self.cursor = c.point();
            self.follow(term, height);
        }
    }

    /// `f t F T` with `ch`: moves on the cursor's row; stays put when `ch` is not there.
    pub fn jump_to(&mut self, term: &Term, jump: Jump, ch: char) {
        self.last_jump = Some((jump, ch));
        self.do_jump(term, jump, ch);
    }

    /// `;` (the last jump again) or `,` (the other way).
    pub fn repeat_jump(&mut self, term: &Term, reverse: bool) {
        if let Some((jump, ch)) = self.last_jump {
            self.do_jump(term, if reverse { jump.reversed() } else { jump }, ch);
        }
    }

    fn do_jump(&mut self, term: &Term, jump: Jump, ch: char) {
        let (text, cols) = Rows::new(term).text(self.cursor.row);
        let chars: Vec<char> = text.chars().collect();
        let at = cols
            .iter()
            .position(|c| *c >= self.cursor.col)
            .unwrap_or(chars.len());
        let target = match jump {
            // `t` from just before a match would not move: look one further, as vi does.
            Jump::To | Jump::Till => {
                let from = at + 1 + usize::from(jump == Jump::Till);
                (from..chars.len())
                    .find(|i| chars[*i] == ch)
                    .map(|i| if jump == Jump::Till { i - 1 } else { i })
            }
            Jump::BackTo | Jump::BackTill => {
                let skip = usize::from(jump == Jump::BackTill);
                (0..at.saturating_sub(skip))
                    .rev()
                    .find(|i| chars[*i] == ch)
                    .map(|i| if jump == Jump::BackTill { i + 1 } else { i })
            }
        };
        if let Some(i) = target {
            self.cursor.col = cols[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::scrollback::{Budget, Limits};

    fn term_with(lines: usize, rows: u16, cols: u16) -> Term {
        let mut t = Term::new(
            rows,
            cols,
            Limits::new(1000, 1 << 20),
            Budget::new(64 << 20),
        );
        for i in 1..=lines {
            t.process(format!("line {i}\r\n").as_bytes());
        }
        t
    }

    #[test]
    fn opens_at_the_bottom_and_moves_to_the_top() {
        let t = term_with(50, 10, 20);
        let mut v = ScrollView::new(&t, 10);
        assert!(v.at_bottom(&t, 10));
        assert_eq!(v.position(&t, 10), (0, 41));
        v.to_top(&t, 10);
        assert_eq!(Rows::new(&t).text(v.top).0, "line 1");
        assert_eq!(v.position(&t, 10), (41, 41));
        v.scroll(&t, 10, 5);
        assert_eq!(Rows::new(&t).text(v.top).0, "line 6");
    }

    #[test]
    fn new_output_does_not_move_the_view() {
        let mut t = term_with(50, 10, 20);
        let mut v = ScrollView::new(&t, 10);
        v.scroll(&t, 10, -20);
        let shown = Rows::new(&t).text(v.top).0;
        for i in 51..80 {
            t.process(format!("line {i}\r\n").as_bytes());
        }
        v.clamp(&t, 10);
        assert_eq!(Rows::new(&t).text(v.top).0, shown);
    }

    #[test]
    fn search_finds_forward_backward_and_says_not_found() {
        let t = term_with(50, 10, 20);
        let mut v = ScrollView::new(&t, 10);
        // The text of the row of the match the view's search found last.
        let found = |v: &ScrollView| v.found.map(|m| Rows::new(&t).text(m.start.row).0);
        let search = |v: &mut ScrollView, query: &str, backward: bool| {
            let query = query.into();
            v.search = Some(Search { query, backward });
            v.search_next(&t, 10, false);
        };
        search(&mut v, "LINE 7", true);
        assert_eq!(v.note.as_deref(), Some("not found: LINE 7"));
        // Backward from the bottom: `line 7` is not on screen; the nearest is line 47? no: 47
        // contains "line 4"; the nearest earlier match of "line 7" is line 7 itself.
        search(&mut v, "line 7", true);
        assert_eq!(found(&v).as_deref(), Some("line 7"));
        search(&mut v, "line 4", false);
        assert_eq!(found(&v).as_deref(), Some("line 40"));
        v.search_next(&t, 10, true);
        assert_eq!(found(&v).as_deref(), Some("line 4"));
    }

    #[test]
    fn search_covers_the_screen_and_wrapped_lines() {
        let mut t = Term::new(5, 10, Limits::new(100, 1 << 20), Budget::new(64 << 20));
        t.process(b"abcdefghijNEEDLE\r\n");
        let v0 = ScrollView::new(&t, 5);
        let rows = Rows::new(&t);
        let m = rows
            .find(
                "jneedle",
                Point {
                    row: v0.cursor.row,
                    col: 0,
                },
                true,
            )
            .expect("found across a wrap");
        assert_eq!((m.start.col, m.end.col), (9, 6));
        assert_eq!(m.end.row, m.start.row + 1);
    }

    fn at(t: &Term, row_from_first: u64, col: u16) -> Point {
        Point {
            row: Rows::new(t).first() + row_from_first,
            col,
        }
    }

    /// A 5x30 terminal that printed `text`, and a view of it with the cursor on its first
    /// row at `col`.
    fn view_of(text: &[u8], col: u16) -> (Term, ScrollView) {
        let mut t = Term::new(5, 30, Limits::default(), Budget::new(64 << 20));
        t.process(text);
        let mut v = ScrollView::new(&t, 5);
        v.cursor = at(&t, 0, col);
        (t, v)
    }

    #[test]
    fn word_motions_cross_words_punctuation_and_rows() {
        let (t, mut v) = view_of(b"foo.bar  baz_1 x\r\n  next\r\n", 0);
        let mut cols = Vec::new();
        for _ in 0..6 {
            v.word(&t, 5, WordMotion::NextStart);
            cols.push((v.cursor.row - Rows::new(&t).first(), v.cursor.col));
        }
        // foo . bar baz_1 x | next, then no further word: stays.
        assert_eq!(cols, [(0, 3), (0, 4), (0, 9), (0, 15), (1, 2), (1, 2)]);
        v.word(&t, 5, WordMotion::PrevStart);
        assert_eq!(v.cursor, at(&t, 0, 15));
        v.word(&t, 5, WordMotion::PrevStart);
        assert_eq!(v.cursor, at(&t, 0, 9));
        v.cursor = at(&t, 0, 0);
        // foo . bar: the ends of each.
        for col in [2, 3, 6] {
            v.word(&t, 5, WordMotion::End);
            assert_eq!(v.cursor, at(&t, 0, col), "to the end at {col}");
        }
    }

    #[test]
    fn jumps_find_characters_on_the_line_and_repeat() {
        let (t, mut v) = view_of(b"a,b,c,d\r\n", 0);
        // vi's keys for each step, and the column the cursor is on after it.
        type Step = fn(&mut ScrollView, &Term);
        let steps: [(&str, Step, u16); 7] = [
            ("f,", |v, t| v.jump_to(t, Jump::To, ','), 1),
            (";", |v, t| v.repeat_jump(t, false), 3),
            ("t,", |v, t| v.jump_to(t, Jump::Till, ','), 4),
            // `t` again from just before that comma looks past it: none further, so it stays.
            (";", |v, t| v.repeat_jump(t, false), 4),
            ("Fb", |v, t| v.jump_to(t, Jump::BackTo, 'b'), 2),
            ("fz", |v, t| v.jump_to(t, Jump::To, 'z'), 2),
            (",", |v, t| v.repeat_jump(t, true), 2),
        ];
        for (i, (keys, step, col)) in steps.into_iter().enumerate() {
            step(&mut v, &t);
            assert_eq!(v.cursor.col, col, "step {i}: {keys}");
        }
    }

    #[test]
    fn line_and_rectangle_selections() {
        let (t, mut v) = view_of(b"alpha beta\r\ngamma delta\r\nepsilon\r\n", 3);
        v.select(Shape::Lines);
        v.cursor = at(&t, 1, 1);
        assert_eq!(
            v.selected_text(&t).as_deref(),
            Some("alpha beta\ngamma delta")
        );
        v.toggle_rect();
        assert_eq!(v.shape, Shape::Rect);
        // Columns 1 to 3 of both rows.
        assert_eq!(v.selected_text(&t).as_deref(), Some("lph\namm"));
        assert!(v.selected(at(&t, 1, 2)) && !v.selected(at(&t, 1, 4)));
        v.toggle_rect();
        assert_eq!(v.selected_text(&t).as_deref(), Some("ha beta\nga"));
        v.select(Shape::Chars);
        assert_eq!(v.anchor, None);
    }

    #[test]
    fn selection_copies_across_history_and_screen() {
        let t = term_with(12, 5, 20);
        let rows = Rows::new(&t);
        let first = rows.first();
        let text = rows.text_between(
            Point {
                row: first + 5,
                col: 5,
            },
            Point {
                row: first + 9,
                col: 4,
            },
        );
        assert_eq!(text, "6\nline 7\nline 8\nline 9\nline");
    }
}
