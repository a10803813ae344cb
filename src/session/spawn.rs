//! Starting a tab's program on the slave side of its pty with `posix_spawn`, not `fork`.
//!
//! portable-pty's `spawn_command` forks (a `pre_exec` closure rules out anything else) and, in
//! the child, lists `/proc/self/fd` and closes each descriptor above 2 one by one. Both grow
//! with the tabs already open: the fork copies the page tables of the whole session process
//! (and every thread then takes copy-on-write faults until the child's `exec`), and the
//! listing reads 3 entries per open tab. Profiled while 1,000 tabs opened (`perf record -a`,
//! 2026-12-06): of the session process's CPU, 45 % was the listing and closing, 45 % the fork
//! and the child's `exec` tearing down the copied address space, and the sampler thread spent
//! over half of its time in those copy-on-write faults.
//!
//! glibc's `posix_spawn` runs the child in the parent's address space until it `exec`s
//! (`CLONE_VM | CLONE_VFORK`: no page-table copy, no faults), and it can do everything the tab
//! needs without a closure: a new session (`POSIX_SPAWN_SETSID`), the pty as controlling
//! terminal (a session leader without one that opens a tty gets it as its controlling
//! terminal, so the slave is opened by path after `setsid`, as stdin), signals back to their
//! defaults with none blocked, the working directory (`addchdir_np`, glibc 2.29) and every
//! descriptor above 2 closed in one `close_range` (`addclosefrom_np`, glibc 2.34).
//! Elsewhere (musl, other libcs) portable-pty's spawn is used as before.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use anyhow::Context;

/// What the program gets: its argv (`argv[0]` searched in `PATH` when it has no `/`), its
/// working directory and its whole environment.
pub struct Launch<'a> {
    pub argv: &'a [String],
    pub cwd: &'a Path,
    pub env: Vec<(OsString, OsString)>,
}

/// The environment a tab's program starts with: memmux's own, with `set` added or replaced
/// and `remove` taken out.
pub fn environment(set: &[(&str, &OsStr)], remove: &[&str]) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| {
            !remove.iter().any(|r| OsStr::new(r) == k)
                && !set.iter().any(|(s, _)| OsStr::new(s) == k)
        })
        .collect();
    env.extend(
        set.iter()
            .map(|(k, v)| (OsString::from(k), v.to_os_string())),
    );
    env
}

fn c_string(bytes: &[u8], what: &str) -> anyhow::Result<CString> {
    CString::new(bytes).with_context(|| format!("{what} contains a NUL byte"))
}

/// Starts `launch` with the pty slave at `slave` (a `/dev/pts/N` path) as its stdin, stdout,
/// stderr and controlling terminal, in a new session. Returns its pid.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn spawn(launch: &Launch, slave: &Path) -> anyhow::Result<u32> {
    let program = launch.argv.first().context("no command given")?;
    let file = c_string(program.as_bytes(), "the command")?;
    let argv: Vec<CString> = launch
        .argv
        .iter()
        .map(|a| c_string(a.as_bytes(), "an argument"))
        .collect::<anyhow::Result<_>>()?;
    let envp: Vec<CString> = launch
        .env
        .iter()
        .map(|(k, v)| {
            let mut kv = k.clone().into_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            c_string(&kv, "an environment variable")
        })
        .collect::<anyhow::Result<_>>()?;
    let cwd = c_string(launch.cwd.as_os_str().as_bytes(), "the working directory")?;
    let slave = c_string(slave.as_os_str().as_bytes(), "the pty's path")?;
    let on_tty = crate::sys::spawn::OnTty {
        file: &file,
        argv: &argv,
        envp: &envp,
        cwd: &cwd,
        tty: &slave,
    };
    crate::sys::spawn::on_tty(&on_tty).map_err(|(step, e)| match step {
        // The spawn itself: its error as it is (the caller says what was started).
        "spawn" => anyhow::Error::from(e),
        _ => anyhow::Error::from(e).context(format!("posix_spawn {step}")),
    })
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;
    use portable_pty::{PtySize, native_pty_system};

    fn stat_fields(pid: u32) -> Vec<String> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // After the command name's closing parenthesis: state, ppid, pgrp, session, tty_nr.
        let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        rest.split_whitespace().map(str::to_string).collect()
    }

    /// The program leads a new session with the pty as its controlling terminal, holds only
    /// stdin, stdout and stderr (a descriptor memmux leaked without close-on-exec is closed),
    /// ignores no standard signal (the test harness ignores SIGPIPE) and starts in `cwd`.
    #[test]
    fn the_program_leads_a_session_on_its_pty_with_only_three_descriptors() {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let slave = pair.master.tty_name().expect("a pty path");
        // No O_CLOEXEC on purpose: a descriptor memmux leaked.
        let leak = rustix::pipe::pipe().expect("pipe");
        let argv = vec!["sleep".to_string(), "30".to_string()];
        let cwd = std::env::temp_dir();
        let launch = Launch {
            argv: &argv,
            cwd: &cwd,
            env: environment(&[("SPAWN_TEST", OsStr::new("1"))], &[]),
        };
        let pid = spawn(&launch, &slave).expect("spawn");
        let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("fd dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        let stat = stat_fields(pid);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        // posix_spawn returns once the child's exec has let go of memmux's memory, a moment
        // before the kernel has laid out the new program's environment: until then it reads
        // empty.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let environ = loop {
            let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            if !env.is_empty() || std::time::Instant::now() > deadline {
                break env;
            }
            std::thread::yield_now();
        };
        let dir = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
        let _ = crate::sys::signal::kill(pid, crate::sys::signal::Signal::KILL);
        let _ = crate::sys::proc::wait_for(pid);
        drop(leak);
        let mut fds_sorted = fds.clone();
        fds_sorted.sort();
        assert_eq!(fds_sorted, ["0", "1", "2"], "descriptors of the program");
        assert_eq!(stat.get(3), Some(&pid.to_string()), "session id: {stat:?}");
        assert_ne!(
            stat.get(4).map(String::as_str),
            Some("0"),
            "no controlling tty: {stat:?}"
        );
        // Standard signals only (1-31): glibc's posix_spawn leaves its two internal ones (32
        // and 33) ignored, as for any program Rust's `Command` starts.
        let ignored = status
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:\t"))
            .and_then(|m| u64::from_str_radix(m, 16).ok());
        assert_eq!(
            ignored.map(|m| m & 0x7fff_ffff),
            Some(0),
            "ignored: {status}"
        );
        assert!(
            environ.split(|b| *b == 0).any(|kv| kv == b"SPAWN_TEST=1"),
            "environment: {}",
            String::from_utf8_lossy(&environ)
        );
        assert_eq!(
            dir.map(|d| d.canonicalize().unwrap_or(d)),
            cwd.canonicalize().ok()
        );
    }

    #[test]
    fn a_missing_program_is_an_error_not_a_child() {
        let pair = native_pty_system()
            .openpty(PtySize::default())
            .expect("openpty");
        let slave = pair.master.tty_name().expect("a pty path");
        let argv = vec!["/nonexistent/memmux-spawn-test".to_string()];
        let launch = Launch {
            argv: &argv,
            cwd: Path::new("/"),
            env: environment(&[], &[]),
        };
        let err = spawn(&launch, &slave).expect_err("no such program");
        assert!(format!("{err:#}").contains("No such file"), "{err:#}");
    }
}
