//! The user: uid and the login shell from the password database.

use std::ffi::OsString;

/// The real user id.
pub fn uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// The user's login shell from the password database (`getpwuid_r`), if it has one.
pub fn login_shell() -> Option<OsString> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: passwd is plain data (integers and pointers), valid all-zero; getpwuid_r fills it.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    // 4 KiB: glibc's suggested size (`_SC_GETPW_R_SIZE_MAX` is 1 KiB); a longer entry fails
    // with ERANGE and the caller falls back to $SHELL or /bin/sh.
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: valid pointers to `pw`, `found` and `buf` with the buffer's real length; rustix
    // has no password database.
    let r = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if r != 0 || found.is_null() || pw.pw_shell.is_null() {
        return None;
    }
    // SAFETY: pw_shell points into `buf`, alive here, NUL-terminated by getpwuid_r.
    let shell = unsafe { std::ffi::CStr::from_ptr(pw.pw_shell) };
    Some(std::ffi::OsStr::from_bytes(shell.to_bytes()).to_os_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_uid_and_shell_match_the_password_file() -> std::io::Result<()> {
        let uid = super::uid();
        let passwd = std::fs::read_to_string("/etc/passwd")?;
        let entry = passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() == 7 && f[2].parse() == Ok(uid));
        // Only checkable when the user is in /etc/passwd (not from LDAP or a container's
        // arbitrary uid).
        if let Some(f) = entry {
            assert_eq!(super::login_shell(), Some(f[6].into()));
        }
        Ok(())
    }
}
