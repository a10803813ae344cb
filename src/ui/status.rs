//! The status line: prompts, confirmations, messages, and a short summary of the focused tab.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use std::sync::atomic::Ordering;

use unicode_width::UnicodeWidthStr;

use crate::action::Action;
use crate::config::Config;
use crate::state::{Confirm, Mode, State};
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
    match &state.mode {
        Mode::Prefix => {
            let (x, _) = buf.set_stringn(
                area.x,
                area.y,
                format!(" {} ", config.keymap.prefix),
                w,
                badge,
            );
            let rest = format!(
                " press a key ({} for help, Esc to cancel)",
                help_key(config)
            );
            buf.set_stringn(x, area.y, rest, usize::from(area.right() - x), bar);
        }
        Mode::Rename(input) => {
            let label = format!(" rename tab {}: ", state.focus + 1);
            let (x, _) =
                buf.set_stringn(area.x, area.y, &label, w, bar.add_modifier(Modifier::BOLD));
            buf.set_stringn(x, area.y, &input.text, usize::from(area.right() - x), bar);
            let before: String = input.text.chars().take(input.cursor).collect();
            let cx = x
                .saturating_add(before.width() as u16)
                .min(area.right().saturating_sub(1));
            return Some((cx, area.y));
        }
        Mode::Command(input) => {
            let (x, _) = buf.set_stringn(area.x, area.y, " :", w, bar.add_modifier(Modifier::BOLD));
            buf.set_stringn(x, area.y, &input.text, usize::from(area.right() - x), bar);
            if let Some(m) = &state.message {
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
            let before: String = input.text.chars().take(input.cursor).collect();
            let cx = x
                .saturating_add(before.width() as u16)
                .min(area.right().saturating_sub(1));
            return Some((cx, area.y));
        }
        Mode::Confirm(c) => {
            let q = match c {
                Confirm::CloseTab(id) => {
                    format!(" close {} while it runs? (y/n)", tab_name(state, *id))
                }
                Confirm::RestartTab(id) => {
                    format!(" kill and restart {}? (y/n)", tab_name(state, *id))
                }
                Confirm::MemoryLimit(id, limit, used) => format!(
                    " {} uses {}: a limit of {} makes the kernel reclaim or kill now. Set it? (y/n)",
                    tab_name(state, *id),
                    crate::util::human_bytes(*used),
                    crate::util::human_bytes(*limit)
                ),
                Confirm::Quit => {
                    let running = state.tabs.iter().filter(|t| t.session.is_running()).count();
                    format!(" quit memmux, hanging up {running} running tab(s)? (y/n)")
                }
            };
            buf.set_stringn(area.x, area.y, q, w, warn);
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
            match (&view.note, &state.message) {
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
                    let hint = if view.anchor.is_some() {
                        " selecting: move, y copies, v or Esc cancels"
                    } else {
                        " q leaves · / ? search · n N next · v select · y copy · g G top bottom"
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
        Mode::Normal => {
            // A message gets the whole line when it needs it: a config error's place matters
            // more than the summary.
            if let Some(m) = &state.message {
                let style = if m.error { warn } else { bar.fg(colors.accent) };
                let text = format!(" {}", m.text);
                if text.width() + 2 >= w.saturating_sub(summary(state, config).width()) {
                    buf.set_stringn(area.x, area.y, text, w, style);
                    return None;
                }
            }
            let right = summary(state, config);
            let rw = right.width().min(w);
            let right_x = area.right() - rw as u16;
            buf.set_stringn(right_x, area.y, &right, rw, bar);
            let left_w = usize::from(right_x - area.x).saturating_sub(1);
            if let Some(m) = &state.message {
                let style = if m.error { warn } else { bar.fg(colors.accent) };
                buf.set_stringn(area.x, area.y, format!(" {}", m.text), left_w, style);
            } else if let Some(tab) = state.focused() {
                let pending = tab.session.shared.input.pending();
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

fn help_key(config: &Config) -> String {
    config
        .keymap
        .keys_for(Action::Help)
        .iter()
        .find(|b| b.prefixed)
        .map(|b| b.chord.to_string())
        .unwrap_or_else(|| "?".to_string())
}

/// The right-hand summary: the focused tab's scrollback and the help key.
fn summary(state: &State, config: &Config) -> String {
    let mut parts = Vec::new();
    if let Some(tab) = state.focused() {
        let rows = tab.session.shared.history_rows.load(Ordering::Acquire);
        let bytes = tab.session.shared.history_bytes.load(Ordering::Acquire);
        parts.push(format!(
            "history {rows} rows, {}",
            human_bytes(bytes as u64)
        ));
    }
    parts.push(help_hint(config));
    format!("{} ", parts.join(" · "))
}
