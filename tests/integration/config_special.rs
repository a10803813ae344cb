//! A config path that is not a regular file, and an outer terminal memmux cannot draw on:
//! clear errors and exit status 2, never a hang.

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Mux, Opts};

/// Runs memmux with `--config path`; returns its status code and stderr. Fails the test if
/// memmux is still running after 10 s (it would block on a FIFO's open or read forever; it
/// answers in milliseconds, and 10 s leaves a loaded CI machine room).
fn run_with_config(path: &std::path::Path) -> (Option<i32>, String) {
    let mut child = Command::new(common::bin())
        .arg("--config")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn memmux");
    let mut status = None;
    common::poll_until(Duration::from_secs(10), || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "memmux still running after 10 s with --config {}",
            path.display()
        );
    };
    let out = child.wait_with_output().expect("stderr");
    (
        status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_fifo_directory_or_device_as_config_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("config.fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    for (path, what) in [
        (fifo.as_path(), "FIFO"),
        (dir.path(), "directory"),
        (std::path::Path::new("/dev/zero"), "device"),
    ] {
        let (code, err) = run_with_config(path);
        assert_eq!(code, Some(2), "{what}: {err}");
        assert!(err.contains(what), "{what}: {err}");
        assert!(err.contains(&path.display().to_string()), "{what}: {err}");
    }
}

#[test]
fn term_dumb_is_refused_with_a_reason_and_status_2() {
    let mut m = Mux::start_with(Opts {
        env: vec![("TERM", "dumb".to_string())],
        ..Opts::default()
    });
    assert_eq!(m.wait_exit(), 2);
    m.wait_text("TERM=dumb");
    // Nothing was drawn: no alternate screen was asked of a terminal that has none.
    let raw = m.raw.lock().unwrap().clone();
    assert!(!raw.windows(8).any(|w| w == b"\x1b[?1049h"));
}
