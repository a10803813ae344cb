//! The /proc files the sampler reads, and their parsers: `stat`, `statm`, `smaps_rollup`,
//! `loadavg`, `comm`, and the page size they count in.

use std::sync::OnceLock;

/// Page size in bytes (4096 on x86-64; 16 KiB or 64 KiB on some arm64 kernels).
pub fn page_size() -> u64 {
    static PAGE: OnceLock<u64> = OnceLock::new();
    *PAGE.get_or_init(|| {
        let v = crate::sys::mem::page_size() as u64;
        if v > 0 { v } else { 4096 }
    })
}

/// The fields of `/proc/PID/stat` that sampling needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatFields {
    pub pid: u32,
    pub name: String,
    /// Field 3: R, S, D, Z, T, ...
    pub state: u8,
    /// Field 4.
    pub ppid: u32,
    /// Field 6.
    pub session: u32,
    /// Field 22, clock ticks since boot.
    pub starttime: u64,
}

/// Parses `/proc/PID/stat`. `comm` may contain anything, including `)`, spaces and
/// newlines, so the line is split at the **last** `)`.
pub fn parse_stat(line: &[u8]) -> Option<StatFields> {
    let open = line.iter().position(|&b| b == b'(')?;
    let close = line.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let pid = std::str::from_utf8(&line[..open])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let name = String::from_utf8_lossy(&line[open + 1..close]).into_owned();
    let rest = std::str::from_utf8(&line[close + 1..]).ok()?;
    // rest[0] is field 3 (state), rest[1] field 4, ... rest[19] field 22.
    let mut it = rest.split_ascii_whitespace();
    let state = *it.next()?.as_bytes().first()?;
    let ppid = it.next()?.parse().ok()?;
    let _pgrp = it.next()?;
    let session = it.next()?.parse().ok()?;
    let starttime = it.nth(15)?.parse().ok()?;
    Some(StatFields {
        pid,
        name,
        state,
        ppid,
        session,
        starttime,
    })
}

/// The last field of `/proc/loadavg` (`0.00 0.01 0.05 1/123 4567`): the last pid created.
pub fn parse_loadavg_last_pid(text: &[u8]) -> Option<u32> {
    std::str::from_utf8(text)
        .ok()?
        .split_ascii_whitespace()
        .nth(4)?
        .parse()
        .ok()
}

/// Parses `/proc/PID/statm` into bytes of (resident - shared). `None` when the process has
/// no address space (zombie, kernel thread: all fields 0) or the text is malformed.
pub fn parse_statm(text: &[u8], page: u64) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?;
    let mut it = text.split_ascii_whitespace();
    let size: u64 = it.next()?.parse().ok()?;
    let resident: u64 = it.next()?.parse().ok()?;
    let shared: u64 = it.next()?.parse().ok()?;
    if size == 0 {
        return None;
    }
    // The kernel's per-CPU RSS counters are read approximately, so resident can briefly be
    // below shared.
    Some(resident.saturating_sub(shared) * page)
}

/// Parses the `Pss:` line of `/proc/PID/smaps_rollup` (kB) into bytes.
pub fn parse_smaps_rollup_pss(text: &[u8]) -> Option<u64> {
    smaps_field_kb(text, "Pss:").map(|kb| kb * 1024)
}

/// The value in kB of one `Name:   123 kB` line of a smaps-like file.
pub fn smaps_field_kb(text: &[u8], field: &str) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?;
        rest.split_ascii_whitespace().next()?.parse().ok()
    })
}

/// memmux's own RSS in bytes (resident, shared pages included), from `/proc/self/statm`.
pub fn self_rss() -> Option<u64> {
    let text = std::fs::read("/proc/self/statm").ok()?;
    let text = std::str::from_utf8(&text).ok()?;
    let resident: u64 = text.split_ascii_whitespace().nth(1)?.parse().ok()?;
    Some(resident * page_size())
}

/// `/proc/PID/comm`, trimmed: the name of e.g. a terminal's foreground process (pass the
/// pid from `tcgetpgrp`). `None` when the process is gone or the name is empty.
pub fn foreground_name(pid: u32) -> Option<String> {
    let text = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    let name = String::from_utf8_lossy(&text).trim().to_owned();
    if name.is_empty() { None } else { Some(name) }
}
