//! The help overlay: every action with its keys, then what no binding table shows: the scroll
//! view's keys, the prompts' editing keys, the mouse, and what each mark on a tab means.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::input::action::Action;
use crate::input::keymap::Keymap;

/// One line of the help: a section heading, or keys, a name (an action's, for the prompt and
/// the config file; empty for fixed keys) and what they do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Heading(&'static str),
    Row(String, String, String),
}

/// The scroll view's keys (fixed, as tmux's copy mode in vi style).
const SCROLL_KEYS: &[(&str, &str)] = &[
    ("k j ↑ ↓ h l ← →", "move the cursor"),
    ("w b e", "next word, previous word, end of word"),
    ("0 ^ $", "start, first character, end of the line"),
    (
        "f t F T + char",
        "jump to a character on the line (; repeats)",
    ),
    ("C-u C-d", "half a page up, down"),
    ("C-b C-f PgUp PgDn", "a page up, down"),
    ("C-y C-e", "scroll one line"),
    ("g G", "top, bottom of the history"),
    ("/ ?", "search down, up (every match highlighted)"),
    ("n N", "next, previous match"),
    ("v Space", "start or cancel a selection"),
    ("V", "select whole lines"),
    ("C-v r", "rectangle selection on or off"),
    ("y Enter", "copy the selection and leave"),
    ("q Esc", "leave (Esc first cancels a selection)"),
];

/// Editing keys of the single-line prompts (rename, `:`, search).
const PROMPT_KEYS: &[(&str, &str)] = &[
    ("← → Home End", "move in the line"),
    ("C-a C-e", "start, end of the line"),
    ("Backspace Delete", "delete before, at the cursor"),
    ("C-u", "clear the line"),
    ("Tab", "complete an action name (: prompt)"),
    ("Enter Esc", "accept, cancel"),
];

const MOUSE: &[(&str, &str)] = &[
    ("click a tab", "go to that tab"),
    (
        "wheel",
        "scroll the history (or the program, if it takes the mouse)",
    ),
    ("drag", "in the scroll view: select, copied on release"),
    (
        "Shift-drag",
        "your terminal's own selection (in most terminals)",
    ),
];

/// What the tab bar and the panel mark a tab with.
const MARKS: &[(&str, &str)] = &[
    ("+", "new output in a hidden tab"),
    ("!", "a bell rang in a hidden tab"),
    ("↗", "memory keeps growing (a steady rise over leak-window)"),
    ("●", "memory above warn-above (default 1 GiB)"),
    (
        "☠N",
        "the kernel killed N programs for the tab's memory limit",
    ),
    ("❄", "the tab is frozen (thaw-tab, C-b T)"),
    ("≈", "figure is a PSS estimate (no cgroup for the tab)"),
    (
        "[exit N]",
        "the program ended: r restarts it, x closes the tab",
    ),
    (
        "< >",
        "more tabs that way (with ● or ↗ if one of them is marked)",
    ),
];

/// Every line of the help, in order.
pub fn lines(keymap: &Keymap) -> Vec<Line> {
    let mut v = vec![Line::Heading(
        "Keys (any action also by name at the : prompt)",
    )];
    let spell =
        |a: Action| -> Vec<String> { keymap.keys_for(a).iter().map(|b| keymap.spell(b)).collect() };
    // The nine select-tab actions on one row while their keys follow one pattern (the
    // default `C-b N`, `M-N`): nine rows of it would push the rest off an 80x24 screen.
    let pattern = |k: u8| -> Vec<String> {
        spell(Action::SelectTab(1))
            .iter()
            .map(|s| s.replace('1', &k.to_string()))
            .collect()
    };
    let uniform = (1..=9).all(|k| spell(Action::SelectTab(k)) == pattern(k));
    for a in Action::all() {
        match a {
            Action::SelectTab(1) if uniform => {
                let keys: Vec<String> = spell(a).iter().map(|s| s.replace('1', "1..9")).collect();
                v.push(Line::Row(
                    keys.join(", "),
                    "select-tab-N".to_string(),
                    "go to tab N (1 to 9; C-b ' for any)".to_string(),
                ));
            }
            Action::SelectTab(_) if uniform => {}
            _ => v.push(Line::Row(spell(a).join(", "), a.name(), a.describe())),
        }
    }
    let fixed = |v: &mut Vec<Line>, heading, rows: &[(&str, &str)]| {
        v.push(Line::Heading(heading));
        v.extend(
            rows.iter()
                .map(|(k, d)| Line::Row(k.to_string(), String::new(), d.to_string())),
        );
    };
    fixed(&mut v, "Scroll view", SCROLL_KEYS);
    fixed(&mut v, "Prompts", PROMPT_KEYS);
    fixed(&mut v, "Mouse", MOUSE);
    fixed(&mut v, "Tab marks", MARKS);
    v
}

/// How far the help scrolls at most: its last line at the bottom of a `height`-row screen.
pub fn max_scroll(keymap: &Keymap, height: u16) -> u16 {
    let n = u16::try_from(lines(keymap).len()).unwrap_or(u16::MAX);
    n.saturating_sub(height.saturating_sub(2))
}

/// A bordered box centred in `area`, `want_w` x `want_h` at most, cleared; returns its inside.
pub fn framed(title: &str, want_w: u16, want_h: u16, area: Rect, buf: &mut Buffer) -> Rect {
    let w = want_w.min(area.width);
    let h = want_h.min(area.height);
    let popup = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(popup, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .style(Style::new());
    let inner = block.inner(popup);
    block.render(popup, buf);
    inner
}

/// Draws the overlay centred in `area`, scrolled down by `scroll` lines.
pub fn render(keymap: &Keymap, scroll: u16, area: Rect, buf: &mut Buffer) {
    let lines = lines(keymap);
    let (mut key_w, mut name_w, mut desc_w) = (0, 0, 0);
    for l in &lines {
        if let Line::Row(k, n, d) = l {
            key_w = key_w.max(k.chars().count());
            name_w = name_w.max(n.len());
            desc_w = desc_w.max(d.chars().count());
        }
    }
    // On a narrow terminal the action names give way to the descriptions (the names are what
    // the `:` prompt takes; Tab completes them there).
    if key_w + name_w + desc_w + 8 > usize::from(area.width) {
        name_w = 0;
    }
    let want_w = u16::try_from(key_w + name_w + desc_w + 8).unwrap_or(u16::MAX);
    let want_h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let title = " memmux keys: ↑ ↓ PgUp PgDn scroll, q closes ";
    let inner = framed(title, want_w, want_h, area, buf);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let heading = bold.add_modifier(Modifier::UNDERLINED);
    let dim = Style::new().add_modifier(Modifier::DIM);
    let max_scroll = (lines.len() as u16).saturating_sub(inner.height);
    let width = usize::from(inner.width);
    for (row, line) in lines
        .iter()
        .skip(usize::from(scroll.min(max_scroll)))
        .take(usize::from(inner.height))
        .enumerate()
    {
        let y = inner.y + row as u16;
        match line {
            Line::Heading(h) => {
                buf.set_stringn(inner.x + 1, y, h, width.saturating_sub(1), heading);
            }
            Line::Row(keys, name, desc) => {
                let text = format!(" {keys:<key_w$}  ");
                let (x, _) = buf.set_stringn(inner.x, y, &text, width, bold);
                let rest = usize::from(inner.right().saturating_sub(x));
                let x = if name_w > 0 {
                    buf.set_stringn(x, y, format!("{name:<name_w$}  "), rest, Style::new())
                        .0
                } else {
                    x
                };
                let rest = usize::from(inner.right().saturating_sub(x));
                buf.set_stringn(x, y, desc, rest, dim);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_covers_every_action_and_the_fixed_keys() {
        let k = Keymap::default();
        let text: Vec<String> = lines(&k)
            .into_iter()
            .map(|l| match l {
                Line::Heading(h) => h.to_string(),
                Line::Row(a, b, c) => format!("{a} {b} {c}"),
            })
            .collect();
        for a in Action::all() {
            let name = match a {
                Action::SelectTab(_) => "select-tab-N".to_string(),
                _ => a.name(),
            };
            assert!(text.iter().any(|l| l.contains(&name)), "{a}");
        }
        assert!(text.iter().any(|l| l.contains("C-b 1..9, M-1..9")));
        for needle in [
            "Scroll view",
            "Prompts",
            "Mouse",
            "Tab marks",
            "↗",
            "●",
            "C-v r",
        ] {
            assert!(text.iter().any(|l| l.contains(needle)), "{needle}");
        }
    }
}
