//! Per-session memory sample history: a bounded, compact ring, growth rate and leak suspicion.
//!
//! Storage: the oldest and newest samples are kept whole; every other sample is stored as a
//! delta from its predecessor: the flags saying which fields (of the sample and its parts)
//! changed, a varint, one byte while only the sample's own figures move; the time step as a
//! varint, then a zigzag varint per changed field. A sample of an idle tab at 1 Hz (only
//! the clock moved) takes 3 bytes; a busy one 8 to 15; a whole `Sample` is 64 bytes. The
//! byte queue grows as samples arrive, so a new or idle tab costs almost nothing, and an
//! hour (3600 samples) of an idle tab about 11 kB. The encoding is lossless.

use std::collections::VecDeque;
use std::time::Duration;

/// CSV header matching [`History::to_csv_rows`].
/// The last eight columns came with cgroups: `memory_bytes` is the headline figure (the
/// cgroup's working set, or the PSS sum without one), `memory_source` says which
/// (`cgroup-v2`, `cgroup-v1`, `pss`); unknown values are empty fields.
/// `pane` came with split panes, last so that every column before keeps its place: the
/// pane's number in its tab (1-based, left to right, top to bottom); `--mem-log` writes a row
/// per pane (a tab of one pane: pane 1), the other columns then the pane's (`tab` and `title`
/// its tab's); an export of the in-memory history (`C-b M`) writes the tab's sum, `pane`
/// empty.
pub const CSV_HEADER: &str = "unix_ms,tab,title,pid_count,tree_rss_bytes,tree_pss_bytes,heap_bytes,scrollback_rows,scrollback_bytes,memory_bytes,memory_source,anon_bytes,file_bytes,shmem_bytes,kernel_bytes,limit_bytes,oom_kills,pane";

/// Default capacity: one hour at one sample per second.
pub const DEFAULT_CAPACITY: usize = 3600;

/// One sample of one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// Wall-clock time, ms since the Unix epoch.
    pub unix_ms: u64,
    /// Tree memory (the sampler's `rss_minus_shared`), bytes.
    pub tree_bytes: u64,
    /// memmux's own heap attributed to this session (tagged allocator), bytes.
    pub heap_bytes: u64,
    /// Tree PSS, bytes, when known.
    pub pss_bytes: Option<u64>,
    pub processes: u32,
    pub scrollback_rows: u64,
    pub scrollback_bytes: u64,
}

/// What a sample's memory was made of, for the CSV: where the headline figure came from,
/// the cgroup's breakdown, the old `statm` sum, the tab's ceiling and OOM kills. Kept per
/// sample beside it, as deltas: a sample whose parts did not change costs no byte more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    /// `cgroup-v2`, `cgroup-v1`, `pss`, or empty (not known: pushed without parts).
    pub source: &'static str,
    /// Sum of `statm` resident minus shared over the tab's processes (`tree_rss_bytes`).
    pub rss_minus_shared: u64,
    pub anon: Option<u64>,
    pub file: Option<u64>,
    pub shmem: Option<u64>,
    pub kernel: Option<u64>,
    pub limit: Option<u64>,
    pub oom_kills: u64,
}

/// The sources a [`Parts`] can name, by their code in the encoding.
const SOURCES: [&str; 4] = ["", "cgroup-v1", "cgroup-v2", "pss"];

/// Figures of a sample and its parts, as stored: one slot each, in the order of their
/// flag bits (the ones that change most first, so that a busy sample's flags fit a byte).
const SLOTS: usize = 14;
/// Slots that may hold no figure: a changed one is written as 0, or 1 and the delta.
const OPTIONAL: u16 = 1 << 2 | 0b1_1111 << 8;

fn slots(s: &Sample, p: &Parts) -> [Option<u64>; SLOTS] {
    let source = SOURCES.iter().position(|x| *x == p.source).unwrap_or(0) as u64;
    [
        Some(s.tree_bytes),
        Some(s.heap_bytes),
        s.pss_bytes,
        Some(u64::from(s.processes)),
        Some(s.scrollback_rows),
        Some(s.scrollback_bytes),
        Some(source),
        Some(p.rss_minus_shared),
        p.anon,
        p.file,
        p.shmem,
        p.kernel,
        p.limit,
        Some(p.oom_kills),
    ]
}

fn from_slots(unix_ms: u64, v: &[Option<u64>; SLOTS]) -> (Sample, Parts) {
    let n = |i: usize| v[i].unwrap_or(0);
    let sample = Sample {
        unix_ms,
        tree_bytes: n(0),
        heap_bytes: n(1),
        pss_bytes: v[2],
        processes: n(3) as u32,
        scrollback_rows: n(4),
        scrollback_bytes: n(5),
    };
    let parts = Parts {
        source: SOURCES.get(n(6) as usize).copied().unwrap_or(""),
        rss_minus_shared: n(7),
        anon: v[8],
        file: v[9],
        shmem: v[10],
        kernel: v[11],
        limit: v[12],
        oom_kills: n(13),
    };
    (sample, parts)
}

fn zigzag(d: u64) -> u64 {
    let d = d as i64;
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> u64 {
    ((z >> 1) as i64 ^ -((z & 1) as i64)) as u64
}

fn put_varint(out: &mut VecDeque<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push_back((v as u8) | 0x80);
        v >>= 7;
    }
    out.push_back(v as u8);
}

fn get_varint(it: &mut impl Iterator<Item = u8>) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    for b in it.by_ref() {
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

/// Appends the encoding of `cur` (and its parts) relative to `prev`: the flags of the slots
/// that changed (a varint), the time step, then per changed slot its zigzag delta (wrapping:
/// the wall clock may step back, values may shrink), an optional slot's preceded by 0 (no
/// figure) or 1.
fn encode(out: &mut VecDeque<u8>, prev: (&Sample, &Parts), cur: (&Sample, &Parts)) {
    let (p, c) = (slots(prev.0, prev.1), slots(cur.0, cur.1));
    let changed = (0..SLOTS)
        .filter(|&i| p[i] != c[i])
        .fold(0u16, |f, i| f | 1 << i);
    put_varint(out, u64::from(changed));
    put_varint(out, zigzag(cur.0.unix_ms.wrapping_sub(prev.0.unix_ms)));
    for i in (0..SLOTS).filter(|&i| changed & 1 << i != 0) {
        let optional = OPTIONAL & 1 << i != 0;
        match c[i] {
            None => out.push_back(0),
            Some(v) => {
                if optional {
                    out.push_back(1);
                }
                put_varint(out, zigzag(v.wrapping_sub(p[i].unwrap_or(0))));
            }
        }
    }
}

/// Decodes the next sample (and its parts) after `prev` from `it`; `None` at the end.
fn decode(
    it: &mut impl Iterator<Item = u8>,
    (prev, prev_parts): (&Sample, &Parts),
) -> Option<(Sample, Parts)> {
    let changed = get_varint(&mut std::iter::once(it.next()?).chain(it.by_ref())) as u16;
    let unix_ms = prev.unix_ms.wrapping_add(unzigzag(get_varint(it)));
    let mut v = slots(prev, prev_parts);
    for (i, slot) in v
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| changed & 1 << i != 0)
    {
        let present = OPTIONAL & 1 << i == 0 || it.next()? != 0;
        *slot = present.then(|| slot.unwrap_or(0).wrapping_add(unzigzag(get_varint(it))));
    }
    Some(from_slots(unix_ms, &v))
}

/// One session's samples, oldest first, at most `capacity` of them.
#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    len: usize,
    /// Valid when `len > 0`.
    oldest: Sample,
    /// Valid when `len > 0`.
    newest: Sample,
    oldest_parts: Parts,
    newest_parts: Parts,
    /// Samples 2..=len, each encoded against its predecessor.
    deltas: VecDeque<u8>,
    peak_ever: u64,
    /// The newest samples, counted back from the newest, whose `tree_bytes` equal the
    /// newest's (at most `len`): when it is `len`, every sample held has the same figure, and
    /// the panel's view can be had without decoding them (`ui::memory::refresh_after`).
    same_run: usize,
    /// `unix_ms` of the oldest sample of that run.
    same_run_ms: u64,
    /// `unix_ms` of the sample before the newest (0 with fewer than 2).
    previous_ms: u64,
    /// `unix_ms` of the sample the last push dropped from the ring.
    dropped_ms: Option<u64>,
    /// Highest `tree_bytes` held, kept as samples come and go (decoded again only when the
    /// sample dropped held it): `peak_tree` in O(1).
    peak_held: u64,
}

impl Default for History {
    fn default() -> Self {
        History::new(DEFAULT_CAPACITY)
    }
}

impl History {
    /// A ring holding at most `capacity` samples (at least 1). Allocates nothing up front.
    pub fn new(capacity: usize) -> Self {
        History {
            capacity: capacity.max(1),
            len: 0,
            oldest: Sample::default(),
            newest: Sample::default(),
            oldest_parts: Parts::default(),
            newest_parts: Parts::default(),
            deltas: VecDeque::new(),
            peak_ever: 0,
            same_run: 0,
            same_run_ms: 0,
            previous_ms: 0,
            dropped_ms: None,
            peak_held: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Appends a sample; its parts are those of the sample before.
    pub fn push(&mut self, s: Sample) {
        self.push_with(s, self.newest_parts);
    }

    /// Appends a sample with its parts.
    pub fn push_with(&mut self, s: Sample, parts: Parts) {
        self.peak_ever = self.peak_ever.max(s.tree_bytes);
        if self.len > 0 && s.tree_bytes == self.newest.tree_bytes {
            self.same_run += 1;
        } else {
            self.same_run = 1;
            self.same_run_ms = s.unix_ms;
        }
        self.previous_ms = if self.len > 0 { self.newest.unix_ms } else { 0 };
        self.dropped_ms = None;
        if self.len == 0 || self.capacity == 1 {
            if self.len > 0 {
                self.dropped_ms = Some(self.newest.unix_ms);
            }
            self.same_run = 1;
            self.same_run_ms = s.unix_ms;
            self.peak_held = s.tree_bytes;
            self.oldest = s;
            self.newest = s;
            self.oldest_parts = parts;
            self.newest_parts = parts;
            self.len = 1;
            return;
        }
        encode(
            &mut self.deltas,
            (&self.newest, &self.newest_parts),
            (&s, &parts),
        );
        self.newest = s;
        self.newest_parts = parts;
        self.len += 1;
        self.peak_held = self.peak_held.max(s.tree_bytes);
        if self.len > self.capacity {
            let dropped = self.oldest.tree_bytes;
            self.dropped_ms = Some(self.oldest.unix_ms);
            // Drop the oldest: the first delta turns into the new oldest sample.
            let mut it = std::iter::from_fn(|| self.deltas.pop_front());
            if let Some((next, parts)) = decode(&mut it, (&self.oldest, &self.oldest_parts)) {
                self.oldest = next;
                self.oldest_parts = parts;
            }
            self.len -= 1;
            if dropped == self.peak_held {
                self.peak_held = self.iter().map(|s| s.tree_bytes).max().unwrap_or(0);
            }
        }
        if self.same_run >= self.len {
            self.same_run = self.len;
            self.same_run_ms = self.oldest.unix_ms;
        }
    }

    /// `unix_ms` of the oldest sample in the run of newest samples with the newest's
    /// `tree_bytes` (`None` when empty).
    pub fn same_tree_since_ms(&self) -> Option<u64> {
        (self.len > 0).then_some(self.same_run_ms)
    }

    /// `unix_ms` of the sample the last push dropped from the ring, if it dropped one.
    pub fn dropped_unix_ms(&self) -> Option<u64> {
        self.dropped_ms
    }

    /// Every sample held has the newest's `tree_bytes`.
    pub fn all_same_tree(&self) -> bool {
        self.len > 0 && self.same_run == self.len
    }

    /// `unix_ms` of the sample before the newest (`None` with fewer than 2).
    pub fn previous_unix_ms(&self) -> Option<u64> {
        (self.len > 1).then_some(self.previous_ms)
    }

    /// The oldest sample held.
    pub fn oldest(&self) -> Option<Sample> {
        (self.len > 0).then_some(self.oldest)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by the encoded samples (not counting the fixed part of `History`).
    pub fn encoded_bytes(&self) -> usize {
        self.deltas.len()
    }

    /// Heap bytes reserved by this history.
    pub fn heap_bytes(&self) -> usize {
        self.deltas.capacity()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = Sample> + '_ {
        self.iter_with_parts().map(|(s, _)| s)
    }

    /// Oldest first, each sample with its parts.
    pub fn iter_with_parts(&self) -> impl Iterator<Item = (Sample, Parts)> + '_ {
        let mut bytes = self.deltas.iter().copied();
        let mut cur: Option<(Sample, Parts)> = None;
        let mut left = self.len;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let next = match &cur {
                None => (self.oldest, self.oldest_parts),
                Some((prev, parts)) => decode(&mut bytes, (prev, parts))?,
            };
            cur = Some(next);
            Some(next)
        })
    }

    pub fn latest(&self) -> Option<Sample> {
        (self.len > 0).then_some(self.newest)
    }

    /// Highest `tree_bytes` among the samples held.
    pub fn peak_tree(&self) -> u64 {
        if self.len == 0 { 0 } else { self.peak_held }
    }

    /// Highest `tree_bytes` ever pushed, including samples since dropped from the ring.
    pub fn peak_tree_ever(&self) -> u64 {
        self.peak_ever
    }

    /// Samples at most `window` older than the latest, as (minutes since window start, bytes).
    fn window_points(&self, window: Duration) -> Vec<(f64, f64)> {
        let Some(last) = self.latest() else {
            return Vec::new();
        };
        let w = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let start = last.unix_ms.saturating_sub(w);
        self.iter()
            .filter(|s| s.unix_ms >= start && s.unix_ms <= last.unix_ms)
            .map(|s| ((s.unix_ms - start) as f64 / 60_000.0, s.tree_bytes as f64))
            .collect()
    }

    /// Growth of tree memory in bytes per minute over the last `window`: least-squares slope
    /// over the samples in the window. `None` with fewer than 2 samples or no time spread.
    pub fn growth_per_min(&self, window: Duration) -> Option<f64> {
        fit(&self.window_points(window)).map(|f| f.slope)
    }

    /// Leak suspect: over `window` (e.g. 60 s) memory grows steadily faster than
    /// `min_slope_per_min` bytes/min. All of:
    /// - at least [`LEAK_MIN_SAMPLES`] samples, spanning at least 80% of the window, with no
    ///   gap over a quarter of it (the window is mostly covered);
    /// - least-squares slope above `min_slope_per_min`;
    /// - good fit: R² >= [`LEAK_MIN_R2`]. A lone step (flat, jump, flat) fits a line with
    ///   R² = 3p(1-p) <= 0.75 (p: where in the window it falls), so it fails this;
    /// - and a line fits better than the best single step (two flat levels), which also
    ///   rejects a step riding on slow noise. Three or more equal steps fit a line better,
    ///   so staircase growth (allocator arenas) still counts.
    pub fn leak_suspect(&self, window: Duration, min_slope_per_min: f64) -> bool {
        let pts = self.window_points(window);
        if pts.len() < LEAK_MIN_SAMPLES {
            return false;
        }
        let win_min = window.as_secs_f64() / 60.0;
        let span = pts[pts.len() - 1].0 - pts[0].0;
        if span < 0.8 * win_min {
            return false;
        }
        if pts.windows(2).any(|w| w[1].0 - w[0].0 > 0.25 * win_min) {
            return false;
        }
        let Some(f) = fit(&pts) else {
            return false;
        };
        f.slope > min_slope_per_min && f.r2 >= LEAK_MIN_R2 && f.sse < best_step_sse(&pts)
    }

    /// Appends one CSV row per sample (oldest first), columns as [`CSV_HEADER`], the same
    /// as the `--mem-log` rows of those samples. The title is always quoted (`"` doubled),
    /// so commas, quotes and newlines in it are safe; unknown figures are empty fields.
    /// Samples pushed without parts give the headline figure as `tree_rss_bytes` and leave
    /// the source and breakdown empty.
    pub fn to_csv_rows(&self, tab: usize, title: &str, out: &mut String) {
        use std::fmt::Write as _;
        let quoted = format!("\"{}\"", title.replace('"', "\"\""));
        let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        for (s, p) in self.iter_with_parts() {
            let rss = if p.source.is_empty() {
                s.tree_bytes
            } else {
                p.rss_minus_shared
            };
            let _ = writeln!(
                out,
                // The tab's sum: no pane (see CSV_HEADER).
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},",
                s.unix_ms,
                tab,
                quoted,
                s.processes,
                rss,
                opt(s.pss_bytes),
                s.heap_bytes,
                s.scrollback_rows,
                s.scrollback_bytes,
                s.tree_bytes,
                p.source,
                opt(p.anon),
                opt(p.file),
                opt(p.shmem),
                opt(p.kernel),
                opt(p.limit),
                p.oom_kills,
            );
        }
    }
}

/// Fewer samples than this never make a leak suspect.
pub const LEAK_MIN_SAMPLES: usize = 8;
/// Minimum coefficient of determination of the linear fit for a leak suspect.
pub const LEAK_MIN_R2: f64 = 0.8;

struct Fit {
    slope: f64,
    r2: f64,
    /// Sum of squared residuals of the line.
    sse: f64,
}

/// Least-squares line through `pts` (centred sums, so byte values near 2^40 keep precision).
fn fit(pts: &[(f64, f64)]) -> Option<Fit> {
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in pts {
        let (dx, dy) = (x - mx, y - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let sse = (syy - slope * sxy).max(0.0);
    // A perfectly flat series fits exactly but explains nothing: R² = 0.
    let r2 = if syy > 0.0 { 1.0 - sse / syy } else { 0.0 };
    Some(Fit { slope, r2, sse })
}

/// Smallest sum of squared residuals of a two-level step (flat, jump, flat) over `pts`.
fn best_step_sse(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len();
    if n < 2 {
        return 0.0;
    }
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let ys: Vec<f64> = pts.iter().map(|p| p.1 - my).collect();
    let total_sq: f64 = ys.iter().map(|y| y * y).sum();
    let total: f64 = ys.iter().sum();
    let mut left = 0.0;
    let mut best = f64::INFINITY;
    for (k, y) in ys.iter().enumerate().take(n - 1) {
        left += y;
        let (nl, nr) = ((k + 1) as f64, (n - k - 1) as f64);
        let right = total - left;
        let sse = total_sq - left * left / nl - right * right / nr;
        best = best.min(sse);
    }
    best.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_roundtrip() {
        for v in [
            0u64,
            1,
            2,
            u64::MAX,
            u64::MAX - 1,
            1 << 63,
            4096,
            12345678901234,
        ] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn varint_roundtrip() {
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            let mut q = VecDeque::new();
            put_varint(&mut q, v);
            assert_eq!(get_varint(&mut q.iter().copied()), v);
        }
    }
}
