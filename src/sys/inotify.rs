//! inotify: a descriptor that reports changes to watched files.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::inotify;

/// An inotify instance (blocking reads, close-on-exec).
pub struct Inotify(OwnedFd);

/// One event: the watch it is for, and whether the watch is gone (`IN_IGNORED`: the file was
/// removed or the watch taken off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub watch: i32,
    pub ignored: bool,
}

impl Inotify {
    pub fn new() -> io::Result<Inotify> {
        Ok(Inotify(inotify::init(inotify::CreateFlags::CLOEXEC)?))
    }

    /// Watches `path` for changes to its content (`IN_MODIFY`); returns the watch's number.
    pub fn watch_modify(&self, path: &Path) -> io::Result<i32> {
        Ok(inotify::add_watch(
            &self.0,
            path,
            inotify::WatchFlags::MODIFY,
        )?)
    }

    /// Waits for events and returns them (at least one; `Interrupted` as an error).
    pub fn read(&self) -> io::Result<Vec<Change>> {
        // Room for 64 events of a watch on a file itself (16 bytes each, no name).
        let mut buf = [std::mem::MaybeUninit::uninit(); 1024];
        let mut reader = inotify::Reader::new(&self.0, &mut buf);
        let mut out = Vec::new();
        loop {
            match reader.next() {
                Ok(ev) => {
                    out.push(Change {
                        watch: ev.wd(),
                        ignored: ev.events().contains(inotify::ReadFlags::IGNORED),
                    });
                    if !reader.is_buffer_empty() {
                        continue;
                    }
                    return Ok(out);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl AsFd for Inotify {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_and_a_removal_are_reported() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("memory.events");
        std::fs::write(&path, "a")?;
        let ino = Inotify::new()?;
        let wd = ino.watch_modify(&path)?;
        std::fs::write(&path, "b")?;
        let got = ino.read()?;
        assert!(got.contains(&Change {
            watch: wd,
            ignored: false
        }));
        std::fs::remove_file(&path)?;
        let mut seen = Vec::new();
        while !seen.iter().any(|c: &Change| c.ignored) {
            seen.extend(ino.read()?);
        }
        assert!(seen.iter().all(|c| c.watch == wd));
        Ok(())
    }
}
