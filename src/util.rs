//! Small helpers shared across modules.

/// The candidate closest to `input` by edit distance, if it is a plausible typo
/// (distance at most 2, or a third of the input's length for long names).
pub fn closest<'a>(input: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (input.chars().count() / 3).max(2);
    candidates
        .map(|c| (strsim::levenshtein(input, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

/// Where [`append_log`] writes: set once by the app from the configuration's data directory,
/// so the sessions that log (a parser panic) need not know the configuration.
static LOG_DIR: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();

/// Sets the directory of `memmux.log` (`None`: no data directory, nothing is logged). The
/// first call wins; later ones are ignored.
pub fn set_log_dir(dir: Option<std::path::PathBuf>) {
    let _ = LOG_DIR.set(dir);
}

/// Appends a timestamped line to `memmux.log` in the directory given to [`set_log_dir`];
/// returns its path, or `None` when there is no such directory or the write failed.
pub fn append_log(line: &str) -> Option<std::path::PathBuf> {
    use std::io::Write;
    let dir = LOG_DIR.get()?.as_ref()?;
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join("memmux.log");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    // One write of the whole line (`writeln!` on a `File` made six): the server logs on a new
    // session's path.
    let text = format!("{} pid {}: {line}\n", timestamp(), std::process::id());
    f.write_all(text.as_bytes()).ok()?;
    Some(path)
}

/// Local time as `YYYYMMDD-HHMMSS`, for file names.
pub fn timestamp() -> String {
    let t = crate::sys::time::local_now();
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Bytes in binary units with one decimal where it matters: `512 B`, `1.5 KiB`, `12.0 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(256 * 1024 * 1024), "256 MiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }

    #[test]
    fn closest_finds_typos_only() {
        let c = ["fps", "prefix", "scrollback-lines"];
        assert_eq!(closest("prefx", c.into_iter()).as_deref(), Some("prefix"));
        assert_eq!(
            closest("scrolback-lines", c.into_iter()).as_deref(),
            Some("scrollback-lines")
        );
        assert_eq!(closest("zzzzzz", c.into_iter()), None);
    }
}
