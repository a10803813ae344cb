//! The status line: prompts, confirmations, messages, and a short summary of the focused tab.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use unicode_width::UnicodeWidthStr;

use crate::config::Config;
use crate::input::action::Action;
use crate::state::{Confirm, LineInput, Mode, State, Tab};
use crate::ui::memory::{Alarm, short_bytes};
use crate::ui::text::cut;
use crate::util::human_bytes;

/// Input still queued for a program past this many bytes is worth telling the user about.
const SHOW_PENDING_INPUT: usize = 4096;

fn tab_name(state: &State, id: u64) -> String {
    state
        .index_of(id)
        .map(|i| format!("tab {} ({})", i + 1, state.tabs[i].label()))
        .unwrap_or_else(|| "tab".to_string())
}

fn help_hint(config: &Config) -> String {
    let keys = config.keymap.keys_for(Action::Help);
    keys.first()
        .map(|b| format!("{} help", config.keymap.spell(b)))
        .unwrap_or_default()
}

/// A prompt: `label` in bold, then the text typed so far. Returns the column the text starts
/// at and where the cursor goes (on the last column at most).
fn prompt(
    buf: &mut Buffer,
    area: Rect,
    label: &str,
    input: &LineInput,
    bar: Style,
) -> (u16, (u16, u16)) {
    let w = usize::from(area.width);
    let (x, _) = buf.set_stringn(area.x, area.y, label, w, bar.add_modifier(Modifier::BOLD));
    buf.set_stringn(x, area.y, &input.text, usize::from(area.right() - x), bar);
    let before: String = input.text.chars().take(input.cursor).collect();
    let cx = x
        .saturating_add(before.width() as u16)
        .min(area.right().saturating_sub(1));
    (x, (cx, area.y))
}

/// Draws the line; returns where the cursor goes when a prompt is open.
pub fn render(state: &State, config: &Config, area: Rect, buf: &mut Buffer) -> Option<(u16, u16)> {
    let colors = &config.colors;
    let bar = Style::new().fg(colors.bar_fg).bg(colors.bar_bg);
    for x in area.left()..area.right() {
        buf[(x, area.y)].reset();
    }
    buf.set_style(area, bar);
    let badge = Style::new()
        .fg(colors.bar_bg)
        .bg(colors.accent)
        .add_modifier(Modifier::BOLD);
    let warn = bar.fg(colors.warn).add_modifier(Modifier::BOLD);
    let w = usize::from(area.width);
    match &state.view.mode {
        Mode::Prefix => {
            let (x, _) = buf.set_stringn(
                area.x,
                area.y,
                format!(" {} ", config.keymap.prefix),
                w,
                badge,
            );
            let room = usize::from(area.right() - x);
            buf.set_stringn(x, area.y, prefix_hint(config, room), room, bar);
        }
        Mode::Rename(input) => {
            let label = format!(" rename tab {}: ", state.view.focus + 1);
            let (_, cursor) = prompt(buf, area, &label, input, bar);
            return Some(cursor);
        }
        Mode::Command(input) => {
            let (x, cursor) = prompt(buf, area, " :", input, bar);
            if let Some(m) = &state.view.message {
                let note = format!("  {}", m.text);
                let start = x.saturating_add(input.text.width() as u16 + 1);
                if start < area.right() {
                    buf.set_stringn(
                        start,
                        area.y,
                        note,
                        usize::from(area.right() - start),
                        bar.add_modifier(Modifier::DIM),
                    );
                }
            }
            return Some(cursor);
        }
        Mode::Confirm(c) => {
            let q = match c {
                Confirm::CloseTab(id) => format!(" close {} while it runs?", tab_name(state, *id)),
                Confirm::ClosePane(id) => {
                    let what = state
                        .tab_of(*id)
                        .and_then(|i| state.tabs[i].pane_by_id(*id))
                        .and_then(|p| p.fg_name.clone())
                        .unwrap_or_else(|| "its program".to_string());
                    format!(" close this pane while {what} runs?")
                }
                Confirm::RestartTab(id) => format!(" kill and restart {}?", tab_name(state, *id)),
                Confirm::MemoryLimit(id, limit, used) => format!(
                    " {} uses {}: a limit of {} makes the kernel reclaim or kill now. Set it?",
                    tab_name(state, *id),
                    crate::util::human_bytes(*used),
                    crate::util::human_bytes(*limit)
                ),
                Confirm::PaneMemoryLimit(id, limit, used) => {
                    let pane = state
                        .tab_of(*id)
                        .and_then(|i| {
                            let p = state.tabs[i].pane_number(*id)?;
                            Some(format!("tab {}, pane {p}", i + 1))
                        })
                        .unwrap_or_else(|| "this pane".to_string());
                    format!(
                        " {pane} uses {}: a limit of {} makes the kernel reclaim or kill now. Set it?",
                        crate::util::human_bytes(*used),
                        crate::util::human_bytes(*limit)
                    )
                }
                Confirm::Quit => {
                    let running = state
                        .tabs
                        .iter()
                        .filter(|t| t.panes.iter().any(|p| p.session.is_running()))
                        .count();
                    format!(" quit memmux, hanging up {running} running tab(s)?")
                }
            };
            // The answer keys stay whole at any width; the question is cut instead.
            let answer = " (y/n)";
            let q = cut(&q, w.saturating_sub(answer.width()));
            buf.set_stringn(area.x, area.y, format!("{q}{answer}"), w, warn);
        }
        Mode::Scroll(view) => {
            if let Some((backward, input)) = &view.prompt {
                let label = if *backward { "?" } else { "/" };
                let (x, _) = buf.set_stringn(
                    area.x,
                    area.y,
                    format!(" {label}"),
                    w,
                    bar.add_modifier(Modifier::BOLD),
                );
                buf.set_stringn(x, area.y, &input.text, usize::from(area.right() - x), bar);
                let before: String = input.text.chars().take(input.cursor).collect();
                let cx = x
                    .saturating_add(before.width() as u16)
                    .min(area.right().saturating_sub(1));
                return Some((cx, area.y));
            }
            let (x, _) = buf.set_stringn(area.x, area.y, " SCROLL ", w, badge);
            let rest = usize::from(area.right() - x);
            match (&view.note, &state.view.message) {
                (Some(note), _) => {
                    buf.set_stringn(x, area.y, format!(" {note}"), rest, warn);
                }
                (None, Some(m)) => {
                    buf.set_stringn(
                        x,
                        area.y,
                        format!(" {}", m.text),
                        rest,
                        bar.fg(colors.accent),
                    );
                }
                (None, None) => {
                    use crate::state::copy_mode::Shape;
                    let hint = match (view.anchor.is_some(), view.shape) {
                        (true, Shape::Chars) => {
                            " selecting: move, y copies, V lines, r rectangle, Esc cancels"
                        }
                        (true, Shape::Lines) => {
                            " selecting lines: move, y copies, v characters, Esc cancels"
                        }
                        (true, Shape::Rect) => {
                            " selecting a rectangle: move, y copies, r characters, Esc cancels"
                        }
                        (false, _) => {
                            " q leaves · / ? search · n N next · v V C-v select · w b e f t move · y copy"
                        }
                    };
                    buf.set_stringn(x, area.y, hint, rest, bar);
                }
            }
        }
        Mode::Help(_) => {
            buf.set_stringn(
                area.x,
                area.y,
                " help: Esc or q closes, Up/Down/PgUp/PgDn scroll",
                w,
                bar,
            );
        }
        Mode::Sessions { .. } => {
            buf.set_stringn(
                area.x,
                area.y,
                " sessions: Up/Down select, Enter or 1-9 switches this client, Esc or q closes",
                w,
                bar,
            );
        }
        Mode::Messages(_) => {
            buf.set_stringn(
                area.x,
                area.y,
                " messages, newest last: Esc or q closes, Up/Down/PgUp/PgDn scroll",
                w,
                bar,
            );
        }
        Mode::Normal => {
            // A message gets the whole line when it needs it: a config error's place matters
            // more than the summary.
            if let Some(m) = &state.view.message {
                let style = if m.error { warn } else { bar.fg(colors.accent) };
                let text = format!(" {}", m.text);
                if text.width() + 2 >= w.saturating_sub(summary(state, config, area.width).width())
                {
                    // Too long for the line: its start, and where to read it whole.
                    let text = match log_key(config) {
                        Some(k) if text.width() > w => {
                            let more = format!(" {k} shows all");
                            format!("{}{more}", cut(&text, w.saturating_sub(more.width())))
                        }
                        _ => text,
                    };
                    buf.set_stringn(area.x, area.y, text, w, style);
                    return None;
                }
            }
            let right = summary(state, config, area.width);
            let rw = right.width().min(w);
            let right_x = area.right() - rw as u16;
            buf.set_stringn(right_x, area.y, &right, rw, bar);
            let left_w = usize::from(right_x - area.x).saturating_sub(1);
            if let Some(m) = &state.view.message {
                let style = if m.error { warn } else { bar.fg(colors.accent) };
                buf.set_stringn(area.x, area.y, format!(" {}", m.text), left_w, style);
            } else if let Some(tab) = state.focused() {
                let pending = tab.session().shared.input_pending();
                if pending >= SHOW_PENDING_INPUT {
                    let text = format!(
                        " {} of input waiting: the program is not reading",
                        human_bytes(pending as u64)
                    );
                    buf.set_stringn(area.x, area.y, text, left_w, warn);
                }
            }
        }
    }
    None
}

/// The key after the prefix that runs `action`, if it has one.
fn prefixed_key(config: &Config, action: Action) -> Option<String> {
    config
        .keymap
        .keys_for(action)
        .iter()
        .find(|b| b.prefixed)
        .map(|b| b.chord.to_string())
}

/// How the log of messages is opened (`C-b ~`), if it is bound.
fn log_key(config: &Config) -> Option<String> {
    let keys = config.keymap.keys_for(Action::ShowMessages);
    keys.first().map(|b| config.keymap.spell(b))
}

/// What the status line says after the prefix: the most used next keys, as many as fit in
/// `room` columns, then where every key is listed (as zellij's bar does).
pub fn prefix_hint(config: &Config, room: usize) -> String {
    // In the order a newcomer needs them.
    let wanted: [(&[Action], &str); 10] = [
        (&[Action::NewTab], "new"),
        (&[Action::NextTab, Action::PrevTab], "next/prev"),
        (&[Action::SelectTab(1), Action::SelectTab(9)], "tab"),
        (&[Action::ScrollMode], "scroll"),
        (&[Action::CloseTab], "close"),
        (&[Action::ToggleMemoryPanel], "memory"),
        (&[Action::RenameTab], "rename"),
        (&[Action::GotoTab], "tab N"),
        (&[Action::CommandPrompt], "command"),
        (&[Action::ShowMessages], "messages"),
    ];
    let end = match prefixed_key(config, Action::Help) {
        Some(k) => format!(" · {k} all keys"),
        None => String::new(),
    };
    let mut text = String::new();
    for (actions, label) in wanted {
        let keys: Option<Vec<String>> = actions.iter().map(|a| prefixed_key(config, *a)).collect();
        let Some(keys) = keys else { continue };
        // `1-9`, `n/p`.
        let sep = if actions.first() == Some(&Action::SelectTab(1)) {
            "-"
        } else {
            "/"
        };
        let item = format!(" {} {label}", keys.join(sep));
        let sep = if text.is_empty() { "" } else { " ·" };
        if text.width() + sep.width() + item.width() + end.width() > room {
            break;
        }
        text.push_str(sep);
        text.push_str(&item);
    }
    text.push_str(&end);
    text
}

/// The right-hand summary. With the memory panel hidden, the memory figures come first (the
/// focused tab's, and the biggest tab's when that is another), so the figure memmux exists to
/// show is always on screen; then the focused tab's scrollback and the help key, as room allows.
fn summary(state: &State, config: &Config, width: u16) -> String {
    let mut parts = Vec::new();
    if !(super::panel_visible(width, state, config) && super::panel_fits(width, config.panel_width))
    {
        parts.extend(memory_figures(state));
    }
    let must = parts.len();
    if let Some(tab) = state.focused() {
        let rows = tab.session().shared.history_rows();
        let bytes = tab.session().shared.history_bytes();
        parts.push(format!(
            "history {rows} rows, {}",
            human_bytes(bytes as u64)
        ));
    }
    parts.push(help_hint(config));
    // Room for a few columns of message or note on the left: the optional parts go first
    // (history, then the help key), the memory figures never.
    let room = usize::from(width).saturating_sub(2);
    let join = |p: &[String]| format!("{} ", p.join(" · "));
    while parts.len() > must.max(1) && join(&parts).width() > room {
        let drop = if parts.len() > must + 1 {
            parts.len() - 2
        } else {
            parts.len() - 1
        };
        parts.remove(drop);
    }
    join(&parts)
}

/// The memory figures the status line shows while the panel is hidden: `mem 540K` for the
/// focused tab (with its mark), and `biggest 3:build 1.2G ↗` when another tab uses more.
pub fn memory_figures(state: &State) -> Vec<String> {
    let latest = |t: &Tab| t.mem.history.latest().map(|s| s.tree_bytes);
    let mark = |t: &Tab| match t.mem.view.alarm {
        Some(Alarm::Above) => " ●",
        Some(Alarm::Growing) => " ↗",
        None => "",
    };
    let mut out = Vec::new();
    let Some(focused) = state.focused() else {
        return out;
    };
    let figure = latest(focused).map_or_else(|| "…".to_string(), short_bytes);
    out.push(format!("mem {figure}{}", mark(focused)));
    let biggest = state
        .tabs
        .iter()
        .enumerate()
        .filter_map(|(i, t)| latest(t).map(|b| (b, i)))
        .max();
    if let Some((bytes, i)) =
        biggest.filter(|(b, i)| *i != state.view.focus && Some(*b) > latest(focused))
    {
        let t = &state.tabs[i];
        out.push(format!(
            "biggest {}:{} {}{}",
            i + 1,
            short_label(&t.label()),
            short_bytes(bytes),
            mark(t)
        ));
    }
    out
}

/// 12 columns of a tab's label: the status line is shared with the other figures.
fn short_label(label: &str) -> String {
    cut(label, 12)
}
