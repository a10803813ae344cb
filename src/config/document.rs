//! Reading the whole document into a `Config`: every table, key and bound, and the checks
//! between settings.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use crate::input::keymap::Chord;
use crate::memory::history::LEAK_MIN_SAMPLES;

use super::keys::read_keys;
use super::reader::{Problem, Reader, Value, integer};
use super::values::{SIZE_EXPECTED, format_duration, parse_limit};
use super::{Colors, Config, TabMemory};
// Bounds, with their reasons.
/// The event loop clamps to the same range; past 1000 a frame interval is under 1 ms.
pub(super) const FPS: (i64, i64) = (1, 1000);
/// Rows per tab; 0 turns scrollback off. 10 million rows of 80 columns is gigabytes, and
/// `scrollback-bytes` caps the store anyway.
pub(super) const SCROLLBACK_LINES: (i64, i64) = (0, 10_000_000);
/// Per tab. 4 KiB is one 80x50 screen of plain text, less is not worth keeping (turn scrollback
/// off with `scrollback-lines = 0`); 4 GiB is more than any one tab's history is worth.
pub(super) const SCROLLBACK_BYTES: (u64, u64) = (4 << 10, 4 << 30);
/// All tabs together; 0 would evict every row as it scrolls off (use `scrollback-lines = 0`).
pub(super) const MEMORY_BUDGET: (u64, u64) = (1 << 20, 64 << 30);
/// Columns. The chart and its labels need about 20; 400 is wider than most screens.
pub(super) const PANEL_WIDTH: (i64, i64) = (20, 400);
/// Each sample reads /proc for every process of every tab: at 1 s, 16 tabs cost under 1% of a
/// core (tests/procs_cost.rs); below 100 ms that cost is no longer negligible.
pub(super) const SAMPLE_INTERVAL: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(600));
/// From one minute (the default leak window) to a week; `MAX_SAMPLES` bounds it further.
pub(super) const HISTORY: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(7 * 86_400));
/// Samples kept per tab: a busy tab's sample takes up to 15 bytes in the history ring, so
/// 86 400 samples (a day at 1 Hz) are about 1.3 MB per tab.
pub(super) const MAX_SAMPLES: u128 = 86_400;
/// Below 1 MiB every idle shell would be marked; 16 TiB is beyond any machine's memory.
pub(super) const WARN_ABOVE: (u64, u64) = (1 << 20, 16 << 40);
/// Terminals cap OSC 52 payloads themselves (xterm and kitty at a few MiB); past 64 MiB a copy
/// would be held in memory twice for nothing.
pub(super) const OSC52_MAX_BYTES: (u64, u64) = (1 << 10, 64 << 20);

/// Reads a whole document into a `Config`, or every problem found.
pub(super) fn read_document(src: &str) -> Result<Config, Vec<Problem>> {
    let doc = match DeTable::parse(src) {
        Ok(doc) => doc,
        Err(e) => {
            let at = e.span().map_or(0, |s| s.start);
            return Err(vec![Problem {
                span: at..e.span().map_or(at, |s| s.end),
                message: format!("invalid TOML: {}", e.message()),
            }]);
        }
    };
    let mut r = Reader {
        src,
        problems: Vec::new(),
        set: BTreeMap::new(),
    };
    let mut cfg = Config::default();
    let mut prefix = cfg.keymap.prefix;
    let mut prefix_span = None;
    let mut keys = None;
    for (k, v) in doc.get_ref() {
        let name: &str = k.get_ref();
        match name {
            "shell" => {
                if let Some(s) = r.string(name, v, "expected a program path, or \"\" for $SHELL") {
                    cfg.shell = (!s.is_empty()).then_some(s);
                }
            }
            "shell-args" => {
                if let Some(args) = read_strings(&mut r, name, v) {
                    cfg.shell_args = args;
                }
            }
            "term" => {
                let expected = "expected a terminal type such as \"xterm-256color\"";
                if let Some(s) = r.string(name, v, expected) {
                    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        r.invalid(name, v.span(), expected);
                    } else {
                        cfg.term = s;
                    }
                }
            }
            "prefix" => {
                let expected = "expected a key such as \"C-b\" or \"C-a\"";
                if let Some(s) = r.string(name, v, expected) {
                    match s.parse::<Chord>() {
                        Ok(c) => {
                            prefix = c;
                            prefix_span = Some(v.span());
                        }
                        Err(e) => r.invalid(name, v.span(), &e.reason),
                    }
                }
            }
            "fps" => {
                if let Some(n) = r.int(name, v, "a number", FPS) {
                    cfg.fps = u32::try_from(n).unwrap_or(cfg.fps);
                }
            }
            "scrollback-lines" => {
                if let Some(n) = r.int(name, v, "a number of lines", SCROLLBACK_LINES) {
                    cfg.scrollback_lines = usize::try_from(n).unwrap_or(cfg.scrollback_lines);
                }
            }
            "scrollback-bytes" => {
                if let Some(n) = r.size(name, v, SCROLLBACK_BYTES) {
                    cfg.scrollback_bytes =
                        to_usize(&mut r, name, v, n).unwrap_or(cfg.scrollback_bytes);
                }
            }
            "memory-budget" => {
                if let Some(n) = r.size(name, v, MEMORY_BUDGET) {
                    cfg.memory_budget = to_usize(&mut r, name, v, n).unwrap_or(cfg.memory_budget);
                }
            }
            "osc52-copy" => set(&mut cfg.osc52_copy, r.boolean(name, v)),
            "osc52-max-bytes" => {
                if let Some(n) = r.size(name, v, OSC52_MAX_BYTES) {
                    cfg.osc52_max_bytes =
                        to_usize(&mut r, name, v, n).unwrap_or(cfg.osc52_max_bytes);
                }
            }
            "exit-on-last-tab-close" => set(&mut cfg.exit_on_last_tab_close, r.boolean(name, v)),
            "window-size" => set(&mut cfg.window_size, r.choice(name, v)),
            "memory-panel" => {
                if let Some(t) = r.table(name, v) {
                    read_panel(&mut r, t, &mut cfg);
                }
            }
            "tab-memory" => {
                if let Some(t) = r.table(name, v) {
                    read_tab_memory(&mut r, t, &mut cfg.tab_memory);
                }
            }
            "colors" => {
                if let Some(t) = r.table(name, v) {
                    read_colors(&mut r, t, &mut cfg.colors);
                }
            }
            "keys" => keys = r.table(name, v),
            _ => r.unknown_key(None, k),
        }
    }
    check_panel(&mut r, &cfg);
    cfg.keymap = read_keys(&mut r, keys, prefix, prefix_span);
    if r.problems.is_empty() {
        Ok(cfg)
    } else {
        Err(r.problems)
    }
}

pub(super) fn to_usize(r: &mut Reader<'_>, key: &str, v: &Value<'_>, n: u64) -> Option<usize> {
    match usize::try_from(n) {
        Ok(n) => Some(n),
        Err(_) => {
            r.invalid(key, v.span(), "too large for this machine's address space");
            None
        }
    }
}

pub(super) fn read_strings(r: &mut Reader<'_>, key: &str, v: &Value<'_>) -> Option<Vec<String>> {
    let expected = "expected a list of strings, as in [\"-l\"]";
    let Some(items) = v.get_ref().as_array() else {
        r.wrong_type(key, v, expected);
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items.iter() {
        match item.get_ref().as_str() {
            Some(s) => out.push(s.to_string()),
            None => {
                r.wrong_type(key, item, "expected a string");
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Keeps a setting's `value` in `slot` when it was read; when it was not (the reader has
/// reported why), the default stays.
fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

pub(super) fn read_panel(r: &mut Reader<'_>, t: &DeTable<'_>, cfg: &mut Config) {
    for (k, v) in t {
        match &**k.get_ref() {
            "show" => set(&mut cfg.panel_show, r.choice("memory-panel.show", v)),
            "width" => {
                let n = r.int("memory-panel.width", v, "a number of columns", PANEL_WIDTH);
                set(&mut cfg.panel_width, n.and_then(|n| u16::try_from(n).ok()));
            }
            "sample-interval" => {
                let d = r.noted_duration("memory-panel.sample-interval", v, SAMPLE_INTERVAL);
                set(&mut cfg.sample_interval, d);
            }
            "history" => {
                let d = r.noted_duration("memory-panel.history", v, HISTORY);
                set(&mut cfg.history, d);
            }
            // Bounded by `history` and `sample-interval` in `check_panel`.
            "leak-window" => {
                let d =
                    r.noted_duration("memory-panel.leak-window", v, (Duration::ZERO, HISTORY.1));
                set(&mut cfg.leak_window, d);
            }
            "warn-above" => set(
                &mut cfg.warn_above,
                r.size("memory-panel.warn-above", v, WARN_ABOVE),
            ),
            _ => r.unknown_key(Some("memory-panel"), k),
        }
    }
}

pub(super) fn read_tab_memory(r: &mut Reader<'_>, t: &DeTable<'_>, tm: &mut TabMemory) {
    for (k, v) in t {
        match &**k.get_ref() {
            "cgroups" => set(&mut tm.cgroups, r.boolean("tab-memory.cgroups", v)),
            "cgroup-root" => {
                let key = "tab-memory.cgroup-root";
                let expected = "expected a cgroup v2 directory, or \"\" to let memmux choose";
                if let Some(s) = r.string(key, v, expected) {
                    if s.is_empty() {
                        tm.cgroup_root = None;
                    } else if !s.starts_with('/') {
                        r.invalid(key, v.span(), "expected an absolute path");
                    } else {
                        tm.cgroup_root = Some(PathBuf::from(s));
                    }
                }
            }
            "tab-memory-limit" => {
                let key = "tab-memory.tab-memory-limit";
                let limit = match v.get_ref() {
                    DeValue::String(s) => parse_limit(s),
                    DeValue::Integer(_) => match integer(v.get_ref()) {
                        Some(n) => parse_limit(&n.to_string()),
                        None => Err(SIZE_EXPECTED.to_string()),
                    },
                    _ => {
                        r.wrong_type(key, v, "expected a size or \"none\"");
                        continue;
                    }
                };
                match limit {
                    Ok(l) => tm.limit = l,
                    Err(e) => r.invalid(key, v.span(), &e),
                }
            }
            "high-fraction" => {
                let key = "tab-memory.high-fraction";
                let expected = "expected a fraction from 0.5 to 1.0";
                let f = match v.get_ref() {
                    DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
                    DeValue::Integer(_) => integer(v.get_ref()).map(|i| i as f64),
                    _ => None,
                };
                match f {
                    Some(f) if (0.5..=1.0).contains(&f) => tm.high_fraction = f,
                    _ => r.invalid(key, v.span(), expected),
                }
            }
            "over-limit-action" => set(
                &mut tm.over_limit,
                r.choice("tab-memory.over-limit-action", v),
            ),
            _ => r.unknown_key(Some("tab-memory"), k),
        }
    }
}

/// Checks between the panel's durations, blaming whichever of the two the file set (the
/// defaults agree with each other).
pub(super) fn check_panel(r: &mut Reader<'_>, cfg: &Config) {
    const SAMPLE: &str = "memory-panel.sample-interval";
    const HIST: &str = "memory-panel.history";
    const LEAK: &str = "memory-panel.leak-window";
    let blame = |r: &Reader<'_>, first: &'static str, second: &'static str| {
        r.set
            .get(first)
            .map(|s| (first, s.clone()))
            .or_else(|| r.set.get(second).map(|s| (second, s.clone())))
    };
    let interval = cfg.sample_interval.max(Duration::from_millis(1));
    let samples = cfg.history.as_millis() / interval.as_millis();
    if samples > MAX_SAMPLES {
        if let Some((key, span)) = blame(r, HIST, SAMPLE) {
            let problem = format!(
                "`history` / `sample-interval` = {} / {} keeps {samples} samples per tab; \
                 at most {MAX_SAMPLES} (about 1.3 MB per busy tab)",
                format_duration(cfg.history),
                format_duration(cfg.sample_interval)
            );
            r.invalid(key, span, &problem);
        }
    }
    if cfg.leak_window > cfg.history {
        if let Some((key, span)) = blame(r, LEAK, HIST) {
            let problem = format!(
                "`leak-window` ({}) must not be longer than `history` ({})",
                format_duration(cfg.leak_window),
                format_duration(cfg.history)
            );
            r.invalid(key, span, &problem);
        }
    }
    let min_leak = cfg.sample_interval * LEAK_MIN_SAMPLES as u32;
    if cfg.leak_window < min_leak {
        if let Some((key, span)) = blame(r, LEAK, SAMPLE) {
            let problem = format!(
                "`leak-window` ({}) must hold at least {LEAK_MIN_SAMPLES} samples, \
                 {LEAK_MIN_SAMPLES} × `sample-interval` = {}",
                format_duration(cfg.leak_window),
                format_duration(min_leak)
            );
            r.invalid(key, span, &problem);
        }
    }
}

pub(super) fn read_colors(r: &mut Reader<'_>, t: &DeTable<'_>, colors: &mut Colors) {
    for (k, v) in t {
        let slot = match &**k.get_ref() {
            "bar-fg" => &mut colors.bar_fg,
            "bar-bg" => &mut colors.bar_bg,
            "active-fg" => &mut colors.active_fg,
            "active-bg" => &mut colors.active_bg,
            "warn" => &mut colors.warn,
            "accent" => &mut colors.accent,
            "chart-tree" => &mut colors.chart_tree,
            "chart-heap" => &mut colors.chart_heap,
            _ => {
                r.unknown_key(Some("colors"), k);
                continue;
            }
        };
        let key = format!("colors.{}", k.get_ref());
        if let Some(c) = r.color(&key, v) {
            *slot = c;
        }
    }
}
