//! A tab's panes in the memory panel, beneath the tab's block (whose figure is their sum):
//! per pane its number and program, a one-row chart on the panel's common scale, its figure
//! (and its own limit), and, given a second row, its biggest process.
//!
//! ```text
//! ├1 bash    ▁▁▂▃▅▆▇  61.2M
//! │ top memhog (4321) 60.1M
//! └2 vim           ▁  12.5M/64M
//!   top vim (4400) 11.8M
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::{RenderDirection, Sparkline, Widget};
use unicode_width::UnicodeWidthStr;

use super::{Scale, biggest_text, put, put_right, short_bytes, visible};
use crate::config::Config;
use crate::state::Tab;
use crate::state::pane_memory::PaneMemory;

/// 8 columns: a pane's name in its row; the chart takes what is left of the figure.
const NAME_W: usize = 8;

/// Rows the panes of `tab` take at `level` rows per pane (2: with the biggest process, 1:
/// the chart line only, 0: none). A tab of one pane has none: its block is its pane's.
pub fn rows(tab: &Tab, level: u16) -> u16 {
    if tab.panes.len() < 2 {
        return 0;
    }
    (tab.panes.len() as u16).saturating_mul(level)
}

/// Draws the panes of `tab` into `area` (`level` rows each, as [`rows`] counted), in the
/// layout's order, on the panel's chart scale. The focused tab's panes share its block's
/// background.
pub fn render(
    tab: &Tab,
    focused: bool,
    level: u16,
    area: Rect,
    buf: &mut Buffer,
    config: &Config,
    scale: Scale,
) {
    let top = scale.tree;
    if level == 0 || area.width < 8 {
        return;
    }
    let c = &config.colors;
    let base = super::block_background(focused, c, area, buf);
    let dim = base.add_modifier(Modifier::DIM);
    let order = tab.layout.panes();
    let focus = tab.layout.focus();
    for (k, id) in order.iter().enumerate() {
        let y = area.y + k as u16 * level;
        if y >= area.bottom() {
            break;
        }
        let last = k + 1 == order.len();
        let Some(pane) = tab.pane_by_id(*id) else {
            continue;
        };
        let mem: Option<&PaneMemory> = tab.mem.panes.iter().find(|m| m.id == *id);
        let fig = mem.map(|m| &m.latest);
        let d = fig.map(|f| &f.detail);
        // The figure, marked as the panel marks a tab's: `≈` an estimate, `☠N` kills, and
        // the pane's own limit when it has one.
        let approx = if d.is_some_and(|d| d.source == crate::memory::cgroup::FALLBACK_SOURCE) {
            "≈"
        } else {
            ""
        };
        let value = fig.map_or_else(|| "…".to_string(), |f| short_bytes(f.sample.tree_bytes));
        let limit = d
            .and_then(|d| d.limit)
            .map(|l| format!("/{}", short_bytes(l)))
            .unwrap_or_default();
        let oom = match d.map_or(0, |d| d.oom_kills) {
            0 => String::new(),
            n => format!("☠{n} "),
        };
        let right = format!(" {oom}{approx}{value}{limit}");
        let branch = if last { "└" } else { "├" };
        let mut label: String = format!("{branch}{} {}", k + 1, pane.label())
            .chars()
            .take(NAME_W + 3)
            .collect();
        let label_w = label.width();
        label.extend(std::iter::repeat_n(
            ' ',
            (NAME_W + 3).saturating_sub(label_w),
        ));
        let is_focus = focused && *id == focus;
        let label_style = if is_focus {
            base.add_modifier(Modifier::BOLD).fg(c.accent)
        } else {
            base
        };
        let x = put(buf, area.x, y, &label, area.width, label_style);
        let right_w = right.width() as u16;
        put_right(
            buf,
            area.right(),
            y,
            &right,
            base.add_modifier(Modifier::BOLD),
        );
        let chart_w = area.right().saturating_sub(right_w).saturating_sub(x + 1);
        if let (Some(m), true) = (mem, chart_w > 0) {
            let cols = usize::from(chart_w);
            let shown = m.view.tree_at(scale.now_col);
            let tree = visible(&shown[..shown.len().min(cols)], top, 1);
            Sparkline::default()
                .data(&tree)
                .max(top.max(1))
                .direction(RenderDirection::RightToLeft)
                .style(base.fg(c.chart_tree))
                .render(Rect::new(x + 1, y, chart_w, 1), buf);
        }
        if level < 2 || y + 1 >= area.bottom() {
            continue;
        }
        let stem = if last { "  " } else { "│ " };
        let x = put(buf, area.x, y + 1, stem, area.width, dim);
        let rest = area.right().saturating_sub(x);
        match d.and_then(|d| d.oom_victim.as_ref()) {
            Some((pid, name)) => {
                put(
                    buf,
                    x,
                    y + 1,
                    &format!("☠ {name} ({pid})"),
                    rest,
                    base.fg(c.warn),
                );
            }
            None => {
                let top = biggest_text(fig.and_then(|f| f.biggest.as_ref()));
                put(buf, x, y + 1, &top, rest, dim);
            }
        }
    }
}
