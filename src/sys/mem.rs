//! The C allocator's tuning and trimming, the page size, and a shared file mapping.

use std::io;
use std::os::fd::AsFd;

/// Gives the free memory at the top of glibc's heaps (and whole free pages inside them) back
/// to the system.
pub fn malloc_trim() {
    // SAFETY: malloc_trim has no preconditions; rustix has no allocator calls.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// glibc's `M_MMAP_THRESHOLD`: blocks of at least `bytes` are mapped on their own (and given
/// back when freed); fixing it also stops glibc from raising it as large blocks are freed.
pub fn set_mmap_threshold(bytes: usize) -> bool {
    let Ok(v) = libc::c_int::try_from(bytes) else {
        return false;
    };
    // SAFETY: mallopt only changes allocator tuning.
    (unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, v) }) == 1
}

/// The size of a memory page.
pub fn page_size() -> usize {
    rustix::param::page_size()
}

/// A file mapped shared, read and write, unmapped on drop.
pub struct SharedMapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; access goes through &/&mut self.
unsafe impl Send for SharedMapping {}

impl SharedMapping {
    /// Maps the first `len` bytes of `file` (already at least that long).
    pub fn new(file: impl AsFd, len: usize) -> io::Result<SharedMapping> {
        use rustix::mm::{MapFlags, ProtFlags};
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an empty mapping",
            ));
        }
        // SAFETY: a new mapping chosen by the kernel (no address given), so it overlaps no
        // memory of ours; it is only reached through this value, within `len`.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                file,
                0,
            )?
        };
        Ok(SharedMapping {
            ptr: ptr.cast(),
            len,
        })
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live mapping of `len` bytes, readable and writable, borrowed
        // mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for SharedMapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once; no slice of it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_mapping_writes_through_to_its_file() -> io::Result<()> {
        let f = tempfile::tempfile()?;
        let len = 2 * page_size();
        f.set_len(len as u64)?;
        let mut m = SharedMapping::new(&f, len)?;
        m.as_mut_slice()[page_size()] = 42;
        drop(m);
        let mut byte = [0u8];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut byte, page_size() as u64)?;
        assert_eq!(byte[0], 42);
        assert!(SharedMapping::new(&f, 0).is_err());
        Ok(())
    }

    #[test]
    fn pages_are_4_kib_or_more_and_trim_and_threshold_work() {
        assert!(page_size() >= 4096 && page_size().is_power_of_two());
        malloc_trim();
        assert!(set_mmap_threshold(256 << 10));
    }
}
