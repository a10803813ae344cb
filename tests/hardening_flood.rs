//! Hardening: output floods in one tab while the user works in another, and input integrity
//! (large pastes, programs that don't read). Each test prints what it measured;
//! `docs/robustness.md` lists the criteria and the last figures.
//!
//! The floods are `#[ignore]`d (each takes a minute or more on 2 shared cores); CI runs them
//! with `--include-ignored`.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Mux, RssWatch, cpu_share, descendants, mib, percentile, rss_bytes, wait_file};

/// RSS may grow by at most this much over its level before the flood.
const RSS_SLACK: u64 = 64 << 20;
/// Keystroke echo in another tab, 99th percentile.
const ECHO_P99: Duration = Duration::from_millis(250);
/// After the flood ends, memmux must be idle again within this long...
const IDLE_WITHIN: Duration = Duration::from_secs(2);
/// ...idle meaning below this share of one core.
const IDLE_SHARE: f64 = 0.10;

/// Taken by every test that floods or pastes megabytes, so that they run one at a time: each
/// measures one flood against memmux, not three floods and a 20 MiB paste in other memmux
/// instances at once on 2 cores. (Run side by side, the machine was overloaded past anything
/// a single memmux does: another tab's echo then had outliers of 150-290 ms, wherever they
/// were measured.) The light tests of this file still run beside them.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    // A failed heavy test poisons it; the next one runs anyway.
    HEAVY.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process names of `pid`'s descendants.
fn descendant_names(pid: u32) -> Vec<(u32, String)> {
    descendants(pid)
        .into_iter()
        .filter_map(|(p, _)| {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).ok()?;
            Some((p, comm.trim_end().to_string()))
        })
        .collect()
}

/// Two tabs: tab 1 waits for `go` and then runs `flood` (touching `done` after it), tab 2 is
/// focused with a shell prompt.
struct FloodRig {
    m: Mux,
    go: PathBuf,
    done: PathBuf,
}

impl FloodRig {
    fn new(flood: &str) -> FloodRig {
        let mut m = Mux::start().at_prompt();
        let go = m.home().join("go");
        let done = m.home().join("flood-done");
        m.line(&format!(
            "while [ ! -e {go} ]; do sleep 0.05; done; {flood}; touch {done}",
            go = go.display(),
            done = done.display()
        ));
        m.new_tab(2);
        FloodRig { m, go, done }
    }

    /// Starts the flood and waits until one of `names` runs under memmux.
    fn start(&self, names: &[&str]) {
        std::fs::write(&self.go, "").unwrap();
        let pid = self.m.pid();
        common::wait_until(&format!("the flood ({names:?})"), common::TIMEOUT, || {
            descendant_names(pid)
                .iter()
                .any(|(_, n)| names.contains(&n.as_str()))
        });
    }

    fn flooding(&self) -> bool {
        !self.done.exists()
    }
}

/// Types `keys` letters into the `cat` running in the focused tab, one at a time, timing how
/// long each takes to show at the cursor. Enter every 20 keys, so the line stays short.
fn echo_latencies(m: &mut Mux, keys: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(keys);
    let mut line = String::new();
    for i in 0..keys {
        if i > 0 && i % 20 == 0 {
            m.send("\r");
            // `cat` prints the line back: wait for that, not just for the echo of Enter, or
            // the next key's echo lands before cat's copy of the line (on 2 busy cores it
            // did, and the row read "u" followed by the copy).
            let typed = std::mem::take(&mut line);
            m.wait_for("the line, cat's copy of it, then a fresh line", |s| {
                let (row, _) = s.cursor_position();
                let cols = s.size().1.get();
                let text = |r: u16| s.contents_between(r, 0, r, cols);
                row > 1
                    && text(row).trim_end().is_empty()
                    && text(row - 1).trim_end() == typed
                    && text(row - 2).trim_end() == typed
            });
        }
        let c = (b'a' + (i % 26) as u8) as char;
        line.push(c);
        let t0 = Instant::now();
        m.send(c.to_string());
        // Checked on each chunk of memmux's output as it arrives (not settled: this is the
        // moment the echo showed).
        let echoed = m.wait_change(common::TIMEOUT, |s| {
            let (row, _) = s.cursor_position();
            s.contents_between(row, 0, row, s.size().1.get()).trim_end() == line
        });
        assert!(echoed, "key {i} never echoed; screen:\n{}", m.dump());
        times.push(t0.elapsed());
        // A fast typist: about 30 keys a second.
        std::thread::sleep(Duration::from_millis(30));
    }
    m.send("\r");
    times
}

/// A known text typed in small, irregular pieces; `\r` for Enter, as a terminal sends it.
fn typed_text() -> (String, String) {
    let mut typed = String::new();
    let mut expected = String::new();
    for n in 0..20 {
        let line = format!("line {n:02}: The quick brown fox {} jumps <{n}>", n * 7919);
        typed.push_str(&line);
        typed.push('\r');
        expected.push_str(&line);
        expected.push('\n');
    }
    (typed, expected)
}

/// Types `typed_text` into `cat > FILE` in the focused tab and returns what the file got.
fn type_into_cat(m: &mut Mux, file: &Path) -> (String, String) {
    m.start_reader("", &format!("cat > {}", file.display()));
    let (typed, expected) = typed_text();
    let bytes = typed.as_bytes();
    let mut i = 0;
    let mut step = 1;
    while i < bytes.len() {
        let end = (i + step).min(bytes.len());
        m.send(&bytes[i..end]);
        i = end;
        step = step % 5 + 1;
        std::thread::sleep(Duration::from_millis(3));
    }
    m.send("\x04");
    m.wait_ready();
    let got = std::fs::read_to_string(file).unwrap_or_default();
    (got, expected)
}

/// memmux's CPU over consecutive 250 ms windows from now, until `IDLE_WITHIN` plus a second
/// have passed; returns the windows and the share over the last whole second.
fn cpu_after(pid: u32) -> (Vec<f64>, f64) {
    let start = Instant::now();
    let mut windows = Vec::new();
    while start.elapsed() < IDLE_WITHIN {
        windows.push(cpu_share(pid, Duration::from_millis(250)).unwrap_or(f64::NAN));
    }
    let last = cpu_share(pid, Duration::from_secs(1)).unwrap_or(f64::NAN);
    (windows, last)
}

/// The flood case every flood test runs: see `docs/robustness.md`, case 2.
fn flood_case(name: &str, flood: &str, names: &[&str], stop: impl Fn(&FloodRig)) {
    let _heavy = heavy();
    let mut rig = FloodRig::new(flood);
    let pid = rig.m.pid();
    rig.m.line("cat");
    std::thread::sleep(Duration::from_millis(1500));
    let before = rss_bytes(pid).expect("RSS");
    let idle_before = cpu_share(pid, Duration::from_secs(1)).unwrap();
    let watch = RssWatch::start(pid);
    let t0 = Instant::now();
    rig.start(names);

    // Echo in tab 2 while tab 1 floods.
    let echo = echo_latencies(&mut rig.m, 100);
    let echo_flooding = rig.flooding();
    // Keystrokes typed meanwhile arrive complete and in order.
    rig.m.send("\x03");
    rig.m.wait_ready();
    let file = rig.m.home().join("typed.txt");
    let (got, expected) = type_into_cat(&mut rig.m, &file);
    let typed_flooding = rig.flooding();
    let measured_at = t0.elapsed();

    stop(&rig);
    let flood_took = wait_file(&rig.done, Duration::from_secs(600));
    let ended = t0.elapsed();
    let (windows, last) = cpu_after(pid);
    let peak = watch.peak();
    drop(watch);
    let after = rss_bytes(pid).expect("RSS");

    let p50 = percentile(&echo, 50.0);
    let p99 = percentile(&echo, 99.0);
    let max = percentile(&echo, 100.0);
    let first_idle = windows
        .iter()
        .position(|s| *s < IDLE_SHARE)
        .map(|i| format!("{} ms", (i + 1) * 250))
        .unwrap_or_else(|| "never in 2 s".into());
    eprintln!("flood {name}: measured within {measured_at:.1?}, flood ended at {ended:.1?}");
    eprintln!(
        "  echo in tab 2 over {} keys: p50 {p50:.1?}, p99 {p99:.1?}, max {max:.1?} \
         (flood still running: {echo_flooding})",
        echo.len()
    );
    eprintln!(
        "  typed {} bytes into cat during the flood (still running: {typed_flooding}): {}",
        expected.len(),
        if got == expected {
            "exact"
        } else {
            "DIFFERENT"
        }
    );
    eprintln!(
        "  memmux RSS before {}, peak {}, after {} (growth {})",
        mib(before),
        mib(peak),
        mib(after),
        mib(peak.saturating_sub(before))
    );
    eprintln!(
        "  memmux CPU idle before {:.1}%; after the flood, 250 ms windows: {:?}; first idle \
         window ends at {first_idle}; second 2-3 s: {:.1}%",
        idle_before * 100.0,
        windows
            .iter()
            .map(|s| format!("{:.0}%", s * 100.0))
            .collect::<Vec<_>>(),
        last * 100.0
    );
    let _ = flood_took;

    assert!(common::alive(pid), "memmux died");
    assert!(
        echo_flooding && typed_flooding,
        "the flood ended before the measurements did: make it longer"
    );
    assert_eq!(got, expected, "keystrokes lost or reordered");
    assert!(
        peak <= before + RSS_SLACK,
        "RSS grew by {}",
        mib(peak - before)
    );
    assert!(p99 <= ECHO_P99, "echo p99 {p99:?} over {ECHO_P99:?}");
    assert!(
        last < IDLE_SHARE,
        "memmux still busy {IDLE_WITHIN:?} after the flood: {:.1}% of a core",
        last * 100.0
    );
    // And the flooded tab works.
    rig.m.prefix("1");
    rig.m.wait_for("tab 1 shown (tab 2's typing gone)", |s| {
        !s.contents().contains("The quick brown fox")
    });
    rig.m.send("\x03");
    rig.m.line("printf '\\ec'; stty sane");
    // Random data asks a few hundred queries; while the terminal is in line mode only 4 are
    // answered (`InputQueue::push_reply`), and bash runs each answer that reaches it as a
    // command ("22c62: command not found") before it gets to ours.
    rig.m.line("printf '%s-%s\\n' flood-tab works");
    rig.m.wait_for_within(
        "the flooded tab's shell to answer",
        Duration::from_secs(90),
        |s| s.contents().contains("flood-tab-works"),
    );
}

/// Kills every descendant of memmux named `name`.
fn kill_named(rig: &FloodRig, name: &str) {
    for (p, n) in descendant_names(rig.m.pid()) {
        if n == name {
            // SAFETY: signalling a process under our memmux.
            unsafe { libc::kill(p as i32, libc::SIGKILL) };
        }
    }
}

#[test]
#[ignore = "long: a 1 GiB flood"]
fn flood_of_1_gib_of_urandom() {
    flood_case(
        "head -c 1G /dev/urandom",
        "head -c 1G /dev/urandom",
        &["head"],
        |_| {},
    );
}

#[test]
#[ignore = "long: a 30 s flood"]
fn flood_of_yes() {
    // `yes` never ends by itself: it runs until the measurements are done and 20 s more.
    flood_case("yes", "yes", &["yes"], |rig| {
        std::thread::sleep(Duration::from_secs(20));
        kill_named(rig, "yes");
    });
}

#[test]
#[ignore = "long: a 300 MB line"]
fn flood_of_one_300_mb_line_without_newline() {
    // 300 MB rather than the issue's 100 MB: at about 20 MB/s, 100 MB ends before the
    // keystroke measurements do.
    flood_case(
        "one 300 MB line",
        "head -c 300M /dev/zero | tr '\\0' a",
        &["head", "tr"],
        |_| {},
    );
}

// --- 3. Input integrity ----------------------------------------------------------------------

/// Pseudo-random base64 lines of 76 characters (as `base64` writes them), `total` bytes or a
/// little more, each ending in `\n`.
fn base64_lines(total: usize, seed: u64) -> String {
    use base64::Engine;
    let mut x = seed | 1;
    let mut raw = [0u8; 57];
    let mut out = String::with_capacity(total + 80);
    while out.len() < total {
        for b in raw.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        base64::engine::general_purpose::STANDARD.encode_string(raw, &mut out);
        out.push('\n');
    }
    out
}

fn sha256(path: &Path) -> String {
    std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Pastes `text` (bracketed, as the outer terminal sends a paste) into `cat > FILE` in the
/// focused tab; waits until the file has it all, then ends cat. Returns how long it took.
fn paste_into_cat(m: &mut Mux, text: &str, file: &Path, timeout: Duration) -> Duration {
    m.start_reader("", &format!("cat > {}", file.display()));
    let t0 = Instant::now();
    let mut paste = Vec::with_capacity(text.len() + 12);
    paste.extend_from_slice(b"\x1b[200~");
    paste.extend_from_slice(text.as_bytes());
    paste.extend_from_slice(b"\x1b[201~");
    m.send(&paste);
    let len = || std::fs::metadata(file).map(|md| md.len()).unwrap_or(0);
    let arrived = common::poll_until(timeout, || len() >= text.len() as u64);
    assert!(
        arrived.is_some(),
        "after {timeout:?} the file has {} of {} bytes; screen:\n{}",
        len(),
        text.len(),
        m.dump()
    );
    let took = t0.elapsed();
    m.send("\x04");
    // The prompt may land after part of a line: with the pty's output backed up, the kernel
    // drops echo it has no room for (n_tty's echo buffer discards its tail), which happened
    // once under the parallel flood tests. So: a prompt at the end of the row, then Enter for
    // a fresh one.
    m.wait_for("the prompt after cat", |s| {
        let (row, _) = s.cursor_position();
        s.contents_between(row, 0, row, s.size().1.get())
            .trim_end()
            .ends_with('$')
    });
    m.send("\r");
    m.wait_ready();
    took
}

fn check_paste(name: &str, text: &str, file: &Path, took: Duration) {
    let got = std::fs::read(file).unwrap();
    let want = file.with_extension("expected");
    std::fs::write(&want, text).unwrap();
    eprintln!(
        "{name}: {} in {took:.2?}; sha256 pasted {} / arrived {}",
        mib(text.len() as u64),
        sha256(&want),
        sha256(file)
    );
    assert_eq!(got.len(), text.len(), "{name}: length differs");
    if let Some(i) = got.iter().zip(text.as_bytes()).position(|(a, b)| a != b) {
        panic!(
            "{name}: first difference at byte {i}: got {:?}, want {:?}",
            String::from_utf8_lossy(&got[i..(i + 40).min(got.len())]),
            &text[i..(i + 40).min(text.len())]
        );
    }
}

/// A 1 MiB paste into `cat` arrives byte-exact (quick; the 8 MiB one under a flood is below).
#[test]
fn paste_of_1_mib_arrives_exactly() {
    let mut m = Mux::start().at_prompt();
    let text = base64_lines(1 << 20, 7);
    let file = m.home().join("paste-1m.txt");
    let took = paste_into_cat(&mut m, &text, &file, Duration::from_secs(60));
    check_paste("1 MiB paste", &text, &file, took);
}

/// An 8 MiB paste into `cat` in tab 2 arrives byte-exact while tab 1 floods (`yes`).
#[test]
#[ignore = "long: an 8 MiB paste under a flood"]
fn paste_of_8_mib_arrives_exactly_while_another_tab_floods() {
    let _heavy = heavy();
    let mut rig = FloodRig::new("yes");
    rig.start(&["yes"]);
    let text = base64_lines(8 << 20, 8);
    let file = rig.m.home().join("paste-8m.txt");
    let took = paste_into_cat(&mut rig.m, &text, &file, Duration::from_secs(300));
    let flooding = rig.flooding()
        && descendant_names(rig.m.pid())
            .iter()
            .any(|(_, n)| n == "yes");
    kill_named(&rig, "yes");
    eprintln!("flood still running when the paste was in: {flooding}");
    check_paste("8 MiB paste under a yes flood", &text, &file, took);
    assert!(flooding, "the flood had stopped");
}

/// A 1 MiB paste into `sleep 1000`, which never reads: the UI stays responsive (switch tabs,
/// type elsewhere), the status line says how much input is waiting, and nothing is dropped:
/// once `sleep` is killed, the `cat` after it gets every byte.
#[test]
fn paste_into_a_program_that_does_not_read_waits_and_is_not_lost() {
    let mut m = Mux::start().at_prompt();
    m.new_tab(2);
    m.run("echo tab-two-here");
    m.prefix("1");
    m.wait_gone("tab-two-here");
    let file = m.home().join("late.txt");
    m.line(&format!("sleep 1000; cat > {}", file.display()));
    let pid = m.pid();
    let sleeper = || {
        descendant_names(pid)
            .into_iter()
            .find_map(|(p, n)| (n == "sleep").then_some(p))
    };
    common::wait_until("sleep to start", common::TIMEOUT, || sleeper().is_some());
    let sleeper = sleeper().expect("sleep");
    let text = base64_lines(1 << 20, 9);
    let mut paste = b"\x1b[200~".to_vec();
    paste.extend_from_slice(text.as_bytes());
    paste.extend_from_slice(b"\x1b[201~");
    m.send(&paste);
    m.wait_text("of input waiting");
    let note = m.status_line();
    // Responsive: another tab, typing there.
    let t0 = Instant::now();
    m.prefix("2");
    m.wait_text("tab-two-here");
    let switch = t0.elapsed();
    let t1 = Instant::now();
    m.run("echo typed-elsewhere");
    let typed = t1.elapsed();
    m.prefix("1");
    m.wait_text("of input waiting");
    eprintln!(
        "1 MiB paste into sleep 1000: status {:?}; switch to tab 2 took {switch:.2?}, \
         a command there {typed:.2?}",
        note.trim()
    );
    assert!(switch < Duration::from_secs(2), "switching took {switch:?}");
    // Now a program reads: all of it arrives.
    // SAFETY: signalling a process under our memmux.
    unsafe { libc::kill(sleeper as i32, libc::SIGKILL) };
    let len = || std::fs::metadata(&file).map(|md| md.len()).unwrap_or(0);
    let took = common::poll_until(Duration::from_secs(60), || len() >= text.len() as u64);
    let Some(took) = took else {
        panic!(
            "only {} of {} bytes arrived:\n{}",
            len(),
            text.len(),
            m.dump()
        );
    };
    m.send("\x04");
    m.wait_ready();
    m.wait_for("the note to go", |s| {
        !s.contents().contains("of input waiting")
    });
    check_paste("1 MiB paste after waiting", &text, &file, took);
}

/// A paste past the 32 MiB input queue is refused, and the status line says so: not silently
/// dropped, and memmux's memory doesn't grow by it.
#[test]
fn a_paste_past_the_input_queue_is_refused_and_said_so() {
    let _heavy = heavy();
    let mut m = Mux::start_sized(30, 100).at_prompt();
    m.start_reader("", "sleep 1000");
    let text = base64_lines(33 << 20, 10);
    let mut paste = b"\x1b[200~".to_vec();
    paste.extend_from_slice(text.as_bytes());
    paste.extend_from_slice(b"\x1b[201~");
    let t0 = Instant::now();
    m.send(&paste);
    m.wait_text("input not sent");
    eprintln!(
        "33 MiB paste: refused after {:.2?}: {:?}; memmux RSS {}",
        t0.elapsed(),
        m.status_line().trim(),
        mib(rss_bytes(m.pid()).unwrap_or(0))
    );
    m.send("\x03");
    m.run("echo still-fine");
}

/// What a large paste costs memmux afterwards is bounded by the paste and does not accumulate:
/// a second paste of the same size adds (almost) nothing.
///
/// Known limitation: crossterm 0.29's input parser keeps the capacity its buffer grew to for the
/// largest paste (it never shrinks it, and memmux can't reach it), so about 1.5x the largest
/// paste stays resident. Tested here: that it is bounded, and that repeated pastes don't add up.
#[test]
#[ignore = "long: two 20 MiB pastes"]
fn a_large_paste_costs_a_bounded_amount_that_does_not_accumulate() {
    let _heavy = heavy();
    let mut m = Mux::start().at_prompt();
    std::thread::sleep(Duration::from_millis(1500));
    let before = rss_bytes(m.pid()).expect("RSS");
    let text = base64_lines(20 << 20, 11);
    let mut after = Vec::new();
    for round in 0..2 {
        let file = m.home().join(format!("big-paste-{round}.txt"));
        let took = paste_into_cat(&mut m, &text, &file, Duration::from_secs(120));
        check_paste("20 MiB paste", &text, &file, took);
        // Give memmux time to free what it held for the paste.
        std::thread::sleep(Duration::from_secs(3));
        after.push(rss_bytes(m.pid()).expect("RSS"));
        eprintln!(
            "20 MiB paste {round} delivered in {took:.2?}; memmux RSS before {}, 3 s after {}",
            mib(before),
            mib(after[round])
        );
    }
    assert!(
        after[0] <= before + (48 << 20),
        "RSS {} before a 20 MiB paste, {} after: more than the paste's bounded cost",
        mib(before),
        mib(after[0])
    );
    assert!(
        after[1] <= after[0] + (4 << 20),
        "a second paste of the same size added memory: {} then {}",
        mib(after[0]),
        mib(after[1])
    );
}
