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
    let mut label = tab.label();
    if label.width() > max_label {
        let mut cut = String::new();
        for c in label.chars() {
            if cut.width() + 2 > max_label {
                break;
            }
            cut.push(c);
        }
        cut.push('…');
        label = cut;
    }
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

/// Where each visible tab's entry goes: (tab index, first column, width), and whether tabs
/// are hidden on the left / right.
struct Placement {
    entries: Vec<(usize, u16, u16)>,
    hidden_left: bool,
    hidden_right: bool,
}

fn place(widths: &[u16], focus: usize, area: Rect) -> Placement {
    // First visible tab: as far left as possible while the focused tab still fits.
    let avail = u32::from(area.width.saturating_sub(2));
    let focus = focus.min(widths.len().saturating_sub(1));
    let mut first = 0;
    while first < focus
        && widths[first..=focus]
            .iter()
            .map(|w| u32::from(*w))
            .sum::<u32>()
            > avail
    {
        first += 1;
    }
    let mut p = Placement {
        entries: Vec::new(),
        hidden_left: first > 0,
        hidden_right: false,
    };
    let mut x = area.x + u16::from(first > 0);
    for (i, w) in widths.iter().enumerate().skip(first) {
        let end = area.right().saturating_sub(u16::from(i + 1 < widths.len()));
        if x.saturating_add(*w) > end {
            p.hidden_right = true;
            break;
        }
        p.entries.push((i, x, *w));
        x += w;
    }
    p
}

/// Every tab's entry. The focused tab's title is cut short when its entry would not fit in
/// `area`, so its number and marks stay on screen at any width.
fn entries(state: &State, config: &Config, area: Rect) -> Vec<Vec<(String, Style)>> {
    let mut v: Vec<Vec<(String, Style)>> = state
        .tabs
        .iter()
        .enumerate()
        .map(|(i, t)| entry(t, i + 1, i == state.view.focus, MAX_LABEL, config))
        .collect();
    // 2: the `<` and `>` columns.
    let avail = area.width.saturating_sub(2);
    if let (Some(t), Some(e)) = (state.focused(), v.get_mut(state.view.focus)) {
        let over = usize::from(width(e).saturating_sub(avail));
        if over > 0 {
            let label = t.label().width().min(MAX_LABEL);
            *e = entry(
                t,
                state.view.focus + 1,
                true,
                label.saturating_sub(over).max(1),
                config,
            );
        }
    }
    v
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
    let entries = entries(state, config, area);
    let widths: Vec<u16> = entries.iter().map(|e| width(e)).collect();
    let p = place(&widths, state.view.focus, area);
    for (i, x0, _) in &p.entries {
        let mut x = *x0;
        for (text, style) in &entries[*i] {
            let (nx, _) = buf.set_stringn(x, area.y, text, usize::from(area.right() - x), *style);
            x = nx;
        }
    }
    // A hidden tab's memory mark shows beside the arrow on its side, over the entry next to
    // it if need be: a tab eating memory is never out of sight.
    let warn = bar.fg(colors.warn).add_modifier(Modifier::BOLD);
    let shown = |i: usize| p.entries.iter().any(|(j, _, _)| *j == i);
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
    let widths: Vec<u16> = entries(state, config, area)
        .iter()
        .map(|e| width(e))
        .collect();
    place(&widths, state.view.focus, area)
        .entries
        .into_iter()
        .find(|(_, x0, w)| x >= *x0 && x < x0 + w)
        .map(|(i, _, _)| i)
}
