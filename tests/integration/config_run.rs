//! The configuration as the running binary uses it: files, errors, reload, the `:` prompt.

use crate::common;

use std::process::Command;

use common::{Mux, Opts};

fn write_config(m_home: &std::path::Path, text: &str) -> std::path::PathBuf {
    let dir = m_home.join("config").join("memmux");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn prefix_and_scrollback_from_the_config_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "prefix = \"C-a\"\nscrollback-lines = 100\n").unwrap();
    let args = common::config_args(&path);
    let mut m = Mux::start_args(args).at_prompt();
    m.run("seq 1 1000");
    m.wait_text("history 100 rows");
    // C-a is the prefix now: C-a c opens a tab; C-b reaches the program.
    m.prefix_with("\x01", "c");
    m.wait_tab_bar("2:");
    m.wait_prompt();
    m.start_reader("", "cat -v");
    m.send("\x02\r");
    m.wait_text("^B");
    // The help shows the new prefix.
    m.send("\x03");
    m.wait_ready();
    m.prefix_with("\x01", "?");
    m.wait_text("C-a c");
}

#[test]
fn a_broken_explicit_config_is_an_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "# comment\nfps = 0\n").unwrap();
    let out = Command::new(common::bin())
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:2:7", path.display())), "{err}");
    assert!(err.contains("fps = 0"), "{err}");
    let out = Command::new(common::bin())
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn a_broken_default_config_starts_with_defaults_and_says_so() {
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "scrolback-lines = 5\n");
    let mut m = Mux::start_with(Opts {
        env: vec![(
            "XDG_CONFIG_HOME",
            home.path().join("config").display().to_string(),
        )],
        ..Opts::default()
    });
    m.wait_text("config ignored");
    m.wait_prompt();
    m.line("echo works");
    m.wait_text("works");
}

#[test]
fn print_config_shows_defaults_and_the_effective_config() {
    let out = Command::new(common::bin())
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text, memmux::config::DEFAULT_TOML);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "fps = 30\n").unwrap();
    let out = Command::new(common::bin())
        .args(["--print-config=effective", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("fps = 30"));
}

#[test]
fn reload_applies_a_good_file_and_keeps_the_old_config_on_a_bad_one() {
    let mut m = Mux::start().at_prompt();
    let path = write_config(m.home(), "scrollback-lines = 50\n");
    m.prefix("R");
    m.wait_text("config reloaded");
    m.run("seq 1 500");
    m.wait_text("history 50 rows");
    std::fs::write(&path, "scrollback-lines = -3\n").unwrap();
    m.prefix("R");
    m.wait_text("config not reloaded");
    assert!(m.contents().contains(":1:"), "{}", m.dump());
    m.run("seq 1 500");
    m.wait_text("history 50 rows");
}

#[test]
fn the_command_prompt_runs_actions_and_completes_names() {
    let mut m = Mux::start().at_prompt();
    m.prefix(":");
    m.send("rename-tab build box\r");
    m.wait_tab_bar("1:build box");
    m.prefix(":");
    m.send("new-t\t");
    m.wait_text(":new-tab ");
    m.send("\r");
    m.wait_tab_bar("2:");
    m.prefix(":");
    m.send("sel\t");
    m.wait_text(":select-tab");
    m.send(" 1\r");
    m.wait_for("tab 1 focused", |s| {
        s.contents().contains("rename-tab build box") || s.cursor_position().0 > 0
    });
    m.prefix(":");
    m.send("frobnicate\r");
    m.wait_text("unknown action `frobnicate`");
}

#[test]
fn osc52_copies_pass_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    for (allowed, config) in [
        (false, "osc52-copy = false\n"),
        (true, "osc52-copy = true\n"),
    ] {
        let path = dir.path().join(format!("c{allowed}.toml"));
        std::fs::write(&path, config).unwrap();
        let args = common::config_args(&path);
        let mut m = Mux::start_args(args).at_prompt();
        // "hello" in base64.
        m.run("printf '\\e]52;c;aGVsbG8=\\a'");
        // Passed on by the UI thread after the frame that showed the marker, if at all.
        let passed = m.wait_raw(std::time::Duration::from_millis(300), |raw| {
            raw.windows(16).any(|w| w == b"\x1b]52;c;aGVsbG8=\x07")
        });
        assert_eq!(passed, allowed, "osc52-copy = {allowed}");
    }
}
