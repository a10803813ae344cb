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
    let mut argv_ptrs: Vec<*mut libc::c_char> =
        argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
    argv_ptrs.push(std::ptr::null_mut());
    let mut envp_ptrs: Vec<*mut libc::c_char> =
        envp.iter().map(|a| a.as_ptr().cast_mut()).collect();
    envp_ptrs.push(std::ptr::null_mut());

    let actions = FileActions::new()?;
    let attr = Attributes::new()?;
    check(
        // SAFETY: `actions` is initialised; glibc copies the path.
        unsafe { libc::posix_spawn_file_actions_addchdir_np(actions.ptr(), cwd.as_ptr()) },
        "chdir",
    )?;
    check(
        // SAFETY: as above. No O_NOCTTY: opened by the new session's leader, the slave
        // becomes its controlling terminal.
        unsafe {
            libc::posix_spawn_file_actions_addopen(
                actions.ptr(),
                0,
                slave.as_ptr(),
                libc::O_RDWR,
                0,
            )
        },
        "open",
    )?;
    for fd in [1, 2] {
        check(
            // SAFETY: as above.
            unsafe { libc::posix_spawn_file_actions_adddup2(actions.ptr(), 0, fd) },
            "dup2",
        )?;
    }
    check(
        // SAFETY: as above; one close_range(3, ~0) in the child.
        unsafe { libc::posix_spawn_file_actions_addclosefrom_np(actions.ptr(), 3) },
        "closefrom",
    )?;
    attr.setup()?;

    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid until the call returns (argv and envp are NUL-terminated
    // arrays of C strings owned above); posix_spawnp returns only once the child has exec'd
    // or failed to.
    let r = unsafe {
        libc::posix_spawnp(
            &mut pid,
            file.as_ptr(),
            actions.ptr(),
            attr.ptr(),
            argv_ptrs.as_ptr(),
            envp_ptrs.as_ptr(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::from_raw_os_error(r).into());
    }
    u32::try_from(pid).context("posix_spawn gave a negative pid")
}

fn check(r: libc::c_int, what: &str) -> anyhow::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(r)).with_context(|| format!("posix_spawn {what}"))
    }
}

/// `posix_spawn_file_actions_t`, destroyed on drop.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
struct FileActions(Box<libc::posix_spawn_file_actions_t>);

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl FileActions {
    fn new() -> anyhow::Result<FileActions> {
        // SAFETY: a zeroed plain C struct, initialised by the call below before any use.
        let mut a = Box::new(unsafe { std::mem::zeroed::<libc::posix_spawn_file_actions_t>() });
        check(
            // SAFETY: `a` points to writable memory of the right type.
            unsafe { libc::posix_spawn_file_actions_init(&mut *a) },
            "init",
        )?;
        Ok(FileActions(a))
    }

    fn ptr(&self) -> *mut libc::posix_spawn_file_actions_t {
        std::ptr::from_ref(&*self.0).cast_mut()
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl Drop for FileActions {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, destroyed once.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut *self.0);
        }
    }
}

/// `posix_spawnattr_t`, destroyed on drop.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
struct Attributes(Box<libc::posix_spawnattr_t>);

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl Attributes {
    fn new() -> anyhow::Result<Attributes> {
        // SAFETY: a zeroed plain C struct, initialised by the call below before any use.
        let mut a = Box::new(unsafe { std::mem::zeroed::<libc::posix_spawnattr_t>() });
        // SAFETY: `a` points to writable memory of the right type.
        check(unsafe { libc::posix_spawnattr_init(&mut *a) }, "attr init")?;
        Ok(Attributes(a))
    }

    fn ptr(&self) -> *mut libc::posix_spawnattr_t {
        std::ptr::from_ref(&*self.0).cast_mut()
    }

    /// A new session; every signal back to its default action (memmux ignores SIGPIPE, and
    /// an ignored signal stays ignored across exec) and none blocked.
    fn setup(&self) -> anyhow::Result<()> {
        // SAFETY: zeroed sigset_t values, filled and emptied by the libc calls before use.
        let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut none: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to sigset_t; `self` is initialised.
        unsafe {
            libc::sigfillset(&mut all);
            libc::sigemptyset(&mut none);
            check(
                libc::posix_spawnattr_setsigdefault(self.ptr(), &all),
                "sigdefault",
            )?;
            check(
                libc::posix_spawnattr_setsigmask(self.ptr(), &none),
                "sigmask",
            )?;
            // The flags are small bits (0x80 at most) of a C short.
            let flags = i32::from(libc::POSIX_SPAWN_SETSID)
                | libc::POSIX_SPAWN_SETSIGDEF
                | libc::POSIX_SPAWN_SETSIGMASK;
            check(
                libc::posix_spawnattr_setflags(self.ptr(), flags as libc::c_short),
                "flags",
            )?;
        }
        Ok(())
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl Drop for Attributes {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, destroyed once.
        unsafe {
            libc::posix_spawnattr_destroy(&mut *self.0);
        }
    }
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
        let mut leak = [0 as libc::c_int; 2];
        // SAFETY: pipe(2) fills the two-int array we own; no O_CLOEXEC on purpose.
        assert_eq!(unsafe { libc::pipe(leak.as_mut_ptr()) }, 0);
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
        // SAFETY: signalling and reaping our own child; closing the pipe we made.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
            libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
            libc::close(leak[0]);
            libc::close(leak[1]);
        }
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
