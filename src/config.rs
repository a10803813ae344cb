//! memmux's settings and the configuration file that sets them.
//!
//! The file is TOML. `config/default.toml` lists every setting with its default and is built
//! into the binary as [`DEFAULT_TOML`]; a user's file sets only what it changes. The file is read
//! by walking toml's spanned document tree (`toml::de::DeTable`) rather than through serde, so
//! that every problem in a file (not only the first) is reported with its line, column and
//! text, and unknown keys and actions get a did-you-mean.
//!
//! The binary finds the file with [`config_path`], reads it with [`load`], and prints
//! [`Config::effective_toml`] for `--print-config=effective`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use directories::ProjectDirs;
use ratatui::style::Color;
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use unicode_width::UnicodeWidthStr;

use crate::action::Action;
use crate::keymap::{Binding, Chord, ChordKey, Keymap, default_bindings};
use crate::memory::history::LEAK_MIN_SAMPLES;
use crate::util::closest;

/// The complete default configuration, with comments: what `--print-config=default` prints and
/// what a new user copies. A test checks it parses to exactly [`Config::default`].
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// The environment variable naming a config file (explicit, like `--config`).
pub const CONFIG_ENV: &str = "MEMMUX_CONFIG";

/// Colours of memmux's own chrome (never of the programs' output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colors {
    pub bar_fg: Color,
    pub bar_bg: Color,
    pub active_fg: Color,
    pub active_bg: Color,
    /// Marks and messages that need attention: bell, failures, warnings.
    pub warn: Color,
    /// Activity in a hidden tab, prefix indicator.
    pub accent: Color,
    /// Memory panel: the process tree's line and memmux's heap line.
    pub chart_tree: Color,
    pub chart_heap: Color,
}

impl Default for Colors {
    fn default() -> Self {
        Colors {
            bar_fg: Color::Indexed(252),
            bar_bg: Color::Indexed(236),
            active_fg: Color::Indexed(231),
            active_bg: Color::Indexed(25),
            warn: Color::Indexed(203),
            accent: Color::Indexed(220),
            chart_tree: Color::Indexed(44),
            chart_heap: Color::Indexed(213),
        }
    }
}

/// When the memory panel is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PanelShow {
    /// Shown when the terminal is at least `AUTO_MIN_COLUMNS` wide.
    #[default]
    Auto,
    Always,
    Never,
}

/// Every setting, with its default.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Program for new tabs; `None`: `$SHELL`, else `/bin/sh`.
    pub shell: Option<String>,
    pub shell_args: Vec<String>,
    /// `TERM` given to programs in tabs.
    pub term: String,
    /// Frames per second at most; a frame is drawn only when something changed.
    pub fps: u32,
    pub scrollback_lines: usize,
    pub scrollback_bytes: usize,
    /// Scrollback bytes across all tabs; past it, the oldest rows of the largest store go first.
    pub memory_budget: usize,
    pub panel_show: PanelShow,
    pub panel_width: u16,
    pub sample_interval: Duration,
    pub history: Duration,
    pub leak_window: Duration,
    /// A tab whose processes use more than this is marked in red.
    pub warn_above: u64,
    /// Let programs set the system clipboard with OSC 52.
    pub osc52_copy: bool,
    pub osc52_max_bytes: usize,
    pub exit_on_last_tab_close: bool,
    pub colors: Colors,
    /// How a session's size follows its attached clients' (read by the server at start).
    pub window_size: WindowSize,
    pub keymap: Keymap,
    /// `[tab-memory]`: cgroups, ceilings.
    pub tab_memory: TabMemory,
}

/// How a session's size follows the sizes of the clients attached to it (`window-size`, as
/// in tmux): the smallest (every client sees all of it), the largest, or the latest client's
/// (the one that attached or typed last).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowSize {
    Smallest,
    Largest,
    Latest,
}

impl WindowSize {
    pub fn name(self) -> &'static str {
        match self {
            WindowSize::Smallest => "smallest",
            WindowSize::Largest => "largest",
            WindowSize::Latest => "latest",
        }
    }
}

/// What memmux does when a tab without a cgroup stays above its limit (the kernel enforces
/// the limit of a tab with one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OverLimit {
    /// Say so in the status line and mark the tab.
    #[default]
    Warn,
    /// SIGSTOP the tab's biggest process.
    Stop,
    /// SIGTERM the tab's biggest process, then SIGKILL if it is still there.
    Kill,
}

impl OverLimit {
    pub fn name(self) -> &'static str {
        match self {
            OverLimit::Warn => "warn",
            OverLimit::Stop => "stop",
            OverLimit::Kill => "kill",
        }
    }
}

/// `[tab-memory]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TabMemory {
    /// Put each tab in its own memory cgroup when the machine allows it.
    pub cgroups: bool,
    /// A delegated cgroup v2 directory to make the tabs' cgroups in.
    pub cgroup_root: Option<PathBuf>,
    /// The ceiling every new tab starts with.
    pub limit: Option<u64>,
    /// v2: `memory.high` at this fraction of `memory.max`.
    pub high_fraction: f64,
    /// Without cgroups: what memmux does to a tab over its limit.
    pub over_limit: OverLimit,
}

impl Default for TabMemory {
    fn default() -> Self {
        TabMemory {
            cgroups: true,
            cgroup_root: None,
            limit: None,
            high_fraction: 0.9,
            over_limit: OverLimit::Warn,
        }
    }
}

/// The terminal width from which `show = "auto"` shows the memory panel.
pub const AUTO_MIN_COLUMNS: u16 = 120;

impl Default for Config {
    fn default() -> Self {
        Config {
            shell: None,
            shell_args: Vec::new(),
            term: "xterm-256color".to_string(),
            fps: 60,
            scrollback_lines: 10_000,
            scrollback_bytes: 16 << 20,
            memory_budget: 64 << 20,
            panel_show: PanelShow::Auto,
            panel_width: 36,
            sample_interval: Duration::from_secs(1),
            history: Duration::from_secs(3600),
            leak_window: Duration::from_secs(60),
            warn_above: 1 << 30,
            osc52_copy: false,
            osc52_max_bytes: 1 << 20,
            exit_on_last_tab_close: true,
            colors: Colors::default(),
            window_size: WindowSize::Smallest,
            keymap: Keymap::default(),
            tab_memory: TabMemory::default(),
        }
    }
}

impl Config {
    /// The program and arguments a new tab runs.
    pub fn shell_command(&self) -> Vec<String> {
        let shell = self
            .shell
            .clone()
            .or_else(|| std::env::var("SHELL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "/bin/sh".to_string());
        let mut v = vec![shell];
        v.extend(self.shell_args.iter().cloned());
        v
    }

    /// Reads a config file's text: defaults, overridden by what `text` sets. `path` is used only
    /// in error messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        read_document(text).map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            diagnostics: diagnostics(text, problems),
        })
    }

    /// The whole effective configuration as TOML, every setting spelled as the file spells it
    /// (for `memmux --print-config=effective`). [`Config::from_toml`] reads it back to an equal
    /// `Config`.
    pub fn effective_toml(&self) -> String {
        fn set(out: &mut String, key: &str, value: String) {
            out.push_str(&format!("{key} = {value}\n"));
        }
        let size = |n: u64| quote(&format_size(n));
        let duration = |d: Duration| quote(&format_duration(d));
        let mut out = String::from(
            "# memmux: effective configuration (defaults merged with the config file).\n\n",
        );
        let o = &mut out;
        set(o, "shell", quote(self.shell.as_deref().unwrap_or("")));
        set(o, "shell-args", quote_list(&self.shell_args));
        set(o, "term", quote(&self.term));
        set(o, "prefix", quote(&self.keymap.prefix.to_string()));
        set(o, "fps", self.fps.to_string());
        set(o, "scrollback-lines", self.scrollback_lines.to_string());
        // usize is at most 64 bits on every platform memmux builds for.
        set(o, "scrollback-bytes", size(self.scrollback_bytes as u64));
        set(o, "memory-budget", size(self.memory_budget as u64));
        set(o, "osc52-copy", self.osc52_copy.to_string());
        set(o, "osc52-max-bytes", size(self.osc52_max_bytes as u64));
        let exit = self.exit_on_last_tab_close.to_string();
        set(o, "exit-on-last-tab-close", exit);
        set(o, "window-size", quote(self.window_size.name()));

        o.push_str("\n[memory-panel]\n");
        let show = match self.panel_show {
            PanelShow::Auto => "auto",
            PanelShow::Always => "always",
            PanelShow::Never => "never",
        };
        set(o, "show", quote(show));
        set(o, "width", self.panel_width.to_string());
        set(o, "sample-interval", duration(self.sample_interval));
        set(o, "history", duration(self.history));
        set(o, "leak-window", duration(self.leak_window));
        set(o, "warn-above", size(self.warn_above));

        o.push_str("\n[tab-memory]\n");
        let t = &self.tab_memory;
        set(o, "cgroups", t.cgroups.to_string());
        let root = t.cgroup_root.as_ref().map(|p| p.display().to_string());
        set(o, "cgroup-root", quote(root.as_deref().unwrap_or("")));
        let limit = t.limit.map_or("none".to_string(), format_size);
        set(o, "tab-memory-limit", quote(&limit));
        set(o, "high-fraction", t.high_fraction.to_string());
        set(o, "over-limit-action", quote(t.over_limit.name()));

        o.push_str("\n[colors]\n");
        let c = &self.colors;
        for (key, color) in [
            ("bar-fg", c.bar_fg),
            ("bar-bg", c.bar_bg),
            ("active-fg", c.active_fg),
            ("active-bg", c.active_bg),
            ("warn", c.warn),
            ("accent", c.accent),
            ("chart-tree", c.chart_tree),
            ("chart-heap", c.chart_heap),
        ] {
            set(o, key, quote(&format_color(color)));
        }

        o.push_str("\n[keys]\n");
        for action in Action::all() {
            let keys: Vec<String> = self
                .keymap
                .keys_for(action)
                .iter()
                .map(|b| spell_binding(b, self.keymap.prefix))
                .collect();
            let value = match keys.as_slice() {
                [] => quote("none"),
                [one] => quote(one),
                many => quote_list(many),
            };
            set(o, &action.name(), value);
        }
        out
    }
}

/// A binding as `[keys]` spells it; the prefix pressed twice is `prefix prefix` so that it
/// follows a changed `prefix` (the default `send-prefix` binding).
fn spell_binding(b: &Binding, prefix: Chord) -> String {
    if b.prefixed && b.chord == prefix {
        "prefix prefix".to_string()
    } else {
        b.to_string()
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn quote_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Sizes, durations and colours as the file spells them.

const SIZE_EXPECTED: &str =
    "expected a size such as \"16 MiB\", \"512 KiB\", \"1 GiB\" or a number of bytes";

/// Reads a size: `"16 MiB"`, `"64MiB"`, `"1.5 GiB"`, `"512 K"`, `"4096"`. KiB, MiB, GiB, TiB
/// (and K, M, G, T, as `dd` reads them) are powers of 1024; kB, MB, GB, TB powers of 1000.
/// Units are case-insensitive. Fractions are rounded down to whole bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err("a size cannot be negative".to_string());
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(end);
    if number.is_empty() || !number.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(SIZE_EXPECTED.to_string());
    }
    let unit = unit.trim();
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "unknown size unit `{unit}`; expected B, KiB, MiB, GiB, TiB (powers of 1024) \
                 or kB, MB, GB, TB (powers of 1000)"
            ));
        }
    };
    let value = scaled_decimal(number, u128::from(multiplier)).ok_or(SIZE_EXPECTED)?;
    u64::try_from(value).map_err(|_| "too large".to_string())
}

/// `number` (digits, optional `_` separators, optional fraction) times `scale`, rounded down;
/// `None` if it is not a number. Saturates rather than overflowing: the callers' range checks
/// then reject it.
fn scaled_decimal(number: &str, scale: u128) -> Option<u128> {
    let number = number.replace('_', "");
    let (whole, fraction) = number.split_once('.').unwrap_or((&number, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u128 = whole.parse().unwrap_or(u128::MAX);
    // With scales below 10^18 (the largest, a day in nanoseconds, is 8.64 × 10^13), digits
    // past the 18th change the result by less than one unit; dropping them keeps 10^k and
    // the products within u128.
    let fraction = &fraction[..fraction.len().min(18)];
    let mut frac_value: u128 = 0;
    let mut denominator: u128 = 1;
    for b in fraction.bytes() {
        frac_value = frac_value * 10 + u128::from(b - b'0');
        denominator *= 10;
    }
    Some(
        whole
            .saturating_mul(scale)
            .saturating_add(frac_value.saturating_mul(scale) / denominator),
    )
}

/// A size as the file spells it: the largest binary unit that divides it exactly (`"16 MiB"`),
/// else bytes (`"1000 B"`). [`parse_size`] reads it back exactly.
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        let one = 1u64 << shift;
        if bytes >= one && bytes % one == 0 {
            return format!("{} {unit}", bytes / one);
        }
    }
    format!("{bytes} B")
}

const DURATION_EXPECTED: &str =
    "expected a duration such as \"500ms\", \"1s\", \"90 s\", \"5m\" or \"1h\"";

/// Reads a duration: a number and a unit (`ms`, `s`, `m` or `min`, `h`, `d`), optionally
/// repeated (`"1m30s"`), with optional spaces (`"90 s"`) and fractions (`"1.5s"`). The result
/// must be whole milliseconds: nothing memmux times is finer.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err("a duration cannot be negative".to_string());
    }
    if t.is_empty() {
        return Err(DURATION_EXPECTED.to_string());
    }
    let mut rest = t;
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(end);
        let after = after.trim_start();
        let unit_end = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        if number.is_empty() {
            return Err(DURATION_EXPECTED.to_string());
        }
        let scale: u128 = match unit.to_lowercase().as_str() {
            "" => {
                return Err(format!(
                    "a duration needs a unit (ms, s, m, h), as in \"{number}s\" or \"{number}ms\""
                ));
            }
            "ms" => 1_000_000,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
            "h" | "hr" | "hour" | "hours" => 3_600_000_000_000,
            "d" | "day" | "days" => 86_400_000_000_000,
            _ => {
                return Err(format!(
                    "unknown duration unit `{unit}`; expected ms, s, m (minutes), h or d"
                ));
            }
        };
        let part = scaled_decimal(number, scale).ok_or(DURATION_EXPECTED)?;
        nanos = nanos.saturating_add(part);
        rest = after.trim_start();
    }
    if nanos % 1_000_000 != 0 {
        return Err("durations are counted in whole milliseconds".to_string());
    }
    let millis = u64::try_from(nanos / 1_000_000).map_err(|_| "too long".to_string())?;
    Ok(Duration::from_millis(millis))
}

/// A duration as the file spells it, in the largest unit that divides it exactly: `"1h"`,
/// `"90s"`, `"500ms"`. Sub-millisecond parts (never read from a file) are dropped.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0ms".to_string();
    }
    for (unit_ms, unit) in [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ] {
        if ms % unit_ms == 0 {
            return format!("{}{unit}", ms / unit_ms);
        }
    }
    format!("{ms}ms")
}

/// Colour names as the file spells them. The first sixteen are the terminal's own palette
/// (ANSI 0-15, so they follow its theme): `gray` is ANSI 7 and `white` ANSI 15.
const COLOR_NAMES: [(&str, Color); 17] = [
    ("default", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark-gray", Color::DarkGray),
    ("light-red", Color::LightRed),
    ("light-green", Color::LightGreen),
    ("light-yellow", Color::LightYellow),
    ("light-blue", Color::LightBlue),
    ("light-magenta", Color::LightMagenta),
    ("light-cyan", Color::LightCyan),
    ("white", Color::White),
];

const COLOR_EXPECTED: &str = "expected a colour name (red, light-blue, dark-gray, default, ...), \
     a 256-colour index (\"color236\" or 236), or \"#rrggbb\"";

/// Reads a colour: a name (`"red"`, `"dark-gray"`; also `dark_grey`, `darkgray`,
/// `bright-red`), a 256-colour index (`"color236"`), or `"#rrggbb"`.
pub fn parse_color(text: &str) -> Result<Color, String> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("expected \"#rrggbb\" with six hex digits".to_string());
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        return Ok(Color::Rgb(channel(0), channel(2), channel(4)));
    }
    let lower = t.to_ascii_lowercase();
    let index = lower
        .strip_prefix("colour")
        .or_else(|| lower.strip_prefix("color"));
    if let Some(n) = index {
        return match n.parse::<u8>() {
            Ok(n) => Ok(Color::Indexed(n)),
            Err(_) => Err("256-colour indexes go from color0 to color255".to_string()),
        };
    }
    let squash = |s: &str| {
        s.to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .replace("grey", "gray")
            .replace("bright", "light")
    };
    let wanted = squash(t);
    if let Some((_, c)) = COLOR_NAMES.iter().find(|(n, _)| squash(n) == wanted) {
        return Ok(*c);
    }
    let names = COLOR_NAMES.iter().map(|(n, _)| *n);
    match closest(&lower, names) {
        Some(s) => Err(format!("unknown colour name (did you mean \"{s}\"?)")),
        None => Err(COLOR_EXPECTED.to_string()),
    }
}

/// A colour as the file spells it; [`parse_color`] reads it back exactly.
pub fn format_color(c: Color) -> String {
    if let Some((name, _)) = COLOR_NAMES.iter().find(|(_, n)| *n == c) {
        return (*name).to_string();
    }
    match c {
        Color::Indexed(n) => format!("color{n}"),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        // Every other variant is in COLOR_NAMES.
        _ => "default".to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the document.

/// Keys of the top-level table, in the order the default file lists them.
const ROOT_KEYS: &[&str] = &[
    "shell",
    "shell-args",
    "term",
    "prefix",
    "fps",
    "scrollback-lines",
    "scrollback-bytes",
    "memory-budget",
    "osc52-copy",
    "osc52-max-bytes",
    "exit-on-last-tab-close",
    "window-size",
    "memory-panel",
    "tab-memory",
    "colors",
    "keys",
];
const TAB_MEMORY_KEYS: &[&str] = &[
    "cgroups",
    "cgroup-root",
    "tab-memory-limit",
    "high-fraction",
    "over-limit-action",
];
const PANEL_KEYS: &[&str] = &[
    "show",
    "width",
    "sample-interval",
    "history",
    "leak-window",
    "warn-above",
];
const COLOR_KEYS: &[&str] = &[
    "bar-fg",
    "bar-bg",
    "active-fg",
    "active-bg",
    "warn",
    "accent",
    "chart-tree",
    "chart-heap",
];
/// Tables with fixed keys, for "did you mean" across tables.
const TABLES: [(Option<&str>, &[&str]); 4] = [
    (None, ROOT_KEYS),
    (Some("memory-panel"), PANEL_KEYS),
    (Some("tab-memory"), TAB_MEMORY_KEYS),
    (Some("colors"), COLOR_KEYS),
];

// Bounds, with their reasons.
/// The event loop clamps to the same range; past 1000 a frame interval is under 1 ms.
const FPS: (i64, i64) = (1, 1000);
/// Rows per tab; 0 turns scrollback off. 10 million rows of 80 columns is gigabytes, and
/// `scrollback-bytes` caps the store anyway.
const SCROLLBACK_LINES: (i64, i64) = (0, 10_000_000);
/// Per tab. 4 KiB is one 80x50 screen of plain text, less is not worth keeping (turn scrollback
/// off with `scrollback-lines = 0`); 4 GiB is more than any one tab's history is worth.
const SCROLLBACK_BYTES: (u64, u64) = (4 << 10, 4 << 30);
/// All tabs together; 0 would evict every row as it scrolls off (use `scrollback-lines = 0`).
const MEMORY_BUDGET: (u64, u64) = (1 << 20, 64 << 30);
/// Columns. The chart and its labels need about 20; 400 is wider than most screens.
const PANEL_WIDTH: (i64, i64) = (20, 400);
/// Each sample reads /proc for every process of every tab: at 1 s, 16 tabs cost under 1% of a
/// core (tests/procs_cost.rs); below 100 ms that cost is no longer negligible.
const SAMPLE_INTERVAL: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(600));
/// From one minute (the default leak window) to a week; `MAX_SAMPLES` bounds it further.
const HISTORY: (Duration, Duration) = (Duration::from_secs(60), Duration::from_secs(7 * 86_400));
/// Samples kept per tab: a busy tab's sample takes up to 15 bytes in the history ring, so
/// 86 400 samples (a day at 1 Hz) are about 1.3 MB per tab.
const MAX_SAMPLES: u128 = 86_400;
/// Below 1 MiB every idle shell would be marked; 16 TiB is beyond any machine's memory.
const WARN_ABOVE: (u64, u64) = (1 << 20, 16 << 40);
/// Terminals cap OSC 52 payloads themselves (xterm and kitty at a few MiB); past 64 MiB a copy
/// would be held in memory twice for nothing.
const OSC52_MAX_BYTES: (u64, u64) = (1 << 10, 64 << 20);

type Span = Range<usize>;
type Value<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<std::borrow::Cow<'i, str>>;

/// One problem found in a file, before it is given a line and column.
struct Problem {
    span: Span,
    message: String,
}

struct Reader<'s> {
    src: &'s str,
    problems: Vec<Problem>,
    /// Where each setting the file sets is, by dotted name, for checks across settings.
    set: BTreeMap<&'static str, Span>,
}

fn article(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn integer(v: &DeValue<'_>) -> Option<i128> {
    match v {
        DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    }
}

impl<'s> Reader<'s> {
    fn error(&mut self, span: Span, message: String) {
        self.problems.push(Problem { span, message });
    }

    /// The text at `span` as written, first line only and at most 40 characters.
    fn raw(&self, span: &Span) -> String {
        let text = self.src.get(span.clone()).unwrap_or("");
        let first = text.lines().next().unwrap_or("");
        let mut s: String = first.chars().take(40).collect();
        if s.len() < text.len() {
            s.push('…');
        }
        s
    }

    /// "invalid value for `key`: problem, found `text`", with a parenthesised hint at the end
    /// of `problem` (a did-you-mean) moved after the offending text.
    fn invalid(&mut self, key: &str, span: Span, problem: &str) {
        let raw = self.raw(&span);
        let (problem, hint) = match problem.find(" (did you mean") {
            Some(i) => problem.split_at(i),
            None => (problem, ""),
        };
        self.error(
            span,
            format!("invalid value for `{key}`: {problem}, found `{raw}`{hint}"),
        );
    }

    fn wrong_type(&mut self, key: &str, v: &Value<'_>, expected: &str) {
        self.wrong_type_quoted(key, v, expected, false);
    }

    /// As `wrong_type`, with a hint when the value is a string whose unquoted text would do.
    fn wrong_type_quoted(&mut self, key: &str, v: &Value<'_>, expected: &str, unquote: bool) {
        let raw = self.raw(&v.span());
        let found = article(v.get_ref());
        let hint = if unquote {
            "; write it without quotes"
        } else {
            ""
        };
        self.error(
            v.span(),
            format!("invalid type for `{key}`: {expected}, found {found} `{raw}`{hint}"),
        );
    }

    fn note_set(&mut self, key: &'static str, v: &Value<'_>) {
        self.set.insert(key, v.span());
    }

    fn int(&mut self, key: &str, v: &Value<'_>, what: &str, (min, max): (i64, i64)) -> Option<i64> {
        let expected = format!("expected {what} from {min} to {max}");
        match integer(v.get_ref()) {
            Some(n) if (i128::from(min)..=i128::from(max)).contains(&n) => i64::try_from(n).ok(),
            Some(_) => {
                self.invalid(key, v.span(), &expected);
                None
            }
            None => {
                let quoted_int = v
                    .get_ref()
                    .as_str()
                    .is_some_and(|s| s.trim().parse::<i64>().is_ok());
                self.wrong_type_quoted(key, v, &expected, quoted_int);
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, v: &Value<'_>) -> Option<bool> {
        if let Some(b) = v.get_ref().as_bool() {
            return Some(b);
        }
        let quoted = v
            .get_ref()
            .as_str()
            .is_some_and(|s| matches!(s.trim(), "true" | "false"));
        self.wrong_type_quoted(key, v, "expected true or false", quoted);
        None
    }

    fn string(&mut self, key: &str, v: &Value<'_>, expected: &str) -> Option<String> {
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.wrong_type(key, v, expected);
                None
            }
        }
    }

    fn size(&mut self, key: &str, v: &Value<'_>, (min, max): (u64, u64)) -> Option<u64> {
        let bytes = match v.get_ref() {
            DeValue::Integer(_) => match integer(v.get_ref()) {
                Some(n) if n < 0 => Err("a size cannot be negative".to_string()),
                Some(n) => Ok(u64::try_from(n).unwrap_or(u64::MAX)),
                None => Err(SIZE_EXPECTED.to_string()),
            },
            DeValue::String(s) => parse_size(s),
            _ => {
                self.wrong_type(key, v, SIZE_EXPECTED);
                return None;
            }
        };
        match bytes {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            Ok(_) => {
                let expected = format!(
                    "expected a size from {} to {}",
                    format_size(min),
                    format_size(max)
                );
                self.invalid(key, v.span(), &expected);
                None
            }
            Err(problem) => {
                self.invalid(key, v.span(), &problem);
                None
            }
        }
    }

    fn duration(
        &mut self,
        key: &str,
        v: &Value<'_>,
        (min, max): (Duration, Duration),
    ) -> Option<Duration> {
        let d = match v.get_ref() {
            DeValue::String(s) => parse_duration(s),
            // A bare number has no unit to read it in; parse_duration says so, or that it is
            // negative.
            DeValue::Integer(i) => parse_duration(i.as_str()),
            _ => {
                self.wrong_type(key, v, DURATION_EXPECTED);
                return None;
            }
        };
        match d {
            Ok(d) if (min..=max).contains(&d) => Some(d),
            Ok(_) => {
                let expected = format!(
                    "expected a duration from {} to {}",
                    format_duration(min),
                    format_duration(max)
                );
                self.invalid(key, v.span(), &expected);
                None
            }
            Err(problem) => {
                self.invalid(key, v.span(), &problem);
                None
            }
        }
    }

    fn color(&mut self, key: &str, v: &Value<'_>) -> Option<Color> {
        let c = match v.get_ref() {
            DeValue::String(s) => parse_color(s),
            DeValue::Integer(_) => match integer(v.get_ref()).and_then(|n| u8::try_from(n).ok()) {
                Some(n) => Ok(Color::Indexed(n)),
                None => Err("256-colour indexes go from 0 to 255".to_string()),
            },
            _ => {
                self.wrong_type(key, v, COLOR_EXPECTED);
                return None;
            }
        };
        match c {
            Ok(c) => Some(c),
            Err(problem) => {
                self.invalid(key, v.span(), &problem);
                None
            }
        }
    }

    fn table<'v, 'i>(&mut self, key: &str, v: &'v Value<'i>) -> Option<&'v DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                let expected = format!("expected a table (a `[{key}]` section)");
                self.wrong_type(key, v, &expected);
                None
            }
        }
    }

    /// An unknown key in `table` (`None`: the top level), with the likeliest intended key.
    fn unknown_key(&mut self, table: Option<&str>, key: &Key<'_>) {
        let name: &str = key.get_ref();
        let mut message = match table {
            Some(t) => format!("unknown key `{name}` in [{t}]"),
            None => format!("unknown key `{name}`"),
        };
        message.push_str(&self.hint_for(table, name));
        self.error(key.span(), message);
    }

    /// Where a misplaced or misspelt key belongs, as a clause to append to a message.
    fn hint_for(&self, table: Option<&str>, name: &str) -> String {
        // Exact matches elsewhere first: TOML puts every key after a `[table]` header into that
        // table, the usual way a top-level setting ends up in [keys] or [colors].
        for (other, keys) in TABLES {
            if other != table && keys.contains(&name) {
                return match other {
                    None => format!(
                        "; `{name}` is a top-level setting: move it above the first [table] header"
                    ),
                    Some(t) => format!("; `{name}` belongs in [{t}]"),
                };
            }
        }
        let own = TABLES
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, keys)| *keys)
            .unwrap_or(&[]);
        if let Some(s) = closest(name, own.iter().copied()) {
            return format!(" (did you mean `{s}`?)");
        }
        for (other, keys) in TABLES {
            if other == table {
                continue;
            }
            if let Some(s) = closest(name, keys.iter().copied()) {
                return match other {
                    None => format!(" (did you mean the top-level setting `{s}`?)"),
                    Some(t) => format!(" (did you mean `{s}` in [{t}]?)"),
                };
            }
        }
        if own.is_empty() {
            String::new()
        } else {
            format!("; expected one of: {}", own.join(", "))
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.src.len());
        self.src.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }
}

/// Reads a whole document into a `Config`, or every problem found.
fn read_document(src: &str) -> Result<Config, Vec<Problem>> {
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
            "osc52-copy" => {
                if let Some(b) = r.boolean(name, v) {
                    cfg.osc52_copy = b;
                }
            }
            "osc52-max-bytes" => {
                if let Some(n) = r.size(name, v, OSC52_MAX_BYTES) {
                    cfg.osc52_max_bytes =
                        to_usize(&mut r, name, v, n).unwrap_or(cfg.osc52_max_bytes);
                }
            }
            "exit-on-last-tab-close" => {
                if let Some(b) = r.boolean(name, v) {
                    cfg.exit_on_last_tab_close = b;
                }
            }
            "window-size" => {
                let expected = "expected \"smallest\", \"largest\" or \"latest\"";
                if let Some(s) = r.string(name, v, expected) {
                    match s.as_str() {
                        "smallest" => cfg.window_size = WindowSize::Smallest,
                        "largest" => cfg.window_size = WindowSize::Largest,
                        "latest" => cfg.window_size = WindowSize::Latest,
                        _ => r.invalid(name, v.span(), expected),
                    }
                }
            }
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

fn to_usize(r: &mut Reader<'_>, key: &str, v: &Value<'_>, n: u64) -> Option<usize> {
    match usize::try_from(n) {
        Ok(n) => Some(n),
        Err(_) => {
            r.invalid(key, v.span(), "too large for this machine's address space");
            None
        }
    }
}

fn read_strings(r: &mut Reader<'_>, key: &str, v: &Value<'_>) -> Option<Vec<String>> {
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

fn read_panel(r: &mut Reader<'_>, t: &DeTable<'_>, cfg: &mut Config) {
    for (k, v) in t {
        match &**k.get_ref() {
            "show" => {
                let key = "memory-panel.show";
                let expected = "expected \"auto\", \"always\" or \"never\"";
                if let Some(s) = r.string(key, v, expected) {
                    match s.as_str() {
                        "auto" => cfg.panel_show = PanelShow::Auto,
                        "always" => cfg.panel_show = PanelShow::Always,
                        "never" => cfg.panel_show = PanelShow::Never,
                        _ => r.invalid(key, v.span(), expected),
                    }
                }
            }
            "width" => {
                let key = "memory-panel.width";
                if let Some(n) = r.int(key, v, "a number of columns", PANEL_WIDTH) {
                    cfg.panel_width = u16::try_from(n).unwrap_or(cfg.panel_width);
                }
            }
            "sample-interval" => {
                let key = "memory-panel.sample-interval";
                if let Some(d) = r.duration(key, v, SAMPLE_INTERVAL) {
                    cfg.sample_interval = d;
                    r.note_set(key, v);
                }
            }
            "history" => {
                let key = "memory-panel.history";
                if let Some(d) = r.duration(key, v, HISTORY) {
                    cfg.history = d;
                    r.note_set(key, v);
                }
            }
            "leak-window" => {
                let key = "memory-panel.leak-window";
                // Bounded by `history` and `sample-interval` in `check_panel`.
                if let Some(d) = r.duration(key, v, (Duration::ZERO, HISTORY.1)) {
                    cfg.leak_window = d;
                    r.note_set(key, v);
                }
            }
            "warn-above" => {
                if let Some(n) = r.size("memory-panel.warn-above", v, WARN_ABOVE) {
                    cfg.warn_above = n;
                }
            }
            _ => r.unknown_key(Some("memory-panel"), k),
        }
    }
}

/// 4 MiB: below it a shell cannot start; 16 TiB is beyond any machine's memory.
pub const TAB_MEMORY_LIMIT: (u64, u64) = (4 << 20, 16 << 40);

/// A tab's ceiling as typed (`set-memory-limit`) or written in the file: a size, or `none`.
pub fn parse_limit(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let forms =
        "accepted: a size such as \"512 MiB\", \"2G\", \"1.5 GiB\", a number of bytes, or \"none\"";
    let n = parse_size(t).map_err(|e| format!("{e}; {forms}"))?;
    let (min, max) = TAB_MEMORY_LIMIT;
    if !(min..=max).contains(&n) {
        return Err(format!(
            "a limit must be from {} to {}; {forms}",
            format_size(min),
            format_size(max)
        ));
    }
    Ok(Some(n))
}

fn read_tab_memory(r: &mut Reader<'_>, t: &DeTable<'_>, tm: &mut TabMemory) {
    for (k, v) in t {
        match &**k.get_ref() {
            "cgroups" => {
                if let Some(b) = r.boolean("tab-memory.cgroups", v) {
                    tm.cgroups = b;
                }
            }
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
            "over-limit-action" => {
                let key = "tab-memory.over-limit-action";
                let expected = "expected \"warn\", \"stop\" or \"kill\"";
                if let Some(s) = r.string(key, v, expected) {
                    match s.as_str() {
                        "warn" => tm.over_limit = OverLimit::Warn,
                        "stop" => tm.over_limit = OverLimit::Stop,
                        "kill" => tm.over_limit = OverLimit::Kill,
                        _ => r.invalid(key, v.span(), expected),
                    }
                }
            }
            _ => r.unknown_key(Some("tab-memory"), k),
        }
    }
}

/// Checks between the panel's durations, blaming whichever of the two the file set (the
/// defaults agree with each other).
fn check_panel(r: &mut Reader<'_>, cfg: &Config) {
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

fn read_colors(r: &mut Reader<'_>, t: &DeTable<'_>, colors: &mut Colors) {
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

/// Reads a `[keys]` value's text: a binding as keymap.rs spells it, or `prefix prefix` for the
/// prefix pressed twice.
fn parse_binding(text: &str, prefix: Chord) -> Result<Binding, String> {
    let t = text.trim();
    if let Some((first, rest)) = t.split_once(char::is_whitespace) {
        if first.eq_ignore_ascii_case("prefix") && rest.trim().eq_ignore_ascii_case("prefix") {
            return Ok(Binding {
                prefixed: true,
                chord: prefix,
            });
        }
    }
    t.parse::<Binding>().map_err(|e| e.reason)
}

/// A binding on a key programs need unmodified (a character, Enter, an arrow...), which would
/// then never reach them. Function keys are free enough to bind on their own.
fn takes_typing(b: Binding) -> bool {
    let c = b.chord;
    !b.prefixed && !c.ctrl && !c.alt && !c.shift && !matches!(c.code, ChordKey::F(_))
}

/// The default keys of every action for a given prefix: keymap.rs's defaults, except that
/// `send-prefix` is the prefix pressed twice whatever the prefix is.
fn default_keys(prefix: Chord) -> BTreeMap<Action, Vec<Binding>> {
    let mut out: BTreeMap<Action, Vec<Binding>> = BTreeMap::new();
    for (keys, action) in default_bindings() {
        let list = out.entry(action).or_default();
        if action == Action::SendPrefix {
            list.push(Binding {
                prefixed: true,
                chord: prefix,
            });
            continue;
        }
        list.extend(keys.iter().filter_map(|k| k.parse::<Binding>().ok()));
    }
    out
}

const KEYS_EXPECTED: &str =
    "expected a key such as \"prefix c\" or \"M-1\", a list of keys, or \"none\"";

fn read_keys(
    r: &mut Reader<'_>,
    table: Option<&DeTable<'_>>,
    prefix: Chord,
    prefix_span: Option<Span>,
) -> Keymap {
    // What the file lists, per action; an action listed replaces its default keys.
    let mut listed: BTreeMap<Action, Vec<(Binding, Span)>> = BTreeMap::new();
    for (k, v) in table.into_iter().flatten() {
        let action = match k.get_ref().parse::<Action>() {
            Ok(a) => a,
            Err(e) => {
                let mut message = format!("unknown action `{}` in [keys]", e.name);
                match e.suggestion {
                    Some(s) => message.push_str(&format!(" (did you mean `{s}`?)")),
                    None => message.push_str(&r.hint_for(Some("keys"), &e.name)),
                }
                r.error(k.span(), message);
                continue;
            }
        };
        let key = format!("keys.{action}");
        let items: Vec<&Value<'_>> = match v.get_ref() {
            DeValue::String(s) if s.trim().eq_ignore_ascii_case("none") => Vec::new(),
            DeValue::String(_) => vec![v],
            DeValue::Array(a) => a.iter().collect(),
            _ => {
                r.wrong_type(&key, v, KEYS_EXPECTED);
                continue;
            }
        };
        let mut bindings = Vec::new();
        for item in items {
            match item.get_ref().as_str() {
                Some(s) if s.trim().eq_ignore_ascii_case("none") => r.invalid(
                    &key,
                    item.span(),
                    "\"none\" unbinds an action on its own; write `[]` or \"none\", not a list with it",
                ),
                Some(s) => match parse_binding(s, prefix) {
                    Ok(b) if takes_typing(b) => {
                        let message = format!(
                            "key `{b}` without the prefix would take every `{b}` typed away from \
                             the program in the tab; did you mean \"prefix {b}\"? (keys bound \
                             on their own need C-, M- or S-, or are F1 to F24)",
                        );
                        r.error(item.span(), message);
                    }
                    Ok(b) => bindings.push((b, item.span())),
                    Err(reason) => r.invalid(&key, item.span(), &reason),
                },
                None => r.wrong_type(&key, item, KEYS_EXPECTED),
            }
        }
        listed.insert(action, bindings);
    }

    let defaults = default_keys(prefix);
    // Every binding, with where the file set it (`None`: a default).
    let mut map: BTreeMap<Binding, (Action, Option<Span>)> = BTreeMap::new();
    for action in Action::all() {
        let keys: Vec<(Binding, Option<Span>)> = match listed.get(&action) {
            Some(list) => list.iter().map(|(b, s)| (*b, Some(s.clone()))).collect(),
            None => defaults
                .get(&action)
                .map(|l| l.iter().map(|b| (*b, None)).collect())
                .unwrap_or_default(),
        };
        for (binding, span) in keys {
            if !binding.prefixed && binding.chord == prefix {
                prefix_alone(r, binding, action, span, prefix_span.clone());
                continue;
            }
            match map.get(&binding) {
                // Listed twice for the same action: harmless.
                Some((other, _)) if *other == action => {}
                Some((other, other_span)) => {
                    let other_span = other_span.clone();
                    let (a, b) = ((*other, other_span), (action, span));
                    conflict(r, binding, a, b, prefix_span.clone());
                }
                None => {
                    map.insert(binding, (action, span));
                }
            }
        }
    }
    Keymap::new(prefix, map.into_iter().map(|(b, (a, _))| (b, a)).collect())
}

/// The prefix chord bound on its own: it could never be typed, as the prefix takes it first.
fn prefix_alone(
    r: &mut Reader<'_>,
    binding: Binding,
    action: Action,
    span: Option<Span>,
    prefix_span: Option<Span>,
) {
    let chord = binding.chord;
    match (span, prefix_span) {
        (Some(span), _) => r.error(
            span,
            format!(
                "`{chord}` is the prefix key, so it cannot also be bound on its own \
                 (to `{action}`); did you mean \"prefix {chord}\"?"
            ),
        ),
        (None, Some(span)) => r.error(
            span,
            format!(
                "the prefix `{chord}` is also `{action}`'s default key; choose another \
                 prefix, or give `{action}` other keys in [keys]"
            ),
        ),
        // The default prefix is bound alone by no default.
        (None, None) => {}
    }
}

/// The same binding for two actions.
fn conflict(
    r: &mut Reader<'_>,
    binding: Binding,
    first: (Action, Option<Span>),
    second: (Action, Option<Span>),
    prefix_span: Option<Span>,
) {
    let shown = format!("`{binding}`");
    match (first, second) {
        ((a, Some(sa)), (b, Some(sb))) => {
            // Point at the later of the two in the file; name the line of the earlier.
            let ((a, sa), (b, sb)) = if sa.start <= sb.start {
                ((a, sa), (b, sb))
            } else {
                ((b, sb), (a, sa))
            };
            let line = r.line_of(sa.start);
            r.error(
                sb,
                format!("key {shown} is bound to both `{a}` (line {line}) and `{b}`"),
            );
        }
        ((a, Some(span)), (b, None)) | ((b, None), (a, Some(span))) => r.error(
            span,
            format!(
                "key {shown} is bound to both `{a}` and `{b}` (its default); give `{b}` \
                 other keys or \"none\" in [keys]"
            ),
        ),
        ((a, None), (b, None)) => {
            if let Some(span) = prefix_span {
                r.error(
                    span,
                    format!(
                        "with this prefix, key {shown} is the default of both `{a}` and `{b}`; \
                         give one of them other keys in [keys]"
                    ),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// One problem in a config file, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
    /// The offending line as written, tabs expanded to 4 spaces.
    pub source_line: String,
    /// Display columns of `source_line` to underline.
    pub underline: Range<usize>,
}

impl Diagnostic {
    fn new(src: &str, span: Span, message: String) -> Diagnostic {
        let floor = |mut i: usize| {
            i = i.min(src.len());
            while !src.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let start = floor(span.start);
        let end = floor(span.end.max(span.start));
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let before = &src[line_start..start];
        let text = src[line_start..line_end].trim_end_matches('\r');
        let shown_end = end.min(line_start + text.len()).max(start);
        let expand = |s: &str| s.replace('\t', "    ");
        let col = expand(before).width();
        let len = expand(&src[start..shown_end]).width().max(1);
        Diagnostic {
            line: src[..start].matches('\n').count() + 1,
            column: before.chars().count() + 1,
            message,
            source_line: expand(text),
            underline: col..col + len,
        }
    }

    /// The message with its location and the line it is about, underlined:
    ///
    /// ```text
    /// /home/u/.config/memmux/config.toml:12:7: invalid value for `fps`: ...
    ///    |
    /// 12 | fps = 0
    ///    |       ^
    /// ```
    pub fn render(&self, path: &Path) -> String {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        let code = format!("{number} | {}", self.source_line);
        format!(
            "{}:{}:{}: {}\n{pad} |\n{}\n{pad} | {}{}",
            path.display(),
            self.line,
            self.column,
            self.message,
            code.trim_end(),
            " ".repeat(self.underline.start),
            "^".repeat(self.underline.len())
        )
    }
}

fn diagnostics(src: &str, mut problems: Vec<Problem>) -> Vec<Diagnostic> {
    problems.sort_by_key(|p| (p.span.start, p.span.end));
    problems.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    problems
        .into_iter()
        .map(|p| Diagnostic::new(src, p.span, p.message))
        .collect()
}

/// Why a config file could not be used.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read (for an explicit source: also when it does not exist).
    Read {
        path: PathBuf,
        source: ConfigSource,
        error: io::Error,
    },
    /// The file was read but is not a valid configuration: every problem found, in file order.
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

impl ConfigError {
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Read { path, .. } | ConfigError::Invalid { path, .. } => path,
        }
    }

    /// One line for the status bar: the first problem, and how many more there are.
    pub fn summary(&self) -> String {
        match self {
            ConfigError::Read { .. } => self.to_string(),
            ConfigError::Invalid { path, diagnostics } => {
                let Some(first) = diagnostics.first() else {
                    return format!("{}: invalid configuration", path.display());
                };
                let more = match diagnostics.len() {
                    1 => String::new(),
                    2 => " (and 1 more problem)".to_string(),
                    n => format!(" (and {} more problems)", n - 1),
                };
                format!(
                    "{}:{}:{}: {}{more}",
                    path.display(),
                    first.line,
                    first.column,
                    first.message
                )
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read {
                path,
                source,
                error,
            } => {
                let how = match source {
                    ConfigSource::Cli(_) => " (given with --config)",
                    ConfigSource::Env(_) => " (named by MEMMUX_CONFIG)",
                    _ => "",
                };
                write!(
                    f,
                    "{}: cannot read the config file{how}: {error}",
                    path.display()
                )
            }
            ConfigError::Invalid { path, diagnostics } => {
                let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(path)).collect();
                f.write_str(&rendered.join("\n\n"))
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { error, .. } => Some(error),
            ConfigError::Invalid { .. } => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Where the file is, and loading it.

/// Where the configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// `--config PATH`: the file must exist and be valid.
    Cli(PathBuf),
    /// `MEMMUX_CONFIG`: the file must exist and be valid.
    Env(PathBuf),
    /// The per-user file (`$XDG_CONFIG_HOME/memmux/config.toml`, else
    /// `~/.config/memmux/config.toml` on Linux); a missing file means the defaults.
    Default(PathBuf),
    /// No home directory to look in: the defaults.
    BuiltIn,
}

impl ConfigSource {
    /// The source from the command line's `--config`, the value of `MEMMUX_CONFIG` and the
    /// platform config directory, in that order of precedence. An empty `MEMMUX_CONFIG` counts
    /// as unset. [`config_path`] calls this with the real environment.
    pub fn resolve(
        cli: Option<&Path>,
        env: Option<&OsStr>,
        config_dir: Option<&Path>,
    ) -> ConfigSource {
        if let Some(p) = cli {
            return ConfigSource::Cli(p.to_path_buf());
        }
        if let Some(p) = env.filter(|p| !p.is_empty()) {
            return ConfigSource::Env(PathBuf::from(p));
        }
        match config_dir {
            Some(dir) => ConfigSource::Default(dir.join("config.toml")),
            None => ConfigSource::BuiltIn,
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigSource::Cli(p) | ConfigSource::Env(p) | ConfigSource::Default(p) => Some(p),
            ConfigSource::BuiltIn => None,
        }
    }

    /// Named by the user (`--config` or `MEMMUX_CONFIG`): a missing or bad file is fatal.
    pub fn is_explicit(&self) -> bool {
        matches!(self, ConfigSource::Cli(_) | ConfigSource::Env(_))
    }
}

/// Where to read the configuration: `--config` (`cli`), else `MEMMUX_CONFIG`, else the
/// platform config directory.
pub fn config_path(cli: Option<&Path>) -> ConfigSource {
    let env = std::env::var_os(CONFIG_ENV);
    let dirs = ProjectDirs::from("", "", "memmux");
    ConfigSource::resolve(cli, env.as_deref(), dirs.as_ref().map(|d| d.config_dir()))
}

/// Where memmux writes exports and logs: `$XDG_DATA_HOME/memmux`, else
/// `~/.local/share/memmux` on Linux; `None` without a home directory.
pub fn data_dir() -> Option<PathBuf> {
    ProjectDirs::from("", "", "memmux").map(|d| d.data_dir().to_path_buf())
}

/// A configuration and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub source: ConfigSource,
    /// The file read; `None` when there was none to read (the default path does not exist, or
    /// there is no home directory) and the defaults apply.
    pub file: Option<PathBuf>,
}

/// Reads `path` if it is a regular file (or a link to one). A FIFO would block memmux's start
/// until something wrote to it, a device could be endless (`/dev/zero`), a directory is a
/// mistake: each is an error naming what the path is. The file is opened without blocking
/// (a FIFO's open waits for a writer) and checked on the open descriptor, so nothing can
/// swap the file between the check and the read.
fn read_regular_file(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    };
    if let Some(what) = what {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file"),
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads the configuration from `source`. For the default source a missing file gives the
/// defaults; every other failure is an error, and the caller decides: refuse to start for an
/// explicit source ([`ConfigSource::is_explicit`]), start with defaults and a warning for the
/// default one, keep the running configuration on a reload.
pub fn load(source: &ConfigSource) -> Result<Loaded, ConfigError> {
    let defaults = || Loaded {
        config: Config::default(),
        source: source.clone(),
        file: None,
    };
    let Some(path) = source.path() else {
        return Ok(defaults());
    };
    let bytes = match read_regular_file(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !source.is_explicit() => {
            return Ok(defaults());
        }
        Err(error) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: source.clone(),
                error,
            });
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let problem = Problem {
                span: at..at + 1,
                message: "the file is not valid UTF-8 here".to_string(),
            };
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                diagnostics: diagnostics(&text, vec![problem]),
            });
        }
    };
    let config = Config::from_toml(&text, path)?;
    Ok(Loaded {
        config,
        source: source.clone(),
        file: Some(path.to_path_buf()),
    })
}
