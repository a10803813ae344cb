//! The effective configuration written back as TOML (`memmux --print-config=effective`),
//! every setting spelled as the file spells it.

use std::time::Duration;

use crate::input::action::Action;
use crate::input::keymap::{Binding, Chord};

use super::Config;
use super::values::{format_color, format_duration, format_size};

impl Config {
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
        set(o, "show", quote(self.panel_show.name()));
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
pub(super) fn spell_binding(b: &Binding, prefix: Chord) -> String {
    if b.prefixed && b.chord == prefix {
        "prefix prefix".to_string()
    } else {
        b.to_string()
    }
}

pub(super) fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub(super) fn quote_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(", "))
}
