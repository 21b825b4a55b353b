//! Executable memory: one memory file mapped twice, a writable view for the linker and
//! an executable view for running, so that no page is ever writable and executable.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::FromRawFd;

use memmap2::{Mmap, MmapMut, MmapOptions};

use toy_shared::ExecError;

/// Bytes of address space reserved for JIT'd code and data.
pub const REGION_SIZE: u64 = 1 << 30;

/// Granularity of allocations.
const GRAIN: u64 = 16;

/// The double-mapped region and its allocator.
pub struct Region {
    writable: MmapMut,
    executable: Mmap,
    /// Free blocks: offset → size.
    free: BTreeMap<u64, u64>,
    /// Live blocks: offset → size.
    live: BTreeMap<u64, u64>,
}

impl Region {
    // ANCHOR: double_map
    /// Creates the memory file and maps both views.
    pub fn new() -> Result<Self, ExecError> {
        // SAFETY: memfd_create with a valid C string; the fd is checked before use.
        let fd = unsafe { libc::memfd_create(c"toy-jit".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(ExecError::Memory(std::io::Error::last_os_error().into()));
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(REGION_SIZE)
            .map_err(|e| ExecError::Memory(e.into()))?;
        let len = REGION_SIZE as usize;
        // SAFETY: the file is private to this process; both views cover all of it and
        // live as long as the region. The file itself may be closed after mapping.
        let writable = unsafe { MmapOptions::new().len(len).map_mut(&file) }
            .map_err(|e| ExecError::Memory(e.into()))?;
        // SAFETY: as above.
        let executable = unsafe { MmapOptions::new().len(len).map_exec(&file) }
            .map_err(|e| ExecError::Memory(e.into()))?;
        let mut free = BTreeMap::new();
        free.insert(0, REGION_SIZE);
        Ok(Region {
            writable,
            executable,
            free,
            live: BTreeMap::new(),
        })
    }
    // ANCHOR_END: double_map

    /// Makes the executable view writable as well, so that a debugger can plant
    /// breakpoints in it: ptrace cannot write into a read-only shared mapping (the
    /// kernel copies only private mappings on write). Only done for `-g`.
    pub fn allow_debugger(&mut self) -> Result<(), ExecError> {
        let protection = libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC;
        // SAFETY: changes the protection of our own mapping, which stays mapped and
        // keeps its contents; code running in it is unaffected.
        let result = unsafe {
            libc::mprotect(
                self.executable.as_ptr() as *mut libc::c_void,
                REGION_SIZE as usize,
                protection,
            )
        };
        if result != 0 {
            return Err(ExecError::Memory(std::io::Error::last_os_error().into()));
        }
        Ok(())
    }

    /// Address of the executable view's first byte.
    pub fn base(&self) -> u64 {
        self.executable.as_ptr() as u64
    }

    fn offset(&self, addr: u64, len: u64) -> Result<u64, ExecError> {
        let offset = addr.wrapping_sub(self.base());
        if offset >= REGION_SIZE || len > REGION_SIZE - offset {
            return Err(ExecError::BadAddress(addr));
        }
        Ok(offset)
    }

    /// Reserves `size` bytes aligned to `align` (a power of two, at most a page).
    pub fn reserve(&mut self, size: u64, align: u64) -> Result<u64, ExecError> {
        let align = align.max(GRAIN);
        if !align.is_power_of_two() || align > 4096 {
            return Err(ExecError::BadAlignment(align));
        }
        let size = size.max(1).div_ceil(GRAIN) * GRAIN;
        let found = self.free.iter().find_map(|(&start, &len)| {
            let aligned = start.next_multiple_of(align);
            (aligned + size <= start + len).then_some((start, len, aligned))
        });
        let (start, len, aligned) = found.ok_or(ExecError::OutOfMemory(size))?;
        self.free.remove(&start);
        if aligned > start {
            self.free.insert(start, aligned - start);
        }
        let end = aligned + size;
        if end < start + len {
            self.free.insert(end, start + len - end);
        }
        self.live.insert(aligned, size);
        Ok(self.base() + aligned)
    }

    /// Copies bytes through the writable view.
    pub fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), ExecError> {
        let offset = self.offset(addr, bytes.len() as u64)? as usize;
        self.writable[offset..offset + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    /// Stores a pointer-sized value atomically (stub slots are read by running code).
    pub fn store_u64(&mut self, addr: u64, value: u64) -> Result<(), ExecError> {
        let offset = self.offset(addr, 8)? as usize;
        if !addr.is_multiple_of(8) {
            return Err(ExecError::BadAlignment(addr));
        }
        let ptr = self.writable[offset..offset + 8].as_mut_ptr() as *mut u64;
        // SAFETY: `ptr` is 8-byte aligned (the views are page aligned and `addr` is
        // aligned) and inside the writable view, which outlives this call.
        let atomic = unsafe { std::sync::atomic::AtomicU64::from_ptr(ptr) };
        atomic.store(value, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Returns a block to the free list, merging it with free neighbours.
    pub fn release(&mut self, addr: u64) -> Result<(), ExecError> {
        let offset = self.offset(addr, 0)?;
        let mut size = self
            .live
            .remove(&offset)
            .ok_or(ExecError::BadAddress(addr))?;
        let mut start = offset;
        if let Some((&prev, &prev_len)) = self.free.range(..start).next_back()
            && prev + prev_len == start
        {
            self.free.remove(&prev);
            start = prev;
            size += prev_len;
        }
        if let Some(&next_len) = self.free.get(&(start + size)) {
            self.free.remove(&(start + size));
            size += next_len;
        }
        self.free.insert(start, size);
        Ok(())
    }

    /// Whether `addr` is the start of a live block.
    pub fn is_block(&self, addr: u64) -> bool {
        addr.checked_sub(self.base())
            .is_some_and(|offset| self.live.contains_key(&offset))
    }

    /// Bytes currently allocated.
    pub fn used(&self) -> u64 {
        self.live.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_share_memory_and_blocks_are_reused() {
        let mut region = Region::new().expect("region");
        let a = region.reserve(100, 16).expect("a");
        let b = region.reserve(100, 64).expect("b");
        assert_eq!(b % 64, 0);
        assert!(b >= a + 100);
        region.write(a, &[1, 2, 3]).expect("write");
        // SAFETY: `a` is inside the executable view, which is readable.
        let seen = unsafe { std::slice::from_raw_parts(a as *const u8, 3) };
        assert_eq!(seen, &[1, 2, 3]);
        region.release(a).expect("release");
        region.release(b).expect("release");
        assert_eq!(region.used(), 0);
        // Everything merged back into one block: the next reservation starts at 0.
        assert_eq!(region.reserve(4096, 16).expect("c"), region.base());
        assert!(region.release(12345).is_err());
        assert!(
            region
                .write(region.base() + REGION_SIZE - 1, &[0, 0])
                .is_err()
        );
    }
}
