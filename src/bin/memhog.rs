//! Test helper: allocates and touches N MiB, prints `ready pid=PID`, sleeps until killed.
//!
//! Usage: `memhog MIB [--name COMM] [--setsid] [--fork N] [--shm MIB] [--daemon]
//! [--exit-after MS] [--tag TEXT]`
//! - `--name`: sets the process's comm with `prctl(PR_SET_NAME)` (15 bytes at most), e.g. to
//!   test parsers with `) (` and spaces in it.
//! - `--setsid`: calls `setsid()` first, like a daemon leaving the session.
//! - `--fork N`: after touching the memory, forks N children that only sleep: they share
//!   the parent's pages copy-on-write (a pre-fork server's workers).
//! - `--shm MIB`: also creates `/dev/shm/memhog-PID` of that size, maps it shared and touches
//!   it (removed when memhog ends by a signal it can catch... not SIGKILL: the caller removes
//!   it then).
//! - `--daemon`: forks, the child calls `setsid` and forks again, the first two exit: the
//!   grandchild (the one that allocates) is reparented away from the shell, as a daemon.
//! - `--exit-after MS`: exits after that long instead of sleeping (a build's short-lived
//!   compiler).
//! - `--tag TEXT`: ignored; lets a test find its processes by command line.

use std::io::Write;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut mib: usize = 0;
    let mut name: Option<String> = None;
    let mut setsid = false;
    let mut forks = 0usize;
    let mut shm_mib = 0usize;
    let mut daemon = false;
    let mut exit_after: Option<u64> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--name" => name = args.next(),
            "--setsid" => setsid = true,
            "--fork" => forks = args.next().unwrap_or_default().parse()?,
            "--shm" => shm_mib = args.next().unwrap_or_default().parse()?,
            "--daemon" => daemon = true,
            "--exit-after" => exit_after = Some(args.next().unwrap_or_default().parse()?),
            "--tag" => {
                args.next();
            }
            n => mib = n.parse()?,
        }
    }
    if daemon {
        // SAFETY: fork in a single-threaded process; each side only calls async-signal-safe
        // functions (setsid, fork, _exit) before continuing as a normal program.
        unsafe {
            match libc::fork() {
                -1 => anyhow::bail!("fork: {}", std::io::Error::last_os_error()),
                0 => {}
                _ => libc::_exit(0),
            }
            libc::setsid();
            match libc::fork() {
                -1 => libc::_exit(1),
                0 => {}
                _ => libc::_exit(0),
            }
        }
    }
    if setsid {
        // SAFETY: setsid has no memory-safety preconditions; it fails (EPERM) only for a
        // process group leader, which the caller avoids by spawning us as a plain child.
        if unsafe { libc::setsid() } < 0 {
            anyhow::bail!("setsid: {}", std::io::Error::last_os_error());
        }
    }
    if let Some(n) = name {
        let c = std::ffi::CString::new(n)?;
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes (longer is
        // truncated by the kernel); `c` outlives the call.
        if unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong, 0, 0, 0) } != 0 {
            anyhow::bail!("prctl: {}", std::io::Error::last_os_error());
        }
    }
    let mut block = vec![0u8; mib << 20];
    // Touch every page with a non-zero byte so each one is really backed (calloc'ed memory
    // is otherwise left on the shared zero page).
    for i in (0..block.len()).step_by(4096) {
        block[i] = 1;
    }
    std::hint::black_box(&mut block);
    if shm_mib > 0 {
        shm(shm_mib)?;
    }
    for _ in 0..forks {
        // SAFETY: fork in a single-threaded process; the child only sleeps (no writes to the
        // shared pages) until it is killed.
        match unsafe { libc::fork() } {
            -1 => anyhow::bail!("fork: {}", std::io::Error::last_os_error()),
            0 => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            _ => {}
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready pid={}", std::process::id())?;
    out.flush()?;
    drop(out);
    if let Some(ms) = exit_after {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        return Ok(());
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        std::hint::black_box(&block);
    }
}

/// `/dev/shm/memhog-PID`, `mib` MiB, mapped shared and touched; the file stays after exit.
fn shm(mib: usize) -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    let path = format!("/dev/shm/memhog-{}", std::process::id());
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    let len = mib << 20;
    f.set_len(len as u64)?;
    // SAFETY: mapping a file we just sized to `len`; the mapping is only written through
    // the pointer below, within `len`, and never unmapped (it lives as long as the process).
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        anyhow::bail!("mmap {path}: {}", std::io::Error::last_os_error());
    }
    for i in (0..len).step_by(4096) {
        // SAFETY: within the mapping of `len` bytes.
        unsafe { *(p as *mut u8).add(i) = 1 };
    }
    Ok(())
}
