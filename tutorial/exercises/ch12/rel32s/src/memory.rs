//! Executable memory, never writable and executable at once: a [`Writable`] block
//! is filled in, then becomes a [`Code`] block that can run and no longer be written.
//!
//! The exercise: `libc` instead of memmap2, for [`Writable::low`], memory in the
//! lowest 2 GiB of the address space (`MAP_32BIT`), where a 32-bit absolute address
//! can reach it.

use std::io;

/// Fresh memory, readable and writable but not executable: the linker fills it in.
pub struct Writable {
    address: usize,
    len: usize,
}

impl Writable {
    /// `len` bytes of zeroes (rounded up to whole pages by the kernel), anywhere.
    pub fn new(len: usize) -> io::Result<Self> {
        Self::map(len, 0)
    }

    /// `len` bytes of zeroes in the lowest 2 GiB of the address space.
    pub fn low(len: usize) -> io::Result<Self> {
        Self::map(len, libc::MAP_32BIT)
    }

    fn map(len: usize, flags: libc::c_int) -> io::Result<Self> {
        // A mapping of no bytes is an error; an object with nothing to load is not.
        let len = len.max(1);
        // SAFETY: a new anonymous mapping, which aliases nothing.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
                -1,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Writable {
            address: address as usize,
            len,
        })
    }

    /// Where the block starts: the addresses the linker computes are based on it.
    pub fn address(&self) -> usize {
        self.address
    }

    /// The bytes, to copy sections in and patch relocations.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is ours, writable, and `len` bytes long.
        unsafe { std::slice::from_raw_parts_mut(self.address as *mut u8, self.len) }
    }

    /// Makes the block readable and executable, and no longer writable.
    pub fn finish(self) -> io::Result<Code> {
        let prot = libc::PROT_READ | libc::PROT_EXEC;
        // SAFETY: the mapping is ours; nothing holds a reference into it (`bytes`
        // borrows `self`, which this call consumes).
        if unsafe { libc::mprotect(self.address as *mut libc::c_void, self.len, prot) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let code = Code {
            address: self.address,
            len: self.len,
        };
        // The mapping now belongs to `code`.
        std::mem::forget(self);
        Ok(code)
    }
}

impl Drop for Writable {
    fn drop(&mut self) {
        unmap(self.address, self.len);
    }
}

/// Finished machine code: readable and executable, never writable again (the block
/// stays where it was). Dropping it unmaps the memory, so nothing may call into it
/// afterwards.
pub struct Code {
    address: usize,
    len: usize,
}

impl Drop for Code {
    fn drop(&mut self) {
        unmap(self.address, self.len);
    }
}

/// Unmaps a mapping of ours (an error could only mean a bug, and is ignored).
fn unmap(address: usize, len: usize) {
    // SAFETY: the mapping is ours and nothing uses it any more.
    unsafe { libc::munmap(address as *mut libc::c_void, len) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The permissions (`rw-p`, `r-xp`, ...) of the mapping that holds `address`,
    /// as the kernel lists them in `/proc/self/maps`.
    fn permissions(address: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for line in maps.lines() {
            let mut fields = line.split_whitespace();
            let (range, perms) = (fields.next().unwrap(), fields.next().unwrap());
            let (start, end) = range.split_once('-').unwrap();
            let start = usize::from_str_radix(start, 16).unwrap();
            let end = usize::from_str_radix(end, 16).unwrap();
            if (start..end).contains(&address) {
                return perms.to_string();
            }
        }
        panic!("{address:#x} is not mapped");
    }

    #[test]
    fn writable_then_executable_never_both() {
        let mut block = Writable::new(16).unwrap();
        let address = block.address();
        assert_eq!(permissions(address), "rw-p");
        // mov eax, 42; ret: a function that returns 42.
        block.bytes()[..6].copy_from_slice(&[0xb8, 42, 0, 0, 0, 0xc3]);
        let code = block.finish().unwrap();
        assert_eq!(permissions(address), "r-xp");
        // SAFETY: the block holds the six bytes of a function of no arguments that
        // returns an integer in `eax`, and it is executable now.
        let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(address) };
        assert_eq!(f(), 42);
        drop(code);
    }

    #[test]
    fn low_memory_is_in_the_lowest_2_gib() {
        let block = Writable::low(16).unwrap();
        assert!(block.address() + 16 <= 1 << 31, "{:#x}", block.address());
        assert_eq!(permissions(block.address()), "rw-p");
    }
}
