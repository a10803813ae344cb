//! Sizes, durations, colours and chords as the config file spells them; error locations; how
//! `load` treats missing and unreadable files.

use std::fs;
use std::path::Path;
use std::time::Duration;

use memmux::config::{
    self, Config, ConfigError, ConfigSource, format_color, format_duration, format_size,
    parse_color, parse_duration, parse_size,
};
use memmux::input::action::Action;
use memmux::input::keymap::{Binding, Chord};
use ratatui::style::Color;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("/home/u/.config/memmux/config.toml"))
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// Each file text in `cases` is refused with a message that contains the case's words.
fn refused_saying(cases: &[(&str, &str)]) {
    for (text, says) in cases {
        let e = err(text);
        assert!(e.contains(says), "{text:?} was refused with: {e}");
    }
}

#[test]
fn size_spellings() {
    for (text, bytes) in [
        ("16 MiB", 16 << 20),
        ("64MiB", 64 << 20),
        ("512 KiB", 512 << 10),
        ("1 GiB", 1 << 30),
        ("4096", 4096),
        ("4096 B", 4096),
        ("1_048_576", 1 << 20),
        ("16M", 16 << 20),
        ("16 m", 16 << 20),
        ("2 mib", 2 << 20),
        ("1 TiB", 1 << 40),
        ("1.5 GiB", 3 << 29),
        ("0.5K", 512),
        ("1 kB", 1000),
        ("1 MB", 1_000_000),
        ("2GB", 2_000_000_000),
        (" 8 KiB ", 8 << 10),
        ("+1K", 1024),
    ] {
        assert_eq!(parse_size(text), Ok(bytes), "{text}");
    }
    for text in [
        "", "MiB", "-1", "-16 MiB", "16 MiBs", "1e6", "0x10", "1.2.3 K", ". K",
    ] {
        assert!(parse_size(text).is_err(), "{text} accepted");
    }
    assert_eq!(parse_size("-1").unwrap_err(), "a size cannot be negative");
    // Past u64: an error, not a wrap.
    assert!(parse_size("99999999999 TiB").is_err());
}

#[test]
fn sizes_format_exactly() {
    for bytes in [
        0,
        1,
        1000,
        1024,
        1536,
        16 << 20,
        3 << 29,
        1 << 40,
        5 << 40,
        u64::MAX,
    ] {
        let text = format_size(bytes);
        assert_eq!(parse_size(&text), Ok(bytes), "{text}");
    }
    assert_eq!(format_size(16 << 20), "16 MiB");
    assert_eq!(
        format_size(1536),
        "3 KiB".replace('3', "1536").replace(" KiB", " B")
    );
    assert_eq!(format_size(3 << 29), "1536 MiB");
    assert_eq!(format_size(1 << 30), "1 GiB");
}

#[test]
fn duration_spellings() {
    let s = Duration::from_secs;
    let ms = Duration::from_millis;
    for (text, d) in [
        ("1s", s(1)),
        ("500ms", ms(500)),
        ("1h", s(3600)),
        ("90 s", s(90)),
        ("5m", s(300)),
        ("5 min", s(300)),
        ("2 minutes", s(120)),
        ("1d", s(86_400)),
        ("1m30s", s(90)),
        ("1h 30m", s(5400)),
        ("1.5s", ms(1500)),
        ("0.25 s", ms(250)),
        ("10 seconds", s(10)),
        ("1H", s(3600)),
        ("0s", s(0)),
    ] {
        assert_eq!(parse_duration(text), Ok(d), "{text}");
    }
    for text in [
        "",
        "1",
        "s",
        "-1s",
        "1 fortnight",
        "1us",
        "1.0005s",
        "1s 2",
        "1 s s",
    ] {
        assert!(parse_duration(text).is_err(), "{text} accepted");
    }
    assert_eq!(
        parse_duration("5").unwrap_err(),
        "a duration needs a unit (ms, s, m, h), as in \"5s\" or \"5ms\""
    );
}

#[test]
fn durations_format_exactly() {
    for d in [
        0, 1, 999, 1000, 1500, 60_000, 90_000, 3_600_000, 5_400_000, 86_400_000,
    ] {
        let d = Duration::from_millis(d);
        let text = format_duration(d);
        assert_eq!(parse_duration(&text), Ok(d), "{text}");
    }
    assert_eq!(format_duration(Duration::from_secs(60)), "1m");
    assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
    assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
    assert_eq!(format_duration(Duration::from_secs(7 * 86_400)), "7d");
}

#[test]
fn colour_spellings() {
    for (text, c) in [
        ("red", Color::Red),
        ("dark-gray", Color::DarkGray),
        ("dark_grey", Color::DarkGray),
        ("DarkGray", Color::DarkGray),
        ("light-blue", Color::LightBlue),
        ("bright-red", Color::LightRed),
        ("white", Color::White),
        ("gray", Color::Gray),
        ("default", Color::Reset),
        ("color236", Color::Indexed(236)),
        ("colour0", Color::Indexed(0)),
        ("#ffaf00", Color::Rgb(255, 175, 0)),
        ("#FFAF00", Color::Rgb(255, 175, 0)),
    ] {
        assert_eq!(parse_color(text), Ok(c), "{text}");
    }
    for text in [
        "",
        "redd",
        "color256",
        "color-1",
        "#fff",
        "#gggggg",
        "rgb(1,2,3)",
    ] {
        assert!(parse_color(text).is_err(), "{text} accepted");
    }
    assert!(
        parse_color("redd")
            .unwrap_err()
            .contains("did you mean \"red\"")
    );
}

#[test]
fn colours_format_exactly() {
    let mut all: Vec<Color> = (0..=255).map(Color::Indexed).collect();
    all.extend([
        Color::Reset,
        Color::Black,
        Color::Gray,
        Color::DarkGray,
        Color::LightMagenta,
        Color::White,
        Color::Rgb(0, 0, 0),
        Color::Rgb(1, 128, 255),
    ]);
    for c in all {
        assert_eq!(parse_color(&format_color(c)), Ok(c), "{c:?}");
    }
    assert_eq!(format_color(Color::DarkGray), "dark-gray");
    assert_eq!(format_color(Color::Indexed(236)), "color236");
    assert_eq!(format_color(Color::Rgb(1, 128, 255)), "#0180ff");
}

#[test]
fn bare_numbers_are_not_durations() {
    let e = err("[memory-panel]\nhistory = 3600\n");
    assert!(
        e.contains(
            "a duration needs a unit (ms, s, m, h), as in \"3600s\" or \"3600ms\", found `3600`"
        ),
        "{e}"
    );
    refused_saying(&[
        (
            "[memory-panel]\nhistory = -5\n",
            "a duration cannot be negative, found `-5`",
        ),
        (
            "[memory-panel]\nhistory = 1.5\n",
            "invalid type for `memory-panel.history`: expected a duration such as",
        ),
    ]);
}

#[test]
fn direct_keys_need_a_modifier_or_are_function_keys() {
    for ok in ["F5", "C-t", "M-t", "S-Up", "C-Space"] {
        parse(&format!("[keys]\nnew-tab = \"{ok}\"\n")).unwrap_or_else(|e| panic!("{e}"));
    }
    for bad in ["t", "Space", "Enter", "Up", "PageUp", "Q"] {
        let e = err(&format!("[keys]\nnew-tab = \"{bad}\"\n"));
        assert!(e.contains("without the prefix would take every"), "{e}");
    }
}

#[test]
fn integer_colours() {
    let c = parse("[colors]\nwarn = 9\naccent = 0x10\n").unwrap();
    assert_eq!(c.colors.warn, Color::Indexed(9));
    assert_eq!(c.colors.accent, Color::Indexed(16));
    assert!(err("[colors]\nwarn = 256\n").contains("256-colour indexes go from 0 to 255"));
}

/// Chords survive a trip through the file in any spelling keymap.rs accepts, including
/// characters TOML has to quote or escape.
#[test]
fn chords_round_trip_through_the_file() {
    for (written, canonical) in [
        ("prefix c", "prefix c"),
        ("M-1", "M-1"),
        ("S-PageUp", "S-PageUp"),
        ("shift-pgup", "S-PageUp"),
        ("ctrl-X", "C-x"),
        ("Prefix  alt-x", "prefix M-x"),
        ("prefix \"", "prefix \""),
        ("prefix '", "prefix '"),
        ("prefix \\", "prefix \\"),
        ("C-\\", "C-\\"),
        ("prefix #", "prefix #"),
        ("prefix =", "prefix ="),
        ("prefix Space", "prefix Space"),
        ("prefix space", "prefix Space"),
        ("F24", "F24"),
        ("C-M-S-Up", "C-M-S-Up"),
        ("prefix é", "prefix é"),
        ("prefix escape", "prefix Esc"),
    ] {
        // Free the defaults some of these chords would collide with.
        let text = format!(
            "[keys]\nselect-tab-1 = \"prefix 1\"\nscroll-page-up = []\ngoto-tab = []\nsplit-down = []\neven-layout = []\nnew-tab = {}\n",
            toml::Value::from(written)
        );
        let c = parse(&text).unwrap_or_else(|e| panic!("{written}:\n{e}"));
        let keys = c.keymap.keys_for(Action::NewTab);
        assert_eq!(keys.len(), 1, "{written}");
        assert_eq!(keys[0].to_string(), canonical, "{written}");
        assert_eq!(keys[0], canonical.parse::<Binding>().unwrap());
        let again = parse(&c.effective_toml()).unwrap();
        assert_eq!(again, c, "{written}");
    }
}

#[test]
fn prefix_follows_into_send_prefix_and_prefix_prefix() {
    let c = parse("prefix = \"C-a\"\n").unwrap();
    assert_eq!(
        c.keymap.lookup(true, Chord::ctrl('a')),
        Some(Action::SendPrefix)
    );
    assert_eq!(c.keymap.lookup(true, Chord::ctrl('b')), None);
    // "prefix prefix" anywhere means the prefix pressed twice.
    let c = parse("prefix = \"M-a\"\n[keys]\nsend-prefix = \"none\"\nhelp = \"prefix prefix\"\n")
        .unwrap();
    assert_eq!(c.keymap.lookup(true, Chord::alt('a')), Some(Action::Help));
    assert!(c.keymap.keys_for(Action::SendPrefix).is_empty());
    // An explicit old-style binding is taken literally.
    let c = parse("prefix = \"C-a\"\n[keys]\nsend-prefix = \"prefix C-b\"\n").unwrap();
    assert_eq!(
        c.keymap.lookup(true, Chord::ctrl('b')),
        Some(Action::SendPrefix)
    );
    assert_eq!(c.keymap.lookup(true, Chord::ctrl('a')), None);
    // Binding the old prefix twice over send-prefix's default is a conflict, named.
    let e = err("[keys]\nnew-tab = \"prefix C-b\"\n");
    assert!(
        e.contains("key `prefix C-b` is bound to both `new-tab` and `send-prefix` (its default)"),
        "{e}"
    );
}

#[test]
fn a_prefix_that_makes_two_defaults_collide_is_blamed() {
    // With prefix `x`, send-prefix's default `prefix x` is close-tab's too.
    let e = err("prefix = \"x\"\n");
    assert!(e.starts_with("/home/u/.config/memmux/config.toml:1:10: with this prefix, key `prefix x` is the default of both `close-tab` and `send-prefix`"), "{e}");
    // Rebinding one of them resolves it.
    let c = parse("prefix = \"x\"\n[keys]\nclose-tab = \"prefix X\"\n").unwrap();
    assert_eq!(
        c.keymap.lookup(true, Chord::plain('x')),
        Some(Action::SendPrefix)
    );
}

#[test]
fn the_same_key_twice_for_one_action_is_harmless() {
    let c = parse("[keys]\nhelp = [\"prefix ?\", \"prefix ?\", \"F1\"]\n").unwrap();
    assert_eq!(c.keymap.keys_for(Action::Help).len(), 2);
}

#[test]
fn keys_value_types() {
    refused_saying(&[
        (
            "[keys]\nhelp = 1\n",
            "invalid type for `keys.help`: expected a key such as \"prefix c\" or \"M-1\", a list of keys, or \"none\", found an integer `1`",
        ),
        (
            "[keys]\nhelp = [\"F1\", 2]\n",
            ":2:15: invalid type for `keys.help`",
        ),
        (
            "[keys]\nhelp = [\"F1\", \"none\"]\n",
            "\"none\" unbinds an action on its own",
        ),
        (
            "keys = \"none\"\n",
            "invalid type for `keys`: expected a table (a `[keys]` section)",
        ),
        // A setting written under [keys] is pointed back to the top level.
        (
            "[keys]\nhelp = \"F1\"\nfps = 30\n",
            "unknown action `fps` in [keys]; `fps` is a top-level setting: move it above the first [table] header",
        ),
    ]);
}

#[test]
fn unknown_keys_are_placed_or_listed() {
    refused_saying(&[
        (
            "width = 40\n",
            "unknown key `width`; `width` belongs in [memory-panel]",
        ),
        (
            "widht = 40\n",
            "unknown key `widht` (did you mean `width` in [memory-panel]?)",
        ),
        (
            "[memory-panel]\nscrollback-line = 1\n",
            "(did you mean the top-level setting `scrollback-lines`?)",
        ),
        (
            "[colors]\nbackground = \"red\"\n",
            "unknown key `background` in [colors]; expected one of: bar-fg, bar-bg, active-fg, active-bg, warn, accent, chart-tree, chart-heap",
        ),
        (
            "[memory_panel]\nshow = \"never\"\n",
            "unknown key `memory_panel` (did you mean `memory-panel`?)",
        ),
    ]);
}

#[test]
fn cross_checks_blame_what_the_file_set() {
    // Blames sample-interval when only it was set: 8 samples at 10s do not fit the 1m default.
    let e = err("[memory-panel]\nsample-interval = \"10s\"\n");
    assert!(e.contains(":2:19: invalid value for `memory-panel.sample-interval`: `leak-window` (1m) must hold at least 8 samples, 8 × `sample-interval` = 80s"), "{e}");
    let e = err(
        "[memory-panel]\nsample-interval = \"100ms\"\nhistory = \"7d\"\nleak-window = \"1h\"\n",
    );
    assert!(e.contains(":3:11: invalid value for `memory-panel.history`: `history` / `sample-interval` = 7d / 100ms keeps 6048000 samples per tab; at most 86400"), "{e}");
    parse("[memory-panel]\nsample-interval = \"10s\"\nleak-window = \"80s\"\n").unwrap();
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let e = parse("fps = 0\n[colors]\nwarn = \"x\"\n[memory-panel]\nwidth = 1\n").unwrap_err();
    let ConfigError::Invalid { diagnostics, .. } = &e else {
        panic!("{e:?}")
    };
    let lines: Vec<usize> = diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines, [1, 3, 5]);
    assert_eq!(
        e.summary(),
        "/home/u/.config/memmux/config.toml:1:7: invalid value for `fps`: expected a number from 1 to 1000, found `0` (and 2 more problems)"
    );
}

#[test]
fn columns_count_characters_and_carets_follow_display_width() {
    // A tab and a wide character before the value: column counts characters, the caret lines
    // up under the value as a terminal shows the line.
    let e = err("[colors]\n\twarn = \"红\"\n");
    assert_eq!(
        e,
        "/home/u/.config/memmux/config.toml:2:9: invalid value for `colors.warn`: expected a colour name (red, light-blue, dark-gray, default, ...), a 256-colour index (\"color236\" or 236), or \"#rrggbb\", found `\"红\"`\n  |\n2 |     warn = \"红\"\n  |            ^^^^"
    );
    // CRLF line ends do not show up in the snippet.
    let e = err("fps = 0\r\n");
    assert!(e.ends_with("1 | fps = 0\n  |       ^"), "{e:?}");
}

#[test]
fn long_values_are_shortened_in_the_message() {
    let long = "x".repeat(100);
    let e = err(&format!("term = \"a {long}\"\n"));
    let first = e.lines().next().unwrap();
    assert!(
        first.ends_with(&format!("found `\"a {}…`", "x".repeat(37))),
        "{first}"
    );
}

#[test]
fn strings_and_lists() {
    let c = parse("shell = \"/bin/fish\"\nshell-args = []\nterm = \"tmux-256color\"\n").unwrap();
    assert_eq!(c.shell_command(), ["/bin/fish"]);
    assert_eq!(c.term, "tmux-256color");
    assert_eq!(parse("shell = \"\"\n").unwrap().shell, None);
    assert!(err("shell-args = \"-l\"\n").contains("expected a list of strings"));
    assert!(
        err("shell-args = [\"-l\", 1]\n").contains(
            ":1:21: invalid type for `shell-args`: expected a string, found an integer `1`"
        )
    );
    assert!(err("term = \"\"\n").contains("invalid value for `term`"));
    assert!(err("term = \"xterm 256\"\n").contains("invalid value for `term`"));
}

#[test]
fn load_treats_missing_files_by_source() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("config.toml");

    // The default path may be missing: defaults.
    let loaded = config::load(&ConfigSource::Default(missing.clone())).unwrap();
    assert_eq!(loaded.config, Config::default());
    assert_eq!(loaded.file, None);
    let loaded = config::load(&ConfigSource::BuiltIn).unwrap();
    assert_eq!(loaded.config, Config::default());

    // An explicit one may not.
    let e = config::load(&ConfigSource::Cli(missing.clone())).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}: cannot read the config file (given with --config): ",
            missing.display()
        )),
        "{shown}"
    );
    let e = config::load(&ConfigSource::Env(missing.clone())).unwrap_err();
    assert!(e.to_string().contains("(named by MEMMUX_CONFIG)"), "{e}");

    // A directory is not a file, wherever it came from.
    let e = config::load(&ConfigSource::Default(dir.path().to_path_buf())).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");

    // A bad file at the default path is an error too (the binary warns and uses defaults).
    fs::write(&missing, "fps = 0\n").unwrap();
    let e = config::load(&ConfigSource::Default(missing.clone())).unwrap_err();
    assert_eq!(e.path(), missing);
    assert!(
        e.to_string()
            .starts_with(&format!("{}:1:7: ", missing.display()))
    );

    fs::write(&missing, "fps = 30\n").unwrap();
    let loaded = config::load(&ConfigSource::Default(missing.clone())).unwrap();
    assert_eq!(loaded.config.fps, 30);
    assert_eq!(loaded.file.as_deref(), Some(missing.as_path()));
}

#[test]
fn non_utf8_files_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, b"fps = 30\nterm = \"x\xff\"\n").unwrap();
    let e = config::load(&ConfigSource::Cli(path.clone())).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}:2:10: the file is not valid UTF-8 here",
            path.display()
        )),
        "{shown}"
    );
}

#[test]
fn source_precedence() {
    use std::ffi::OsStr;
    let cli = Path::new("/a/cli.toml");
    let dir = Path::new("/home/u/.config/memmux");
    let env = OsStr::new("/b/env.toml");
    assert_eq!(
        ConfigSource::resolve(Some(cli), Some(env), Some(dir)),
        ConfigSource::Cli(cli.to_path_buf())
    );
    assert_eq!(
        ConfigSource::resolve(None, Some(env), Some(dir)),
        ConfigSource::Env("/b/env.toml".into())
    );
    assert_eq!(
        ConfigSource::resolve(None, Some(OsStr::new("")), Some(dir)),
        ConfigSource::Default(dir.join("config.toml"))
    );
    assert_eq!(
        ConfigSource::resolve(None, None, None),
        ConfigSource::BuiltIn
    );
    assert!(ConfigSource::Cli(cli.into()).is_explicit());
    assert!(ConfigSource::Env(cli.into()).is_explicit());
    assert!(!ConfigSource::Default(cli.into()).is_explicit());
    assert!(!ConfigSource::BuiltIn.is_explicit());
}
