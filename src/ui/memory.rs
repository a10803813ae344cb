//! The memory panel: per tab, what its programs use (process tree, from /proc) and what memmux
//! holds for it (heap, from the tagged allocator), as charts and figures; memmux's own total
//! at the bottom.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{RenderDirection, Sparkline, Widget};
use unicode_width::UnicodeWidthStr;

use crate::config::Config;
use crate::memory::history::{History, Sample};
use crate::memory::sampler::Snapshot;
use crate::state::{State, Tab};
use crate::util::human_bytes;

/// Seconds one chart column covers, on a fixed clock: a 33-column chart shows the last ~3
/// minutes, and the chart of an idle tab changes (and is drawn) once per column, not per sample.
const SECONDS_PER_COLUMN: u64 = 5;

/// Rows a tab's block takes: full (two charts and two lines of figures), short (header and one
/// chart), or a single header line when many tabs share little room.
const FULL: u16 = 7;
const SHORT: u16 = 2;
const FOOTER: u16 = 6;

/// What the panel knows about memmux itself, from the last sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub self_rss: Option<u64>,
    pub heap_total: usize,
    pub heap_memmux: isize,
    pub leaked: (isize, usize),
    pub heap_known: bool,
    pub system: crate::memory::sampler::System,
    /// Processes closed tabs left in their cgroups, and their memory.
    pub left_behind: (usize, u64),
}

impl From<&Snapshot> for Totals {
    fn from(s: &Snapshot) -> Totals {
        Totals {
            self_rss: s.self_rss,
            heap_total: s.heap_total,
            heap_memmux: s.heap_memmux,
            leaked: s.leaked,
            heap_known: s.heap_known,
            system: s.system,
            left_behind: s.left_behind,
        }
    }
}

/// A compact size: `512K`, `12.5M`, `1.2G` (the panel is narrow).
pub fn short_bytes(b: u64) -> String {
    let h = human_bytes(b);
    h.replace(" KiB", "K")
        .replace(" MiB", "M")
        .replace(" GiB", "G")
        .replace(" TiB", "T")
        .replace(" B", "B")
}

/// Per column, the largest value of the samples it covers, newest first.
fn columns(history: &History, cols: usize, value: impl Fn(&Sample) -> u64) -> Vec<u64> {
    let mut out = vec![0u64; cols];
    let Some(latest) = history.latest() else {
        out.clear();
        return out;
    };
    let bucket = |s: &Sample| s.unix_ms / 1000 / SECONDS_PER_COLUMN;
    let newest = bucket(&latest);
    let mut used = 0;
    for s in history.iter() {
        let age = newest.saturating_sub(bucket(&s));
        if let Some(slot) = usize::try_from(age).ok().filter(|a| *a < cols) {
            out[slot] = out[slot].max(value(&s));
            used = used.max(slot + 1);
        }
    }
    // Columns older than the tab's first sample stay off the chart.
    out.truncate(used);
    out
}

/// The tab's memory mark for the tab bar and the panel: above the warning threshold, or a
/// leak suspect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alarm {
    Above,
    Growing,
}

/// The tab's mark, as of its last sample.
pub fn alarm(tab: &Tab, _config: &Config) -> Option<Alarm> {
    tab.mem.view.alarm
}

/// What the panel and the tab bar show of a tab, computed once per sample rather than per
/// frame: decoding an hour of history and fitting a line for every tab on every keystroke's
/// frame would be the most expensive part of the frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemView {
    /// Chart columns, newest first, for a chart `cols` wide.
    pub cols: usize,
    pub tree: Vec<u64>,
    pub heap: Vec<u64>,
    pub peak: u64,
    /// Bytes per minute over the leak window.
    /// The growth as shown: ` +1.2M/min`, or empty when it is below what is worth showing.
    pub growth: String,
    pub alarm: Option<Alarm>,
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
        heap: columns(history, cols, |s| s.heap_bytes),
        peak: history.peak_tree(),
        growth: growth_text(
            covered(history, config.leak_window)
                .then(|| history.growth_per_min(config.leak_window))
                .flatten(),
        ),
        alarm,
    }
}

/// Whether the history spans most (80%) of `window`: a rate over the last minute of a tab
/// younger than that would mostly measure its start-up.
fn covered(history: &History, window: std::time::Duration) -> bool {
    match (history.iter().next(), history.latest()) {
        (Some(first), Some(last)) => {
            let span = last.unix_ms.saturating_sub(first.unix_ms);
            span as u128 * 10 >= window.as_millis() * 8
        }
        _ => false,
    }
}

/// Chart width for a panel `width` columns wide (a border column and two of margin).
pub fn chart_cols(width: u16) -> usize {
    usize::from(width.saturating_sub(3))
}

fn put(buf: &mut Buffer, x: u16, y: u16, text: &str, max: u16, style: Style) -> u16 {
    buf.set_stringn(x, y, text, usize::from(max), style).0
}

/// Right-aligns `text` ending at `right`.
fn put_right(buf: &mut Buffer, right: u16, y: u16, text: &str, style: Style) {
    let w = text.width() as u16;
    buf.set_string(right.saturating_sub(w), y, text, style);
}

/// One scale for every tab's chart, so the bars compare: the tab eating memory stands out at
/// a glance. A non-zero value shows at least the lowest bar, so small tabs are still seen.
#[derive(Clone, Copy, Debug, Default)]
struct Scale {
    tree: u64,
    heap: u64,
}

fn visible(values: &[u64], max: u64) -> Vec<u64> {
    // 16: a two-row chart has 16 levels; one level is max/16.
    let floor = (max / 16).max(1);
    values
        .iter()
        .map(|&v| if v > 0 { v.max(floor) } else { 0 })
        .collect()
}

/// Whether a block is the focused tab's, and shows its breakdown (`toggle-memory-detail`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Focus {
    No,
    Yes,
    Detail,
}

fn block(
    tab: &Tab,
    number: usize,
    focused: Focus,
    area: Rect,
    buf: &mut Buffer,
    config: &Config,
    scale: Scale,
) {
    let (focused, detail) = (focused != Focus::No, focused == Focus::Detail);
    let c = &config.colors;
    let base = if focused {
        Style::new().bg(c.bar_bg)
    } else {
        Style::new()
    };
    buf.set_style(area, base);
    let w = area.width;
    let latest = tab.mem.history.latest();
    let alarm = alarm(tab, config);
    let mut title_style = base.add_modifier(Modifier::BOLD);
    if focused {
        title_style = title_style.fg(c.active_fg).bg(c.active_bg);
    }
    let value = latest
        .map(|s| short_bytes(s.tree_bytes))
        .unwrap_or_else(|| "…".into());
    let mark = match alarm {
        Some(Alarm::Above) => "● ",
        Some(Alarm::Growing) => "↗ ",
        None => "",
    };
    let d = &tab.mem.detail;
    let frozen = if d.frozen { "❄ " } else { "" };
    let oom = if d.oom_kills > 0 {
        format!("☠{} ", d.oom_kills)
    } else {
        String::new()
    };
    // A PSS sum is an estimate (refreshed every 10 s, statm between); a cgroup's is exact.
    let approx = if d.source == crate::memory::cgroup::FALLBACK_SOURCE {
        "≈"
    } else {
        ""
    };
    let right = format!(" {frozen}{oom}{mark}{approx}{value}");
    let right_w = right.width() as u16;
    let label = format!("{number} {}", tab.label());
    let x = put(
        buf,
        area.x,
        area.y,
        &label,
        w.saturating_sub(right_w),
        title_style,
    );
    let _ = x;
    let value_style = match alarm {
        Some(Alarm::Above) => base.fg(c.warn).add_modifier(Modifier::BOLD),
        Some(Alarm::Growing) => base.fg(c.accent).add_modifier(Modifier::BOLD),
        None => base.add_modifier(Modifier::BOLD),
    };
    put_right(buf, area.right(), area.y, &right, value_style);
    if area.height < 2 {
        return;
    }
    let cols = usize::from(w);
    let view = &tab.mem.view;
    // The view was computed for the configured width; a different width (a resize since)
    // takes the columns it has.
    let tree = visible(&view.tree[..view.tree.len().min(cols)], scale.tree);
    let chart_rows = if area.height >= FULL { 2 } else { 1 };
    let chart = Rect::new(area.x, area.y + 1, w, chart_rows);
    Sparkline::default()
        .data(&tree)
        .max(scale.tree.max(1))
        .direction(RenderDirection::RightToLeft)
        .style(base.fg(c.chart_tree))
        .render(chart, buf);
    if area.height < FULL {
        return;
    }
    let heap = visible(&view.heap[..view.heap.len().min(cols)], scale.heap);
    let heap_label = format!(" heap {}", short_bytes(latest.map_or(0, |s| s.heap_bytes)));
    let hw = heap_label.width() as u16;
    let heap_area = Rect::new(area.x, area.y + 3, w.saturating_sub(hw), 1);
    Sparkline::default()
        .data(&heap)
        .max(scale.heap.max(1))
        .direction(RenderDirection::RightToLeft)
        .style(base.fg(c.chart_heap))
        .render(heap_area, buf);
    put_right(
        buf,
        area.right(),
        area.y + 3,
        &heap_label,
        base.fg(c.chart_heap),
    );
    let dim = base.add_modifier(Modifier::DIM);
    if focused && detail {
        for (k, line) in detail_lines(tab).iter().enumerate().take(3) {
            put(buf, area.x, area.y + 4 + k as u16, line, w, dim);
        }
        return;
    }
    let procs = latest.map_or(0, |s| s.processes);
    let peak = short_bytes(view.peak);
    let rate = &view.growth;
    let line = format!("{procs} proc · peak {peak}{rate}");
    put(buf, area.x, area.y + 4, &line, w, dim);
    let top = biggest_text(tab.mem.biggest.as_ref());
    put(buf, area.x, area.y + 5, &top, w, dim);
    let hist = format!(
        "history {} rows, {}",
        latest.map_or(0, |s| s.scrollback_rows),
        short_bytes(latest.map_or(0, |s| s.scrollback_bytes))
    );
    match d.limit {
        // With a ceiling, the row shows how close the tab is to it.
        Some(limit) => {
            let used = latest.map_or(0, |s| s.tree_bytes);
            let (text, ratio) = limit_text(used, limit, w);
            let style = if ratio >= 0.9 {
                base.fg(c.warn).add_modifier(Modifier::BOLD)
            } else {
                dim
            };
            put(buf, area.x, area.y + 6, &text, w, style);
        }
        None => {
            put(buf, area.x, area.y + 6, &hist, w, dim);
        }
    }
}

/// `used/limit ▕█████░░░░▏` fitted to `width` columns, and used / limit.
pub fn limit_text(used: u64, limit: u64, width: u16) -> (String, f64) {
    let ratio = used as f64 / limit.max(1) as f64;
    let head = format!("{}/{} ", short_bytes(used), short_bytes(limit));
    let bar_w = usize::from(width).saturating_sub(head.width() + 2).min(20);
    let full = ((ratio.min(1.0) * bar_w as f64).round() as usize).min(bar_w);
    let bar = format!("▕{}{}▏", "█".repeat(full), "░".repeat(bar_w - full));
    (format!("{head}{bar}"), ratio)
}

/// The focused tab's breakdown (`toggle-memory-detail`): three lines.
pub fn detail_lines(tab: &Tab) -> Vec<String> {
    let d = &tab.mem.detail;
    let opt = |v: Option<u64>| v.map(short_bytes).unwrap_or_else(|| "?".into());
    match &d.cgroup {
        Some(c) => vec![
            format!(
                "anon {} file {} shm {}",
                opt(c.anon),
                opt(c.file),
                opt(c.shmem)
            ),
            format!(
                "kern {} sock {} peak {}",
                opt(c.kernel),
                opt(c.sock),
                opt(c.peak)
            ),
            format!(
                "{} · oom {}{}{}",
                d.source,
                d.oom_kills,
                d.oom_victim
                    .as_ref()
                    .map(|(pid, name)| format!(" {name}({pid})"))
                    .unwrap_or_default(),
                c.pressure
                    .filter(|p| *p > 0.0)
                    .map(|p| format!(" · psi {p:.1}%"))
                    .unwrap_or_default()
            ),
        ],
        None => vec![
            format!("≈ PSS sum ({})", d.source),
            d.note
                .clone()
                .unwrap_or_else(|| "no cgroup: no breakdown".to_string()),
            format!("statm sum {}", short_bytes(d.rss_minus_shared)),
        ],
    }
}

/// Draws the panel into `area`.
pub fn render(state: &State, config: &Config, area: Rect, buf: &mut Buffer) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            buf[(x, y)].reset();
        }
    }
    // A left border separates the panel from the pane.
    let border = Style::new().fg(config.colors.bar_bg);
    for y in area.top()..area.bottom() {
        buf[(area.x, y)].set_symbol("│").set_style(border);
    }
    let inner = Rect::new(
        area.x + 2,
        area.y,
        area.width.saturating_sub(3),
        area.height,
    );
    if inner.width < 8 || inner.height < 2 {
        return;
    }
    let footer = FOOTER.min(inner.height.saturating_sub(1));
    let body = Rect::new(inner.x, inner.y, inner.width, inner.height - footer);
    let n = state.tabs.len().max(1) as u16;
    // Largest block size that fits every tab (a blank row between blocks when full).
    let per = if n * (FULL + 1) <= body.height {
        FULL + 1
    } else if n * (SHORT + 1) <= body.height {
        SHORT + 1
    } else {
        1
    };
    let fits = (body.height / per).max(1) as usize;
    // With more tabs than fit, show a window that contains the focused tab.
    let first = state
        .focus
        .saturating_sub(fits - 1)
        .min(state.tabs.len().saturating_sub(fits));
    // The scale: the largest column value of any tab over the charted window.
    let cols = usize::from(body.width);
    let mut scale = Scale::default();
    for tab in &state.tabs {
        let v = &tab.mem.view;
        scale.tree = scale
            .tree
            .max(v.tree.iter().take(cols).copied().max().unwrap_or(0));
        scale.heap = scale
            .heap
            .max(v.heap.iter().take(cols).copied().max().unwrap_or(0));
    }
    for (slot, (i, tab)) in state
        .tabs
        .iter()
        .enumerate()
        .skip(first)
        .take(fits)
        .enumerate()
    {
        let y = body.y + slot as u16 * per;
        let h = if per > 1 { per - 1 } else { 1 };
        block(
            tab,
            i + 1,
            match (i == state.focus, state.mem_detail) {
                (false, _) => Focus::No,
                (true, false) => Focus::Yes,
                (true, true) => Focus::Detail,
            },
            Rect::new(body.x, y, body.width, h),
            buf,
            config,
            scale,
        );
    }
    if first > 0 || first + fits < state.tabs.len() {
        let note = format!(
            "tabs {}-{} of {}",
            first + 1,
            (first + fits).min(state.tabs.len()),
            state.tabs.len()
        );
        put_right(
            buf,
            body.right(),
            body.bottom().saturating_sub(1),
            &note,
            Style::new().add_modifier(Modifier::DIM),
        );
    }
    footer_lines(state, inner, footer, buf);
}

/// The footer's lines and whether each is bold, dim or plain: what the panel shows of memmux
/// itself. Also what decides whether a new sample changed anything visible.
pub fn footer_text(t: &Totals) -> Vec<(String, Modifier)> {
    let rss = t.self_rss.map(short_bytes).unwrap_or_else(|| "?".into());
    let mut lines = system_lines(t);
    lines.push((format!("memmux RSS {rss}"), Modifier::BOLD));
    if !t.heap_known {
        lines.push(("heap accounting unavailable".to_string(), Modifier::DIM));
        return lines;
    }
    let own = t.heap_memmux.max(0) as u64;
    let tabs = (t.heap_total as u64).saturating_sub(own);
    lines.push((
        format!(
            "heap {} = tabs {} + own {}",
            short_bytes(t.heap_total as u64),
            short_bytes(tabs),
            short_bytes(own)
        ),
        Modifier::empty(),
    ));
    let unattributed = t.self_rss.map(|r| r.saturating_sub(t.heap_total as u64));
    lines.push((
        format!(
            "unattributed {}",
            unattributed.map(short_bytes).unwrap_or_else(|| "?".into())
        ),
        Modifier::DIM,
    ));
    let (leaked, tabs_leaking) = t.leaked;
    let style = if leaked != 0 {
        Modifier::BOLD
    } else {
        Modifier::DIM
    };
    lines.push((
        format!(
            "closed tabs leaked {} ({tabs_leaking})",
            short_bytes(leaked.max(0) as u64)
        ),
        style,
    ));
    lines
}

/// The machine and the mechanism: `system 5.1G/23G · avail 18G · psi 0.0%`, and
/// `tabs: cgroup-v1` (or why not), with what closed tabs left behind.
fn system_lines(t: &Totals) -> Vec<(String, Modifier)> {
    let s = &t.system;
    let mut sys = match (s.total, s.available) {
        (Some(total), Some(avail)) => format!(
            "system {}/{} avail {}",
            short_bytes(total.saturating_sub(avail)),
            short_bytes(total),
            short_bytes(avail)
        ),
        _ => "system ?".to_string(),
    };
    if let Some(p) = s.pressure {
        sys.push_str(&format!(" psi {p:.1}%"));
    }
    let source = match crate::memory::cgroup::mechanism() {
        Some(crate::memory::cgroup::Mechanism::Cgroup(h)) => {
            format!("tabs: {}", h.version.source())
        }
        Some(crate::memory::cgroup::Mechanism::None(_)) | None => {
            "tabs: ≈ PSS (no cgroups)".to_string()
        }
    };
    let (n, bytes) = t.left_behind;
    let mech = if n > 0 {
        format!("{source} · left behind {n} ({})", short_bytes(bytes))
    } else {
        source
    };
    let bold = if s.pressure.is_some_and(|p| p >= 10.0) {
        Modifier::BOLD
    } else {
        Modifier::empty()
    };
    vec![(sys, bold), (mech, Modifier::DIM)]
}

/// What the panel shows of a tab's biggest process.
pub fn biggest_text(b: Option<&crate::memory::procs::ProcessInfo>) -> String {
    match b {
        Some(b) => format!(
            "top {} ({}) {}",
            b.name,
            b.pid,
            short_bytes(b.rss_minus_shared)
        ),
        None => "no process".to_string(),
    }
}

fn footer_lines(state: &State, inner: Rect, footer: u16, buf: &mut Buffer) {
    if footer == 0 {
        return;
    }
    let y0 = inner.bottom() - footer;
    let lines: Vec<(String, Style)> = footer_text(&state.totals)
        .into_iter()
        .map(|(t, m)| (t, Style::new().add_modifier(m)))
        .collect();
    for (k, (text, style)) in lines.into_iter().take(usize::from(footer)).enumerate() {
        put(buf, inner.x, y0 + k as u16, &text, inner.width, style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_units() {
        assert_eq!(short_bytes(512), "512B");
        assert_eq!(short_bytes(256 << 20), "256M");
        assert_eq!(short_bytes(1536), "1.5K");
    }
}
