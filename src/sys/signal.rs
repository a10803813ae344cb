//! Signals: sent to a process, a process group or this process, and a disposition set.

use std::io;

pub use rustix::process::Signal;

fn pid(pid: u32) -> io::Result<rustix::process::Pid> {
    i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("no such pid {pid}")))
}

/// Sends `sig` to process `target`; an error when it is gone (`ESRCH`), which callers that
/// clean up usually ignore.
pub fn kill(target: u32, sig: Signal) -> io::Result<()> {
    Ok(rustix::process::kill_process(pid(target)?, sig)?)
}

/// Sends `sig` to every process of process group `group` (`kill(-group, sig)`).
pub fn kill_group(group: u32, sig: Signal) -> io::Result<()> {
    Ok(rustix::process::kill_process_group(pid(group)?, sig)?)
}

/// Stops this process (SIGSTOP, which cannot be caught): the shell's `fg` continues it.
pub fn stop_self() {
    // Sending a signal to ourselves cannot fail for want of permission.
    let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::STOP);
}

/// Ignores SIGHUP from here on (a daemon that left its terminal).
pub fn ignore_hangup() {
    // SAFETY: setting a standard signal's disposition to SIG_IGN installs no handler code;
    // rustix has no safe sigaction.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_killed_and_a_gone_pid_is_an_error() -> io::Result<()> {
        let mut child = std::process::Command::new("sleep").arg("30").spawn()?;
        kill(child.id(), Signal::KILL)?;
        let status = child.wait()?;
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        assert!(
            kill(child.id(), Signal::TERM).is_err(),
            "reaped: no such process"
        );
        assert!(
            kill(0, Signal::TERM).is_err(),
            "0 is no process (it would be our group)"
        );
        Ok(())
    }
}
