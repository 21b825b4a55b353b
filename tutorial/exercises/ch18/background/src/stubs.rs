// ANCHOR: head
//! Indirect stubs: every function's permanent address. A stub jumps through its
//! slot; a slot holds the address of the function's trampoline until the function is
//! compiled, and the address of its code afterwards.

use std::io;

use memmap2::MmapMut;
// ANCHOR_END: head

// ANCHOR: layout
/// The bytes of one function's code: its stub (8) and its trampoline (24).
// ANCHOR: entry
pub const ENTRY: usize = 32;
// ANCHOR_END: entry
// ANCHOR: trampoline
/// Where the trampoline starts in an entry.
pub const TRAMPOLINE: usize = 8;
// ANCHOR_END: trampoline

/// How many functions a JIT can define: 1024 entries are 32 KiB of code.
pub const CAPACITY: usize = 1024;

/// The stubs and trampolines, executable, then the slots, writable: one mapping, so
/// that every `jmp *slot(%rip)` reaches its slot with a 32-bit displacement.
///
/// ```text
/// code (r-x)                                 slots (rw-)
/// entry 0: stub 0 | trampoline 0             resolver's address
/// entry 1: stub 1 | trampoline 1             slot 0
/// ...                                        slot 1 ...
/// ```
pub struct Stubs {
    /// The mapping: unmapped when the stubs are dropped.
    _map: MmapMut,
    /// Where it starts.
    base: usize,
    /// How many functions have a stub.
    len: usize,
}
// ANCHOR_END: layout

// ANCHOR: new
impl Stubs {
    /// Every stub and trampoline, written once; each slot holds its trampoline's
    /// address, and every trampoline jumps to `resolver` with its function's id.
    pub fn new(resolver: usize) -> io::Result<Self> {
        let code = CAPACITY * ENTRY; // 32 KiB: a whole number of pages
        let mut map = MmapMut::map_anon(code + 8 + 8 * CAPACITY)?;
        let base = map.as_mut_ptr() as usize;
        let memory = &mut map[..];
        for id in 0..CAPACITY {
            let (stub, trampoline) = (id * ENTRY, id * ENTRY + TRAMPOLINE);
            // Each 32-bit displacement counts from the end of its instruction.
            let rel = |target: usize, end: usize| (target as i32 - end as i32).to_le_bytes();
            // stub: jmp *slot(%rip), then two int3 that nothing reaches.
            memory[stub..stub + 2].copy_from_slice(&[0xff, 0x25]);
            memory[stub + 2..stub + 6].copy_from_slice(&rel(code + 8 + 8 * id, stub + 6));
            memory[stub + 6..stub + 8].copy_from_slice(&[0xcc, 0xcc]);
            // trampoline: push $id; jmp *resolver(%rip), then int3 up to the next entry.
            memory[trampoline] = 0x68;
            memory[trampoline + 1..trampoline + 5].copy_from_slice(&(id as u32).to_le_bytes());
            memory[trampoline + 5..trampoline + 7].copy_from_slice(&[0xff, 0x25]);
            memory[trampoline + 7..trampoline + 11].copy_from_slice(&rel(code, trampoline + 11));
            memory[trampoline + 11..stub + ENTRY].fill(0xcc);
            // The slot starts at the trampoline.
            let slot = code + 8 + 8 * id;
            memory[slot..slot + 8].copy_from_slice(&(base + trampoline).to_le_bytes());
        }
        memory[code..code + 8].copy_from_slice(&resolver.to_le_bytes());
        // SAFETY: `base..base + code` is the start of our own mapping, whole pages;
        // nothing holds a reference into it, and nothing writes it from now on.
        let status =
            unsafe { libc::mprotect(base as *mut _, code, libc::PROT_READ | libc::PROT_EXEC) };
        if status != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Stubs {
            _map: map,
            base,
            len: 0,
        })
    }
    // ANCHOR_END: new

    // ANCHOR: methods
    /// A stub for one more function: its id, or `None` when there is no room.
    pub fn add(&mut self) -> Option<usize> {
        if self.len == CAPACITY {
            return None;
        }
        self.len += 1;
        Some(self.len - 1)
    }

    // ANCHOR: len
    /// How many stubs are taken.
    pub fn len(&self) -> usize {
        self.len
    }
    // ANCHOR_END: len

    /// The address of function `id`'s stub: what its callers call.
    pub fn stub(&self, id: usize) -> usize {
        self.base + id * ENTRY
    }

    /// Points function `id`'s stub at `address`: its code, or its trampoline again.
    pub fn set(&mut self, id: usize, address: usize) {
        assert!(id < self.len, "no stub {id}");
        let slot = self.base + CAPACITY * ENTRY + 8 + 8 * id;
        // SAFETY: the slot is 8 aligned bytes of the writable part of our mapping,
        // which lives as long as `self`; only the stub reads it, on this thread.
        unsafe { (slot as *mut usize).write(address) }
    }

    /// Points function `id`'s stub back at its trampoline: its next call compiles it.
    pub fn reset(&mut self, id: usize) {
        self.set(id, self.base + id * ENTRY + TRAMPOLINE);
    }
    // ANCHOR_END: methods

    // ANCHOR: target
    /// Where function `id`'s stub jumps now.
    #[cfg(test)]
    pub fn target(&self, id: usize) -> usize {
        let slot = self.base + CAPACITY * ENTRY + 8 + 8 * id;
        // SAFETY: as in `set`: 8 aligned bytes of our writable part.
        unsafe { (slot as *const usize).read() }
    }
}
// ANCHOR_END: target

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of entry `id`.
    fn entry(stubs: &Stubs, id: usize) -> [u8; ENTRY] {
        // SAFETY: the code part is readable and holds `CAPACITY` entries.
        unsafe { std::ptr::read((stubs.base + id * ENTRY) as *const [u8; ENTRY]) }
    }

    #[test]
    fn a_stub_jumps_through_its_slot_to_its_trampoline() {
        let mut stubs = Stubs::new(0x1234).unwrap();
        assert_eq!((stubs.add(), stubs.add()), (Some(0), Some(1)));
        let code = CAPACITY * ENTRY;
        // Entry 1 is at 32: its stub's slot is at code + 16, 0x8000 + 16 - 38 = 0x7fea
        // after its end; the resolver's slot is at code, 0x8000 - 51 = 0x7fcd after
        // the end of the trampoline's jump.
        #[rustfmt::skip]
        let expected = [
            0xff, 0x25, 0xea, 0x7f, 0x00, 0x00, 0xcc, 0xcc, // jmp *slot1(%rip)
            0x68, 0x01, 0x00, 0x00, 0x00,                   // push $1
            0xff, 0x25, 0xcd, 0x7f, 0x00, 0x00,             // jmp *resolver(%rip)
            0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
        ];
        assert_eq!(code, 0x8000);
        assert_eq!(entry(&stubs, 1), expected);
        assert_eq!(stubs.target(1), stubs.stub(1) + TRAMPOLINE);
        stubs.set(1, 0x5678);
        assert_eq!(stubs.target(1), 0x5678);
        stubs.reset(1);
        assert_eq!(stubs.target(1), stubs.stub(1) + TRAMPOLINE);
    }

    #[test]
    fn there_is_room_for_capacity_functions() {
        let mut stubs = Stubs::new(0).unwrap();
        let ids: Vec<_> = std::iter::from_fn(|| stubs.add()).collect();
        assert_eq!(ids.len(), CAPACITY);
        assert_eq!(stubs.add(), None);
    }
}
// ANCHOR_END: tests
