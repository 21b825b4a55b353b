//! The executor: where JIT'd code lives and runs.
//!
//! The JIT talks to it only through [`Executor`], whose operations take and return
//! plain numbers and bytes (addresses in the executor's address space, never host
//! pointers), so that each can become one message to another process.

mod entry;
pub mod memory;

use thiserror::Error;

pub use entry::{Abort, JIT_STACK_SIZE, block_interrupts, handle_interrupts, poll_interrupt};

/// An address in the executor's address space.
pub type Addr = u64;

/// A resolved `extern`: its address and, when the runtime knows it, its arity.
pub type ExternSymbol = (Addr, Option<usize>);

/// Failures of executor operations (not of the program being run).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// The memory could not be mapped.
    #[error("cannot map JIT memory: {0}")]
    Memory(String),
    /// No free block is large enough.
    #[error("out of JIT memory (wanted {0} bytes)")]
    OutOfMemory(u64),
    /// An address outside the executor's memory, or not the start of a block.
    #[error("bad executor address {0:#x}")]
    BadAddress(Addr),
    /// An unusable alignment.
    #[error("bad alignment {0}")]
    BadAlignment(u64),
}

// ANCHOR: executor
/// The operations the JIT needs from wherever its code runs.
pub trait Executor {
    /// Reserves `size` bytes of executable memory aligned to `align`.
    fn reserve(&mut self, size: u64, align: u64) -> Result<Addr, ExecError>;
    /// Writes bytes into reserved memory (before it runs).
    fn write(&mut self, addr: Addr, bytes: &[u8]) -> Result<(), ExecError>;
    /// Makes written memory ready to run.
    fn finalize(&mut self, addr: Addr, size: u64) -> Result<(), ExecError>;
    /// Gives a reserved block back.
    fn release(&mut self, addr: Addr) -> Result<(), ExecError>;
    /// Points an 8-byte slot (of a stub) somewhere else, with one atomic store.
    fn set_slot(&mut self, slot: Addr, target: Addr) -> Result<(), ExecError>;
    /// Resolves `extern` declarations: runtime or C math functions only, with their
    /// arity when the runtime knows it.
    fn lookup_externs(&mut self, names: &[&str]) -> Result<Vec<Option<ExternSymbol>>, ExecError>;
    /// Resolves symbols that LLVM itself introduced (`memset`, `sincos`, ...).
    fn lookup_symbols(&mut self, names: &[&str]) -> Result<Vec<Option<Addr>>, ExecError>;
    /// Where trap stubs jump, with their id in `edi`.
    fn trap_entry(&self) -> Addr;
    /// Runs the `double(*)(void)` at `addr`.
    fn run(&mut self, addr: Addr) -> Result<Result<f64, Abort>, ExecError>;
    /// Bytes of memory currently reserved.
    fn memory_in_use(&self) -> u64;
}
// ANCHOR_END: executor

/// The executor of this process.
pub struct InProcess {
    region: memory::Region,
    stack: entry::JitStack,
}

impl InProcess {
    /// Maps the memory and the stack for JIT'd code on the calling thread.
    pub fn new() -> Result<Self, ExecError> {
        let region = memory::Region::new()?;
        entry::set_code_range(region.base(), memory::REGION_SIZE);
        Ok(InProcess {
            region,
            stack: entry::JitStack::new()?,
        })
    }

    /// Address of the first byte of JIT memory.
    pub fn base(&self) -> Addr {
        self.region.base()
    }
}

impl Executor for InProcess {
    fn reserve(&mut self, size: u64, align: u64) -> Result<Addr, ExecError> {
        self.region.reserve(size, align)
    }

    fn write(&mut self, addr: Addr, bytes: &[u8]) -> Result<(), ExecError> {
        self.region.write(addr, bytes)
    }

    fn finalize(&mut self, _addr: Addr, _size: u64) -> Result<(), ExecError> {
        // The executable view already shows what was written; x86 keeps instruction
        // fetch coherent with stores, so there is nothing to flush.
        Ok(())
    }

    fn release(&mut self, addr: Addr) -> Result<(), ExecError> {
        self.region.release(addr)
    }

    fn set_slot(&mut self, slot: Addr, target: Addr) -> Result<(), ExecError> {
        self.region.store_u64(slot, target)
    }

    fn lookup_externs(&mut self, names: &[&str]) -> Result<Vec<Option<ExternSymbol>>, ExecError> {
        Ok(names
            .iter()
            .map(|name| crate::runtime::lookup(name).map(|f| (f.addr(), f.arity)))
            .collect())
    }

    fn lookup_symbols(&mut self, names: &[&str]) -> Result<Vec<Option<Addr>>, ExecError> {
        Ok(names
            .iter()
            .map(|name| crate::runtime::lookup_symbol(name))
            .collect())
    }

    fn trap_entry(&self) -> Addr {
        entry::trap_entry()
    }

    fn memory_in_use(&self) -> u64 {
        self.region.used()
    }

    fn run(&mut self, addr: Addr) -> Result<Result<f64, Abort>, ExecError> {
        if addr.wrapping_sub(self.region.base()) >= memory::REGION_SIZE {
            return Err(ExecError::BadAddress(addr));
        }
        // SAFETY: `addr` lies in JIT memory, where the JIT links only code of type
        // `double(*)(void)` for evaluation entry points; traps leave through
        // `trap_entry`.
        Ok(unsafe { self.stack.run(addr) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(exec: &mut InProcess, code: &[u8]) -> Addr {
        let addr = exec.reserve(code.len() as u64, 16).expect("reserve");
        exec.write(addr, code).expect("write");
        exec.finalize(addr, code.len() as u64).expect("finalize");
        addr
    }

    /// `movabs rax, bits(value); movq xmm0, rax; ret`
    fn returns(value: f64) -> Vec<u8> {
        let mut code = vec![0x48, 0xb8];
        code.extend_from_slice(&value.to_bits().to_le_bytes());
        code.extend_from_slice(&[0x66, 0x48, 0x0f, 0x6e, 0xc0, 0xc3]);
        code
    }

    #[test]
    fn runs_code_traps_and_survives_stack_overflow() {
        let mut exec = InProcess::new().expect("executor");
        let f = load(&mut exec, &returns(42.5));
        assert_eq!(exec.run(f).expect("runs"), Ok(42.5));

        // mov edi, 7; movabs rax, trap; jmp rax
        let mut trap = vec![0xbf, 7, 0, 0, 0, 0x48, 0xb8];
        trap.extend_from_slice(&exec.trap_entry().to_le_bytes());
        trap.extend_from_slice(&[0xff, 0xe0]);
        let t = load(&mut exec, &trap);
        assert_eq!(exec.run(t).expect("runs"), Err(Abort::Trap(7)));

        // call self, forever.
        let r = load(&mut exec, &[0xe8, 0xfb, 0xff, 0xff, 0xff]);
        assert_eq!(
            exec.run(r).expect("runs"),
            Err(Abort::StackOverflow { pc: r })
        );
        assert_eq!(
            exec.run(r).expect("runs again"),
            Err(Abort::StackOverflow { pc: r })
        );
        assert_eq!(exec.run(f).expect("still fine"), Ok(42.5));
        assert!(exec.run(12345).is_err());
    }

    #[test]
    fn slots_redirect_stubs() {
        let mut exec = InProcess::new().expect("executor");
        let a = load(&mut exec, &returns(1.0));
        let b = load(&mut exec, &returns(2.0));
        // jmp *[rip+2]; int3; int3; slot
        let stub = exec.reserve(16, 16).expect("stub");
        let mut code = vec![0xff, 0x25, 2, 0, 0, 0, 0xcc, 0xcc];
        code.extend_from_slice(&a.to_le_bytes());
        exec.write(stub, &code).expect("write");
        assert_eq!(exec.run(stub).expect("runs"), Ok(1.0));
        exec.set_slot(stub + 8, b).expect("set");
        assert_eq!(exec.run(stub).expect("runs"), Ok(2.0));
    }
}
