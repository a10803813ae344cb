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

#![deny(unsafe_code)]

use std::io::Write;

use memmux::sys::proc::{self, Forked};

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
        // memhog has one thread, so each fork's child may go on as a normal program.
        if let Forked::Parent { .. } =
            proc::fork_single_threaded().map_err(|e| anyhow::anyhow!("fork: {e}"))?
        {
            proc::exit_now(0);
        }
        // The child is no group leader, so this cannot fail.
        let _ = proc::setsid();
        match proc::fork_single_threaded() {
            Err(_) => proc::exit_now(1),
            Ok(Forked::Parent { .. }) => proc::exit_now(0),
            Ok(Forked::Child) => {}
        }
    }
    if setsid {
        // Fails (EPERM) only for a process group leader, which the caller avoids by spawning
        // us as a plain child.
        proc::setsid().map_err(|e| anyhow::anyhow!("setsid: {e}"))?;
    }
    if let Some(n) = name {
        // PR_SET_NAME on the only thread: the process's comm (longer than 15 bytes is cut).
        proc::set_thread_name(&n).map_err(|e| anyhow::anyhow!("prctl: {e}"))?;
    }
    let mut block = vec![0u8; mib << 20];
    // Touch every page with a non-zero byte so each one is really backed (calloc'ed memory
    // is otherwise left on the shared zero page).
    for i in (0..block.len()).step_by(4096) {
        block[i] = 1;
    }
    std::hint::black_box(&mut block);
    // Kept mapped until memhog ends.
    let _shm = if shm_mib > 0 {
        Some(shm(shm_mib)?)
    } else {
        None
    };
    for _ in 0..forks {
        // The child only sleeps (no writes to the shared pages) until it is killed.
        match proc::fork_single_threaded().map_err(|e| anyhow::anyhow!("fork: {e}"))? {
            Forked::Child => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            Forked::Parent { .. } => {}
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
fn shm(mib: usize) -> anyhow::Result<memmux::sys::mem::SharedMapping> {
    let path = format!("/dev/shm/memhog-{}", std::process::id());
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    let len = mib << 20;
    f.set_len(len as u64)?;
    let mut map = memmux::sys::mem::SharedMapping::new(&f, len)
        .map_err(|e| anyhow::anyhow!("mmap {path}: {e}"))?;
    for byte in map.as_mut_slice().iter_mut().step_by(4096) {
        *byte = 1;
    }
    Ok(map)
}
