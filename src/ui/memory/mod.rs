//! The memory panel: per tab, what its programs use (process tree, from /proc) and what memmux
//! holds for it (heap, from the tagged allocator), as charts and figures; memmux's own total
//! at the bottom.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{RenderDirection, Sparkline, Widget};

use unicode_width::UnicodeWidthStr;

use crate::config::Config;
pub use crate::memory::summary::{Alarm, MemView, Totals};
use crate::state::{State, Tab};
use crate::util::human_bytes;

mod footer;
mod panes;
mod plan;
mod view;
use footer::footer_lines;
pub use footer::{footer_key, footer_text, tab_pressures};
pub use view::{alarm, column, refresh, refresh_after};

/// Seconds one chart column covers, on a fixed clock: a 33-column chart shows the last ~3
/// minutes, and the chart of an idle tab changes (and is drawn) once per column, not per sample.
const SECONDS_PER_COLUMN: u64 = 5;

/// Rows a tab's block takes, the largest that fits every tab: full (header, a two-row chart,
/// three lines of figures), medium (header, a one-row chart, peak and rate: 5 to 8 tabs on a
/// 45-row terminal), short (header and chart), or a single header line with a level glyph.
const FULL: u16 = 6;
const MEDIUM: u16 = 3;
const SHORT: u16 = 2;
/// The footer's rows at least; one more while a tab is under memory pressure (v2).
const FOOTER: u16 = 6;
/// The panel's title and legend.
const HEADER: u16 = 2;

/// What a tab's big figure and chart measure, said once for the title: the per-tab memory
/// source decides it (the focused tab's, else the first tab's; all tabs share one mechanism
/// unless a cgroup could not be made for one).
pub fn figure_measure(state: &State) -> &'static str {
    let source = state
        .focused()
        .or_else(|| state.tabs.first())
        .map_or("", |t| t.mem.detail.source);
    match source {
        "cgroup-v1" => "working set, cgroup v1",
        "cgroup-v2" => "working set, cgroup v2",
        s if s == crate::memory::cgroup::FALLBACK_SOURCE => "≈ PSS of the tab's processes",
        _ => "per tab",
    }
}

/// A compact size: `512K`, `12.5M`, `1.2G` (the panel is narrow).
pub fn short_bytes(b: u64) -> String {
    let h = human_bytes(b);
    let Some((figure, unit)) = h.split_once(' ') else {
        return h;
    };
    let unit = match unit {
        "KiB" => "K",
        "MiB" => "M",
        "GiB" => "G",
        "TiB" => "T",
        other => other,
    };
    format!("{figure}{unit}")
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
    /// The chart column of the last sample (the panel's clock): charts reach up to it.
    now_col: u64,
}

/// The values as drawn on a chart `rows` high: a non-zero value is raised to the lowest bar
/// (one of the chart's `rows * 8` levels), so the smallest tab still shows beside a big one.
fn visible(values: &[u64], max: u64, rows: u16) -> Vec<u64> {
    let floor = max.div_ceil(u64::from(rows.max(1)) * 8).max(1);
    values
        .iter()
        .map(|&v| if v > 0 { v.max(floor) } else { 0 })
        .collect()
}

/// One glyph for `value` on `max`'s scale (the one-line layout's chart), never blank when
/// the value is not zero.
fn level_glyph(value: u64, max: u64) -> char {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if value == 0 || max == 0 {
        return ' ';
    }
    let i = (value.saturating_mul(8) / max).clamp(1, 8) as usize;
    LEVELS[i - 1]
}

/// `165` -> `2m45s`: a chart's time span.
fn span_text(secs: u64) -> String {
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s:02}s"),
    }
}

/// The panel's title (what the figures measure) and legend (the chart's colour, time span
/// and top value; the heap figure's colour).
fn header(state: &State, config: &Config, area: Rect, scale: Scale, buf: &mut Buffer) {
    let c = &config.colors;
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let dim = Style::new().add_modifier(Modifier::DIM);
    let x = put(buf, area.x, area.y, "Memory ", area.width, bold);
    let rest = area.right().saturating_sub(x);
    put(buf, x, area.y, figure_measure(state), rest, dim);
    if area.height < 2 {
        return;
    }
    let y = area.y + 1;
    let span = span_text(area.width as u64 * SECONDS_PER_COLUMN);
    let top = short_bytes(scale.tree);
    let mut x = put(
        buf,
        area.x,
        y,
        "█",
        area.width,
        Style::new().fg(c.chart_tree),
    );
    // The chart's span and top (every tab's chart has the same scale), then the colour of
    // the heap figure: what memmux itself holds for the tab.
    let chart = format!(" {span}, top {top} ");
    x = put(buf, x, y, &chart, area.right().saturating_sub(x), dim);
    x = put(
        buf,
        x,
        y,
        "■",
        area.right().saturating_sub(x),
        Style::new().fg(c.chart_heap),
    );
    put(
        buf,
        x,
        y,
        " memmux heap",
        area.right().saturating_sub(x),
        dim,
    );
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
    let base = block_background(focused, c, area, buf);
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
    // One line only: the chart shrinks to a glyph before the figure.
    let glyph = if area.height < 2 {
        let v = tab.mem.view.tree_at(scale.now_col).first().copied();
        format!("{} ", level_glyph(v.unwrap_or(0), scale.tree))
    } else {
        String::new()
    };
    let right = format!(" {frozen}{oom}{mark}{glyph}{approx}{value}");
    let right_w = right.width() as u16;
    let label = format!("{number} {}", tab.label());
    put(
        buf,
        area.x,
        area.y,
        &label,
        w.saturating_sub(right_w),
        title_style,
    );
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
    let chart_rows = if area.height >= FULL { 2 } else { 1 };
    // The view was computed for the configured width; a different width (a resize since)
    // takes the columns it has.
    let shown = view.tree_at(scale.now_col);
    let tree = visible(&shown[..shown.len().min(cols)], scale.tree, chart_rows);
    let chart = Rect::new(area.x, area.y + 1, w, chart_rows);
    Sparkline::default()
        .data(&tree)
        .max(scale.tree.max(1))
        .direction(RenderDirection::RightToLeft)
        .style(base.fg(c.chart_tree))
        .render(chart, buf);
    let dim = base.add_modifier(Modifier::DIM);
    let heap = short_bytes(view.heap);
    let peak = format!("peak {}{}", short_bytes(view.peak), view.growth);
    if area.height < MEDIUM {
        return;
    }
    let y = area.y + 1 + chart_rows;
    if area.height < FULL {
        let x = put(buf, area.x, y, &peak, w, dim);
        let rest = area.right().saturating_sub(x);
        put(
            buf,
            x,
            y,
            &format!(" · heap {heap}"),
            rest,
            base.fg(c.chart_heap),
        );
        return;
    }
    if detail {
        for (k, line) in detail_lines(tab).iter().enumerate().take(3) {
            put(buf, area.x, y + k as u16, line, w, dim);
        }
        return;
    }
    let procs = latest.map_or(0, |s| s.processes);
    put(buf, area.x, y, &format!("{procs} proc · {peak}"), w, dim);
    // The last program the kernel killed for the tab's limit stays named first.
    let top = match &d.oom_victim {
        Some((pid, name)) => format!(
            "☠ {name} ({pid}) · {}",
            biggest_text(tab.mem.biggest.as_ref())
        ),
        None => biggest_text(tab.mem.biggest.as_ref()),
    };
    let top_style = if d.oom_victim.is_some() {
        base.fg(c.warn)
    } else {
        dim
    };
    put(buf, area.x, y + 1, &top, w, top_style);
    // The history's size as the status line shows it (the session's own counters, not the
    // last sample's: the two would disagree for up to a sample's interval).
    // The tab's: every pane's history.
    let rows: usize = tab
        .panes
        .iter()
        .map(|p| p.session.shared.history_rows())
        .sum();
    let x = put(
        buf,
        area.x,
        y + 2,
        &format!("heap {heap}"),
        w,
        base.fg(c.chart_heap),
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
            put(buf, area.x, y + 2, &text, w, style);
        }
        None => {
            let rest = area.right().saturating_sub(x);
            put(buf, x, y + 2, &format!(" · history {rows} rows"), rest, dim);
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
    render_part(state, config, area, Part::Whole, buf);
}

/// A part of the panel, drawn (and kept by the compositor) on its own: the tabs' blocks
/// with the title, and the footer (memmux's own figures and the machine's). A chart
/// column that moves only a footer figure redraws the footer's rows, not 1,000 tabs' plan
/// and scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Whole,
    Tabs,
    Footer,
}

/// Where the panel in `area` puts its tabs and its footer: `(tabs, Some(footer))`, each
/// the whole width with the border, or `(area, None)` when it is too small for a footer.
pub fn parts(state: &State, area: Rect) -> (Rect, Option<Rect>) {
    match geometry(state, area) {
        Some((_, footer, _)) if footer > 0 => {
            let tabs = Rect::new(area.x, area.y, area.width, area.height - footer);
            let bottom = Rect::new(area.x, area.bottom() - footer, area.width, footer);
            (tabs, Some(bottom))
        }
        _ => (area, None),
    }
}

/// The footer's lines, each with its emphasis.
type FooterLines = Vec<(String, Modifier)>;

/// The panel's inner area (without the border and margin), its footer's rows, and the
/// footer's lines; `None` when too small to draw more than the border.
fn geometry(state: &State, area: Rect) -> Option<(Rect, u16, FooterLines)> {
    let inner = Rect::new(
        area.x + 2,
        area.y,
        area.width.saturating_sub(3),
        area.height,
    );
    if inner.width < 8 || inner.height < 2 {
        return None;
    }
    let text = footer_text(&state.totals);
    let footer = (text.len() as u16)
        .max(FOOTER)
        .min(inner.height.saturating_sub(1));
    Some((inner, footer, text))
}

/// Draws `part` of the panel into its rows of `area` (the whole panel's).
pub fn render_part(state: &State, config: &Config, area: Rect, part: Part, buf: &mut Buffer) {
    let rows = match (part, parts(state, area)) {
        (Part::Tabs, (tabs, _)) => tabs,
        (Part::Footer, (_, Some(footer))) => footer,
        (Part::Footer, (_, None)) => return,
        (Part::Whole, _) => area,
    };
    for y in rows.top()..rows.bottom() {
        for x in rows.left()..rows.right() {
            buf[(x, y)].reset();
        }
    }
    // A left border separates the panel from the pane.
    let border = Style::new().fg(config.colors.bar_bg);
    for y in rows.top()..rows.bottom() {
        buf[(rows.x, y)].set_symbol("│").set_style(border);
    }
    let Some((inner, footer, footer_lines_text)) = geometry(state, area) else {
        return;
    };
    if part != Part::Tabs {
        footer_lines(footer_lines_text, inner, footer, buf);
    }
    if part == Part::Footer {
        return;
    }
    // The title and legend give way first on a short panel, then the footer.
    let head = if inner.height >= footer + HEADER + SHORT {
        HEADER
    } else {
        0
    };
    let body = Rect::new(
        inner.x,
        inner.y + head,
        inner.width,
        inner.height - footer - head,
    );
    let plan = plan::plan(state, body.height);
    let (first, fits) = (plan.first, plan.count);
    // The scale: the largest column value of any tab over the charted window.
    let cols = usize::from(body.width);
    let mut scale = Scale {
        tree: 0,
        now_col: view::column(state.totals.unix_ms),
    };
    for tab in &state.tabs {
        scale.tree = scale.tree.max(tab.mem.view.top_at(scale.now_col, cols));
    }
    if head > 0 {
        header(
            state,
            config,
            Rect::new(inner.x, inner.y, inner.width, head),
            scale,
            buf,
        );
    }
    let per = plan.per;
    let mut y = body.y;
    for (i, tab) in state.tabs.iter().enumerate().skip(first).take(fits) {
        let h = if per > 1 { per - 1 } else { 1 };
        let focused = i == state.view.focus;
        let area = Rect::new(body.x, y, body.width, h).intersection(body);
        block(
            tab,
            i + 1,
            match (focused, state.view.mem_detail) {
                (false, _) => Focus::No,
                (true, false) => Focus::Yes,
                (true, true) => Focus::Detail,
            },
            area,
            buf,
            config,
            scale,
        );
        let level = plan.level(i, state.view.focus);
        let rows = panes::rows(tab, level);
        let pane_area = Rect::new(body.x, y + h, body.width, rows).intersection(body);
        panes::render(tab, focused, level, pane_area, buf, config, scale);
        y += h + rows + u16::from(per > 1);
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

/// Paints a tab's block (its panes' rows too) and returns its base style: the focused tab's
/// block has the tab bar's background, so the eye finds it in a long list.
fn block_background(
    focused: bool,
    c: &crate::config::Colors,
    area: Rect,
    buf: &mut Buffer,
) -> Style {
    let base = if focused {
        Style::new().bg(c.bar_bg)
    } else {
        Style::new()
    };
    buf.set_style(area, base);
    base
}

#[cfg(test)]
mod tests {
    use super::view::steady;
    use super::*;
    use crate::memory::history::{History, Sample};

    #[test]
    fn the_footer_names_the_tabs_under_pressure_highest_first() {
        let mut t = Totals {
            tab_pressure: vec![(3, 12.5), (1, 0.4)],
            ..Totals::default()
        };
        let lines = footer_text(&t);
        assert_eq!(lines[2].0, "tab psi 3:12.5% 1:0.4%");
        assert_eq!(lines[2].1, Modifier::BOLD);
        let plain = footer_text(&Totals::default()).len();
        assert_eq!(lines.len(), plain + 1);
        t.tab_pressure = vec![(2, 0.4)];
        assert_eq!(footer_text(&t)[2].1, Modifier::DIM);
        t.tab_pressure.clear();
        assert_eq!(footer_text(&t).len(), plain);
    }

    /// `refresh_after` against `refresh` at every sample of long runs: flat stretches (where
    /// the shortcut applies), changes, samples that skip columns, a ring that drops its oldest,
    /// a zero figure, a panel resized; the same view each time, and the shortcut taken.
    #[test]
    fn refresh_after_gives_the_view_refresh_gives() {
        let config = Config::default();
        // A small deterministic generator: the test needs variety, not a crate.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut shortcuts = 0;
        for capacity in [3usize, 40, 80, 400] {
            let mut history = History::new(capacity);
            let mut view = MemView::default();
            let mut cols = 30;
            let mut ms: u64 = 1_700_000_000_000;
            let mut value: u64 = 5 << 20;
            for _ in 0..3000 {
                // Gaps of whole columns: a quiet tab's figures come only when they change.
                ms += match next(400) {
                    0..=9 => 5_000 * (1 + next(12)),
                    10..=40 => 0,
                    _ => 1_000,
                };
                match next(1000) {
                    0 => value = 0,
                    1..=3 => value = (1 + next(8)) << 20,
                    4..=6 => value += 4096,
                    _ => {}
                }
                if next(1000) == 0 {
                    cols = 10 + next(40) as usize;
                }
                history.push(Sample {
                    unix_ms: ms,
                    tree_bytes: value,
                    heap_bytes: next(3),
                    ..Sample::default()
                });
                // The peak kept as samples come and go, against one decoded from them.
                let decoded = history.iter().map(|s| s.tree_bytes).max().unwrap_or(0);
                assert_eq!(history.peak_tree(), decoded, "capacity {capacity}, at {ms}");
                let full = refresh(&history, cols, &config);
                shortcuts += usize::from(steady(&view, &history, cols, &config).is_some());
                view = refresh_after(&view, &history, cols, &config);
                assert_eq!(view, full, "capacity {capacity}, at {ms}");
            }
        }
        assert!(shortcuts > 500, "the shortcut was taken {shortcuts} times");
    }

    /// A quiet tab is sampled only when its figures change: the columns between two samples,
    /// and those up to the panel's clock, show the figure of the sample before them.
    #[test]
    fn a_quiet_tabs_chart_carries_its_last_figure() {
        let config = Config::default();
        let col_ms = SECONDS_PER_COLUMN * 1000;
        let t0 = 1_700_000_000_000 / col_ms * col_ms;
        let mut history = History::new(100);
        let at = |col: u64, tree_bytes: u64| Sample {
            unix_ms: t0 + col * col_ms + 250,
            tree_bytes,
            ..Sample::default()
        };
        history.push(at(0, 7 << 20));
        let first = refresh(&history, 10, &config);
        assert_eq!(first.tree, vec![7 << 20]);
        // Three columns later, no sample: the chart reaches the clock with the last figure.
        let now = column(t0 + 3 * col_ms);
        assert_eq!(first.tree_at(now).to_vec(), vec![7 << 20; 4]);
        assert_eq!(first.top_at(now, 10), 7 << 20);
        assert!(!first.still_under_carry(), "a chart that is not full grows");
        assert!(
            first.flat(),
            "but only longer: its columns all show the last figure"
        );
        // A new figure four columns on: the columns between carry the old one.
        history.push(at(4, 9 << 20));
        let view = refresh(&history, 10, &config);
        assert_eq!(view.tree, vec![9 << 20, 7 << 20, 7 << 20, 7 << 20, 7 << 20]);
        assert_eq!(refresh_after(&first, &history, 10, &config), view);
        assert!(!view.flat(), "a new figure: the highest column moves on");
        // Never wider than the chart, however long the tab was quiet.
        assert_eq!(view.tree_at(column(t0) + 1000).to_vec(), vec![9 << 20; 10]);
        let full = MemView {
            tree: vec![9 << 20; 10],
            ..view
        };
        assert!(
            full.still_under_carry(),
            "full and flat: the same one column on"
        );
        // As a chart: a chart still filling moves. As a one-line row: only when its highest
        // column leaves the window.
        let (c4, c5) = (column(t0) + 4, column(t0) + 5);
        assert!(first.moves(c4, c5, true));
        assert!(!first.moves(c4, c5, false), "flat: only longer");
        let falling = MemView {
            tree: vec![1 << 20, 5 << 20, 2 << 20],
            last: 1 << 20,
            cols: 3,
            newest_col: column(t0),
            ..MemView::default()
        };
        assert!(
            !falling.moves(column(t0), column(t0) + 1, false),
            "5M still shown"
        );
        assert!(
            falling.moves(column(t0) + 1, column(t0) + 2, false),
            "5M left the window"
        );
        assert!(!full.moves(c4, c5, true) && !full.moves(c4, c5, false));
    }

    #[test]
    fn short_units() {
        assert_eq!(short_bytes(512), "512B");
        assert_eq!(short_bytes(256 << 20), "256M");
        assert_eq!(short_bytes(1536), "1.5K");
    }
}
