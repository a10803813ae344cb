//! The config files under tests/configs: every valid one loads and survives a round trip
//! through `effective_toml`; every invalid one fails with exactly the message in the `.err`
//! file next to it (`{path}` stands for the file's path). Also the shipped default file.
//!
//! To regenerate the `.err` files after changing a message on purpose, run with
//! `MEMMUX_BLESS=1` and review the diff.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use memmux::config::{self, Config, ConfigSource, DEFAULT_TOML, PanelShow};
use memmux::input::action::Action;
use memmux::input::keymap::{Binding, Chord};
use ratatui::style::Color;

fn dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(kind)
}

fn tomls(kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no configs in {kind}");
    v
}

/// Loads a file the way the binary does, as an explicit source.
fn load(path: &Path) -> Result<Config, config::ConfigError> {
    config::load(&ConfigSource::Cli(path.to_path_buf())).map(|l| l.config)
}

fn valid(name: &str) -> Config {
    let path = dir("valid").join(name);
    load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn round_trips(config: &Config, what: &str) {
    let text = config.effective_toml();
    let back = Config::from_toml(&text, Path::new("effective.toml"))
        .unwrap_or_else(|e| panic!("effective config of {what} does not parse:\n{e}\n{text}"));
    assert_eq!(&back, config, "round trip of {what}:\n{text}");
    // And is a fixed point: printing it again changes nothing.
    assert_eq!(back.effective_toml(), text, "{what}");
}

#[test]
fn valid_configs_load_and_round_trip() {
    for path in tomls("valid") {
        let config = load(&path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
        round_trips(&config, &path.display().to_string());
    }
}

#[test]
fn invalid_configs_fail_with_the_expected_message() {
    let bless = std::env::var_os("MEMMUX_BLESS").is_some();
    let mut failures = Vec::new();
    for path in tomls("invalid") {
        let err = match load(&path) {
            Ok(_) => {
                failures.push(format!("{} loaded without error", path.display()));
                continue;
            }
            Err(e) => e,
        };
        let actual = err
            .to_string()
            .replace(&path.display().to_string(), "{path}");
        let err_file = path.with_extension("err");
        if bless {
            fs::write(&err_file, format!("{actual}\n")).unwrap();
            continue;
        }
        let expected =
            fs::read_to_string(&err_file).unwrap_or_else(|e| panic!("{}: {e}", err_file.display()));
        if expected.trim_end_matches('\n') != actual {
            failures.push(format!(
                "{}\n--- expected\n{expected}\n--- actual\n{actual}\n",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_invalid_config_has_an_err_file_and_vice_versa() {
    for path in tomls("invalid") {
        assert!(path.with_extension("err").exists(), "{}", path.display());
    }
    for entry in fs::read_dir(dir("invalid")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "err") {
            assert!(p.with_extension("toml").exists(), "stray {}", p.display());
        }
    }
}

#[test]
fn default_file_is_exactly_the_defaults() {
    let parsed = Config::from_toml(DEFAULT_TOML, Path::new("config/default.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed, Config::default());
}

#[test]
fn default_file_lists_every_action_with_its_default_keys() {
    let table: toml::Table = toml::from_str(DEFAULT_TOML).unwrap();
    let keys = table["keys"].as_table().unwrap();
    let defaults = Config::default();
    for action in Action::all() {
        let value = keys
            .get(&action.name())
            .unwrap_or_else(|| panic!("{action} missing from [keys] of config/default.toml"));
        let listed: Vec<&str> = match value {
            toml::Value::String(s) => vec![s.as_str()],
            toml::Value::Array(a) => a.iter().map(|v| v.as_str().unwrap()).collect(),
            other => panic!("{action} = {other}"),
        };
        let mut want: Vec<String> = defaults
            .keymap
            .keys_for(action)
            .iter()
            .map(|b| {
                if b.prefixed && b.chord == defaults.keymap.prefix {
                    "prefix prefix".to_string()
                } else {
                    b.to_string()
                }
            })
            .collect();
        let mut got: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{action}");
    }
    assert_eq!(
        keys.len(),
        Action::all().len(),
        "[keys] lists an unknown action"
    );
}

/// The default file sets every setting the effective output has, with the same value: nothing
/// is left to an implicit default.
#[test]
fn default_file_sets_every_setting() {
    let shipped: toml::Table = toml::from_str(DEFAULT_TOML).unwrap();
    let effective: toml::Table = toml::from_str(&Config::default().effective_toml()).unwrap();
    assert_eq!(shipped, effective);
}

#[test]
fn default_file_comments_every_setting() {
    // Outside [keys], every `key = value` line is under a comment: right above it, or above
    // the run of setting lines it is part of (such as `bar-fg` and `bar-bg`).
    let mut table = String::new();
    let mut commented = false;
    for line in DEFAULT_TOML.lines() {
        if line.starts_with('#') {
            commented = true;
        } else if line.trim().is_empty() || line.starts_with('[') {
            commented = false;
            if line.starts_with('[') {
                table = line.to_string();
            }
        } else if table != "[keys]" {
            assert!(commented, "`{line}` in {table} has no comment above it");
        }
    }
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(valid("empty.toml"), Config::default());
    assert_eq!(
        Config::from_toml("", Path::new("x")).unwrap(),
        Config::default()
    );
}

#[test]
fn everything_set() {
    let c = valid("everything.toml");
    assert_eq!(c.shell.as_deref(), Some("/bin/zsh"));
    assert_eq!(c.shell_args, ["-l", "--no-rcs"]);
    assert_eq!(c.term, "screen-256color");
    assert_eq!(c.keymap.prefix, "C-Space".parse::<Chord>().unwrap());
    assert_eq!(c.fps, 30);
    assert_eq!(c.scrollback_lines, 50_000);
    assert_eq!(c.scrollback_bytes, 32 << 20);
    assert_eq!(c.memory_budget, 256 << 20);
    assert!(c.osc52_copy);
    assert_eq!(c.osc52_max_bytes, 256 << 10);
    assert!(!c.exit_on_last_tab_close);
    assert_eq!(c.panel_show, PanelShow::Always);
    assert_eq!(c.panel_width, 48);
    assert_eq!(c.sample_interval, Duration::from_millis(500));
    assert_eq!(c.history, Duration::from_secs(7200));
    assert_eq!(c.leak_window, Duration::from_secs(300));
    assert_eq!(c.warn_above, 2 << 30);
    assert_eq!(c.colors.bar_fg, Color::White);
    assert_eq!(c.colors.bar_bg, Color::Black);
    assert_eq!(c.colors.active_bg, Color::LightBlue);
    assert_eq!(c.colors.accent, Color::Rgb(0xff, 0xaf, 0x00));
    assert_eq!(c.colors.chart_tree, Color::Indexed(44));
    assert_eq!(c.colors.chart_heap, Color::Indexed(213));

    let k = &c.keymap;
    let b = |s: &str| s.parse::<Binding>().unwrap();
    assert_eq!(k.keys_for(Action::NewTab), [b("prefix t")]);
    // Listing new-tab replaced its default.
    assert_eq!(k.lookup(true, Chord::plain('c')), None);
    assert_eq!(k.keys_for(Action::NextTab), [b("prefix n"), b("M-Right")]);
    assert_eq!(k.keys_for(Action::Help), [b("prefix ?"), b("F1")]);
    // Actions not listed keep their defaults, and send-prefix follows the prefix.
    assert_eq!(k.keys_for(Action::SelectTab(4)), [b("prefix 4"), b("M-4")]);
    assert_eq!(k.keys_for(Action::SendPrefix), [b("prefix C-Space")]);
}

#[test]
fn prefix_c_a() {
    let c = valid("prefix-c-a.toml");
    let k = &c.keymap;
    assert_eq!(k.prefix, Chord::ctrl('a'));
    // C-a C-a sends C-a; C-a C-b is nothing.
    assert_eq!(k.lookup(true, Chord::ctrl('a')), Some(Action::SendPrefix));
    assert_eq!(k.lookup(true, Chord::ctrl('b')), None);
    assert_eq!(k.lookup(true, Chord::plain('a')), Some(Action::LastTab));
    assert_eq!(k.lookup(true, Chord::plain('l')), Some(Action::LastTab));
    assert_eq!(k.lookup(true, Chord::plain('k')), Some(Action::CloseTab));
    assert_eq!(k.lookup(true, Chord::plain('x')), Some(Action::RestartTab));
    assert_eq!(k.lookup(true, Chord::plain('r')), None);
    // Everything else as before, now after C-a.
    assert_eq!(k.lookup(true, Chord::plain('c')), Some(Action::NewTab));
    assert_eq!(k.lookup(false, Chord::alt('2')), Some(Action::SelectTab(2)));
    assert_eq!(k.spell(&k.keys_for(Action::SendPrefix)[0]), "C-a C-a");
    // The effective file spells the prefix pressed twice so that it keeps following `prefix`.
    assert!(
        c.effective_toml()
            .contains("send-prefix = \"prefix prefix\"")
    );
}

#[test]
fn sizes() {
    // Scrollback bytes, memory budget, OSC 52 maximum, warn-above.
    let sizes = |c: &Config| {
        let osc52 = c.osc52_max_bytes as u64;
        (c.scrollback_bytes, c.memory_budget, osc52, c.warn_above)
    };
    let c = valid("sizes.toml");
    assert_eq!(sizes(&c), (16 << 20, 64 << 20, 512 << 10, 1 << 30));
    let c = valid("sizes-units.toml");
    assert_eq!(sizes(&c), (3 << 29, 100_000_000, 4096, 1 << 30));
    // Written back in the largest unit that is exact.
    writes_back(
        &c,
        &[
            "scrollback-bytes = \"1536 MiB\"",
            "memory-budget = \"100000000 B\"",
            "osc52-max-bytes = \"4 KiB\"",
        ],
    );
}

/// `c`'s effective config file has each of `lines`.
fn writes_back(c: &Config, lines: &[&str]) {
    let text = c.effective_toml();
    for line in lines {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
}

#[test]
fn durations() {
    let c = valid("durations.toml");
    assert_eq!(
        (c.sample_interval, c.history, c.leak_window),
        (
            Duration::from_millis(250),
            Duration::from_secs(5400),
            Duration::from_secs(90)
        )
    );
    writes_back(
        &c,
        &[
            "sample-interval = \"250ms\"",
            "history = \"90m\"",
            "leak-window = \"90s\"",
        ],
    );
}

#[test]
fn keys_unbound() {
    let c = valid("keys-unbound.toml");
    let k = &c.keymap;
    assert!(k.keys_for(Action::Quit).is_empty());
    assert!(k.keys_for(Action::RestartTab).is_empty());
    assert!(k.keys_for(Action::ScrollPageUp).is_empty());
    assert_eq!(k.lookup(false, Chord::alt('1')), None);
    assert_eq!(
        k.lookup(true, Chord::plain('1')),
        Some(Action::SelectTab(1))
    );
    assert_eq!(k.lookup(false, Chord::alt('4')), Some(Action::SelectTab(4)));
    assert!(c.effective_toml().contains("quit = \"none\""));
}

#[test]
fn dotted_keys_and_inline_tables() {
    let c = valid("dotted-keys.toml");
    assert_eq!(c.panel_show, PanelShow::Never);
    assert_eq!(c.colors.warn, Color::LightRed);
    assert_eq!(c.colors.accent, Color::LightYellow);
    assert_eq!(c.colors.bar_bg, Config::default().colors.bar_bg);
}

/// A file overrides only what it sets.
#[test]
fn partial_files_keep_other_defaults() {
    let c = Config::from_toml("fps = 24\n[colors]\nwarn = \"red\"\n", Path::new("x")).unwrap();
    let defaults = Config::default();
    let want = Config {
        fps: 24,
        colors: config::Colors {
            warn: Color::Red,
            ..defaults.colors
        },
        ..defaults
    };
    assert_eq!(c, want);
}
