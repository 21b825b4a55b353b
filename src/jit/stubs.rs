//! Indirect stubs and their traps, packed into shared blocks of executor memory.
//!
//! Each global gets 48 bytes:
//!
//! ```text
//!  0: ff 25 02 00 00 00   jmp *slot(%rip)        the stub: the name's address
//!  6: cc cc
//!  8: slot                (8 bytes)              code, an extern, or the trap below
//! 16: bf <id>             mov $id, %edi          the trap
//! 21: ff 25 05 00 00 00   jmp *handler(%rip)
//! 27: cc cc cc cc cc
//! 32: handler             (8 bytes)              the executor's trap entry
//! 40: (padding)
//! ```

use crate::executor::{Addr, ExecError, Executor};

/// Bytes per stub and trap.
pub const STUB_BYTES: u64 = 48;
/// Stubs reserved at a time.
const CHUNK: u64 = 64;
const TRAP_OFFSET: u64 = 16;
const SLOT_OFFSET: u64 = 8;

/// A pool of stubs.
#[derive(Default)]
pub struct Stubs {
    free: Vec<Addr>,
}

impl Stubs {
    /// A new stub for global `id`, pointing at its trap.
    pub fn create(&mut self, executor: &mut dyn Executor, id: u32) -> Result<Addr, ExecError> {
        if self.free.is_empty() {
            let block = executor.reserve(STUB_BYTES * CHUNK, 16)?;
            self.free
                .extend((0..CHUNK).rev().map(|i| block + i * STUB_BYTES));
        }
        let Some(stub) = self.free.pop() else {
            return Err(ExecError::OutOfMemory(STUB_BYTES));
        };
        let mut bytes = [0xccu8; STUB_BYTES as usize];
        bytes[0..6].copy_from_slice(&[0xff, 0x25, 0x02, 0, 0, 0]);
        bytes[8..16].copy_from_slice(&(stub + TRAP_OFFSET).to_le_bytes());
        bytes[16] = 0xbf;
        bytes[17..21].copy_from_slice(&id.to_le_bytes());
        bytes[21..27].copy_from_slice(&[0xff, 0x25, 0x05, 0, 0, 0]);
        bytes[32..40].copy_from_slice(&executor.trap_entry().to_le_bytes());
        executor.write(stub, &bytes)?;
        executor.finalize(stub, STUB_BYTES)?;
        Ok(stub)
    }

    /// Points `stub` at `target`.
    pub fn point(
        &self,
        executor: &mut dyn Executor,
        stub: Addr,
        target: Addr,
    ) -> Result<(), ExecError> {
        executor.set_slot(stub + SLOT_OFFSET, target)
    }

    /// Points `stub` at its own trap.
    pub fn trap(&self, executor: &mut dyn Executor, stub: Addr) -> Result<(), ExecError> {
        executor.set_slot(stub + SLOT_OFFSET, stub + TRAP_OFFSET)
    }
}
