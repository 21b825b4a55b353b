// ANCHOR: head
//! Executable memory, never writable and executable at once: a [`Writable`] block
//! is filled in, then becomes a [`Code`] block that can run and no longer be written.

use std::io;

use memmap2::{Mmap, MmapMut};
// ANCHOR_END: head

// ANCHOR: writable
/// Fresh memory, readable and writable but not executable: the linker fills it in.
pub struct Writable(MmapMut);

impl Writable {
    /// `len` bytes of zeroes (rounded up to whole pages by the kernel).
    pub fn new(len: usize) -> io::Result<Self> {
        // A mapping of no bytes is an error; an object with nothing to load is not.
        MmapMut::map_anon(len.max(1)).map(Writable)
    }

    /// Where the block starts: the addresses the linker computes are based on it.
    pub fn address(&self) -> usize {
        self.0.as_ptr() as usize
    }

    /// The bytes, to copy sections in and patch relocations.
    pub fn bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Makes the block readable and executable, and no longer writable.
    pub fn finish(self) -> io::Result<Code> {
        self.0.make_exec().map(|map| Code { _map: map })
    }
}
// ANCHOR_END: writable

// ANCHOR: code
/// Finished machine code: readable and executable, never writable again (the block
/// stays where it was). Dropping it unmaps the memory, so nothing may call into it
/// afterwards.
pub struct Code {
    /// Kept only to be dropped.
    _map: Mmap,
}
// ANCHOR_END: code

// ANCHOR: tests
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
}
// ANCHOR_END: tests
