//! Hardening: hostile program output, the security rules for replies, clipboard and titles, and
//! parser panic containment, on the real binary in a pty. Each test prints what it measured;
//! `docs/robustness.md` lists the criteria and the last figures.

use crate::common;

use std::time::{Duration, Instant};

use common::{Mux, Opts, RssWatch, mib, rss_bytes, wait_file};

/// RSS may grow by at most this much over its level before a hostile stream or flood.
const RSS_SLACK: u64 = 64 << 20;

/// Lets memmux settle (first frames, first memory sample) and returns its RSS.
fn settled_rss(m: &Mux) -> u64 {
    std::thread::sleep(Duration::from_millis(1500));
    rss_bytes(m.pid()).expect("memmux RSS")
}

// --- 1. Hostile output ---------------------------------------------------------------------

/// A 100 MiB OSC body with no terminator: memmux must not buffer it, and the tab goes on
/// working once something ends the string (bash's next prompt starts with `ESC [ ? 2004 h`,
/// which ends an OSC in vte as in xterm).
#[test]
fn unterminated_100_mib_osc_is_not_buffered_and_the_tab_recovers() {
    let mut m = Mux::start().at_prompt();
    let before = settled_rss(&m);
    let watch = RssWatch::start(m.pid());
    let done = m.home().join("osc-done");
    let t0 = Instant::now();
    m.line(&format!(
        "printf '\\e]0;'; head -c 100M /dev/zero | tr '\\0' x; touch {}",
        done.display()
    ));
    let took = wait_file(&done, Duration::from_secs(120));
    // The normal output after it: a command whose output must appear.
    m.run("echo after-the-osc");
    let recovered = t0.elapsed();
    let peak = watch.peak();
    drop(watch);
    let after = rss_bytes(m.pid()).expect("memmux RSS");
    eprintln!(
        "100 MiB unterminated OSC: written in {took:.1?}, tab usable after {recovered:.1?}; \
         memmux RSS before {}, peak {}, after {} (growth {})",
        mib(before),
        mib(peak),
        mib(after),
        mib(peak.saturating_sub(before))
    );
    assert!(
        peak <= before + RSS_SLACK,
        "RSS grew from {} to {}",
        mib(before),
        mib(peak)
    );
    // No megabyte title: the bar shows a short label.
    let bar = m.tab_bar();
    assert!(
        !bar.contains("xxxxxxxxxxxxxxxxxxxxxxxx"),
        "the OSC body became a title: {bar}"
    );
    m.run("echo still-fine");
}

/// `CSI 65535 b` (repeat the last character 65535 times), 1000 times: clamped to the screen,
/// so it returns promptly and the tab goes on.
#[test]
fn repeat_65535_a_thousand_times_returns_promptly() {
    let mut m = Mux::start().at_prompt();
    let t0 = Instant::now();
    // `%.0s` takes an argument and prints nothing: the format runs once per number.
    m.run("clear; printf 'A'; printf '\\e[65535b%.0s' $(seq 1000); echo");
    let took = t0.elapsed();
    eprintln!("1000 x CSI 65535 b: marker after {took:.2?}");
    // The repeat happened (the screen is full of A), and was bounded.
    m.with_screen(|s| {
        let full = s
            .contents()
            .lines()
            .filter(|l| l.len() >= 90 && l.bytes().all(|b| b == b'A'))
            .count();
        assert!(full >= 10, "REP did not fill the screen:\n{}", s.contents());
    });
    assert!(took < Duration::from_secs(5), "took {took:?}");
    m.run("echo rep-ok");
}

/// `cat` of a binary, then recovery as a user would do it (Ctrl-C, `reset`-like RIS plus
/// `stty sane`): memmux lives, the other tab is untouched.
#[test]
fn cat_of_a_binary_leaves_other_tabs_and_memmux_alone() {
    let mut m = Mux::start().at_prompt();
    m.line("echo tab-one-before");
    m.wait_text("tab-one-before");
    m.prefix("c");
    m.wait_gone("tab-one-before");
    m.wait_prompt();
    m.run("echo tab-two-text");
    m.prefix("1");
    m.wait_text("tab-one-before");

    let bin = ["/usr/bin/bash", "/bin/bash"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("a bash binary");
    let done = m.home().join("cat-done");
    let t0 = Instant::now();
    m.line(&format!("cat {bin}; touch {}", done.display()));
    let took = wait_file(&done, Duration::from_secs(60));
    // Whatever the binary did to the modes, and whatever replies it provoked, the user
    // recovers with Ctrl-C and a reset.
    // Replies to what the binary asked may still be on their way to the shell: let them land
    // before Ctrl-C clears the line they make.
    std::thread::sleep(Duration::from_millis(300));
    m.send("\x03");
    m.run("printf '\\ec'; stty sane");
    m.send("\x03");
    m.run("echo recovered-one");
    eprintln!(
        "cat {bin}: done after {took:.2?}, recovered after {:.2?}",
        t0.elapsed()
    );
    assert!(common::alive(m.pid()), "memmux died");
    m.prefix("2");
    m.wait_text("tab-two-text");
    m.run("echo tab-two-still-works");
    let bar = m.tab_bar();
    assert!(bar.contains("1:") && bar.contains("2:"), "tab bar: {bar}");
}

// --- 7. Security rules ---------------------------------------------------------------------

/// Runs `payload` (a printf format) with the tty raw and silent, then prints whatever came
/// back as input within a second (and up to 2 s more), `cat -v` style, between `<<` and `>>`; waits for it.
fn replies_to(m: &mut Mux, payload: &str) -> String {
    let tag = common::rand_tag();
    m.line("clear");
    m.wait_ready();
    m.line(&format!(
        "stty -echo -icanon min 0 time 20; printf '{payload}'; sleep 1; \
         printf '\\n%s<<' got{tag}; cat -v; printf '>>\\n'; stty sane"
    ));
    let start = format!("got{tag}<<");
    m.wait_for("the replies", |s| {
        let text = s.contents();
        text.split(&start).nth(1).is_some_and(|t| t.contains(">>"))
    });
    m.wait_ready();
    let text: String = m.contents().lines().collect();
    let after = text.split(&start).nth(1).unwrap_or("");
    after.split(">>").next().unwrap_or("").to_string()
}

/// Title reports (`CSI 21 t`, `CSI 20 t`), DECRQSS and an OSC 50 font query would put
/// program-chosen bytes into the shell's input: none is answered. A cursor position query in
/// the same stream is answered, so the channel works and the test can fail.
#[test]
fn replies_never_contain_program_controlled_bytes() {
    let mut m = Mux::start().at_prompt();
    let pwned = m.home().join("pwned");
    let title = format!("evil$(touch {})", pwned.display());
    let got = replies_to(
        &mut m,
        &format!("\\e]2;{title}\\a\\e]1;evil-icon\\a\\e[21t\\e[20t\\eP$qm\\e\\\\\\e]50;?\\a\\e[6n"),
    );
    eprintln!("replies to title/icon reports, DECRQSS, OSC 50 and DSR 6: {got:?}");
    assert!(
        got.contains("^[[") && got.contains('R'),
        "the cursor position query was not answered: {got:?}"
    );
    assert!(!got.contains("evil"), "a reply echoed the title: {got:?}");
    assert!(!got.contains("touch"), "a reply echoed the title: {got:?}");
    // And nothing ran.
    m.run("echo check");
    assert!(!pwned.exists(), "the title was executed");
}

/// OSC 52 clipboard reads are never answered (the clipboard may hold secrets).
#[test]
fn clipboard_reads_are_never_answered() {
    let mut m = Mux::start().at_prompt();
    let got = replies_to(&mut m, "\\e]52;c;?\\a\\e]52;p;?\\e\\\\\\e[5n");
    eprintln!("replies to OSC 52 reads and DSR 5: {got:?}");
    assert!(got.contains("^[[0n"), "DSR 5 not answered: {got:?}");
    assert!(
        !got.contains("52"),
        "a clipboard read was answered: {got:?}"
    );
}

/// A program's OSC 52 clipboard write is not passed to the outer terminal by default.
#[test]
fn program_clipboard_writes_do_not_reach_the_outer_terminal() {
    let mut m = Mux::start().at_prompt();
    // aGVsbG8= is "hello".
    m.run("printf '\\e]52;c;aGVsbG8=\\a\\e]52;p;aGVsbG8=\\e\\\\'");
    // A frame after it, so anything queued for the outer terminal has been written.
    m.run("echo after-clipboard");
    let found = m.wait_raw(Duration::from_millis(300), |raw| {
        raw.windows(4).any(|w| w == b"\x1b]52")
    });
    let raw = m.raw.lock().unwrap().clone();
    eprintln!("outer stream: {} bytes, OSC 52 present: {found}", raw.len());
    assert!(!found, "OSC 52 forwarded to the outer terminal");
}

/// Titles lose their control characters (C0 and C1, even UTF-8 encoded C1 like U+009B, which
/// an outer terminal may take for CSI) and are capped at 256 bytes: checked in the tab bar,
/// in the raw stream to the outer terminal, and in full in the `--mem-log` CSV.
#[test]
fn titles_are_stripped_of_controls_and_capped() {
    let log = m_log();
    let mut m = Mux::start_with(Opts::default().mem_log(log.path())).at_prompt();
    // T, U+009B (C1 CSI) "31m", X, U+009D (C1 OSC), Y, BS, DEL, then 1000 z.
    m.run(
        "printf '\\e]2;T\\xc2\\x9b31mX\\xc2\\x9dY\\x08\\x7f%s\\a' \
         \"$(head -c 1000 /dev/zero | tr '\\0' z)\"",
    );
    m.wait_for("the title", |s| {
        common::tab_bar_of(s).contains("1:T31mXYzz")
    });
    let bar = m.tab_bar();
    eprintln!("tab bar with the hostile title: {bar:?}");
    let raw = m.raw.lock().unwrap().clone();
    for (what, seq) in [("U+009B", &b"\xc2\x9b"[..]), ("U+009D", &b"\xc2\x9d"[..])] {
        assert!(
            !raw.windows(seq.len()).any(|w| w == seq),
            "{what} reached the outer terminal"
        );
    }
    // The CSV carries the whole label: wait for a sample that has it.
    let csv = || std::fs::read_to_string(log.path()).unwrap_or_default();
    let title_in = |csv: &str| {
        csv.lines()
            .filter_map(|l| l.split('"').nth(1))
            .rfind(|t| t.starts_with('T'))
            .map(str::to_string)
    };
    common::poll_until(common::TIMEOUT, || title_in(&csv()).is_some());
    let csv = csv();
    let title =
        title_in(&csv).unwrap_or_else(|| panic!("no sample with the title in the CSV:\n{csv}"));
    eprintln!(
        "title as memmux keeps it: {} bytes, starts {:?}",
        title.len(),
        &title[..title.len().min(20)]
    );
    assert!(title.len() <= 256, "title of {} bytes", title.len());
    assert!(title.len() >= 200, "title cut too short: {}", title.len());
    assert!(
        !title.chars().any(char::is_control),
        "control characters kept: {title:?}"
    );
    assert!(title.starts_with("T31mXYzzz"), "{title:?}");
}

fn m_log() -> tempfile::NamedTempFile {
    tempfile::NamedTempFile::new().expect("temp file")
}

/// A program's request to resize the window (`CSI 8 ; 100 ; 300 t`) is ignored: the pane, and
/// so `stty size`, keep the user's size.
#[test]
fn program_resize_requests_are_ignored() {
    let mut m = Mux::start().at_prompt();
    m.run("clear; stty size");
    assert!(m.contents().contains("28 100"), "{}", m.dump());
    m.run("clear; printf '\\e[8;100;300t\\e[8;1;1t'; sleep 0.3; stty size");
    let text = m.contents();
    eprintln!(
        "stty size after CSI 8 t requests: {:?}",
        text.lines()
            .find(|l| l.contains(' ') && l.chars().all(|c| c.is_ascii_digit() || c == ' '))
    );
    assert!(text.contains("28 100"), "{}", m.dump());
    // The pane still uses the whole width: a 100-column line fits on one row.
    m.run("clear; printf '%0100d\\n' 0");
    assert!(
        m.contents()
            .lines()
            .any(|l| l.len() == 100 && l.bytes().all(|b| b == b'0')),
        "{}",
        m.dump()
    );
}

// --- 5. Parser panic containment -----------------------------------------------------------

/// The contract of the test hook: with `MEMMUX_TEST_PANIC_ON=<bytes>`, a tab whose output holds
/// those bytes panics inside its parser. The tab must say so, the app and the other tabs carry
/// on, and a log file appears in `$XDG_DATA_HOME/memmux/`.
#[cfg(feature = "test-hooks")]
#[test]
fn a_parser_panic_is_contained_to_its_tab_and_logged() {
    let trigger = "zq-panic-now-qz";
    let mut m = Mux::start_with(Opts {
        env: vec![("MEMMUX_TEST_PANIC_ON", trigger.to_string())],
        ..Opts::default()
    })
    .at_prompt();
    m.prefix("c");
    m.wait_prompt();
    m.run("echo tab-two-ok");
    m.prefix("1");
    m.wait_gone("tab-two-ok");
    // Printed in two pieces, so the echo of the command line doesn't hold the trigger.
    m.line("printf '%s%s\\n' zq-panic- now-qz");
    m.wait_text("the terminal parser failed");
    assert!(common::alive(m.pid()), "memmux died");
    // The failed tab works again, with a fresh parser.
    m.run("echo tab-one-after-panic");
    m.prefix("2");
    m.wait_text("tab-two-ok");
    m.run("echo tab-two-after-panic");
    let dir = m.home().join("data").join("memmux");
    let logs = || -> Vec<_> {
        std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    common::wait_until(
        &format!("a log file in {}", dir.display()),
        common::TIMEOUT,
        || !logs().is_empty(),
    );
    let logs = logs();
    eprintln!("panic log: {logs:?}");
    let text: String = logs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert!(
        text.contains("panic"),
        "the log says nothing of the panic: {text}"
    );
}
