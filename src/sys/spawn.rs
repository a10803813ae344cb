//! `posix_spawn` of a program on a terminal, for `session::spawn` (why `posix_spawn` rather
//! than `fork` is said there): glibc only, as it needs `addchdir_np` (2.29) and
//! `addclosefrom_np` (2.34). rustix has no `posix_spawn`.

use std::ffi::{CStr, CString};
use std::io;

/// What the child gets: `file` searched in `PATH` when it has no `/`, its argv and whole
/// environment (`KEY=VALUE`), its working directory, and the terminal it opens by path.
pub struct OnTty<'a> {
    pub file: &'a CStr,
    pub argv: &'a [CString],
    pub envp: &'a [CString],
    pub cwd: &'a CStr,
    pub tty: &'a CStr,
}

/// Starts `what` in a new session with `tty` as its stdin, stdout, stderr and controlling
/// terminal (opened by the new session's leader, without O_NOCTTY), every signal back to its
/// default and none blocked, and every descriptor above 2 closed. Returns its pid once it has
/// exec'd. The error names the step that failed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn on_tty(what: &OnTty) -> Result<u32, (&'static str, io::Error)> {
    let mut argv: Vec<*mut libc::c_char> =
        what.argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
    argv.push(std::ptr::null_mut());
    let mut envp: Vec<*mut libc::c_char> =
        what.envp.iter().map(|a| a.as_ptr().cast_mut()).collect();
    envp.push(std::ptr::null_mut());

    // SAFETY: both are plain C structs, each with its own init and destroy functions.
    let (actions, attr) = unsafe {
        let actions = FileActions::new(
            libc::posix_spawn_file_actions_init,
            libc::posix_spawn_file_actions_destroy,
            "init",
        )?;
        let attr = Attributes::new(
            libc::posix_spawnattr_init,
            libc::posix_spawnattr_destroy,
            "attr init",
        )?;
        (actions, attr)
    };
    // SAFETY: `actions` is initialised; glibc copies the path.
    let r = unsafe { libc::posix_spawn_file_actions_addchdir_np(actions.ptr(), what.cwd.as_ptr()) };
    check(r, "chdir")?;
    // SAFETY: as above. No O_NOCTTY: opened by the new session's leader, the terminal becomes
    // its controlling terminal.
    let r = unsafe {
        libc::posix_spawn_file_actions_addopen(actions.ptr(), 0, what.tty.as_ptr(), libc::O_RDWR, 0)
    };
    check(r, "open")?;
    for fd in [1, 2] {
        // SAFETY: as above.
        let r = unsafe { libc::posix_spawn_file_actions_adddup2(actions.ptr(), 0, fd) };
        check(r, "dup2")?;
    }
    // SAFETY: as above; one close_range(3, ~0) in the child.
    let r = unsafe { libc::posix_spawn_file_actions_addclosefrom_np(actions.ptr(), 3) };
    check(r, "closefrom")?;
    attr.setup()?;
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid until the call returns (argv and envp are NUL-terminated
    // arrays of C strings borrowed from `what`); posix_spawnp returns only once the child has
    // exec'd or failed to.
    let r = unsafe {
        libc::posix_spawnp(
            &mut pid,
            what.file.as_ptr(),
            actions.ptr(),
            attr.ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
        )
    };
    if r != 0 {
        return Err(("spawn", io::Error::from_raw_os_error(r)));
    }
    u32::try_from(pid).map_err(|_| ("spawn", io::Error::other("a negative pid")))
}

fn check(r: libc::c_int, what: &'static str) -> Result<(), (&'static str, io::Error)> {
    if r == 0 {
        Ok(())
    } else {
        Err((what, io::Error::from_raw_os_error(r)))
    }
}

/// A libc object made by its `init` function and destroyed on drop by its `destroy`
/// (`posix_spawn_file_actions_t`, `posix_spawnattr_t`); boxed, so the pointer glibc keeps
/// stays put.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
struct Initialised<T> {
    c: Box<T>,
    destroy: unsafe extern "C" fn(*mut T) -> libc::c_int,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
type FileActions = Initialised<libc::posix_spawn_file_actions_t>;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Attributes = Initialised<libc::posix_spawnattr_t>;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl<T> Initialised<T> {
    /// # Safety
    /// `T` is a plain C struct (zeroed memory is a valid one), and `init` and `destroy` are
    /// the libc functions that initialise and destroy it.
    unsafe fn new(
        init: unsafe extern "C" fn(*mut T) -> libc::c_int,
        destroy: unsafe extern "C" fn(*mut T) -> libc::c_int,
        what: &'static str,
    ) -> Result<Initialised<T>, (&'static str, io::Error)> {
        // SAFETY: a zeroed plain C struct (the caller's promise), initialised by the call
        // below before any use.
        let mut c = Box::new(unsafe { std::mem::zeroed::<T>() });
        // SAFETY: `c` points to writable memory of the right type.
        check(unsafe { init(&mut *c) }, what)?;
        Ok(Initialised { c, destroy })
    }

    fn ptr(&self) -> *mut T {
        std::ptr::from_ref(&*self.c).cast_mut()
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl<T> Drop for Initialised<T> {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, destroyed once.
        unsafe {
            (self.destroy)(&mut *self.c);
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl Attributes {
    /// A new session; every signal back to its default action (memmux ignores SIGPIPE, and an
    /// ignored signal stays ignored across exec) and none blocked.
    fn setup(&self) -> Result<(), (&'static str, io::Error)> {
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

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn the_child_leads_a_session_on_the_tty_with_no_other_descriptor() -> anyhow::Result<()> {
        let (master, slave) = crate::sys::tty::open_pty()?;
        let name = rustix::pty::ptsname(&master, Vec::new())?;
        drop(slave);
        // A descriptor without close-on-exec: the child must not see it.
        let (leak_r, _leak_w) = std::os::unix::net::UnixStream::pair()?;
        let leak = leak_r.as_raw_fd();
        rustix::io::fcntl_setfd(&leak_r, rustix::io::FdFlags::empty())?;
        let script = format!(
            "[ -e /proc/self/fd/{leak} ] && echo LEAK; cut -d' ' -f6,7 /proc/self/stat; sleep 5"
        );
        let argv = [c"sh".to_owned(), c"-c".to_owned(), CString::new(script)?];
        let envp = [c"PATH=/usr/bin:/bin".to_owned()];
        let pid = on_tty(&OnTty {
            file: c"sh",
            argv: &argv,
            envp: &envp,
            cwd: c"/",
            tty: name.as_c_str(),
        })
        .map_err(|(step, e)| anyhow::anyhow!("{step}: {e}"))?;
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
        while !out.contains(&b'\n') {
            let n = crate::sys::fd::read(&master, &mut buf)?;
            anyhow::ensure!(n > 0, "the pty closed");
            out.extend_from_slice(&buf[..n]);
        }
        let _ = crate::sys::signal::kill(pid, crate::sys::signal::Signal::KILL);
        let _ = crate::sys::proc::wait_for(pid);
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("LEAK"), "{text}");
        // Session id = the child's pid, and a controlling terminal (tty_nr not 0).
        let mut fields = text.split_whitespace();
        assert_eq!(fields.next(), Some(pid.to_string().as_str()), "{text}");
        assert_ne!(fields.next(), Some("0"), "{text}");
        Ok(())
    }
}
