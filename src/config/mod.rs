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

use std::path::{Path, PathBuf};
use std::time::Duration;

use ratatui::style::Color;

use crate::input::keymap::Keymap;

mod diagnostic;
mod document;
mod effective;
mod file;
mod keys;
mod reader;
mod values;

pub use diagnostic::Diagnostic;
use diagnostic::diagnostics;
use document::read_document;
pub use file::{ConfigError, ConfigSource, Loaded, config_path, data_dir, load};
pub use values::{
    TAB_MEMORY_LIMIT, format_color, format_duration, format_size, parse_color, parse_duration,
    parse_limit, parse_size,
};

/// The complete default configuration, with comments: what `--print-config=default` prints and
/// what a new user copies. A test checks it parses to exactly [`Config::default`].
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

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

impl PanelShow {
    pub fn name(self) -> &'static str {
        match self {
            PanelShow::Auto => "auto",
            PanelShow::Always => "always",
            PanelShow::Never => "never",
        }
    }
}

/// A setting whose value is one of a few words (`window-size = "largest"`), each a value of
/// the type: the config reader finds the value by its word, and lists the words when none
/// matches.
pub trait Choice: Copy + 'static {
    /// Every value, in the order the error message lists them.
    const ALL: &'static [Self];
    /// The word the config file spells the value with (the type's `name`).
    fn word(self) -> &'static str;
}

impl Choice for PanelShow {
    const ALL: &'static [Self] = &[PanelShow::Auto, PanelShow::Always, PanelShow::Never];
    fn word(self) -> &'static str {
        self.name()
    }
}

impl Choice for WindowSize {
    const ALL: &'static [Self] = &[
        WindowSize::Smallest,
        WindowSize::Largest,
        WindowSize::Latest,
    ];
    fn word(self) -> &'static str {
        self.name()
    }
}

impl Choice for OverLimit {
    const ALL: &'static [Self] = &[OverLimit::Warn, OverLimit::Stop, OverLimit::Kill];
    fn word(self) -> &'static str {
        self.name()
    }
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
}
