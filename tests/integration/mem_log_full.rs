//! `--mem-log` on a full disk: whole rows only, the status line says logging stopped and
//! why, and it resumes when there is room again. Runs memmux in a mount namespace with a
//! 64 KiB tmpfs for the log (needs `unshare -m`, i.e. CAP_SYS_ADMIN).

use crate::common;

use common::{Mux, Opts, rand_tag};

#[test]
fn a_full_disk_stops_the_log_cleanly_and_it_resumes() {
    let probe = std::process::Command::new("unshare")
        .args(["-m", "--", "true"])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        println!("NOT RUN: `unshare -m` is not permitted here ({probe:?})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script = format!("mount -t tmpfs -o size=64k tmpfs {d} && exec \"$0\" \"$@\"");
    // 10 rows a second: the log's last page fills within seconds (appends into a page
    // already allocated succeed on a full tmpfs).
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("memmux.toml");
    std::fs::write(&cfg, "[memory-panel]\nsample-interval = \"100ms\"\n").unwrap();
    let mut args = vec![
        "--config".to_string(),
        cfg.display().to_string(),
        "--mem-log".to_string(),
        format!("{d}/log.csv"),
    ];
    args.extend(Opts::default().args);
    let mut m = Mux::start_with(Opts {
        rows: 30,
        cols: 140,
        args,
        wrapper: common::in_mount_namespace(script),
        ..Opts::default()
    })
    .at_prompt();
    // Fill the tmpfs from the tab (it shares memmux's mount namespace).
    m.line(&format!(
        "head -c 1M /dev/zero > {d}/filler 2>/dev/null; echo filled"
    ));
    m.wait_for("logging stopped, with the reason", |s| {
        let c = s.contents();
        c.contains("memory log stopped") && c.contains("No space left on device")
    });
    m.line(&format!("rm {d}/filler"));
    m.wait_text("memory log resumed");
    // Every row whole: 18 fields each (the title `bash` holds no comma).
    let tag = rand_tag();
    m.line(&format!(
        "echo fields: $(awk -F, '{{print NF}}' {d}/log.csv | sort -u) rows: $(wc -l < {d}/log.csv) {tag}"
    ));
    // The typed command holds the tag too: wait for the output line, not the echo.
    m.wait_for("the field counts", |s| {
        s.contents()
            .lines()
            .any(|l| l.starts_with("fields:") && l.contains(&tag))
    });
    let line = m
        .contents()
        .lines()
        .find(|l| l.starts_with("fields:") && l.contains(&tag))
        .unwrap_or_default()
        .to_string();
    println!("{line}");
    assert!(line.starts_with("fields: 18 rows:"), "{line}");
}
