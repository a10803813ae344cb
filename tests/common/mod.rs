//! Drives the real `memmux` binary in a pseudo-terminal and reads its screen with a vt100
//! parser, as a user would see it.

#![allow(dead_code)]

pub mod joined;
pub mod leaders;
pub mod rng;
pub mod server;
pub mod sessions;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// How long a test waits for something to appear before failing. Generous: CI machines are
/// slow and shared; a passing test never waits this long.
pub const TIMEOUT: Duration = Duration::from_secs(15);

pub struct Mux {
    pub child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte memmux wrote, for tests that look at the raw stream.
    pub raw: Arc<Mutex<Vec<u8>>>,
    pub home: tempfile::TempDir,
    /// Set once memmux's output ended (it exited).
    done: Arc<Mutex<bool>>,
    /// Counts the chunks of output read; notified after each, so waits on the screen wake
    /// when it changes instead of polling.
    output: Arc<(Mutex<u64>, Condvar)>,
    /// The server's socket directory, when this memmux runs through a server it owns: the
    /// server is ended with the test.
    server_dir: Option<PathBuf>,
    /// While set, nobody reads this terminal's output: a terminal that stopped reading.
    /// Whether the reader stops reading (`stall_output`), and its wake-up on a change.
    stalled: Arc<(Mutex<bool>, Condvar)>,
}

/// Options for starting memmux.
pub struct Opts<'a> {
    pub rows: u16,
    pub cols: u16,
    /// Arguments to memmux; by default `-- bash --norc --noprofile` with `PS1='$ '`.
    pub args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
    pub cwd: Option<PathBuf>,
    /// A command that runs memmux (e.g. `unshare -m sh -c '... exec "$0" "$@"'`): memmux's
    /// path and `args` are appended to it. Empty (the default): memmux runs directly.
    pub wrapper: Vec<String>,
    /// Through the server (a client attached to a session), in a runtime directory of the
    /// test's own, or (the default) alone in the terminal (`MEMMUX_NO_SERVER=1`), so memmux's
    /// pid is the app's and its tabs are its children.
    pub server: bool,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            rows: 30,
            cols: 100,
            args: ["--", "bash", "--norc", "--noprofile"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            env: Vec::new(),
            cwd: None,
            wrapper: Vec::new(),
            server: false,
        }
    }
}

impl Opts<'static> {
    /// 160x45 (room for the memory panel beside a pane) with these arguments to memmux.
    pub fn wide(args: Vec<String>) -> Opts<'static> {
        Opts {
            rows: 45,
            cols: 160,
            args,
            ..Opts::default()
        }
    }

    /// The default program, memmux started under `ulimit ULIMIT` (`-n 64`: 64 descriptors).
    pub fn ulimit(ulimit: &str) -> Opts<'static> {
        let script = format!("ulimit {ulimit}; exec \"$0\" \"$@\"");
        Opts {
            wrapper: vec!["sh".into(), "-c".into(), script],
            ..Opts::default()
        }
    }

    /// These options with memmux writing its memory log (`--mem-log`) to `log`.
    pub fn mem_log(self, log: &Path) -> Opts<'static> {
        let mut args = vec!["--mem-log".to_string(), log.display().to_string()];
        args.extend(self.args);
        Opts { args, ..self }
    }
}

/// memmux at its prompt in a window wide enough for the memory panel, writing its memory log
/// to the temporary file returned with it.
pub fn wide_with_log() -> (Mux, tempfile::NamedTempFile) {
    let log = tempfile::NamedTempFile::new().expect("temp file");
    let m = Mux::start_with(Opts::wide(Opts::default().args).mem_log(log.path())).at_prompt();
    (m, log)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_memmux")
}

impl Mux {
    pub fn start() -> Mux {
        Mux::start_with(Opts::default())
    }

    /// memmux started with `args` (the default program only if they name it).
    pub fn start_args(args: Vec<String>) -> Mux {
        Mux::start_with(Opts {
            args,
            ..Opts::default()
        })
    }

    /// The default program at a window of `rows` x `cols`.
    pub fn start_sized(rows: u16, cols: u16) -> Mux {
        Mux::start_with(Opts {
            rows,
            cols,
            ..Opts::default()
        })
    }

    /// The default program in a window wide enough for the memory panel.
    pub fn start_wide() -> Mux {
        Mux::start_with(Opts::wide(Opts::default().args))
    }

    /// This memmux once its first tab shows the default bash's prompt: where most tests begin.
    pub fn at_prompt(self) -> Mux {
        self.wait_prompt();
        self
    }

    pub fn start_with(opts: Opts<'_>) -> Mux {
        let home = tempfile::tempdir().expect("temp dir");
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: opts.rows,
                cols: opts.cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = match opts.wrapper.split_first() {
            None => CommandBuilder::new(bin()),
            Some((first, rest)) => {
                let mut c = CommandBuilder::new(first);
                c.args(rest);
                c.arg(bin());
                c
            }
        };
        cmd.args(&opts.args);
        cmd.env("HOME", home.path());
        cmd.env("XDG_CONFIG_HOME", home.path().join("config"));
        cmd.env("XDG_DATA_HOME", home.path().join("data"));
        cmd.env("TERM", "xterm-256color");
        // New tabs run $SHELL: a bash without rc files, so every tab shows the same `$ ` prompt.
        let shell = home.path().join("test-shell");
        std::fs::write(&shell, "#!/bin/sh\nexec bash --norc --noprofile \"$@\"\n")
            .expect("write shell");
        std::fs::set_permissions(&shell, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        cmd.env("SHELL", &shell);
        cmd.env("PS1", "$ ");
        cmd.env("LANG", "C.UTF-8");
        cmd.env_remove("PROMPT_COMMAND");
        // Never the user's server, and never nested (a test run from inside memmux).
        cmd.env("XDG_RUNTIME_DIR", home.path().join("run"));
        cmd.env_remove("MEMMUX");
        if !opts.server {
            cmd.env("MEMMUX_NO_SERVER", "1");
        }
        let own_server = opts.server && !opts.env.iter().any(|(k, _)| *k == "XDG_RUNTIME_DIR");
        let server_dir = own_server.then(|| home.path().join("run").join("memmux"));
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        cmd.cwd(
            opts.cwd
                .clone()
                .unwrap_or_else(|| home.path().to_path_buf()),
        );
        let child = pair.slave.spawn_command(cmd).expect("spawn memmux");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(opts.rows).expect("rows"),
            std::num::NonZeroU16::new(opts.cols).expect("cols"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(Mutex::new(false));
        let output = Arc::new((Mutex::new(0u64), Condvar::new()));
        let stalled = Arc::new((Mutex::new(false), Condvar::new()));
        {
            let screen = Arc::clone(&screen);
            let raw = Arc::clone(&raw);
            let done = Arc::clone(&done);
            let output = Arc::clone(&output);
            let stall = Arc::clone(&stalled);
            let chunk_read = move || {
                *output.0.lock().unwrap() += 1;
                output.1.notify_all();
            };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                loop {
                    {
                        let (flag, changed) = &*stall;
                        let mut stalled = flag.lock().unwrap();
                        while *stalled {
                            stalled = changed.wait(stalled).unwrap();
                        }
                    }
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            screen.lock().unwrap().process(&buf[..n]);
                            let mut r = raw.lock().unwrap();
                            // Keep the last 4 MiB: enough for any assertion, bounded for floods.
                            if r.len() > 8 << 20 {
                                r.drain(..4 << 20);
                            }
                            r.extend_from_slice(&buf[..n]);
                            drop(r);
                            chunk_read();
                        }
                    }
                }
                *done.lock().unwrap() = true;
                chunk_read();
            });
        }
        Mux {
            child,
            master: pair.master,
            writer,
            screen,
            raw,
            home,
            done,
            output,
            server_dir,
            stalled,
        }
    }

    /// Stops (`true`) or resumes reading this terminal's output, as a terminal emulator that
    /// stopped reading (XOFF, a stalled connection) would.
    pub fn stall_output(&self, stalled: bool) {
        let (flag, changed) = &*self.stalled;
        *flag.lock().unwrap() = stalled;
        changed.notify_all();
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("pid")
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.writer
            .write_all(bytes.as_ref())
            .expect("write to memmux");
        self.writer.flush().expect("flush");
    }

    /// Types a line and presses Enter.
    pub fn line(&mut self, text: &str) {
        self.send(text);
        self.send("\r");
    }

    /// The prefix key, then `key`.
    pub fn prefix(&mut self, key: &str) {
        self.prefix_with("\x02", key);
    }

    /// The prefix key `prefix` (when the config changed it), then `key`.
    pub fn prefix_with(&mut self, prefix: &str, key: &str) {
        let before = self.status_line();
        self.send(prefix);
        // A separate write, as a person types; memmux must not depend on it, but it keeps
        // the prefix from being read together with the key as one escape sequence. The
        // status line shows the prefix mode; where it does not change (a mode that draws
        // no status), a second is enough for the prefix to be read alone.
        self.wait_change(Duration::from_secs(1), |s| status_line_of(s) != before);
        self.send(key);
    }

    /// Resizes the outer terminal: the harness screen first, so a frame memmux draws at the
    /// new size is never read at the old one.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.resize_outer(rows, cols);
    }

    /// Runs `f` on the screen as it is now.
    pub fn with_screen<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.screen.lock().unwrap().screen())
    }

    pub fn contents(&self) -> String {
        self.with_screen(|s| s.contents())
    }

    /// Row `n` of the screen as text (trailing blanks trimmed).
    pub fn row(&self, n: u16) -> String {
        self.with_screen(|s| {
            let (_, cols) = s.size();
            s.contents_between(n, 0, n, cols.get())
                .trim_end()
                .to_string()
        })
    }

    /// The tab bar (top row).
    pub fn tab_bar(&self) -> String {
        self.row(0)
    }

    /// The status line (bottom row).
    pub fn status_line(&self) -> String {
        self.with_screen(status_line_of)
    }

    /// Waits until `pred` holds for the screen; panics with the screen if it never does.
    /// `pred` runs with the screen locked: it must use the screen it is given, not `self`.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&vt100::Screen) -> bool) {
        self.wait_for_within(what, TIMEOUT, pred)
    }

    pub fn wait_for_within(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&vt100::Screen) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.wait_change(left, &pred) {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; screen:\n{}",
                    self.dump()
                );
            }
            // A frame arrives in several reads: let the rest of it land before the caller
            // reads the screen, then make sure it still holds.
            self.settle();
            if self.with_screen(&pred) {
                return;
            }
        }
    }

    /// Waits until memmux's output pauses for 5 ms (the rest of a frame has been read), at
    /// most 100 ms (a flood never pauses).
    pub fn settle(&self) {
        let until = Instant::now() + Duration::from_millis(100);
        let mut seen = *self.output.0.lock().unwrap();
        while Instant::now() < until {
            let guard = self.output.0.lock().unwrap();
            let (n, _) = self
                .output
                .1
                .wait_timeout_while(guard, Duration::from_millis(5), |n| *n == seen)
                .unwrap();
            if *n == seen {
                return;
            }
            seen = *n;
        }
    }

    /// Waits until `pred` holds for every byte memmux wrote so far (the last 4 MiB or more),
    /// checking it each time output arrives; false if `timeout` passed first.
    pub fn wait_raw(&self, timeout: Duration, pred: impl Fn(&[u8]) -> bool) -> bool {
        let raw = Arc::clone(&self.raw);
        self.wait_change(timeout, move |_| pred(&raw.lock().unwrap()))
    }

    /// Waits until `pred` holds for the screen, checking it each time output arrives; false
    /// if `timeout` passed first.
    pub fn wait_change(&self, timeout: Duration, pred: impl Fn(&vt100::Screen) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            // Read the count before the screen: output after this check wakes the wait below.
            let seen = *self.output.0.lock().unwrap();
            if self.with_screen(&pred) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let guard = self.output.0.lock().unwrap();
            let _ = self
                .output
                .1
                .wait_timeout_while(guard, deadline - now, |n| *n == seen)
                .unwrap();
        }
    }

    /// Waits until the screen shows `text`.
    pub fn wait_text(&self, text: &str) {
        self.wait_for(&format!("`{text}`"), |s| s.contents().contains(text));
    }

    /// Opens a new tab (prefix `c`), tab `n` in the tab bar, and waits for its shell's prompt.
    pub fn new_tab(&mut self, n: usize) {
        self.prefix("c");
        self.wait_tab_bar(&format!("{n}:"));
        self.wait_ready();
    }

    /// Waits until the tab bar (the first row) shows `text`.
    pub fn wait_tab_bar(&self, text: &str) {
        self.wait_for(&format!("`{text}` in the tab bar"), |s| {
            tab_bar_of(s).contains(text)
        });
    }

    /// Waits until the tab bar (the first row) no longer shows `text`.
    pub fn wait_tab_bar_gone(&self, text: &str) {
        self.wait_for(&format!("`{text}` to leave the tab bar"), |s| {
            !tab_bar_of(s).contains(text)
        });
    }

    /// Fails if the screen shows `text` within `window`: something that must not be drawn.
    pub fn assert_never_shows(&self, text: &str, window: Duration) {
        let shown = self.wait_change(window, |s| s.contents().contains(text));
        assert!(!shown, "`{text}` was shown; screen:\n{}", self.dump());
    }

    /// Waits until the screen no longer shows `text`.
    pub fn wait_gone(&self, text: &str) {
        self.wait_for(&format!("`{text}` to go"), |s| !s.contents().contains(text));
    }

    /// Waits for the first prompt of the default bash.
    pub fn wait_prompt(&self) {
        self.wait_for("a prompt", |s| {
            s.contents()
                .lines()
                .any(|l| l == "$" || l.starts_with("$ "))
        });
    }

    /// Waits until the cursor sits on a fresh `$ ` prompt (the shell is ready for a command):
    /// the cursor's row, up to the memory panel's border if one is shown, is `$`.
    pub fn wait_ready(&self) {
        self.wait_for("a prompt at the cursor", |s| {
            let (row, _) = s.cursor_position();
            let (_, cols) = s.size();
            let line = s.contents_between(row, 0, row, cols.get());
            line.split('│').next().unwrap_or("").trim_end() == "$"
        });
    }

    /// Waits until the cursor sits right after a fresh `$ ` prompt in the focused pane
    /// (`wait_ready` reads the whole row, which panes side by side share).
    pub fn wait_pane_ready(&self) {
        self.wait_for("a prompt at the cursor in the pane", |s| {
            let (row, col) = s.cursor_position();
            col >= 2
                && s.cell(row, col - 2).is_some_and(|c| c.contents() == "$")
                && s.cell(row, col)
                    .is_some_and(|c| c.contents().trim().is_empty())
        });
    }

    /// Runs `cmd`, a program that reads the terminal (`cat -v`), after `setup` (which may be
    /// empty or end in `;`), and waits until the screen shows a marker printed between the
    /// two: by then memmux has parsed `setup`'s output (modes it turns on) and the shell has
    /// given the terminal back (cooked mode), so keys sent next reach `cmd` as it will read them.
    pub fn start_reader(&mut self, setup: &str, cmd: &str) {
        let marker = format!("reading{}", rand_tag());
        self.line(&format!(
            "{setup} printf '%s%s\\n' read {}; {cmd}",
            &marker[4..]
        ));
        self.wait_text(&marker);
    }

    /// Sends each of `writes` to the focused program (one write each, as a terminal would send
    /// them), then Enter, and waits until the screen shows `shown`: what a reader started by
    /// `start_reader` (`cat -v`) printed for them.
    pub fn send_and_expect(&mut self, writes: &[&str], shown: &str) {
        for w in writes {
            self.send(w);
        }
        self.send("\r");
        self.wait_text(shown);
    }

    /// Runs a command in the focused tab and waits for a marker it prints afterwards.
    pub fn run(&mut self, cmd: &str) {
        let marker = format!("done{}", rand_tag());
        // The marker is built by printf so the command echo doesn't already show it.
        self.line(&format!("{cmd}; printf '%s%s\\n' do {}", &marker[2..]));
        self.wait_text(&marker);
    }

    pub fn dump(&self) -> String {
        self.with_screen(|s| {
            let text = s.contents();
            text.lines()
                .enumerate()
                .map(|(i, l)| format!("{i:2}|{l}\n"))
                .collect()
        })
    }

    /// Waits for memmux to exit; returns its exit code.
    pub fn wait_exit(&mut self) -> u32 {
        let mut code = None;
        let child = &mut self.child;
        let exited = poll_until(TIMEOUT, || {
            code = child.try_wait().expect("try_wait").map(|s| s.exit_code());
            code.is_some()
        });
        assert!(
            exited.is_some(),
            "memmux did not exit; screen:\n{}",
            self.dump()
        );
        code.unwrap_or_default()
    }

    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }
}

impl Drop for Mux {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.server_dir {
            kill_server(dir);
        }
    }
}

/// Ends the server whose socket is in `dir` (`XDG_RUNTIME_DIR/memmux`) and its sessions.
pub fn kill_server(dir: &Path) {
    let Some(run) = dir.parent() else { return };
    let _ = std::process::Command::new(bin())
        .arg("kill-server")
        .env("XDG_RUNTIME_DIR", run)
        .env_remove("MEMMUX_NO_SERVER")
        .output();
}

/// The top row of `s`: the tab bar.
pub fn tab_bar_of(s: &vt100::Screen) -> String {
    s.contents().lines().next().unwrap_or("").to_string()
}

/// The bottom row of `s` (trailing blanks trimmed).
pub fn status_line_of(s: &vt100::Screen) -> String {
    let (rows, cols) = s.size();
    let row = rows.get() - 1;
    s.contents_between(row, 0, row, cols.get())
        .trim_end()
        .to_string()
}

/// Checks `done` every 10 ms until it holds, for what no event announces (a process's state,
/// a file); returns how long it took, or `None` after `timeout`.
pub fn poll_until(timeout: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if done() {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// [`poll_until`], panicking with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, done: impl FnMut() -> bool) -> Duration {
    poll_until(timeout, done)
        .unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// A short tag that differs between calls, for markers.
pub fn rand_tag() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{}x{n}", std::process::id() % 100_000)
}

/// Direct children of `pid` and their states (`R`, `S`, `Z`, ...), from /proc.
pub fn children(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(st) = stat(p).filter(|st| st.ppid == pid) {
            out.push((p, char::from(st.state)));
        }
    }
    out
}

/// `/proc/PID/stat` through memmux's own parser (names may hold spaces and `)`).
pub fn stat(pid: u32) -> Option<memmux::memory::procs::StatFields> {
    memmux::memory::procs::parse_stat(&std::fs::read(format!("/proc/{pid}/stat")).ok()?)
}

pub fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|st| st.state != b'Z')
}

// --- Process figures from /proc, for the hardening and soak tests. ---------------------------

/// Fields of `/proc/PID/stat` after the command name (which may hold spaces and parentheses),
/// so field 3 of the man page (state) is index 0.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    Some(
        stat[close + 1..]
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    )
}

/// Resident set size of `pid` in bytes (`VmRSS`), while it lives.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time `pid` has used so far (user + system, every thread), from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let f = stat_fields(pid)?;
    // utime and stime are fields 14 and 15 of the man page: indices 11 and 12 here.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_millis(ticks * 1000 / hz))
}

/// Share of one core `pid` used over `window` (sleeps that long): 1.0 is a whole core.
pub fn cpu_share(pid: u32, window: Duration) -> Option<f64> {
    let c0 = cpu_time(pid)?;
    let t0 = Instant::now();
    std::thread::sleep(window);
    let c1 = cpu_time(pid)?;
    Some((c1 - c0).as_secs_f64() / t0.elapsed().as_secs_f64())
}

/// Open file descriptors of `pid`.
pub fn fd_count(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Threads of `pid`.
pub fn thread_count(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.count())
}

/// The names of `pid`'s threads, sorted: what a count that moved was made of.
pub fn thread_names(pid: u32) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .map(|c| c.trim_end().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Every descendant of `pid` (children, their children, ...), with states.
pub fn descendants(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for (c, st) in children(p) {
            out.push((c, st));
            todo.push(c);
        }
    }
    out
}

/// Bytes as MiB with two decimals, for the figures the tests print.
pub fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / 1048576.0)
}

/// Tracks the peak RSS of `pid` on a thread of its own until dropped, sampling every 20 ms.
pub struct RssWatch {
    peak: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssWatch {
    pub fn start(pid: u32) -> RssWatch {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let peak = Arc::new(AtomicU64::new(rss_bytes(pid).unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    if let Some(r) = rss_bytes(pid) {
                        peak.fetch_max(r, Ordering::AcqRel);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        RssWatch {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// The highest RSS seen so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl Drop for RssWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits until `path` exists (a marker file a command touches when it is done).
pub fn wait_file(path: &Path, timeout: Duration) -> Duration {
    wait_until(&path.display().to_string(), timeout, || path.exists())
}

/// The `p`-th percentile (0..=100) of `samples`, nearest rank.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut v = samples.to_vec();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

impl Mux {
    /// Runs `sleep 100` and presses Ctrl-C once it is in the foreground: the key must reach
    /// the program (the shell answers again), not end memmux as a SIGINT in cooked mode would.
    pub fn ctrl_c_reaches_the_program(&mut self) {
        self.line("sleep 100");
        // The tab bar names the foreground program once it runs: Ctrl-C earlier would reach bash.
        self.wait_for("sleep in the foreground", |s| {
            tab_bar_of(s).contains("sleep")
        });
        self.send("\x03");
        self.wait_ready();
        let tag = rand_tag();
        self.line(&format!("echo alive-{tag}"));
        self.wait_text(&format!("alive-{tag}"));
    }

    /// Resizes the outer terminal like `resize`, but sizes the harness's own screen *before*
    /// the pty. `resize` does it after, which races with memmux: a frame drawn for the new size
    /// and read before the harness's screen is resized lands in the old size (wrapped,
    /// scrolled), and ratatui's later frames only send differences, so the harness screen
    /// stays wrong. The other way round is safe: a frame of the old size fits the new screen,
    /// and memmux clears and redraws everything when it learns of the resize.
    pub fn resize_outer(&mut self, rows: u16, cols: u16) {
        self.screen.lock().unwrap().set_size(
            std::num::NonZeroU16::new(rows).expect("rows"),
            std::num::NonZeroU16::new(cols).expect("cols"),
        );
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize");
    }

    /// The row the cursor is on, as text (trailing blanks trimmed).
    pub fn cursor_row(&self) -> String {
        self.with_screen(|s| {
            let (row, _) = s.cursor_position();
            let (_, cols) = s.size();
            s.contents_between(row, 0, row, cols.get())
                .trim_end()
                .to_string()
        })
    }

    /// Whether the terminal is in cooked mode (canonical input and echo on), as a shell leaves
    /// it; raw mode (memmux running) has both off. Read from the pty's master side.
    pub fn cooked(&self) -> bool {
        let fd = self.master.as_raw_fd().expect("the pty's descriptor");
        // SAFETY: termios is a plain C struct: all zeroes is a valid value.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr on an open pty master, into a termios we own.
        let r = unsafe { libc::tcgetattr(fd, &mut t) };
        assert_eq!(r, 0, "tcgetattr");
        t.c_lflag & (libc::ICANON | libc::ECHO) == (libc::ICANON | libc::ECHO)
    }

    /// Puts the terminal in cooked mode from outside, as a job-control shell does when the
    /// program in the foreground stops.
    pub fn set_cooked(&self) {
        let fd = self.master.as_raw_fd().expect("the pty's descriptor");
        // SAFETY: as in `cooked`.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: as in `cooked`.
        let r = unsafe { libc::tcgetattr(fd, &mut t) };
        assert_eq!(r, 0, "tcgetattr");
        t.c_lflag |= libc::ICANON | libc::ECHO | libc::ISIG | libc::IEXTEN;
        t.c_iflag |= libc::ICRNL | libc::IXON;
        t.c_oflag |= libc::OPOST;
        // SAFETY: tcsetattr on an open pty master, from a termios we filled.
        let r = unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) };
        assert_eq!(r, 0, "tcsetattr");
    }

    /// Whether memmux's output has ended (it exited or closed the terminal).
    pub fn output_ended(&self) -> bool {
        *self.done.lock().unwrap()
    }
}

/// The mechanism memmux would measure tabs with here: the `# tab memory:` line of
/// `memmux --print-config=effective` ("cgroup-v1 ...", "cgroup-v2 ...", "pss ..."), or
/// "unknown" when it has none.
pub fn tab_memory_mechanism() -> String {
    let out = std::process::Command::new(bin())
        .arg("--print-config=effective")
        .env("HOME", std::env::temp_dir())
        .env_remove("MEMMUX_CONFIG")
        .output()
        .expect("run memmux --print-config");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("# tab memory: "))
        .unwrap_or("unknown")
        .to_string()
}

/// A figure as the panel prints it (`61.2M`, `300K`, `1.5G`, `0B`; `≈` and a `/limit` after
/// it allowed), in MiB.
pub fn panel_mib(value: &str) -> Option<f64> {
    let value = value.split('/').next()?.trim_start_matches('≈');
    let (num, mult) = if let Some(v) = value.strip_suffix('G') {
        (v, 1024.0)
    } else if let Some(v) = value.strip_suffix('M') {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('K') {
        (v, 1.0 / 1024.0)
    } else {
        (value.strip_suffix('B')?, 1.0 / 1048576.0)
    };
    num.parse::<f64>().ok().map(|v| v * mult)
}

/// The wrapper that runs memmux in a mount namespace of its own after `script` (a `sh -c`
/// script that ends with `exec "$0" "$@"`), e.g. to give it a devpts or /proc of its own.
pub fn in_mount_namespace(script: String) -> Vec<String> {
    ["unshare", "-m", "--", "sh", "-c"]
        .into_iter()
        .map(String::from)
        .chain([script])
        .collect()
}

/// memmux's arguments for the config file at `path`, then the default program.
pub fn config_args(path: &std::path::Path) -> Vec<String> {
    let mut args = vec!["--config".to_string(), path.display().to_string()];
    args.extend(Opts::default().args);
    args
}
