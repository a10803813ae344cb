//! Just enough of terminfo to know whether the outer terminal has an alternate screen
//! (`smcup`): memmux draws on it and gives the user's screen back on exit. A terminal whose
//! entry lacks it (a `dumb` or hardcopy one) would get escape sequences it cannot show.

use std::path::{Path, PathBuf};

/// Index of `enter_ca_mode` (smcup) among the string capabilities (ncurses' term.h order).
const SMCUP: usize = 28;

/// What the terminfo entry of `term` says, when there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// No entry found (or unreadable): memmux assumes an xterm-like terminal, as most are.
    Unknown,
    AltScreen(bool),
}

/// The places ncurses looks, in its order: `$TERMINFO`, `~/.terminfo`, `$TERMINFO_DIRS`,
/// then the system directories.
fn dirs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(d) = std::env::var_os("TERMINFO") {
        v.push(PathBuf::from(d));
    }
    if let Some(h) = std::env::var_os("HOME") {
        v.push(Path::new(&h).join(".terminfo"));
    }
    if let Some(ds) = std::env::var_os("TERMINFO_DIRS") {
        v.extend(std::env::split_paths(&ds).filter(|p| !p.as_os_str().is_empty()));
    }
    for d in [
        "/etc/terminfo",
        "/lib/terminfo",
        "/usr/share/terminfo",
        "/usr/lib/terminfo",
    ] {
        v.push(PathBuf::from(d));
    }
    v
}

/// Looks up `term`'s entry and whether it has an alternate screen.
pub fn lookup(term: &str) -> Entry {
    let Some(first) = term.chars().next() else {
        return Entry::Unknown;
    };
    if term.contains('/') {
        return Entry::Unknown;
    }
    for dir in dirs() {
        // Letter directories (`x/xterm`) on Linux, hex ones (`78/xterm`) on some systems.
        for sub in [first.to_string(), format!("{:x}", u32::from(first))] {
            if let Ok(bytes) = std::fs::read(dir.join(sub).join(term)) {
                return match has_string(&bytes, SMCUP) {
                    Some(has) => Entry::AltScreen(has),
                    None => Entry::Unknown,
                };
            }
        }
    }
    Entry::Unknown
}

/// Whether the compiled entry `data` defines string capability `index`; `None` when the data
/// is not a terminfo entry.
pub fn has_string(data: &[u8], index: usize) -> Option<bool> {
    let short = |at: usize| -> Option<i16> {
        let b = data.get(at..at + 2)?;
        Some(i16::from_le_bytes([b[0], b[1]]))
    };
    // 0o432: 16-bit numbers; 0o1036: 32-bit numbers (ncurses 6.1+).
    let number_size = match short(0)? {
        0o432 => 2,
        0o1036 => 4,
        _ => return None,
    };
    let count = |at: usize| short(at).and_then(|n| usize::try_from(n).ok());
    let (names, bools, nums, strings) = (count(2)?, count(4)?, count(6)?, count(8)?);
    let mut at = 12 + names + bools;
    // Numbers start on an even byte.
    at += at % 2;
    at += nums * number_size;
    if index >= strings {
        return Some(false);
    }
    // An offset of -1 (absent) or -2 (cancelled) means the terminal lacks it.
    Some(short(at + index * 2)? >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_with_and_without_an_alternate_screen() {
        // The machine's own entries, where installed (ncurses-base ships both).
        if Path::new("/lib/terminfo/x/xterm").exists() {
            assert_eq!(lookup("xterm"), Entry::AltScreen(true));
        }
        if Path::new("/lib/terminfo/d/dumb").exists() {
            assert_eq!(lookup("dumb"), Entry::AltScreen(false));
        }
        assert_eq!(lookup("no-such-terminal-anywhere"), Entry::Unknown);
        assert_eq!(has_string(b"not terminfo", SMCUP), None);
    }

    #[test]
    fn a_built_entry_is_read() {
        // Legacy format: 1 name byte, no bools, 1 number, 30 strings, string 28 at offset 0.
        let mut d = Vec::new();
        for v in [0o432i16, 1, 0, 1, 30, 1] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.push(0); // names
        d.push(0); // padding to an even byte
        d.extend_from_slice(&80i16.to_le_bytes());
        for i in 0..30 {
            let off: i16 = if i == SMCUP { 0 } else { -1 };
            d.extend_from_slice(&off.to_le_bytes());
        }
        d.push(0);
        assert_eq!(has_string(&d, SMCUP), Some(true));
        assert_eq!(has_string(&d, 27), Some(false));
        assert_eq!(has_string(&d, 40), Some(false));
    }
}
