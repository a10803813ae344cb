//! A hidden tab's flood yields to the tab being typed in (`session::reader::read_and_parse`,
//! `session::typing`): its pty is read by its parser thread at the idle priority, never by
//! the flood loop, and not at all for a moment after each key typed in a shown tab, so the
//! flooding program blocks on its full pty; its screen is still exact when it is shown.
//! Each test drives the real binary and reads the flooding program's bytes written
//! (`/proc/PID/io`) and memmux's threads' CPU time (`/proc/PID/task/TID/schedstat`).

mod common;

use std::time::{Duration, Instant};

use common::Mux;

/// Bytes `pid` has written so far (`wchar` of /proc/PID/io), while it lives.
fn written(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))?
        .trim()
        .parse()
        .ok()
}

/// Nanoseconds on CPU of `pid`'s thread named `name` (the first one, by /proc's order).
fn thread_cpu_ns(pid: u32, name: &str) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    tasks.flatten().find_map(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
        if comm.trim_end() != name {
            return None;
        }
        let stat = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
        stat.split_whitespace().next()?.parse().ok()
    })
}

/// Types key `i` of a run at the shown tab's prompt (`k`, and ^U every 20th to clear the
/// line) and waits for the shell's echo to move the cursor: keys paced by their echo.
fn type_key(m: &mut Mux, i: usize) {
    let before = m.with_screen(|s| s.cursor_position());
    m.send(if i % 20 == 19 { "\x15" } else { "k" });
    m.wait_for("the key's echo", |s| s.cursor_position() != before);
}

/// The pid of the `yes` running under memmux `pid`.
fn yes_pid(pid: u32) -> u32 {
    let mut found = None;
    common::wait_until("the flood's `yes`", common::TIMEOUT, || {
        found = common::descendants(pid).into_iter().find_map(|(p, _)| {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).ok()?;
            (comm.trim_end() == "yes").then_some(p)
        });
        found.is_some()
    });
    found.unwrap_or_default()
}

/// Tab 1 runs `flood` hidden once the go file appears (then touches `done`); tab 2 is
/// focused at its prompt. Returns memmux and the done file.
fn hidden_flood(flood: &str) -> (Mux, std::path::PathBuf) {
    let mut m = Mux::start().at_prompt();
    let go = m.home().join("go");
    let done = m.home().join("done");
    m.line(&format!(
        "while [ ! -e {go} ]; do sleep 0.05; done; {flood}; touch {done}",
        go = go.display(),
        done = done.display()
    ));
    m.new_tab(2);
    std::fs::write(&go, "").expect("write the go file");
    (m, done)
}

/// Waits until `yes` has written `bytes` more than when called; how long it took.
fn wait_written(m: &Mux, yes: u32, bytes: u64) -> Duration {
    let from = written(yes).unwrap_or_default();
    let took = common::poll_until(Duration::from_secs(60), || {
        written(yes).is_some_and(|w| w >= from + bytes)
    });
    took.unwrap_or_else(|| {
        panic!(
            "the hidden `yes` did not write {bytes} bytes in 60 s\n{}",
            m.dump()
        )
    })
}

#[test]
fn a_hidden_flood_is_read_by_its_idle_parser_not_by_the_flood_loop() {
    let (m, _done) = hidden_flood("yes");
    let pid = m.pid();
    let yes = yes_pid(pid);
    // Under way (its first read was the quiet loop's, which started the parser).
    wait_written(&m, yes, 4 << 20);
    let loop_before = thread_cpu_ns(pid, "pty-flood").expect("the flood loop's thread");
    wait_written(&m, yes, 32 << 20);
    let loop_after = thread_cpu_ns(pid, "pty-flood").expect("the flood loop's thread");
    // Reading it, the loop took 6-8 % of a core beside a parser at 30 %: about 1 ms per
    // MiB. Now it only wakes to hand the pty back (none here: the flood goes on).
    let used = Duration::from_nanos(loop_after - loop_before);
    assert!(
        used < Duration::from_millis(3),
        "the flood loop ran {used:?} while a hidden tab flooded 32 MiB: it reads the pty"
    );
}

#[test]
fn typing_in_a_shown_tab_holds_a_hidden_flood_back() {
    let (mut m, _done) = hidden_flood("yes");
    let yes = yes_pid(m.pid());
    wait_written(&m, yes, 4 << 20);
    // Its pace with nobody typing.
    let free = wait_written(&m, yes, 16 << 20);
    let free_rate = (16 << 20) as f64 / free.as_secs_f64();

    // A second of keys at the prompt of tab 2, each as soon as the last one's echo shows:
    // each holds the flood for `typing::HOLD` (50 ms), so it moves its pty's buffer and a
    // 64 KiB batch per `typing::MIN_READS` (250 ms) meanwhile: about 0.4 MiB in the second.
    let before = written(yes).expect("yes's io");
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(1) {
        type_key(&mut m, i);
        i += 1;
    }
    let typing = start.elapsed();
    let moved = written(yes).expect("yes's io") - before;
    let free_would = free_rate * typing.as_secs_f64();
    assert!(
        (moved as f64) < free_would / 4.0,
        "the hidden flood wrote {moved} bytes in {typing:?} of typing, against {free_would:.0} \
         at its free pace ({free_rate:.0} B/s): typing does not hold it"
    );
    // The keys reached tab 2's shell (the line cleared of the last run of `k`s first).
    m.send("\x15");
    m.line("echo typed-$((6*7))");
    m.wait_text("typed-42");
    // And the flood goes on once nobody types.
    wait_written(&m, yes, 4 << 20);
}

#[test]
fn a_hidden_flood_typed_beside_ends_with_its_screen_exact() {
    let (mut m, done) = hidden_flood("seq 1 300000");
    // Type in tab 2 while tab 1 floods hidden: the holds stop and start its reads often.
    let start = Instant::now();
    let mut keys = 0;
    while !done.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the hidden flood did not end\n{}",
            m.dump()
        );
        type_key(&mut m, keys);
        keys += 1;
    }
    m.send("\x15");
    // Shown: the last lines of `seq`, in order, then the prompt.
    m.prefix("1");
    m.wait_for("tab 1's last lines", |s| s.contents().contains("300000"));
    let contents = m.contents();
    let numbers: Vec<u64> = contents
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(numbers.len() >= 10, "{contents}");
    let last = *numbers.last().unwrap_or(&0);
    assert_eq!(last, 300_000, "{contents}");
    let expected: Vec<u64> = (last + 1 - numbers.len() as u64..=last).collect();
    assert_eq!(numbers, expected, "lines lost or out of order:\n{contents}");
}
