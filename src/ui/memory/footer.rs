//! The panel's footer: what it shows of memmux itself and of the machine, drawn (and kept by
//! the compositor) apart from the tabs' blocks (see `Part`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::{Totals, put, short_bytes};
use crate::state::State;

/// What the footer part shows, summed up for the compositor (see [`super::Part`]).
pub fn footer_key(state: &State) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    for (text, style) in footer_text(&state.totals) {
        text.hash(&mut h);
        style.bits().hash(&mut h);
    }
    h.finish()
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

/// The machine and the mechanism: `system 5.1G/23G avail 18G`, `memory pressure 0.0% (psi)`
/// and `tabs: cgroup-v1` (or why not), with what closed tabs left behind.
fn system_lines(t: &Totals) -> Vec<(String, Modifier)> {
    let s = &t.system;
    let sys = match (s.total, s.available) {
        (Some(total), Some(avail)) => format!(
            "system {}/{} avail {}",
            short_bytes(total.saturating_sub(avail)),
            short_bytes(total),
            short_bytes(avail)
        ),
        _ => "system ?".to_string(),
    };
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
    let short = |p: f32| p >= SHORT_PRESSURE;
    let bold = if s.pressure.is_some_and(short) {
        Modifier::BOLD
    } else {
        Modifier::empty()
    };
    // The pressure has a line of its own: after the system figures it was cut at the
    // default panel width (36 columns inside the border).
    let mut lines = vec![(sys, bold)];
    if let Some(p) = s.pressure {
        lines.push((format!("memory pressure {p:.1}% (psi)"), bold));
    }
    lines.push((mech, Modifier::DIM));
    // The tabs that wait for memory themselves (v2), highest first, on a line of their own
    // while there are any: `tab psi 2:3.1% 4:0.5%`.
    if !t.tab_pressure.is_empty() {
        let mut text = "tab psi".to_string();
        for (tab, p) in t.tab_pressure.iter().take(4) {
            text.push_str(&format!(" {tab}:{p:.1}%"));
        }
        let style = if t.tab_pressure.iter().any(|(_, p)| short(*p)) {
            Modifier::BOLD
        } else {
            Modifier::DIM
        };
        lines.push((text, style));
    }
    lines
}

/// 10%: memory pressure (`some avg10`) from which the footer shows it bold: a tenth of the
/// time some task waited for memory.
const SHORT_PRESSURE: f32 = 10.0;

/// The tabs whose own memory pressure is above zero (v2), as (tab number, percent), highest
/// first: for the footer.
pub fn tab_pressures(state: &State) -> Vec<(usize, f32)> {
    let mut v: Vec<(usize, f32)> = state
        .tabs
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let p = t.mem.detail.cgroup.as_ref()?.pressure?;
            // `avg10=0.00` prints as zero; anything that rounds to 0.0 is not shown.
            (p >= 0.05).then_some((i + 1, p))
        })
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}

pub(super) fn footer_lines(
    text: Vec<(String, Modifier)>,
    inner: Rect,
    footer: u16,
    buf: &mut Buffer,
) {
    if footer == 0 {
        return;
    }
    let y0 = inner.bottom() - footer;
    let lines: Vec<(String, Style)> = text
        .into_iter()
        .map(|(t, m)| (t, Style::new().add_modifier(m)))
        .collect();
    for (k, (text, style)) in lines.into_iter().take(usize::from(footer)).enumerate() {
        put(buf, inner.x, y0 + k as u16, &text, inner.width, style);
    }
}
