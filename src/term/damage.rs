//! Which screen rows changed, tracked so that several readers can each ask "what changed since
//! I last looked": the UI's frame for the focused pane, the frames of other panes, a second
//! client's view. Each change takes the next sequence number; a row remembers the number of
//! its last change, and a change of every row (scroll, resize, a long burst) is one number.
//! A reader keeps the number it last saw; nothing is taken away from the others.

/// Which screen rows may have changed: all of them, or those in a range. The UI redraws only
/// these rows of the pane when it can (an echo changes one row: the frame then skips reading
/// the other rows of the screen, which after a pause between keys are out of the caches).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Damage {
    all: bool,
    rows: Option<(u16, u16)>,
}

impl Damage {
    pub const ALL: Damage = Damage {
        all: true,
        rows: None,
    };
    pub const NONE: Damage = Damage {
        all: false,
        rows: None,
    };

    pub fn is_all(&self) -> bool {
        self.all
    }

    pub fn is_none(&self) -> bool {
        !self.all && self.rows.is_none()
    }

    pub fn contains(&self, row: u16) -> bool {
        self.all || self.rows.is_some_and(|(a, b)| a <= row && row <= b)
    }

    fn add_row(&mut self, row: u16) {
        self.rows = Some(match self.rows {
            Some((a, b)) => (a.min(row), b.max(row)),
            None => (row, row),
        });
    }
}

/// The change log of one screen: a sequence number per row, and one for "every row".
/// Readers compare with the number they saw last ([`Changes::since`]); 8 bytes per row
/// (400 bytes for a 50-row screen).
#[derive(Debug, Clone)]
pub struct Changes {
    /// The number of the latest change; 0 before any.
    seq: u64,
    /// The number of the latest change of every row. Starts at 1 so that a reader that has
    /// seen nothing (0) draws the whole screen once.
    all_at: u64,
    /// Per screen row, the number of its latest change (0: none since `all_at`).
    row_at: Vec<u64>,
}

impl Default for Changes {
    fn default() -> Changes {
        Changes {
            seq: 1,
            all_at: 1,
            row_at: Vec::new(),
        }
    }
}

impl Changes {
    /// The number a reader keeps after drawing what it was given.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Every row changed.
    pub fn all(&mut self) {
        self.seq += 1;
        self.all_at = self.seq;
        // Every row is older than `all_at` now: the entries say nothing more.
        self.row_at.iter_mut().for_each(|r| *r = 0);
    }

    /// One row changed.
    pub fn row(&mut self, row: u16) {
        self.seq += 1;
        let i = usize::from(row);
        if self.row_at.len() <= i {
            self.row_at.resize(i + 1, 0);
        }
        self.row_at[i] = self.seq;
    }

    /// Whether the latest change was of every row: then any reader's [`Changes::since`] is
    /// [`Damage::ALL`] (a reader drawing single rows can give up before looking further).
    pub fn latest_is_all(&self) -> bool {
        self.all_at == self.seq
    }

    /// The rows changed after the change numbered `seen`.
    pub fn since(&self, seen: u64) -> Damage {
        if self.all_at > seen {
            return Damage::ALL;
        }
        let mut d = Damage::NONE;
        if self.seq > seen {
            for (i, &at) in self.row_at.iter().enumerate() {
                if at > seen {
                    d.add_row(i as u16);
                }
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_that_saw_nothing_draws_everything() {
        let c = Changes::default();
        assert_eq!(c.since(0), Damage::ALL);
        assert_eq!(c.since(c.seq()), Damage::NONE);
    }

    #[test]
    fn two_readers_each_see_a_change_once() {
        let mut c = Changes::default();
        let (mut ui, mut other) = (c.seq(), c.seq());
        c.row(3);
        assert!(c.since(ui).contains(3) && !c.since(ui).contains(2));
        ui = c.seq();
        assert!(c.since(ui).is_none());
        // The second reader still sees the row the first one drew.
        c.row(7);
        let d = c.since(other);
        assert!(d.contains(3) && d.contains(7) && !d.is_all());
        other = c.seq();
        assert!(c.since(other).is_none());
        assert!(c.since(ui).contains(7) && !c.since(ui).contains(3));
    }

    #[test]
    fn a_change_of_every_row_hides_older_rows_and_newer_rows_count_again() {
        let mut c = Changes::default();
        let seen = c.seq();
        c.row(2);
        c.all();
        assert_eq!(c.since(seen), Damage::ALL);
        let after = c.seq();
        assert!(
            c.since(after).is_none(),
            "row 2 is older than the full change"
        );
        c.row(40);
        assert!(c.since(after).contains(40) && !c.since(after).contains(2));
        assert!(!c.latest_is_all());
        c.all();
        assert!(c.latest_is_all());
    }
}
