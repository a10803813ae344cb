//! Where the server's socket lives and who may use it: `$XDG_RUNTIME_DIR/memmux/` (else
//! `/tmp/memmux-UID/`), a directory of mode 0700 owned by the user, a socket of mode 0600,
//! and a peer uid check on every connection.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The environment variable tabs and sessions carry: `SOCKET,SERVER_PID,SESSION`. Its presence
/// is how memmux knows it runs inside a tab.
pub const ENV: &str = "MEMMUX";

pub fn uid() -> u32 {
    crate::sys::user::uid()
}

/// The directory of the socket (not created).
pub fn dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("memmux"),
        None => PathBuf::from(format!("/tmp/memmux-{}", uid())),
    }
}

/// The server's socket.
pub fn path() -> PathBuf {
    dir().join("default")
}

/// Creates the socket's directory if needed and checks it is private: ours, mode 0700. A
/// directory owned by someone else is refused (they could swap the socket); ours with wider
/// permissions is narrowed.
pub fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
    }
    let meta =
        std::fs::symlink_metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    if meta.uid() != uid() {
        bail!(
            "{} belongs to uid {}, not to you (uid {}): memmux will not put its socket there",
            dir.display(),
            meta.uid(),
            uid()
        );
    }
    if meta.mode() & 0o777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private (0700)", dir.display()))?;
    }
    Ok(())
}

/// The uid of the process at the other end of `stream` (`SO_PEERCRED`).
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    crate::sys::socket::peer_uid(stream)
}

/// Whether a server answers at `path`; `false` for a socket nobody listens on (a server that
/// died) or no socket at all.
pub fn alive(path: &Path) -> bool {
    UnixStream::connect(path).is_ok()
}
