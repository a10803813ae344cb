//! The memory panel on the real binary: it lists every tab, shows a 256 MiB helper as about
//! 256 MiB, logs CSV, and drops closed tabs.

mod common;

use std::time::Duration;

use common::Mux;

/// The panel's text (right of the separator), row by row.
fn panel_of(s: &vt100::Screen) -> Vec<String> {
    s.contents()
        .lines()
        .filter_map(|l| l.split_once('│').map(|(_, p)| p.trim().to_string()))
        .collect()
}

/// The value at the end of the header line of tab `n`'s block, in MiB.
fn tab_value_mib(m: &Mux, n: usize) -> Option<f64> {
    m.with_screen(|s| value_of(s, n))
}

fn value_of(s: &vt100::Screen, n: usize) -> Option<f64> {
    let lines = panel_of(s);
    let header = lines.iter().find(|l| l.starts_with(&format!("{n} ")))?;
    common::panel_mib(header.split_whitespace().last()?)
}

#[test]
fn the_panel_lists_tabs_and_shows_a_hungry_one() {
    let (mut m, log) = common::wide_with_log();
    m.wait_text("memmux RSS");
    m.prefix("c");
    m.wait_prompt();
    m.wait_shells_joined(2);
    m.line(&format!("{} 256", env!("CARGO_BIN_EXE_memhog")));
    m.wait_text("ready pid=");
    m.wait_for("about 256 MiB in tab 2", |s| {
        value_of(s, 2).is_some_and(|v| (243.0..=300.0).contains(&v))
    });
    let small = tab_value_mib(&m, 1).expect("tab 1 block");
    assert!(
        small < 20.0,
        "tab 1 should be small, shows {small} MiB:\n{}",
        m.dump()
    );
    // The tab's name follows the foreground command 300 ms after output; the sample that
    // shows the memory may come first (a quiet tab is sampled as soon as it prints).
    m.wait_for("tab 2 named after memhog in the panel", |s| {
        panel_of(s).iter().any(|l| l.starts_with("2 memhog"))
    });

    // The log: header, then rows whose numbers say the same (once a sample with them is in).
    let tree_of_tab2 = |csv: &str| -> Option<f64> {
        let row = csv.lines().rfind(|l| l.split(',').nth(1) == Some("2"))?;
        row.split(',').nth(4)?.parse().ok()
    };
    common::poll_until(common::TIMEOUT, || {
        let csv = std::fs::read_to_string(log.path()).unwrap_or_default();
        tree_of_tab2(&csv).is_some_and(|t| (t / 1048576.0 - 256.0).abs() < 256.0 * 0.05 + 8.0)
    });
    let csv = std::fs::read_to_string(log.path()).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(memmux::memory::history::CSV_HEADER));
    let last_tab2 = lines
        .rfind(|l| l.split(',').nth(1) == Some("2"))
        .expect("rows for tab 2");
    let fields: Vec<&str> = last_tab2.split(',').collect();
    assert_eq!(fields.len(), 18, "{last_tab2}");
    // A tab of one pane: its row is pane 1's.
    assert_eq!(fields[17], "1", "{last_tab2}");
    // The old statm column and the new headline (memory_bytes) both see the 256 MiB.
    for column in [4, 9] {
        let bytes: f64 = fields[column].parse().unwrap();
        assert!(
            (bytes / 1048576.0 - 256.0).abs() < 256.0 * 0.05 + 8.0,
            "column {column}: {last_tab2}"
        );
    }
    let source = fields[10];
    assert!(
        ["cgroup-v1", "cgroup-v2", "pss"].contains(&source),
        "{last_tab2}"
    );
    println!("memory_source of the hungry tab: {source}");

    // Ending the helper brings the figure back down; closing the tab removes its block.
    m.send("\x03");
    m.wait_for("tab 2 small again", |s| {
        value_of(s, 2).is_some_and(|v| v < 20.0)
    });
    m.prefix("x");
    m.wait_text("close tab 2");
    m.send("y");
    m.wait_for("tab 2's block gone", |s| {
        !panel_of(s).iter().any(|l| l.starts_with("2 "))
    });
}

#[test]
fn the_panel_toggles_and_autohides_on_narrow_terminals() {
    let mut m = Mux::start().at_prompt();
    // 100 columns: hidden by default (and not drawn a moment later either).
    m.assert_never_shows("memmux RSS", Duration::from_millis(500));
    m.prefix("m");
    m.wait_text("memmux RSS");
    m.prefix("m");
    m.wait_gone("memmux RSS");
}

#[test]
fn export_writes_the_history_to_the_data_dir() {
    let (mut m, log) = common::wide_with_log();
    // Two samples in the history (the log gets a row per tab and sample, after its header).
    common::wait_until("two memory samples", common::TIMEOUT, || {
        std::fs::read_to_string(log.path()).is_ok_and(|csv| csv.lines().count() >= 3)
    });
    m.prefix("M");
    m.wait_text("memory history written to");
    let dir = m.home().join("data").join("memmux");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("memory-"))
        .expect("an export");
    let csv = std::fs::read_to_string(file.path()).unwrap();
    assert!(csv.starts_with(memmux::memory::history::CSV_HEADER));
    assert!(csv.lines().count() >= 3, "{csv}");
    // Every exported row is the row the log wrote for that sample: the breakdown, source,
    // limit and kills included (the log may hold newer samples than the export); but the
    // export is the tab's (`pane` empty) where the log's row is its one pane's (`pane` 1).
    let logged = std::fs::read_to_string(log.path()).unwrap();
    for row in csv.lines().skip(1) {
        let tab_row = row
            .strip_suffix(',')
            .unwrap_or_else(|| panic!("pane not empty: {row}"));
        assert!(
            logged
                .lines()
                .any(|l| l.strip_suffix(",1") == Some(tab_row)),
            "exported row not in the log: {row}\nlog:\n{logged}"
        );
    }
    // With cgroups, the breakdown is filled (`anon_bytes`, the 12th column).
    let last = csv.lines().last().unwrap_or_default();
    let cols: Vec<&str> = last.rsplitn(9, ',').collect();
    if cols.get(7).is_some_and(|s| s.starts_with("cgroup")) {
        assert!(!cols[6].is_empty(), "no anon_bytes: {last}");
    }
    println!("last exported row: {last}");
}
