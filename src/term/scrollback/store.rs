//! The chunked row store.

use super::cells::Cells;
use super::style::{Runs, push_run, read_varint, varint_len};
use super::{Budget, Limits, Style};
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::Arc;

pub(super) const WRAPPED: u8 = 1;
pub(super) const HAS_RUNS: u8 = 2;
pub(super) const NON_ASCII: u8 = 4;

/// 1 KiB: a store that stays small (an idle shell) holds about a dozen rows in
/// its first chunk; sizes then double up to `MAX_CHUNK`.
const MIN_CHUNK: usize = 1 << 10;
/// 64 KiB: ~750 typical rows per allocation; every row start offset then fits
/// the `u16` index, and the chunk stays under glibc's 128 KiB mmap threshold.
const MAX_CHUNK: usize = 1 << 16;
/// Bytes per row in a chunk's tail index (a `u16` start offset).
const INDEX_ENTRY: usize = 2;

/// One allocation holding many rows: row bytes grow from the front, their
/// start offsets (`u16` LE) grow from the back; full when the two meet.
struct Chunk {
    buf: Box<[u8]>,
    data_len: u32,
    rows: u32,
    /// Absolute index of this chunk's row 0.
    first_abs: u64,
}

impl Chunk {
    fn new(cap: usize, first_abs: u64) -> Self {
        Self {
            buf: vec![0; cap].into_boxed_slice(),
            data_len: 0,
            rows: 0,
            first_abs,
        }
    }

    fn cap(&self) -> usize {
        self.buf.len()
    }

    fn fits(&self, need: usize) -> bool {
        let used = self.data_len as usize + INDEX_ENTRY * self.rows as usize;
        // The new row's start offset must fit the u16 index.
        self.data_len <= u32::from(u16::MAX) && used + need + INDEX_ENTRY <= self.cap()
    }

    #[inline]
    fn start(&self, i: usize) -> usize {
        let at = self.cap().wrapping_sub(INDEX_ENTRY * (i + 1));
        match self.buf.get(at..at + INDEX_ENTRY) {
            Some(&[lo, hi]) => usize::from(u16::from_le_bytes([lo, hi])),
            _ => 0,
        }
    }

    #[inline]
    fn row(&self, i: usize) -> &[u8] {
        let start = self.start(i);
        let end = if i + 1 < self.rows as usize {
            self.start(i + 1)
        } else {
            self.data_len as usize
        };
        self.buf.get(start..end).unwrap_or_default()
    }

    /// Appends a row; the caller checked `fits`.
    fn push(&mut self, header: u8, runs: &[u8], text: &[u8]) {
        let start = self.data_len as usize;
        let mut at = start;
        let mut put = |bytes: &[u8]| {
            if let Some(dst) = self.buf.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            at += bytes.len();
        };
        put(&[header]);
        if !runs.is_empty() {
            let mut len = [0u8; 5];
            let n = write_varint(&mut len, runs.len() as u32);
            put(&len[..n]);
            put(runs);
        }
        put(text);
        let slot = self.cap() - INDEX_ENTRY * (self.rows as usize + 1);
        if let Some(dst) = self.buf.get_mut(slot..slot + INDEX_ENTRY) {
            dst.copy_from_slice(&(start as u16).to_le_bytes());
        }
        self.data_len = at as u32;
        self.rows += 1;
    }

    fn header_mut(&mut self, i: usize) -> Option<&mut u8> {
        let start = self.start(i);
        self.buf.get_mut(start)
    }

    /// Drops the trailing default-style spaces of the chunk's newest row, giving
    /// the bytes back to the chunk. Only for a row known not to be wrapped: a
    /// wrapped row's spaces are part of the logical line.
    fn trim_newest(&mut self) {
        let Some(i) = (self.rows as usize).checked_sub(1) else {
            return;
        };
        let row = RawRow::parse(self.row(i));
        let spaces = row.text.iter().rev().take_while(|&&b| b == b' ').count();
        if spaces == 0 {
            return;
        }
        let (run_col, style) = Runs::new(row.runs).last().unwrap_or_default();
        if !style.is_default() {
            return;
        }
        // Cells before the last run's start have another style: keep them.
        let keep_from = if row.ascii() {
            run_col as usize
        } else {
            let mut col = 0u32;
            Cells::new(row.text_str())
                .find(|&(_, _, w)| {
                    let here = col >= run_col;
                    col += u32::from(w);
                    here
                })
                .map_or(row.text.len(), |(b, _, _)| b)
        };
        let new_len = (row.text.len() - spaces).max(keep_from);
        let cut = row.text.len().saturating_sub(new_len);
        self.data_len -= cut as u32;
    }
}

fn write_varint(out: &mut [u8; 5], v: u32) -> usize {
    let mut v = v;
    let mut n = 0;
    while v >= 0x80 {
        out[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    out[n] = v as u8;
    n + 1
}

/// Calls `f(col, symbol, width, style)` for `cells`, styled by the encoded `runs`.
#[inline]
pub(super) fn emit_cells<'t>(
    cells: impl Iterator<Item = (&'t str, u8)>,
    runs: &[u8],
    f: &mut impl FnMut(u16, &str, u8, Style),
) {
    let mut runs = Runs::new(runs);
    let mut next = runs.next();
    let mut style = Style::default();
    let mut col = 0u32;
    for (sym, width) in cells {
        while let Some((start, s)) = next {
            if start > col {
                break;
            }
            style = s;
            next = runs.next();
        }
        f(col.min(u32::from(u16::MAX)) as u16, sym, width, style);
        col += u32::from(width);
    }
}

/// A stored row, split into its parts.
#[derive(Clone, Copy)]
pub(super) struct RawRow<'a> {
    pub(super) header: u8,
    pub(super) runs: &'a [u8],
    pub(super) text: &'a [u8],
}

impl<'a> RawRow<'a> {
    #[inline]
    fn parse(bytes: &'a [u8]) -> Self {
        let header = bytes.first().copied().unwrap_or(0);
        let mut pos = 1;
        let runs = if header & HAS_RUNS != 0 {
            let n = read_varint(bytes, &mut pos).unwrap_or(0) as usize;
            let runs = bytes.get(pos..pos + n).unwrap_or_default();
            pos += n;
            runs
        } else {
            &[]
        };
        Self {
            header,
            runs,
            text: bytes.get(pos..).unwrap_or_default(),
        }
    }

    pub(super) fn wrapped(&self) -> bool {
        self.header & WRAPPED != 0
    }

    pub(super) fn ascii(&self) -> bool {
        self.header & NON_ASCII == 0
    }

    pub(super) fn text_str(&self) -> &'a str {
        std::str::from_utf8(self.text).unwrap_or_default()
    }
}

/// The scrollback of one session: rows in append-only chunks, row 0 the oldest kept.
pub struct Scrollback {
    chunks: VecDeque<Chunk>,
    /// Sum of chunk capacities.
    chunk_bytes: usize,
    limits: Limits,
    budget: Arc<Budget>,
    /// What this store has added to `budget.total`.
    reported: usize,
    /// Absolute index of row 0: rows ever dropped or hidden from the front.
    evicted: u64,
    /// Rows kept (visible); rows of the front chunk below `evicted` are hidden.
    len: usize,
    next_chunk: usize,
}

impl Scrollback {
    /// A store that allocates nothing until its first row.
    pub fn new(limits: Limits, budget: Arc<Budget>) -> Self {
        Self {
            chunks: VecDeque::new(),
            chunk_bytes: 0,
            limits,
            budget,
            reported: 0,
            evicted: 0,
            len: 0,
            next_chunk: MIN_CHUNK,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// Applies new bounds, trimming at once.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
        if self.len > limits.lines {
            self.hide_front(self.len - limits.lines);
        }
        while self.bytes() > limits.bytes && self.chunks.len() > 1 {
            self.pop_front_chunk();
        }
        self.next_chunk = self.next_chunk.min(self.max_chunk());
        self.compact_directory();
        self.sync_budget();
    }

    /// Rows kept; row 0 is the oldest.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes this store holds: chunk buffers plus the chunk directory.
    pub fn bytes(&self) -> usize {
        self.chunk_bytes + self.chunks.capacity() * std::mem::size_of::<Chunk>()
    }

    /// Rows ever dropped from the front: row `i` has absolute number `evicted() + i`.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Drops every row and frees every allocation; `bytes()` returns to 0.
    pub fn clear(&mut self) {
        self.evicted += self.len as u64;
        self.len = 0;
        self.chunks = VecDeque::new();
        self.chunk_bytes = 0;
        self.next_chunk = MIN_CHUNK;
        self.sync_budget();
    }

    /// Frees the oldest chunk (for the global budget); returns the bytes freed.
    pub fn evict_oldest_chunk(&mut self) -> usize {
        let before = self.bytes();
        self.pop_front_chunk();
        self.compact_directory();
        self.sync_budget();
        before - self.bytes()
    }

    /// Appends a row given as text and style runs `(start column, style)`, sorted
    /// by column; the style before the first run is the default.
    pub fn push_row(&mut self, text: &str, runs: &[(u16, Style)], wrapped: bool) {
        let mut encoded = Vec::new();
        let mut col = 0u16;
        let mut current = Style::default();
        for &(start, style) in runs {
            if style == current {
                continue;
            }
            push_run(&mut encoded, start.saturating_sub(col), &style);
            col = col.max(start);
            current = style;
        }
        let mut header = if wrapped { WRAPPED } else { 0 };
        if !text.is_ascii() {
            header |= NON_ASCII;
        }
        self.push_encoded(header, &encoded, text.as_bytes());
    }

    /// Appends an encoded row; returns its absolute index if it was kept.
    pub(super) fn push_encoded(&mut self, mut header: u8, runs: &[u8], text: &[u8]) -> Option<u64> {
        if self.limits.lines == 0 {
            self.evicted += 1;
            return None;
        }
        let mut need = 1 + text.len();
        if runs.is_empty() {
            header &= !HAS_RUNS;
        } else {
            header |= HAS_RUNS;
            need += varint_len(u32::try_from(runs.len()).ok()?) + runs.len();
        }
        if !self.chunks.back().is_some_and(|c| c.fits(need)) {
            self.grow(need);
        }
        let abs = self.evicted + self.len as u64;
        self.chunks.back_mut()?.push(header, runs, text);
        self.len += 1;
        if self.len > self.limits.lines {
            self.hide_front(self.len - self.limits.lines);
        }
        Some(abs)
    }

    /// Sets the wrapped flag of the row with absolute number `abs`, if still kept.
    pub(super) fn set_wrapped_abs(&mut self, abs: u64, wrapped: bool) {
        let Some(index) = abs.checked_sub(self.evicted) else {
            return;
        };
        let Some((ci, li)) = usize::try_from(index).ok().and_then(|i| self.locate(i)) else {
            return;
        };
        let Some(chunk) = self.chunks.get_mut(ci) else {
            return;
        };
        if let Some(h) = chunk.header_mut(li) {
            if wrapped {
                *h |= WRAPPED;
            } else {
                *h &= !WRAPPED;
            }
        }
        // The flag is final here (vt100 revealed it), so a row that ends its
        // line can shed trailing blanks, if no row was appended after it yet.
        if !wrapped && li + 1 == chunk.rows as usize {
            chunk.trim_newest();
        }
    }

    /// Decodes row `index` into cells: `f(col, symbol, width, style)` for each
    /// cell left to right (wide continuations skipped). Trailing blanks are not
    /// stored, so they are not reported: cells vt100 never wrote, and default-style
    /// spaces at the end of a row that ends its line (dropped when its wrapped
    /// flag becomes known; a wrapped row keeps them as part of the line).
    pub fn row_cells(&self, index: usize, mut f: impl FnMut(u16, &str, u8, Style)) {
        if let Some(row) = self.raw(index) {
            row.cells(&mut f);
        }
    }

    /// An empty store with this one's bounds, budget and row numbering (its first row gets
    /// the number this one's first row has).
    pub(super) fn empty_like(&self) -> Scrollback {
        let mut s = Scrollback::new(self.limits, Arc::clone(&self.budget));
        s.evicted = self.evicted;
        s
    }
}

impl RawRow<'_> {
    /// Decodes the row into cells: `f(col, symbol, width, style)`; see `row_cells`.
    pub(super) fn cells(&self, mut f: impl FnMut(u16, &str, u8, Style)) {
        let row = self;
        let text = row.text_str();
        if row.ascii() {
            // Pure ASCII: one byte per cell, no width lookups.
            let cells = (0..text.len()).map(|i| (text.get(i..i + 1).unwrap_or_default(), 1));
            emit_cells(cells, row.runs, &mut f);
        } else {
            emit_cells(Cells::new(text).map(|(_, s, w)| (s, w)), row.runs, &mut f);
        }
    }
}

impl Scrollback {
    /// Appends the plain text of row `index` to `out`.
    pub fn row_text(&self, index: usize, out: &mut String) {
        if let Some(row) = self.raw(index) {
            out.push_str(row.text_str());
        }
    }

    /// Whether row `index` continues on the next row (a soft wrap).
    pub fn is_wrapped(&self, index: usize) -> bool {
        self.raw(index).is_some_and(|r| r.wrapped())
    }

    fn max_chunk(&self) -> usize {
        // 1/8 of the byte limit: eviction then drops at most 1/8 of the history at once.
        (self.limits.bytes / 8).clamp(MIN_CHUNK, MAX_CHUNK)
    }

    fn grow(&mut self, need: usize) {
        let normal = self.next_chunk.min(self.max_chunk());
        // A row larger than a chunk gets a chunk of its own, exactly its size.
        let cap = if need + INDEX_ENTRY > normal {
            need + INDEX_ENTRY
        } else {
            normal
        };
        // Make room first, so the store never exceeds its byte limit by more than this chunk.
        while !self.chunks.is_empty() && self.bytes() + cap > self.limits.bytes {
            self.pop_front_chunk();
        }
        let first_abs = self.evicted + self.len as u64;
        self.chunks.push_back(Chunk::new(cap, first_abs));
        self.chunk_bytes += cap;
        self.next_chunk = (normal * 2).min(self.max_chunk());
        self.sync_budget();
    }

    /// Hides the `n` oldest rows at once; chunks whose rows are all hidden are freed.
    fn hide_front(&mut self, n: usize) {
        let n = n.min(self.len);
        self.evicted += n as u64;
        self.len -= n;
        let mut freed = false;
        while self
            .chunks
            .front()
            .is_some_and(|c| c.first_abs + u64::from(c.rows) <= self.evicted)
        {
            self.pop_front_chunk();
            freed = true;
        }
        if freed {
            self.compact_directory();
            self.sync_budget();
        }
    }

    /// Frees the front chunk, dropping its visible rows.
    fn pop_front_chunk(&mut self) {
        let Some(c) = self.chunks.pop_front() else {
            return;
        };
        let end = c.first_abs + u64::from(c.rows);
        let visible = end.saturating_sub(self.evicted);
        self.len -= visible as usize;
        self.evicted += visible;
        self.chunk_bytes -= c.cap();
    }

    /// An empty directory gives its allocation back, so an emptied store costs 0 bytes.
    fn compact_directory(&mut self) {
        if self.chunks.is_empty() {
            self.chunks = VecDeque::new();
        }
    }

    fn sync_budget(&mut self) {
        let now = self.bytes();
        if now > self.reported {
            self.budget.add(now - self.reported);
        } else {
            self.budget.sub(self.reported - now);
        }
        self.reported = now;
    }

    /// (chunk, row in chunk) of row `index`: a binary search over chunks.
    #[inline]
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        let abs = self.evicted + index as u64;
        if let Some(back) = self.chunks.back() {
            // The newest chunk: most lookups (wrapped-flag patches, the live view) land here.
            if abs >= back.first_abs {
                return Some((self.chunks.len() - 1, (abs - back.first_abs) as usize));
            }
        }
        let ci = self
            .chunks
            .partition_point(|c| c.first_abs <= abs)
            .checked_sub(1)?;
        let li = abs - self.chunks.get(ci)?.first_abs;
        Some((ci, li as usize))
    }

    pub(super) fn raw(&self, index: usize) -> Option<RawRow<'_>> {
        let (ci, li) = self.locate(index)?;
        Some(RawRow::parse(self.chunks.get(ci)?.row(li)))
    }

    /// Calls `f(index, row)` for rows `from, from+1, ..` (or `from, from-1, ..`
    /// when `backward`) until it breaks; one chunk lookup, then sequential.
    pub(super) fn walk<'s>(
        &'s self,
        from: usize,
        backward: bool,
        mut f: impl FnMut(usize, RawRow<'s>) -> ControlFlow<()>,
    ) {
        let Some((mut ci, mut li)) = self.locate(from) else {
            return;
        };
        let mut index = from;
        if backward {
            loop {
                let Some(c) = self.chunks.get(ci) else {
                    return;
                };
                loop {
                    if f(index, RawRow::parse(c.row(li))).is_break() || index == 0 {
                        return;
                    }
                    index -= 1;
                    if li == 0 {
                        break;
                    }
                    li -= 1;
                }
                let Some(prev) = ci.checked_sub(1) else {
                    return;
                };
                ci = prev;
                li = self
                    .chunks
                    .get(ci)
                    .map_or(0, |c| c.rows as usize)
                    .saturating_sub(1);
            }
        } else {
            while let Some(c) = self.chunks.get(ci) {
                while li < c.rows as usize {
                    if f(index, RawRow::parse(c.row(li))).is_break() {
                        return;
                    }
                    index += 1;
                    li += 1;
                }
                ci += 1;
                li = 0;
            }
        }
    }
}

impl Drop for Scrollback {
    fn drop(&mut self) {
        self.budget.sub(self.reported);
    }
}

impl std::fmt::Debug for Scrollback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrollback")
            .field("len", &self.len)
            .field("evicted", &self.evicted)
            .field("chunks", &self.chunks.len())
            .field("bytes", &self.bytes())
            .field("limits", &self.limits)
            .finish()
    }
}
