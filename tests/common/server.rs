//! Helpers for tests that run memmux through its server: clients of one test's server,
//! commands against it.

use std::path::PathBuf;
use std::process::Output;

use super::{Mux, Opts};

/// A client starting a new session (and the server), as `memmux` with no command does.
pub fn first_client() -> Mux {
    let m = Mux::start_with(Opts {
        server: true,
        ..Opts::default()
    });
    m.wait_ready();
    m
}

/// The runtime directory of `m`'s server, for other clients of it.
pub fn run_dir(m: &Mux) -> PathBuf {
    m.home().join("run")
}

/// The socket of `m`'s server.
pub fn socket(m: &Mux) -> PathBuf {
    run_dir(m).join("memmux").join("default")
}

/// Another client of `m`'s server: `memmux ARGS` in a terminal of its own.
pub fn client(m: &Mux, args: &[&str], rows: u16, cols: u16) -> Mux {
    Mux::start_with(Opts {
        server: true,
        rows,
        cols,
        args: args.iter().map(|s| s.to_string()).collect(),
        env: vec![("XDG_RUNTIME_DIR", run_dir(m).display().to_string())],
        ..Opts::default()
    })
}

/// `memmux ARGS` without a terminal, against `m`'s server.
pub fn command(m: &Mux, args: &[&str]) -> Output {
    std::process::Command::new(super::bin())
        .args(args)
        .env("XDG_RUNTIME_DIR", run_dir(m))
        .env("HOME", m.home())
        .env_remove("MEMMUX_NO_SERVER")
        .env_remove("MEMMUX")
        .output()
        .expect("run memmux")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
