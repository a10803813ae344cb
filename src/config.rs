//! memmux's settings. The file format, its loading and its errors come with the configuration
//! work; this holds the settings themselves and their defaults.

use std::time::Duration;

use ratatui::style::Color;

use crate::keymap::Keymap;

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
    pub keymap: Keymap,
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
            keymap: Keymap::default(),
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
}
