//! Stand-ins for tabs without a multiplexer: `sh` session leaders that each start two sleeps,
//! so a sampler has a small tree per "tab". Used by tests and, through `#[path]`, by benches.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// The leaders; dropping them kills each one's whole process group.
pub struct Leaders(pub Vec<Child>);

impl Leaders {
    /// `n` leaders running `sleep 1000 & sleep 1000 & wait`, each in a session of its own (as
    /// the pty spawner makes a tab's shell).
    pub fn spawn(n: usize) -> Leaders {
        Leaders(
            (0..n)
                .map(|_| {
                    let mut cmd = Command::new("sh");
                    cmd.arg("-c").arg("sleep 1000 & sleep 1000 & wait");
                    spawn_leader(&mut cmd)
                })
                .collect(),
        )
    }

    pub fn pids(&self) -> Vec<u32> {
        self.0.iter().map(|c| c.id()).collect()
    }
}

/// Starts `cmd` as the leader of a new session (as the pty spawner makes a tab's shell), its
/// input empty and its output a pipe.
pub fn spawn_leader(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    // SAFETY: the closure only calls setsid(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().expect("spawn a session leader")
}

impl Drop for Leaders {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // SAFETY: kill(2) takes plain integers and touches no memory of ours.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
