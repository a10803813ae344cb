//! Compact scrollback store.
//!
//! vt100 keeps history as 32-byte cells (about 2.5 KB per 80-column row); this
//! store keeps each row as its UTF-8 text plus a few bytes of style runs, packed
//! into append-only chunks, so a typical 80-column row costs under 100 bytes.
//!
//! * [`RowCapture`] turns the rows vt100 hands to `Callbacks::on_scroll` into
//!   stored rows (it parses the SGR stream of `write_formatted_basic`).
//! * [`Scrollback`] holds the rows of one session, bounded by [`Limits`] and
//!   reporting its heap use to a [`Budget`] shared by all sessions.
//!
//! Row encoding (inside a chunk, see `store.rs`):
//!
//! ```text
//! header: u8            bit 0 wrapped, bit 1 has runs, bit 2 text is not pure ASCII
//! [runs_len: varint]    only with bit 1
//! [runs]                per run: varint column delta from the previous run start,
//!                       then the style (see `style.rs`: 1 byte + 0..7 bytes payload)
//! text                  UTF-8, up to the next row's start offset
//! ```
//!
//! Each chunk keeps a `u16` start offset per row at its tail, so a row is found by a
//! binary search over chunks and one index read.
//!
//! Fidelity: decoded cells equal vt100's cells (text, width, style), with two
//! exceptions that `write_formatted_basic` itself imposes or that cannot be seen:
//! trailing default-style spaces of a row that ends its line are dropped, and a
//! never-written cell *between* written ones (rare: left by wide characters at
//! the right margin) comes out as a space in the surrounding attributes, because
//! vt100 writes it as a bare space without an SGR change.

mod capture;
mod cells;
mod rewrap;
mod search;
mod sink;
mod store;
pub(crate) mod style;

pub use capture::RowCapture;
pub use rewrap::LogicalLine;
pub use sink::CaptureSink;
pub use store::Scrollback;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Per-store bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Rows kept; older rows are hidden at once and freed with their chunk.
    pub lines: usize,
    /// Heap bytes the store may hold (chunks and indexes), exceeded by at most one chunk.
    pub bytes: usize,
}

impl Limits {
    pub const fn new(lines: usize, bytes: usize) -> Limits {
        Limits { lines, bytes }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lines: 10_000,
            bytes: 16 << 20,
        }
    }
}

/// Shared by every session's store: the global memory budget.
///
/// Stores add and subtract their heap bytes as they allocate and free chunks; the
/// session layer checks [`Budget::is_exceeded`] and evicts the oldest chunk of the
/// largest store ([`Scrollback::bytes`], [`Scrollback::evict_oldest_chunk`]).
#[derive(Debug)]
pub struct Budget {
    total: AtomicUsize,
    limit: AtomicUsize,
}

impl Budget {
    /// 64 MiB: room for ~700k typical rows across all sessions.
    pub const DEFAULT_LIMIT: usize = 64 << 20;

    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            total: AtomicUsize::new(0),
            limit: AtomicUsize::new(limit),
        })
    }

    /// Bytes currently held by all stores sharing this budget.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// Whether the stores together hold more than the limit.
    pub fn is_exceeded(&self) -> bool {
        self.total() > self.limit()
    }

    fn add(&self, bytes: usize) {
        self.total.fetch_add(bytes, Ordering::Relaxed);
    }

    fn sub(&self, bytes: usize) {
        self.total.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// The rendition of one cell, as vt100 has it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub fg: vt100::Color,
    pub bg: vt100::Color,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub inverse: bool,
}

impl Style {
    /// The rendition vt100 keeps for `cell`.
    pub fn of(cell: &vt100::Cell) -> Style {
        Style {
            fg: cell.fgcolor(),
            bg: cell.bgcolor(),
            bold: cell.bold(),
            dim: cell.dim(),
            italic: cell.italic(),
            underline: cell.underline(),
            inverse: cell.inverse(),
        }
    }

    /// Whether this is the terminal's default rendition.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// A cell position in the store: `row` is a store index (0 = oldest kept row),
/// `col` a cell column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub row: usize,
    pub col: u16,
}

impl Pos {
    pub fn new(row: usize, col: u16) -> Self {
        Self { row, col }
    }
}

/// A search hit: `start` inclusive, `end` exclusive (the column after the last
/// matched cell, on the row of that cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    pub start: Pos,
    pub end: Pos,
}

#[cfg(test)]
mod tests;
