//! The traits the JIT talks to: where code is placed ([`Loader`]) and where it runs
//! ([`Executor`]). They carry only numbers and bytes, never host pointers, so that
//! each call can become one message to another process.

use crate::{Abort, Addr, ExecError, ExternSymbol, Termination};

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
    /// Creates a chunk of stubs for ids `first..first + 64` (see
    /// `toy_executor::stubs`), each pointing at its trampoline; returns its address.
    fn create_stubs(&mut self, first: u32) -> Result<Addr, ExecError>;
    /// Resolves `extern` declarations: runtime or C math functions only, with their
    /// arity when the runtime knows it.
    fn lookup_externs(&mut self, names: &[&str]) -> Result<Vec<Option<ExternSymbol>>, ExecError>;
    /// Resolves symbols that LLVM itself introduced (`memset`, `sincos`, ...).
    fn lookup_symbols(&mut self, names: &[&str]) -> Result<Vec<Option<Addr>>, ExecError>;
    /// Bytes of memory currently reserved.
    fn memory_in_use(&mut self) -> Result<u64, ExecError>;
    /// Registers an ELF object describing the code of the block at `addr` (debug
    /// sections, section addresses filled in) with GDB's JIT interface in the
    /// executor's process, until the block is released.
    fn register_debug(&mut self, addr: Addr, object: Vec<u8>) -> Result<(), ExecError>;
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
    /// The id of the process that runs the code.
    fn pid(&self) -> u32 {
        std::process::id()
    }
    /// How the executor ended, if it did, or why `toy` ended it (it stopped
    /// answering, or lied): then only [`Executor::restart`] helps.
    fn terminated(&self) -> Option<Termination> {
        None
    }
    /// Replaces a dead executor with a fresh one (empty memory); `false` if this kind
    /// of executor cannot be replaced.
    fn restart(&mut self) -> Result<bool, ExecError> {
        Ok(false)
    }
}
// ANCHOR_END: executor
