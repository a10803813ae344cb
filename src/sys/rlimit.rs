//! The open-descriptor limit (`RLIMIT_NOFILE`).

use std::io;

use rustix::process::{Resource, Rlimit};

/// A soft and a hard limit; `None` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// The descriptor limits of this process.
pub fn open_files() -> Limit {
    let l = rustix::process::getrlimit(Resource::Nofile);
    Limit {
        soft: l.current,
        hard: l.maximum,
    }
}

/// Sets the soft descriptor limit to `soft` (at most the hard one), keeping the hard one.
pub fn set_open_files_soft(soft: u64) -> io::Result<()> {
    let hard = open_files().hard;
    let soft = hard.map_or(soft, |h| soft.min(h));
    Ok(rustix::process::setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: hard,
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_set_within_the_hard_one() -> io::Result<()> {
        let before = open_files();
        let Some(soft) = before.soft else {
            return Ok(());
        };
        set_open_files_soft(soft)?;
        assert_eq!(open_files(), before);
        // Asking past the hard limit gives the hard limit, not an error.
        set_open_files_soft(u64::MAX - 1)?;
        assert_eq!(open_files().soft, before.hard.or(Some(u64::MAX - 1)));
        set_open_files_soft(soft)?;
        Ok(())
    }
}
