//! Hardening: faults around memmux — programs that can't start or end at once, no pseudo-
//! terminal to be had, resize storms, signals, and the outer terminal going away. Each test
//! prints what it measured; `docs/robustness.md` lists the criteria and the last figures.

use crate::common;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Mux, Opts, alive, cpu_share, descendants};

/// Waits until the focused new tab has either started (its prompt at the cursor) or failed.
fn wait_tab_settled(m: &Mux) {
    m.wait_for("the new tab's prompt or its failure", |s| {
        let (row, _) = s.cursor_position();
        let (_, cols) = s.size();
        common::tab_bar_of(s).contains("[failed]")
            || s.contents_between(row, 0, row, cols.get()).trim_end() == "$"
    });
}

/// What memmux's tabs hold: its threads (four a tab at most, each closing its own copies of
/// the pty as it ends) and its children (the programs, which hold the other side). Not its
/// descriptors: the memory sampler keeps some of its own open for a while.
fn holdings(m: &Mux) -> (usize, usize) {
    let pid = m.pid();
    (
        common::thread_count(pid).expect("threads"),
        common::children(pid).len(),
    )
}

/// Waits until memmux holds no more threads and children than `before` (from [`holdings`],
/// taken before the closed tab was opened): then the tab's pty is closed on both sides.
fn wait_released(m: &Mux, before: (usize, usize)) {
    let pid = m.pid();
    common::wait_until(
        "the closed tab's pty to be released",
        common::TIMEOUT,
        || {
            common::thread_count(pid).is_some_and(|n| n <= before.0)
                && common::children(pid).len() <= before.1
        },
    );
}

fn shell_args() -> Vec<String> {
    Opts::default().args
}

// --- Programs that can't start or end at once ------------------------------------------------

#[test]
fn a_shell_that_does_not_exist_is_explained_and_other_tabs_work() {
    let mut m = Mux::start_args(vec!["--".into(), "/nonexistent".into()]);
    m.wait_for("the failed mark", |s| {
        common::tab_bar_of(s).contains("[failed]")
    });
    m.wait_text("/nonexistent");
    let pane: Vec<String> = m
        .contents()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    eprintln!(
        "tab of `memmux -- /nonexistent`: {:?}",
        &pane[..pane.len().min(3)]
    );
    assert!(
        pane.iter()
            .any(|l| l.contains("memmux:") && l.contains("/nonexistent")),
        "no clear message:\n{}",
        m.dump()
    );
    m.prefix("c");
    m.wait_for("tab 2", |s| common::tab_bar_of(s).contains("2:"));
    m.wait_prompt();
    m.run("echo second-tab-fine");
    m.prefix("1");
    m.wait_text("/nonexistent");
    assert!(alive(m.pid()));
}

#[test]
fn a_shell_that_exits_at_once_shows_exit_0() {
    let mut m = Mux::start_args(vec!["--".into(), "true".into()]);
    m.wait_for("[exit 0]", |s| common::tab_bar_of(s).contains("[exit 0]"));
    eprintln!("tab bar of `memmux -- true`: {:?}", m.tab_bar().trim());
    // memmux stays, and works.
    let pid = m.pid();
    let ended = common::poll_until(Duration::from_millis(300), || !alive(pid));
    assert!(ended.is_none(), "memmux ended with its only tab");
    m.prefix("c");
    m.wait_for("tab 2", |s| common::tab_bar_of(s).contains("2:"));
    m.wait_prompt();
    m.run("echo after-true");
}

// --- No pseudo-terminal ----------------------------------------------------------------------

/// Runs memmux in a mount namespace with a private devpts instance of `max` ptys; with
/// `hold`, the shell holds one of them open first.
fn with_private_devpts(max: u32, hold: bool) -> Mux {
    let probe = std::process::Command::new("unshare")
        .args(["-m", "--", "true"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        other => panic!(
            "cannot test pty exhaustion here: `unshare -m` is not permitted ({other:?}); \
             it needs CAP_SYS_ADMIN"
        ),
    }
    let hold = if hold { "exec 3<>/dev/ptmx; " } else { "" };
    let script = format!(
        "mount -t devpts -o newinstance,ptmxmode=0666,max={max} devpts /dev/pts && \
         mount --bind /dev/pts/ptmx /dev/ptmx && {hold}exec \"$0\" \"$@\""
    );
    Mux::start_with(Opts {
        wrapper: common::in_mount_namespace(script),
        ..Opts::default()
    })
}

/// Two ptys in the instance: tabs 1 and 2 get them, a third tab can't have one and says so;
/// the others go on, and once tab 2 closes its pty is free again for a new tab.
#[test]
fn no_pty_for_a_new_tab_is_explained_and_the_others_go_on() {
    let mut m = with_private_devpts(2, false);
    m.wait_prompt();
    m.run("echo first-tab-has-a-pty");
    let one_tab = holdings(&m);
    m.new_tab(2);
    m.run("echo second-tab-has-a-pty");
    m.prefix("c");
    m.wait_for("the failed mark", |s| {
        common::tab_bar_of(s).contains("3:") && common::tab_bar_of(s).contains("[failed]")
    });
    let msg = memmux_line(&m);
    eprintln!(
        "new tab with no pty left: {msg:?}; tab bar {:?}",
        m.tab_bar().trim()
    );
    assert!(
        msg.contains("pseudo-terminal"),
        "no clear message:\n{}",
        m.dump()
    );
    // An ended tab closes without asking; the others are fine.
    m.prefix("x");
    m.wait_for("tab 3 to close", |s| !common::tab_bar_of(s).contains("3:"));
    m.wait_text("second-tab-has-a-pty");
    m.run("echo second-tab-still-works");
    m.prefix("1");
    m.wait_text("first-tab-has-a-pty");
    m.run("echo first-tab-still-works");
    // Closing tab 2 gives its pty back: a new tab gets it.
    m.prefix("2");
    m.wait_text("second-tab-still-works");
    m.prefix("x");
    m.wait_text("close tab 2");
    m.send("y");
    m.wait_for("tab 2 to close", |s| !common::tab_bar_of(s).contains("2:"));
    wait_released(&m, one_tab);
    m.prefix("c");
    m.wait_for("a new tab 2", |s| common::tab_bar_of(s).contains("2:"));
    wait_tab_settled(&m);
    let bar = m.tab_bar();
    eprintln!("after closing tab 2, a new tab: {:?}", bar.trim());
    assert!(
        !bar.contains("[failed]"),
        "the freed pty was not reused:\n{}",
        m.dump()
    );
    m.wait_prompt();
    m.run("echo new-tab-got-the-pty");
}

/// No pty at all: the very first tab can't start; memmux says so and quits cleanly on request.
#[test]
fn no_pty_at_all_is_explained_in_the_first_tab() {
    let mut m = with_private_devpts(1, true);
    m.wait_for("the failed mark", |s| {
        common::tab_bar_of(s).contains("[failed]")
    });
    m.wait_text("pseudo-terminal");
    eprintln!(
        "first tab with no pty: {:?}",
        m.contents().lines().find(|l| l.contains("memmux:"))
    );
    assert!(alive(m.pid()));
    m.prefix("x");
    assert_eq!(m.wait_exit(), 0);
    m.wait_for("the main screen", |s| {
        !s.alternate_screen() && !s.hide_cursor()
    });
}

/// `pid`'s descriptors a tab holds: its pty's master (twice) and its shell's pidfd.
fn tab_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter(|l| {
                    let l = l.to_string_lossy();
                    l.ends_with("ptmx") || l.contains("pidfd")
                })
                .count()
        })
        .unwrap_or(0)
}

/// memmux limited to 64 descriptors (`ulimit -n 64`): tabs open until one can't, which says
/// why; no process is left over from the failed start, the other tabs go on, and closing a tab
/// frees enough for a new one.
#[test]
fn running_out_of_descriptors_is_explained_and_the_others_go_on() {
    let mut m = Mux::start_with(Opts::ulimit("-n 64")).at_prompt();
    m.run("echo first-tab-text");
    let mut n = 1;
    while !m.tab_bar().contains("[failed]") {
        // 3 descriptors per tab: 64 cannot hold 22 tabs, whatever memmux's own need.
        assert!(n < 22, "64 descriptors never ran out:\n{}", m.dump());
        n += 1;
        m.prefix("c");
        m.wait_tab_bar(&format!("{n}:"));
        // Its shell drew a prompt (it holds its descriptors now), or it failed.
        m.wait_for("the new tab's prompt or its failure", |s| {
            common::tab_bar_of(s).contains("[failed]") || prompt_at_cursor(s)
        });
    }
    m.wait_text("Too many open files");
    let msg = memmux_line(&m);
    let kids = common::children(m.pid());
    let fds_full = common::fd_count(m.pid()).unwrap_or(0);
    let tab_fds_full = tab_fds(m.pid());
    eprintln!(
        "ulimit -n 64: tab {n} failed with {msg:?}; {} fds; {} children for {} running tabs",
        common::fd_count(m.pid()).unwrap_or(0),
        kids.len(),
        n - 1
    );
    // 64 descriptors hold memmux's own 20-odd and 3 per tab: 14 tabs. The samplers keep no
    // files open under so low a limit: their cached statm and cgroup files took freed
    // descriptors, and 7 to 14 tabs fit, depending on when they sampled, and a closed tab's
    // descriptors could go to them instead of the next tab.
    assert!(n > 13, "only {} tabs fit in 64 descriptors", n - 1);
    // The message may wrap: look at the whole pane.
    assert!(
        m.contents()
            .replace('\n', "")
            .contains("Too many open files"),
        "no clear message:\n{}",
        m.dump()
    );
    assert_eq!(
        kids.len(),
        n - 1,
        "processes besides the running tabs: {kids:?}"
    );
    assert!(kids.iter().all(|(_, st)| *st != 'Z'), "zombies: {kids:?}");
    // Close the failed tab and the one before it; a new tab then starts.
    m.prefix("x");
    let failed = format!("{n}:");
    m.wait_for("the failed tab to close", |s| {
        !common::tab_bar_of(s).contains(&failed)
    });
    m.prefix("x");
    m.wait_text("close tab");
    m.send("y");
    let prev = format!("{}:", n - 1);
    m.wait_for("the tab to close", |s| {
        !common::tab_bar_of(s).contains(&prev)
    });
    // The closed tab's shell gets the hang-up and is reaped, and its 3 descriptors (the pty
    // twice, the shell's pidfd) closed, by memmux's event loop, not at once; the failed tab
    // held none. Counted by kind: the sampler's descriptor budget reopens cgroup files into
    // what a closed tab frees (once seen as 64 -> 62 in all).
    let freed = common::poll_until(Duration::from_secs(10), || {
        common::children(m.pid()).len() == n - 2 && tab_fds(m.pid()) + 3 <= tab_fds_full
    });
    assert!(
        freed.is_some(),
        "the closed tab's shell was not reaped or its descriptors not closed ({} ptys and \
         pidfds open, {tab_fds_full} before; {:?} in all, {fds_full} before)",
        tab_fds(m.pid()),
        common::fd_count(m.pid())
    );
    m.prefix("c");
    m.wait_for("a new tab", |s| common::tab_bar_of(s).contains(&prev));
    m.wait_for("the new tab's prompt or its failure", |s| {
        common::tab_bar_of(s).contains("[failed]") || prompt_at_cursor(s)
    });
    // With 64 descriptors the sampler's short-lived reads (a cgroup file, a statm) may take
    // one of the 3 just freed at the moment the tab starts: the tab then says so, and the
    // retry it offers must work once they are back.
    if m.tab_bar().contains("[failed]") {
        eprintln!("the new tab lost a descriptor to a passing read; retrying");
        m.prefix("r");
        m.wait_for("the retried tab's prompt or its failure", |s| {
            !common::tab_bar_of(s).contains("[failed]") && prompt_at_cursor(s)
        });
    }
    assert!(!m.tab_bar().contains("[failed]"), "{}", m.dump());
    m.wait_prompt();
    m.run("echo new-tab-after-freeing");
    m.prefix("1");
    m.wait_text("first-tab-text");
    m.run("echo first-tab-still-works");
}

// --- Resize storm ----------------------------------------------------------------------------

/// 1,000 outer resizes in about 2 s, between 1x1 and 300x100: no panic, memmux alive, and
/// every tab's pty ends with the final pane size.
#[test]
fn a_storm_of_1000_resizes_leaves_every_tab_the_final_size() {
    let mut m = Mux::start().at_prompt();
    for n in 2..=3 {
        m.prefix("c");
        m.wait_for("the new tab", |s| {
            common::tab_bar_of(s).contains(&format!("{n}:"))
        });
        m.wait_ready();
    }
    // Tab 3 redraws on every SIGWINCH (a full-screen program).
    m.line("vim -u NONE");
    m.wait_text("VIM");
    let mut rng = common::rng::Rng::new(1);
    let t0 = Instant::now();
    for i in 0..1000u32 {
        let (rows, cols) = match i % 4 {
            0 => (1, 1),
            1 => (100, 300),
            _ => (rng.range(1, 100) as u16, rng.range(1, 300) as u16),
        };
        m.resize_outer(rows, cols);
        // 2 ms apart: 1000 in about 2 s.
        let due = Duration::from_micros(2000 * u64::from(i + 1));
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let storm = t0.elapsed();
    let (rows, cols) = (35u16, 110u16);
    m.resize_outer(rows, cols);
    m.wait_for("the status line on the final last row", |s| {
        s.contents()
            .lines()
            .nth(usize::from(rows) - 1)
            .is_some_and(|l| l.contains("help"))
    });
    let settled = t0.elapsed();
    assert!(alive(m.pid()), "memmux died in the storm");
    let raw = String::from_utf8_lossy(&m.raw.lock().unwrap()).to_string();
    assert!(
        !raw.contains("panicked"),
        "a panic message reached the screen"
    );
    // vim's tab, then the shells.
    let want = format!("{} {cols}", rows - 2);
    m.send("\x1b:q!\r");
    m.wait_ready();
    let mut sizes = Vec::new();
    for n in 1..=3u8 {
        m.prefix(&n.to_string());
        // A marker per tab: the previous tab's answer may still be on the screen.
        let tag = format!("size-of-tab-{n}:");
        m.line(&format!("clear; echo \"{tag}$(stty size)\""));
        m.wait_for("stty size", |s| {
            s.contents().lines().any(|l| l.starts_with(&tag))
        });
        let size = m
            .contents()
            .lines()
            .find_map(|l| l.strip_prefix(&tag))
            .unwrap_or_default()
            .trim()
            .to_string();
        sizes.push(size);
    }
    eprintln!(
        "1000 resizes sent in {storm:.2?}, final frame after {settled:.2?}; stty size per tab \
         {sizes:?}, want {want:?}"
    );
    for (i, s) in sizes.iter().enumerate() {
        assert_eq!(s, &want, "tab {} has the wrong size", i + 1);
    }
}

// --- Signals ---------------------------------------------------------------------------------

/// memmux with two tabs: tab 1 has a background `sleep`, tab 2 runs `sleep` in the foreground.
/// Returns it with the pids under it.
fn two_busy_tabs() -> (Mux, Vec<u32>) {
    let mut m = Mux::start().at_prompt();
    m.line("sleep 1001 &");
    m.new_tab(2);
    m.line("sleep 1002");
    let pid = m.pid();
    // Two shells and two sleeps.
    common::wait_until("two shells and two sleeps", common::TIMEOUT, || {
        descendants(pid).len() >= 4
    });
    let pids = descendants(pid).into_iter().map(|(p, _)| p).collect();
    (m, pids)
}

fn signal_case(sig: i32, name: &str) {
    let (mut m, pids) = two_busy_tabs();
    assert!(m.with_screen(|s| s.alternate_screen()));
    let t0 = Instant::now();
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(m.pid() as i32, sig) };
    let code = m.wait_exit();
    let took = t0.elapsed();
    // The children had SIGHUP before memmux exited; give them a moment to go.
    let gone_after = common::poll_until(Duration::from_secs(1), || !pids.iter().any(|p| alive(*p)))
        .unwrap_or(Duration::from_secs(1));
    let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    m.wait_for("the main screen", |s| {
        !s.alternate_screen() && !s.hide_cursor()
    });
    let raw = m.raw.lock().unwrap().clone();
    let tail = &raw[raw.len().saturating_sub(4096)..];
    let restored = [
        &b"\x1b[?1049l"[..],
        b"\x1b[?25h",
        b"\x1b[?1000l",
        b"\x1b[?1006l",
        b"\x1b[?2004l",
    ]
    .iter()
    .all(|seq| tail.windows(seq.len()).any(|w| w == *seq));
    eprintln!(
        "{name}: memmux exited with {code} after {took:.1?}; its {} processes gone {gone_after:.1?} \
         later ({} left); modes reset: {restored}",
        pids.len(),
        left.len()
    );
    assert_eq!(code, 128 + sig as u32, "exit status");
    assert!(took < Duration::from_secs(1), "{name}: exit took {took:?}");
    assert!(left.is_empty(), "{name}: still running: {left:?}");
    assert!(restored, "{name}: terminal modes not reset");
}

#[test]
fn sigterm_hangs_up_children_restores_the_terminal_and_exits_within_1s() {
    signal_case(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sighup_hangs_up_children_restores_the_terminal_and_exits_within_1s() {
    signal_case(libc::SIGHUP, "SIGHUP");
}

// --- The outer terminal goes away ------------------------------------------------------------

/// memmux on a pty the test owns outright, so it can close every descriptor of the master
/// (the harness keeps a reader clone it can't close).
struct OwnTerm {
    child: std::process::Child,
    master: Option<Arc<OwnedFd>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    screen: Arc<Mutex<vt100::Parser>>,
    _home: tempfile::TempDir,
}

impl OwnTerm {
    /// Starts memmux directly (it leads the session, so the kernel sends it SIGHUP when the
    /// terminal goes), or through a shell that stays its parent and leads the session instead.
    fn start(under_a_shell: bool) -> OwnTerm {
        use std::os::unix::process::CommandExt;
        let home = tempfile::tempdir().unwrap();
        let (mut master, mut slave) = (0, 0);
        let ws = libc::winsize {
            ws_row: 30,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty with valid out-pointers and a winsize; no name or termios.
        let r = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        };
        assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty just gave us both descriptors.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        for fd in [master.as_raw_fd(), slave.as_raw_fd()] {
            // SAFETY: setting FD_CLOEXEC on descriptors we own.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        let shell = home.path().join("test-shell");
        std::fs::write(&shell, "#!/bin/sh\nexec bash --norc --noprofile \"$@\"\n").unwrap();
        std::fs::set_permissions(&shell, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mut cmd = if under_a_shell {
            // Not `exec`: sh stays, as a wrapper script's shell does.
            let mut c = std::process::Command::new("sh");
            c.args(["-c", "\"$0\" \"$@\"; exit $?", common::bin()]);
            c
        } else {
            std::process::Command::new(common::bin())
        };
        cmd.args(shell_args())
            .env("MEMMUX_NO_SERVER", "1")
            .env_remove("MEMMUX")
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("TERM", "xterm-256color")
            .env("SHELL", &shell)
            .env("PS1", "$ ")
            .env("LANG", "C.UTF-8")
            .current_dir(home.path())
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave.try_clone().unwrap());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn memmux");
        drop(slave);
        let master = Arc::new(master);
        let stop = Arc::new(AtomicBool::new(false));
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(30).unwrap(),
            std::num::NonZeroU16::new(100).unwrap(),
            0,
        )));
        let reader = {
            let (master, stop, screen) =
                (Arc::clone(&master), Arc::clone(&stop), Arc::clone(&screen));
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Acquire) {
                    let mut pfd = libc::pollfd {
                        fd: master.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    let n = unsafe { libc::poll(&mut pfd, 1, 50) };
                    if n <= 0 {
                        continue;
                    }
                    // SAFETY: reading into a buffer we own.
                    let n = unsafe {
                        libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
                    };
                    if n <= 0 {
                        break;
                    }
                    screen.lock().unwrap().process(&buf[..n as usize]);
                }
            })
        };
        OwnTerm {
            child,
            master: Some(master),
            stop,
            reader: Some(reader),
            screen,
            _home: home,
        }
    }

    fn send(&self, bytes: &[u8]) {
        let fd = self.master.as_ref().expect("open").as_raw_fd();
        // SAFETY: writing from a slice to a descriptor we hold.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        assert_eq!(n, bytes.len() as isize);
    }

    fn wait_text(&self, text: &str) {
        let shown = || {
            self.screen
                .lock()
                .unwrap()
                .screen()
                .contents()
                .contains(text)
        };
        assert!(
            common::poll_until(common::TIMEOUT, shown).is_some(),
            "no {text:?}; memmux {:?}; screen:\n{}",
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())),
            self.screen.lock().unwrap().screen().contents()
        );
    }

    /// Closes every descriptor of the master: the terminal is gone.
    fn close(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let master = self.master.take().expect("open");
        assert_eq!(Arc::strong_count(&master), 1);
        drop(master);
    }
}

impl Drop for OwnTerm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Closes the outer terminal under memmux; returns (how memmux ended or its CPU share while
/// alive, programs left) and prints the figures.
fn close_outer_case(under_a_shell: bool, flood: bool, name: &str) {
    let mut t = OwnTerm::start(under_a_shell);
    t.wait_text("history 0 rows");
    // The shell's prompt, right under the tab bar.
    t.wait_text("\n$");
    t.send(b"echo own-term-ok\r");
    t.wait_text("own-term-ok");
    let top = t.child.id();
    let pid = if under_a_shell {
        common::children(top)
            .first()
            .map(|(p, _)| *p)
            .expect("memmux under sh")
    } else {
        top
    };
    let kids: Vec<u32> = descendants(pid).into_iter().map(|(p, _)| p).collect();
    assert!(!kids.is_empty());
    if flood {
        // memmux is busy drawing the flood when its terminal goes.
        t.send(b"yes\r");
        t.wait_text("y\ny\ny");
    } else {
        // Idle: the input thread is blocked reading the terminal.
        let idle = common::poll_until(Duration::from_secs(10), || input_thread_waits(pid));
        assert!(
            idle.is_some(),
            "memmux's input thread never waited for input"
        );
    }
    let t0 = Instant::now();
    t.close();
    let exited = common::poll_until(Duration::from_secs(2), || !alive(pid)).map(|_| t0.elapsed());
    let cpu = if exited.is_none() {
        cpu_share(pid, Duration::from_secs(2))
    } else {
        None
    };
    common::poll_until(Duration::from_millis(500), || {
        !kids.iter().any(|p| alive(*p))
    });
    let left: Vec<u32> = kids.iter().copied().filter(|p| alive(*p)).collect();
    eprintln!(
        "{name}: memmux {}; its programs left: {left:?}",
        match (exited, cpu) {
            (Some(after), _) => format!("exited after {after:.1?}"),
            (None, Some(c)) => format!("still alive 2 s later, using {:.1}% of a core", c * 100.0),
            (None, None) => "gone".to_string(),
        }
    );
    if exited.is_none() {
        let c = cpu.unwrap_or(0.0);
        // Leave nothing behind for the next test.
        // SAFETY: signalling the process we started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        assert!(
            c < 0.05,
            "{name}: memmux alive and burning {:.0}% of a core",
            c * 100.0
        );
    }
    assert!(left.is_empty(), "{name}: programs still running: {left:?}");
}

/// The outer terminal's master closes (a terminal emulator window closed) while memmux leads
/// the session: the kernel sends it SIGHUP; it must end, or at least not burn CPU, and hang up
/// its programs.
#[test]
fn closing_the_outer_terminal_leaves_no_cpu_burn_and_no_programs() {
    close_outer_case(
        false,
        false,
        "outer master closed, memmux leads the session",
    );
}

/// The same, with memmux started from a wrapper script (`sh -c 'memmux; ...'`): the shell
/// leads the session and gets the SIGHUP, memmux gets none and must notice the hang-up itself.
#[test]
fn closing_the_outer_terminal_under_a_wrapper_shell_leaves_no_cpu_burn() {
    close_outer_case(
        true,
        false,
        "outer master closed, memmux under a wrapper sh",
    );
}

// --- Garbage from the outer terminal ----------------------------------------------------------

/// 1 MiB of random bytes from the outer terminal (no prefix key in it, so no command runs; both
/// tabs run a raw `cat` so nothing typed reaches a shell): memmux parses it all, stays alive,
/// and its UI and tabs still work afterwards.
#[test]
fn a_mebibyte_of_random_input_does_not_hurt() {
    let mut m = Mux::start().at_prompt();
    m.start_reader("stty raw -echo;", "cat > /dev/null");
    m.new_tab(2);
    m.start_reader("stty raw -echo;", "cat > /dev/null");
    let mut rng = common::rng::Rng::new(2);
    let mut garbage = Vec::with_capacity(1 << 20);
    while garbage.len() < 1 << 20 {
        let b = rng.next() as u8;
        if b != 0x02 {
            garbage.push(b);
        }
    }
    let t0 = Instant::now();
    for chunk in garbage.chunks(4096) {
        m.send(chunk);
    }
    let sent = t0.elapsed();
    let pid = m.pid();
    let died = common::poll_until(Duration::from_secs(1), || !alive(pid));
    assert!(died.is_none(), "memmux died of random input");
    // Leave whatever mode the garbage opened (a prompt, the scroll view, help), end any
    // unfinished escape sequence, and use the UI.
    // A lone ESC is a key only once nothing follows it for a while: the pauses between
    // these are the point of them, not a wait for memmux.
    for keys in ["\x1b\x1b\x1b", "\x1b[0m\x1b\x1b", "\x1b"] {
        m.send(keys);
        std::thread::sleep(Duration::from_millis(200));
    }
    m.prefix("c");
    m.wait_for("tab 3", |s| common::tab_bar_of(s).contains("3:"));
    m.wait_prompt();
    m.run("echo ui-works-after-garbage");
    let bar = m.tab_bar();
    eprintln!(
        "1 MiB of random input sent in {sent:.2?}; memmux alive; tab bar after: {:?}",
        bar.trim()
    );
    assert!(
        !bar.contains("[exit") && !bar.contains("[signal"),
        "a tab ended: {bar}"
    );
}

/// The outer terminal closes while the focused tab floods (memmux mid-frame, writing).
#[test]
fn closing_the_outer_terminal_during_a_flood_leaves_no_cpu_burn() {
    close_outer_case(false, true, "outer master closed during a flood");
    close_outer_case(
        true,
        true,
        "outer master closed during a flood, under a wrapper sh",
    );
}

/// A `$` prompt on the cursor's row (left of the memory panel).
fn prompt_at_cursor(s: &vt100::Screen) -> bool {
    let (row, _) = s.cursor_position();
    let (_, cols) = s.size();
    let line = s.contents_between(row, 0, row, cols.get());
    line.split('│').next().unwrap_or("").trim_end() == "$"
}

/// Whether `pid`'s thread named `input` is asleep (state `S`: blocked in its read or poll).
fn input_thread_waits(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        comm.trim() == "input"
            && stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('S'))
    })
}

/// The first line of the screen that holds one of memmux's own messages (`memmux: ...`).
fn memmux_line(m: &Mux) -> String {
    m.contents()
        .lines()
        .find(|l| l.contains("memmux:"))
        .unwrap_or_default()
        .to_string()
}
