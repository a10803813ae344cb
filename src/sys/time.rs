//! Local time (rustix has no time zones; glibc's `localtime_r` reads the zone database).

/// A broken-down local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1..=12
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Now, in the local time zone.
pub fn local_now() -> LocalTime {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let t = libc::time_t::try_from(t).unwrap_or(0);
    // SAFETY: tm is plain data (integers and a pointer localtime_r sets), valid all-zero.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r reads one time_t and writes one tm, both ours.
    unsafe { libc::localtime_r(&t, &mut tm) };
    let u = |v: libc::c_int| u32::try_from(v).unwrap_or(0);
    LocalTime {
        year: tm.tm_year + 1900,
        month: u(tm.tm_mon + 1),
        day: u(tm.tm_mday),
        hour: u(tm.tm_hour),
        minute: u(tm.tm_min),
        second: u(tm.tm_sec),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_a_plausible_date() {
        let t = super::local_now();
        assert!(t.year >= 2024, "{t:?}");
        assert!(
            (1..=12).contains(&t.month) && (1..=31).contains(&t.day),
            "{t:?}"
        );
        assert!(t.hour < 24 && t.minute < 60 && t.second <= 60, "{t:?}");
    }
}
