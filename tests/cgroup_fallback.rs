//! Without cgroups (`[tab-memory] cgroups = false`, as on a machine that has none): the
//! figure is the PSS sum of the tab's processes, marked approximate; `--print-config`
//! says why there are no cgroups; memmux enforces a tab's limit itself.

mod common;

use std::time::Duration;

use common::{Mux, Opts};

fn config(home: &std::path::Path, action: &str) -> std::path::PathBuf {
    let path = home.join("memmux.toml");
    std::fs::write(
        &path,
        format!(
            "[memory-panel]\nshow = \"always\"\n[tab-memory]\ncgroups = false\nover-limit-action = \"{action}\"\n"
        ),
    )
    .unwrap();
    path
}

fn args(cfg: &std::path::Path, log: Option<&std::path::Path>) -> Vec<String> {
    let mut a = vec!["--config".to_string(), cfg.display().to_string()];
    if let Some(l) = log {
        a.extend(["--mem-log".to_string(), l.display().to_string()]);
    }
    a.extend(Opts::default().args);
    a
}

#[test]
fn print_config_says_why_there_are_no_cgroups() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path(), "warn");
    let out = std::process::Command::new(common::bin())
        .args([
            "--config",
            &cfg.display().to_string(),
            "--print-config=effective",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("# tab memory: none (cgroups = false in the config); figures are PSS sums"),
        "{text}"
    );
    assert!(text.contains("[tab-memory]\ncgroups = false\n"), "{text}");
}

/// The newest `memory_bytes` and `memory_source` of tab `tab` in the CSV log.
fn last_row(log: &std::path::Path, tab: usize) -> Option<(u64, String)> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|l| {
        let f: Vec<&str> = l.split(',').collect();
        (f.len() == 18 && f[1] == tab.to_string())
            .then(|| (f[9].parse().ok(), f[10].to_string()))?
            .0
            .map(|b| (b, f[10].to_string()))
    })
}

#[test]
fn copy_on_write_workers_count_once_by_pss_and_are_marked_approximate() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path(), "warn");
    let log = home.path().join("log.csv");
    let mut m = Mux::start_with(Opts {
        rows: 45,
        cols: 160,
        args: args(&cfg, Some(&log)),
        ..Opts::default()
    })
    .at_prompt();
    m.line(&format!("{} 200 --fork 20", env!("CARGO_BIN_EXE_memhog")));
    m.wait_text("ready pid=");
    // PSS is refreshed every 10 s; members seen between passes count their statm meanwhile.
    let mut last = None;
    common::poll_until(Duration::from_secs(30), || {
        last = last_row(&log, 1);
        last.as_ref()
            .is_some_and(|(b, _)| (190.0..=230.0).contains(&(*b as f64 / 1048576.0)))
    });
    let (bytes, source) = last.expect("rows for tab 1");
    println!(
        "fallback figure for 20 CoW workers of 200 MiB: {} MiB ({source})",
        bytes >> 20
    );
    assert_eq!(source, "pss");
    assert!(
        (190 << 20..=230 << 20).contains(&bytes),
        "{} MiB",
        bytes >> 20
    );
    m.wait_text("≈");
    m.wait_text("tabs: ≈ PSS (no cgroups)");
}

#[test]
fn memmux_kills_the_biggest_process_of_a_tab_over_its_limit() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path(), "kill");
    let mut m = Mux::start_with(Opts {
        rows: 45,
        cols: 160,
        args: args(&cfg, None),
        ..Opts::default()
    })
    .at_prompt();
    m.prefix(":");
    m.line("set-memory-limit 100M");
    m.wait_text("enforced by memmux");
    m.line(&format!("{} 300", env!("CARGO_BIN_EXE_memhog")));
    m.wait_text("ready pid=");
    m.wait_text("sent SIGTERM to memhog");
    let pid: u32 = m
        .contents()
        .split("ready pid=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .expect("memhog's pid");
    let gone = common::poll_until(Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z"))
            .unwrap_or(true)
    });
    assert!(gone.is_some(), "memhog still alive");
    m.wait_prompt();
    assert!(!m.exited());
}
