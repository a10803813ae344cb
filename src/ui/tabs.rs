//! The tab bar: number, title and marks of every tab, the focused one highlighted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use unicode_width::UnicodeWidthStr;

use crate::config::Config;
use crate::session::{ExitStatus, Status};
use crate::state::{State, Tab};

/// Longest title shown in the bar, in columns; longer ones end in `…`.
const MAX_LABEL: usize = 24;

/// The pieces of one tab's entry, with their styles.
fn entry(
    tab: &Tab,
    number: usize,
    focused: bool,
    max_label: usize,
    config: &Config,
) -> Vec<(String, Style)> {
    let colors = &config.colors;
    let base = if focused {
        Style::new()
            .fg(colors.active_fg)
            .bg(colors.active_bg)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(colors.bar_fg).bg(colors.bar_bg)
    };
    let label = crate::ui::text::cut(&tab.label(), max_label);
    let mut parts = vec![(format!(" {number}:{label}"), base)];
    // A zoomed tab hides its other panes: marked as tmux marks it.
    if tab.layout.is_zoomed() {
        parts.push(("Z".to_string(), base.fg(colors.accent)));
    }
    if tab.bell {
        parts.push((
            "!".to_string(),
            base.fg(colors.warn).add_modifier(Modifier::BOLD),
        ));
    } else if tab.activity {
        parts.push(("+".to_string(), base.fg(colors.accent)));
    }
    match super::memory::alarm(tab, config) {
        Some(super::memory::Alarm::Above) => {
            parts.push((
                "●".to_string(),
                base.fg(colors.warn).add_modifier(Modifier::BOLD),
            ));
        }
        Some(super::memory::Alarm::Growing) => {
            parts.push((
                "↗".to_string(),
                base.fg(colors.accent).add_modifier(Modifier::BOLD),
            ));
        }
        None => {}
    }
    // Memory: frozen, and out-of-memory kills by the tab's limit.
    if tab.mem.detail.frozen {
        parts.push(("❄".to_string(), base.fg(colors.accent)));
    }
    if tab.mem.detail.oom_kills > 0 {
        let text = format!("☠{}", tab.mem.detail.oom_kills);
        parts.push((text, base.fg(colors.warn).add_modifier(Modifier::BOLD)));
    }
    if let Some(note) = tab.end_note() {
        let ok = tab.session().status == Status::Exited(ExitStatus::Code(0));
        let style = if ok { base } else { base.fg(colors.warn) };
        parts.push((format!(" [{note}]"), style));
    }
    parts.push((" ".to_string(), base));
    parts
}

fn width(parts: &[(String, Style)]) -> u16 {
    parts
        .iter()
        .map(|(s, _)| s.width())
        .sum::<usize>()
        .min(u16::MAX as usize) as u16
}

/// One tab's entry: its pieces of text with their styles.
type Entry = Vec<(String, Style)>;

/// The entries on the bar: (tab index, first column, the entry's pieces), and whether tabs
/// are hidden on the left / right.
struct Bar {
    shown: Vec<(usize, u16, Entry)>,
    hidden_left: bool,
    hidden_right: bool,
}

/// The entries that fit in `area`, the focused one as far right as the tabs before it allow
/// (as far left as possible while it still fits). Only the entries on screen are built (and
/// those next to them that did not fit): building every tab's entry per frame made each new
/// tab O(tabs) in a burst of 1,000. The focused tab's title is cut short when its entry
/// would not fit alone, so its number and marks stay on screen at any width.
fn layout(state: &State, config: &Config, area: Rect) -> Bar {
    let mut out = Bar {
        shown: Vec::new(),
        hidden_left: false,
        hidden_right: false,
    };
    let n = state.tabs.len();
    if n == 0 {
        return out;
    }
    let focus = state.view.focus.min(n - 1);
    let entry_of =
        |i: usize, max: usize| entry(&state.tabs[i], i + 1, i == state.view.focus, max, config);
    // 2: the `<` and `>` columns.
    let avail = area.width.saturating_sub(2);
    let mut focused = entry_of(focus, MAX_LABEL);
    let over = usize::from(width(&focused).saturating_sub(avail));
    if over > 0 && focus == state.view.focus {
        let label = state.tabs[focus].label().width().min(MAX_LABEL);
        focused = entry_of(focus, label.saturating_sub(over).max(1));
    }
    // First visible tab: extend to the left while the entries up to the focused one fit.
    let mut sum = u32::from(width(&focused));
    let mut left = Vec::new();
    let mut first = focus;
    while first > 0 {
        let e = entry_of(first - 1, MAX_LABEL);
        let w = u32::from(width(&e));
        if sum + w > u32::from(avail) {
            break;
        }
        sum += w;
        first -= 1;
        left.push(e);
    }
    out.hidden_left = first > 0;
    let mut x = area.x + u16::from(first > 0);
    let mut pending = left.into_iter().rev().chain(std::iter::once(focused));
    for i in first..n {
        let e = match pending.next() {
            Some(e) => e,
            None => entry_of(i, MAX_LABEL),
        };
        let w = width(&e);
        let end = area.right().saturating_sub(u16::from(i + 1 < n));
        if x.saturating_add(w) > end {
            out.hidden_right = true;
            break;
        }
        out.shown.push((i, x, e));
        x += w;
    }
    out
}

/// The strongest memory mark among `tabs` (shown next to `<` or `>` for hidden tabs).
fn hidden_mark<'a>(tabs: impl Iterator<Item = &'a Tab>, config: &Config) -> Option<&'static str> {
    let tabs: Vec<&Tab> = tabs.collect();
    // The gravest first: a program killed for its limit, above the threshold, growing, frozen.
    if tabs.iter().any(|t| t.mem.detail.oom_kills > 0) {
        return Some("☠");
    }
    let marks: Vec<_> = tabs
        .iter()
        .filter_map(|t| super::memory::alarm(t, config))
        .collect();
    if marks.contains(&super::memory::Alarm::Above) {
        Some("●")
    } else if !marks.is_empty() {
        Some("↗")
    } else if tabs.iter().any(|t| t.mem.detail.frozen) {
        Some("❄")
    } else {
        None
    }
}

/// Draws the bar. When the tabs don't fit, the bar scrolls so the focused tab is visible and
/// shows `<` / `>` where tabs are hidden.
pub fn render(state: &State, config: &Config, area: Rect, buf: &mut Buffer) {
    let colors = &config.colors;
    let bar = Style::new().fg(colors.bar_fg).bg(colors.bar_bg);
    for x in area.left()..area.right() {
        buf[(x, area.y)].reset();
    }
    buf.set_style(area, bar);
    let p = layout(state, config, area);
    for (_, x0, entry) in &p.shown {
        let mut x = *x0;
        for (text, style) in entry {
            let (nx, _) = buf.set_stringn(x, area.y, text, usize::from(area.right() - x), *style);
            x = nx;
        }
    }
    // A hidden tab's memory mark shows beside the arrow on its side, over the entry next to
    // it if need be: a tab eating memory is never out of sight.
    let warn = bar.fg(colors.warn).add_modifier(Modifier::BOLD);
    // The entries shown are consecutive tabs.
    let lo = p.shown.first().map_or(usize::MAX, |s| s.0);
    let hi = p.shown.last().map_or(0, |s| s.0);
    let shown = |i: usize| lo <= i && i <= hi;
    if p.hidden_left {
        let mark = hidden_mark(
            state
                .tabs
                .iter()
                .enumerate()
                .filter(|(i, _)| !shown(*i) && *i < state.view.focus)
                .map(|(_, t)| t),
            config,
        );
        buf.set_string(area.x, area.y, "<", bar.fg(colors.accent));
        if let Some(m) = mark {
            buf.set_string(area.x + 1, area.y, m, warn);
        }
    }
    if p.hidden_right {
        let mark = hidden_mark(
            state
                .tabs
                .iter()
                .enumerate()
                .filter(|(i, _)| !shown(*i) && *i > state.view.focus)
                .map(|(_, t)| t),
            config,
        );
        let right = area.right().saturating_sub(1);
        buf.set_string(right, area.y, ">", bar.fg(colors.accent));
        if let Some(m) = mark {
            buf.set_string(right.saturating_sub(1), area.y, m, warn);
        }
    }
}

/// Which tab (index) is drawn at column `x` of the bar, for mouse clicks.
pub fn tab_at(state: &State, config: &Config, area: Rect, x: u16) -> Option<usize> {
    layout(state, config, area)
        .shown
        .into_iter()
        .find(|(_, x0, e)| x >= *x0 && x < x0 + width(e))
        .map(|(i, _, _)| i)
}
