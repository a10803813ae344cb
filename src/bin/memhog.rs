//! Test helper: allocates and touches N MiB, prints `ready pid=PID`, sleeps until killed.
//!
//! Usage: `memhog MIB [--name COMM] [--setsid]`
//! - `--name`: sets the process's comm with `prctl(PR_SET_NAME)` (15 bytes at most), e.g. to
//!   test parsers with `) (` and spaces in it.
//! - `--setsid`: calls `setsid()` first, like a daemon leaving the session.

use std::io::Write;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut mib: usize = 0;
    let mut name: Option<String> = None;
    let mut setsid = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--name" => name = args.next(),
            "--setsid" => setsid = true,
            n => mib = n.parse()?,
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
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready pid={}", std::process::id())?;
    out.flush()?;
    drop(out);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        std::hint::black_box(&block);
    }
}
