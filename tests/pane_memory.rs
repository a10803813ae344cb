//! Memory per pane on the real binary, whatever the mechanism (cgroups or PSS): the panel
//! lists each pane of a split tab beneath it with its own figure, the tab's figure is their
//! sum, `--mem-log` writes a row per pane; without cgroups memmux enforces a tab's limit on
//! the sum of its panes.

mod common;

use common::{Mux, Opts, rand_tag};

/// The panel's text (right of its border, the last `│` of the row), row by row.
fn panel_of(s: &vt100::Screen) -> Vec<String> {
    s.contents()
        .lines()
        .filter_map(|l| l.rsplit_once('│').map(|(_, p)| p.trim().to_string()))
        .collect()
}

/// The figure at the end of the panel line starting with `start`, in MiB.
fn figure(s: &vt100::Screen, start: &str) -> Option<f64> {
    let lines = panel_of(s);
    let line = lines.iter().find(|l| l.starts_with(start))?;
    common::panel_mib(line.split_whitespace().last()?)
}

/// The `memory_source` memmux's tabs get here (`--print-config=effective`'s last line).
fn source() -> String {
    let m = common::tab_memory_mechanism();
    match m.split_whitespace().next() {
        Some(s @ ("cgroup-v1" | "cgroup-v2")) => s.to_string(),
        _ => "pss".to_string(),
    }
}

/// The log's rows of tab 1: (pane, memory_source, memory_bytes in MiB).
fn log_rows(log: &std::path::Path) -> Vec<(String, String, f64)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() != 18 || f[1] != "1" {
                return None;
            }
            let bytes = f[9].parse::<f64>().ok()? / 1048576.0;
            Some((f[17].to_string(), f[10].to_string(), bytes))
        })
        .collect()
}

/// Waits until pane `pane` of tab 1 is measured from its own cgroup (or by PSS without
/// cgroups): its shell has joined, so what it starts is charged to the pane. (The join runs
/// beside the shell's start-up; pages a program touched before it, on kernels without charge
/// moving, stay with memmux's cgroup.)
fn joined(log: &std::path::Path, pane: &str, source: &str) {
    common::wait_until(
        &format!("pane {pane} in its cgroup"),
        common::TIMEOUT,
        || {
            log_rows(log)
                .iter()
                .any(|(p, s, _)| p == pane && s == source)
        },
    );
}

/// Two panes of one tab, 64 and 16 MiB helpers: each pane's row shows its own, the tab's
/// header their sum, the biggest process per pane; the log has rows for pane 1 and pane 2
/// of tab 1 with those figures.
#[test]
fn each_pane_has_its_figure_in_the_panel_and_the_log() {
    let (mut m, log) = common::wide_with_log();
    let source = source();
    let tag = rand_tag();
    let hog = env!("CARGO_BIN_EXE_memhog");
    joined(log.path(), "1", &source);
    m.line(&format!("{hog} 64 --tag {tag}"));
    m.wait_text("ready pid=");
    m.prefix("%");
    m.wait_pane_ready();
    joined(log.path(), "2", &source);
    m.line(&format!("{hog} 16 --tag {tag}"));
    m.wait_for("the second helper ready", |s| {
        s.contents().matches("ready pid=").count() == 2
    });
    let near = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < want * 0.1 + 6.0);
    m.wait_for("pane rows with 64 and 16 MiB, the tab their sum", |s| {
        near(figure(s, "├1 "), 64.0) && near(figure(s, "└2 "), 16.0) && near(figure(s, "1 "), 80.0)
    });
    let panel = m.with_screen(panel_of);
    // The line under pane 1's (its `│ ` stem is cut with the panel's border).
    let under = panel
        .iter()
        .position(|l| l.starts_with("├1 "))
        .and_then(|i| panel.get(i + 1));
    assert!(
        under.is_some_and(|l| l.starts_with("top memhog (")),
        "no biggest process under pane 1:\n{}",
        m.dump()
    );
    // The log: `pane` last; `memory_bytes` (column 10) is the pane's.
    let last = |rows: &[(String, String, f64)], pane: &str| {
        rows.iter().rev().find(|(p, _, _)| p == pane).map(|r| r.2)
    };
    common::wait_until("log rows of both panes", common::TIMEOUT, || {
        let r = log_rows(log.path());
        near(last(&r, "1"), 64.0) && near(last(&r, "2"), 16.0)
    });
    let text = std::fs::read_to_string(log.path()).unwrap_or_default();
    assert_eq!(
        text.lines().next(),
        Some(memmux::memory::history::CSV_HEADER)
    );
    assert!(memmux::memory::history::CSV_HEADER.ends_with(",oom_kills,pane"));
    // Closing pane 2 leaves a tab of one pane: no pane rows, its figure pane 1's.
    m.prefix("x");
    m.wait_text("close this pane");
    m.send("y");
    m.wait_for("no pane rows, the tab at 64 MiB", |s| {
        figure(s, "├1 ").is_none() && near(figure(s, "1 "), 64.0)
    });
    m.send("\x03");
    assert!(!m.exited());
}

/// Without cgroups, a tab's limit is enforced by memmux on the sum of its panes: two 60 MiB
/// helpers in two panes of a tab limited to 100 MiB (each alone below it) get the biggest
/// process a SIGTERM, said for the tab; a pane's own limit, on that pane.
#[test]
fn without_cgroups_a_tab_limit_counts_all_its_panes() {
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("memmux.toml");
    std::fs::write(
        &cfg,
        "[memory-panel]\nshow = \"always\"\n[tab-memory]\ncgroups = false\nover-limit-action = \"kill\"\n",
    )
    .unwrap();
    let args = common::config_args(&cfg);
    let mut m = Mux::start_with(Opts::wide(args)).at_prompt();
    m.prefix(":");
    m.line("set-memory-limit 100M");
    m.wait_text("tab 1: memory limit 100 MiB (enforced by memmux");
    let hog = env!("CARGO_BIN_EXE_memhog");
    m.line(&format!("{hog} 60"));
    m.wait_text("ready pid=");
    m.prefix("%");
    m.wait_pane_ready();
    m.line(&format!("{hog} 60"));
    m.wait_text("tab 1 over its limit of 100 MiB: sent SIGTERM to memhog");
    // A pane's own limit (`-p`) is checked against that pane alone. (Either helper may have
    // been the one stopped: pane 2's ends here if it was not.)
    m.send("\x03");
    m.wait_pane_ready();
    // Its figure down first: a limit below what the pane uses asks before it is set.
    m.wait_for("pane 2 small again", |s| {
        figure(s, "└2 ").is_some_and(|v| v < 20.0)
    });
    m.prefix(":");
    m.line("set-memory-limit none");
    m.wait_text("tab 1: memory limit no limit");
    m.prefix(":");
    m.line("set-memory-limit -p 40M");
    m.wait_text("tab 1, pane 2: memory limit 40.0 MiB (enforced by memmux");
    m.line(&format!("{hog} 60"));
    m.wait_text("tab 1, pane 2 over its limit of 40.0 MiB: sent SIGTERM to memhog");
    assert!(!m.exited());
}
