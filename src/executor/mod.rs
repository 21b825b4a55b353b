//! The executor: where JIT'd code lives and runs.
//!
//! The JIT talks to it only through [`Executor`], whose operations take and return
//! plain numbers and bytes (addresses in the executor's address space, never host
//! pointers), so that each can become one message to another process.

mod entry;
pub mod memory;

use thiserror::Error;

pub use entry::{
    Abort, JIT_STACK_SIZE, ResolveFn, block_interrupts, handle_interrupts, poll_interrupt,
};

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
    /// `run` was called while code was already running on this thread.
    #[error("an evaluation is already running")]
    Reentered,
}

// ANCHOR: executor
/// Everything the JIT does to the executor besides running code: memory, stub slots
/// and symbol look-ups.
pub trait Loader {
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
    /// Where trampolines jump after pushing their function's id: the resolver.
    fn resolver(&self) -> Addr;
    /// Bytes of memory currently reserved.
    fn memory_in_use(&self) -> u64;
}

/// What [`Executor::run`] calls when running code reaches a trampoline: given the
/// loader and the function's id, the address to continue at (the function's code,
/// which it may compile and load first), or `None` to abandon the evaluation.
pub type Resolve<'a> = dyn FnMut(&mut dyn Loader, u32) -> Option<Addr> + 'a;

/// Where JIT'd code lives and runs.
pub trait Executor {
    /// The loader, to place code and point stubs.
    fn loader(&mut self) -> &mut dyn Loader;
    /// Runs the `double(*)(void)` at `addr`, calling `resolve` for each trampoline hit.
    fn run(
        &mut self,
        addr: Addr,
        resolve: &mut Resolve<'_>,
    ) -> Result<Result<f64, Abort>, ExecError>;
}
// ANCHOR_END: executor

/// Memory and look-ups of this process.
pub struct LocalLoader {
    region: memory::Region,
}

impl Loader for LocalLoader {
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

    fn resolver(&self) -> Addr {
        entry::resolver_entry()
    }

    fn memory_in_use(&self) -> u64 {
        self.region.used()
    }
}

/// The executor of this process: JIT'd code runs on the calling thread.
pub struct InProcess {
    loader: LocalLoader,
    stack: entry::JitStack,
}

impl InProcess {
    /// Maps the memory and the stack for JIT'd code on the calling thread.
    pub fn new() -> Result<Self, ExecError> {
        let region = memory::Region::new()?;
        entry::set_code_range(region.base(), memory::REGION_SIZE);
        Ok(InProcess {
            loader: LocalLoader { region },
            stack: entry::JitStack::new()?,
        })
    }

    /// Address of the first byte of JIT memory.
    pub fn base(&self) -> Addr {
        self.loader.region.base()
    }
}

impl Executor for InProcess {
    fn loader(&mut self) -> &mut dyn Loader {
        &mut self.loader
    }

    fn run(
        &mut self,
        addr: Addr,
        resolve: &mut Resolve<'_>,
    ) -> Result<Result<f64, Abort>, ExecError> {
        if addr.wrapping_sub(self.base()) >= memory::REGION_SIZE {
            return Err(ExecError::BadAddress(addr));
        }
        let loader = &mut self.loader;
        let mut resolve = |id| resolve(loader, id);
        // SAFETY: `addr` lies in JIT memory, where the JIT links only code of type
        // `double(*)(void)` for evaluation entry points; trampolines lead to the
        // resolver, which calls `resolve`.
        unsafe { self.stack.run(addr, &mut resolve) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(exec: &mut InProcess, code: &[u8]) -> Addr {
        let loader = exec.loader();
        let addr = loader.reserve(code.len() as u64, 16).expect("reserve");
        loader.write(addr, code).expect("write");
        loader.finalize(addr, code.len() as u64).expect("finalize");
        addr
    }

    /// `movabs rax, bits(value); movq xmm0, rax; ret`
    fn returns(value: f64) -> Vec<u8> {
        let mut code = vec![0x48, 0xb8];
        code.extend_from_slice(&value.to_bits().to_le_bytes());
        code.extend_from_slice(&[0x66, 0x48, 0x0f, 0x6e, 0xc0, 0xc3]);
        code
    }

    /// `push id; movabs rax, resolver; jmp rax`: a trampoline.
    fn trampoline(exec: &mut InProcess, id: u8) -> Vec<u8> {
        let mut code = vec![0x6a, id, 0x48, 0xb8];
        code.extend_from_slice(&exec.loader().resolver().to_le_bytes());
        code.extend_from_slice(&[0xff, 0xe0]);
        code
    }

    fn never(_: &mut dyn Loader, _: u32) -> Option<Addr> {
        None
    }

    #[test]
    fn runs_code_resolves_and_survives_stack_overflow() {
        let mut exec = InProcess::new().expect("executor");
        let f = load(&mut exec, &returns(42.5));
        assert_eq!(exec.run(f, &mut never).expect("runs"), Ok(42.5));

        let code = trampoline(&mut exec, 7);
        let t = load(&mut exec, &code);
        assert_eq!(
            exec.run(t, &mut never).expect("runs"),
            Err(Abort::Unresolved(7))
        );
        let mut seen = Vec::new();
        let mut to_f = |_: &mut dyn Loader, id| {
            seen.push(id);
            Some(f)
        };
        assert_eq!(exec.run(t, &mut to_f).expect("runs"), Ok(42.5));
        assert_eq!(seen, [7]);

        // call self, forever.
        let r = load(&mut exec, &[0xe8, 0xfb, 0xff, 0xff, 0xff]);
        assert_eq!(
            exec.run(r, &mut never).expect("runs"),
            Err(Abort::StackOverflow { pc: r })
        );
        assert_eq!(
            exec.run(r, &mut never).expect("runs again"),
            Err(Abort::StackOverflow { pc: r })
        );
        assert_eq!(exec.run(f, &mut never).expect("still fine"), Ok(42.5));
        assert!(exec.run(12345, &mut never).is_err());
    }

    #[test]
    fn slots_redirect_stubs() {
        let mut exec = InProcess::new().expect("executor");
        let a = load(&mut exec, &returns(1.0));
        let b = load(&mut exec, &returns(2.0));
        // jmp *[rip+2]; int3; int3; slot
        let mut code = vec![0xff, 0x25, 2, 0, 0, 0, 0xcc, 0xcc];
        code.extend_from_slice(&a.to_le_bytes());
        let stub = load(&mut exec, &code);
        assert_eq!(exec.run(stub, &mut never).expect("runs"), Ok(1.0));
        exec.loader().set_slot(stub + 8, b).expect("set");
        assert_eq!(exec.run(stub, &mut never).expect("runs"), Ok(2.0));
    }
}
