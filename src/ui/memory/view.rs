//! A tab's view in the panel, recomputed after each sample: the chart's columns, the peak,
//! the growth rate where a line fits, and the tab's mark.

use crate::config::Config;
use crate::memory::history::{History, Sample};
use crate::state::Tab;

use super::{Alarm, MemView, SECONDS_PER_COLUMN, short_bytes};

/// The chart column of an instant, ms since the Unix epoch: columns sit on a fixed clock.
pub fn column(unix_ms: u64) -> u64 {
    unix_ms / 1000 / SECONDS_PER_COLUMN
}

/// Per column, the largest value of the samples it covers, newest first. A column without
/// a sample carries the figure of the sample before it: the sampler sends a tab's figures
/// only when they changed.
fn columns(history: &History, cols: usize, value: impl Fn(&Sample) -> u64) -> Vec<u64> {
    let mut out = vec![0u64; cols];
    let Some(latest) = history.latest() else {
        out.clear();
        return out;
    };
    let newest = column(latest.unix_ms);
    let mut used = 0;
    // The previous sample's column and figure, to fill the columns up to the next sample.
    let mut before: Option<(u64, u64)> = None;
    for s in history.iter() {
        let (col, v) = (column(s.unix_ms), value(&s));
        if let Some((prev_col, prev_v)) = before {
            for c in prev_col.saturating_add(1)..col.min(newest.saturating_add(1)) {
                let age = newest.saturating_sub(c);
                if let Some(slot) = usize::try_from(age).ok().filter(|a| *a < cols) {
                    out[slot] = out[slot].max(prev_v);
                    used = used.max(slot + 1);
                }
            }
        }
        before = Some((col, v));
        let age = newest.saturating_sub(col);
        if let Some(slot) = usize::try_from(age).ok().filter(|a| *a < cols) {
            out[slot] = out[slot].max(v);
            used = used.max(slot + 1);
        }
    }
    // Columns older than the tab's first sample stay off the chart.
    out.truncate(used);
    out
}

/// The tab's mark, as of its last sample.
pub fn alarm(tab: &Tab, _config: &Config) -> Option<Alarm> {
    tab.mem.view.alarm
}

/// 64 KiB per minute: slower drift of a whole process tree is noise, and showing it would
/// change (and redraw) the panel every second for nothing.
const SHOWN_GROWTH: f64 = 64.0 * 1024.0;

fn growth_text(per_min: Option<f64>) -> String {
    match per_min {
        Some(r) if r.abs() >= SHOWN_GROWTH => {
            let sign = if r < 0.0 { "-" } else { "+" };
            format!(" {sign}{}/min", short_bytes(r.abs() as u64))
        }
        _ => String::new(),
    }
}

/// Recomputes a tab's view after a sample, for charts `cols` wide.
pub fn refresh(history: &History, cols: usize, config: &Config) -> MemView {
    let alarm = match history.latest() {
        Some(l) if l.tree_bytes > config.warn_above => Some(Alarm::Above),
        // 1 MiB per minute: slower growth is noise for a whole process tree.
        Some(_) if history.leak_suspect(config.leak_window, 1024.0 * 1024.0) => {
            Some(Alarm::Growing)
        }
        _ => None,
    };
    MemView {
        cols,
        tree: columns(history, cols, |s| s.tree_bytes),
        heap: history.latest().map_or(0, |s| s.heap_bytes),
        peak: history.peak_tree(),
        // A rate only where a straight line fits the window well (the leak mark's test, at the
        // shown threshold): a flat tab with one jump would otherwise read `+59.0M/min`.
        growth: growth_text(
            history
                .leak_suspect(config.leak_window, SHOWN_GROWTH)
                .then(|| history.growth_per_min(config.leak_window))
                .flatten(),
        ),
        alarm,
        newest_col: history.latest().map_or(0, |s| column(s.unix_ms)),
        last: history.latest().map_or(0, |s| s.tree_bytes),
    }
}

/// As [`refresh`], knowing the view before the latest sample (computed from the history as it
/// was just before it): the chart follows from the previous one (the new sample goes into the
/// newest column, or starts a column), and when the figure has not moved over the leak window
/// there is no growth and no leak mark; the same view `refresh` gives, without decoding the
/// history. Decoding it for every tab at every sample (four passes over up to an hour of
/// samples) was nearly all of an idle memmux's CPU with 1,000 tabs and the panel shown: 2.7 s
/// per 10 s (`perf`, the `compare.py` many-tabs test).
pub fn refresh_after(prev: &MemView, history: &History, cols: usize, config: &Config) -> MemView {
    steady(prev, history, cols, config).unwrap_or_else(|| refresh(history, cols, config))
}

pub(super) fn steady(
    prev: &MemView,
    history: &History,
    cols: usize,
    config: &Config,
) -> Option<MemView> {
    let latest = history.latest()?;
    let v = latest.tree_bytes;
    if prev.cols != cols || prev.tree.is_empty() || cols == 0 {
        return None;
    }
    // Flat over the leak window: no rate to show, no leak mark (else the slow way).
    let window = u64::try_from(config.leak_window.as_millis()).unwrap_or(u64::MAX);
    if history.same_tree_since_ms()? > latest.unix_ms.saturating_sub(window) {
        return None;
    }
    let newest = column(latest.unix_ms);
    let first_shown = newest.saturating_sub(cols as u64 - 1);
    // A sample dropped from the ring inside the chart would change a column; one dropped
    // before it, the columns its figure was carried into up to the new oldest sample.
    if let Some(d) = history.dropped_unix_ms() {
        let oldest = history.oldest().map_or(u64::MAX, |s| column(s.unix_ms));
        if column(d) >= first_shown || oldest > first_shown {
            return None;
        }
    }
    // Flat since before the window: the columns since the previous view carry `v`.
    let mut tree = match newest.checked_sub(prev.newest_col)? {
        0 => {
            let mut t = prev.tree.clone();
            t[0] = t[0].max(v);
            t
        }
        gap => {
            let carried = usize::try_from(gap).unwrap_or(usize::MAX).min(cols);
            let mut t = vec![v; carried];
            t.extend_from_slice(&prev.tree[..prev.tree.len().min(cols - carried)]);
            t
        }
    };
    tree.truncate(cols);
    // A zero column can't be told from one without samples (which `refresh` leaves off the
    // end of the chart).
    if tree.contains(&0) {
        return None;
    }
    Some(MemView {
        cols,
        tree,
        heap: latest.heap_bytes,
        peak: history.peak_tree(),
        growth: growth_text(None),
        alarm: (v > config.warn_above).then_some(Alarm::Above),
        newest_col: newest,
        last: v,
    })
}
