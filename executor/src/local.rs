//! The executor's operations, on this process: what `toy` uses in-process
//! ([`InProcess`]) and what `toy-executor` serves to a remote `toy` ([`Local`]).

use std::collections::HashMap;

use toy_shared::executor::{Executor, Loader, Resolve};
use toy_shared::{Abort, Addr, ExecError, ExternSymbol};

use crate::entry::{self, JitStack};
use crate::gdb;
use crate::memory::{self, Region};
use crate::runtime;
use crate::signals;
use crate::stubs::{self, CHUNK_BYTES};

/// Memory, stubs and look-ups of this process.
pub struct LocalLoader {
    region: Region,
    /// Debug objects registered with GDB, by the block whose code they describe.
    debug: HashMap<Addr, gdb::Registration>,
}

impl Loader for LocalLoader {
    fn reserve(&mut self, size: u64, align: u64) -> Result<Addr, ExecError> {
        self.region.reserve(size, align)
    }

    fn write(&mut self, addr: Addr, bytes: &[u8]) -> Result<(), ExecError> {
        self.region.write(addr, bytes)
    }

    /// Nothing to do here: the executable view already shows what was written and
    /// x86 keeps instruction fetch coherent.
    fn finalize(&mut self, _addr: Addr, _size: u64) -> Result<(), ExecError> {
        Ok(())
    }

    fn release(&mut self, addr: Addr) -> Result<(), ExecError> {
        // A block GDB was told about is unregistered but never reused: GDB may still
        // hold a breakpoint in it and write the byte it saved back later, into whatever
        // code came next (seen: the next expression's constant corrupted). Only `-g`
        // registers code, and a debugging session can afford the memory.
        if self.debug.remove(&addr).is_some() {
            return Ok(());
        }
        self.region.release(addr)
    }

    fn set_slot(&mut self, slot: Addr, target: Addr) -> Result<(), ExecError> {
        self.region.store_u64(slot, target)
    }

    fn create_stubs(&mut self, first: u32) -> Result<Addr, ExecError> {
        let chunk = self.region.reserve(CHUNK_BYTES, 16)?;
        let bytes = stubs::chunk_bytes(chunk, first, entry::resolver_entry());
        self.region.write(chunk, &bytes)?;
        Ok(chunk)
    }

    fn lookup_externs(&mut self, names: &[&str]) -> Result<Vec<Option<ExternSymbol>>, ExecError> {
        Ok(names
            .iter()
            .map(|name| runtime::lookup(name).map(|f| (f.addr(), Some(f.arity))))
            .collect())
    }

    fn lookup_symbols(&mut self, names: &[&str]) -> Result<Vec<Option<Addr>>, ExecError> {
        Ok(names
            .iter()
            .map(|name| runtime::lookup_symbol(name))
            .collect())
    }

    fn memory_in_use(&mut self) -> Result<u64, ExecError> {
        Ok(self.region.used())
    }

    fn register_debug(&mut self, addr: Addr, object: Vec<u8>) -> Result<(), ExecError> {
        if !self.region.is_block(addr) {
            return Err(ExecError::BadAddress(addr));
        }
        if self.debug.is_empty() {
            self.region.allow_debugger()?;
        }
        self.debug.insert(addr, gdb::register(object));
        Ok(())
    }
}

impl LocalLoader {
    /// Address of the first byte of JIT memory.
    pub fn base(&self) -> Addr {
        self.region.base()
    }

    /// Where trampolines jump: the resolver.
    pub fn resolver(&self) -> Addr {
        entry::resolver_entry()
    }
}

/// This process's executor: memory, and a stack to run JIT'd code on (on the thread
/// that created it).
pub struct Local {
    /// Memory, stubs and look-ups.
    pub loader: LocalLoader,
    stack: JitStack,
}

impl Local {
    /// Maps the memory and the stack for JIT'd code on the calling thread.
    pub fn new() -> Result<Self, ExecError> {
        let region = Region::new()?;
        signals::set_code_range(region.base(), memory::REGION_SIZE);
        Ok(Local {
            loader: LocalLoader {
                region,
                debug: HashMap::new(),
            },
            stack: JitStack::new()?,
        })
    }

    /// Runs the `double(*)(void)` at `addr`, calling `resolve` (with the loader) for
    /// each trampoline hit: it returns the code to continue at, or `None` to abandon
    /// the evaluation with [`Abort::Unresolved`].
    pub fn run(
        &mut self,
        addr: Addr,
        resolve: &mut dyn FnMut(&mut LocalLoader, u32) -> Option<Addr>,
    ) -> Result<Result<f64, Abort>, ExecError> {
        if addr.wrapping_sub(self.loader.base()) >= memory::REGION_SIZE {
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

/// The executor of the `toy` process itself: JIT'd code runs on the calling thread.
pub struct InProcess {
    local: Local,
}

impl InProcess {
    /// Maps the memory and the stack for JIT'd code on the calling thread.
    pub fn new() -> Result<Self, ExecError> {
        Ok(InProcess {
            local: Local::new()?,
        })
    }

    /// Address of the first byte of JIT memory.
    pub fn base(&self) -> Addr {
        self.local.loader.base()
    }
}

impl Executor for InProcess {
    fn loader(&mut self) -> &mut dyn Loader {
        &mut self.local.loader
    }

    fn run(
        &mut self,
        addr: Addr,
        resolve: &mut Resolve<'_>,
    ) -> Result<Result<f64, Abort>, ExecError> {
        self.local.run(addr, &mut |loader, id| resolve(loader, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(exec: &mut Local, code: &[u8]) -> Addr {
        let addr = exec.loader.reserve(code.len() as u64, 16).expect("reserve");
        exec.loader.write(addr, code).expect("write");
        addr
    }

    /// `movabs rax, bits(value); movq xmm0, rax; ret`
    fn returns(value: f64) -> Vec<u8> {
        let mut code = vec![0x48, 0xb8];
        code.extend_from_slice(&value.to_bits().to_le_bytes());
        code.extend_from_slice(&[0x66, 0x48, 0x0f, 0x6e, 0xc0, 0xc3]);
        code
    }

    fn never(_: &mut LocalLoader, _: u32) -> Option<Addr> {
        None
    }

    extern "C" fn eight(a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, g: f64, h: f64) -> f64 {
        a - b * 2.0 + c * 3.0 - d * 4.0 + e * 5.0 - f * 6.0 + g * 7.0 - h * 8.0
    }

    #[test]
    fn call_thunks_pass_eight_arguments_in_vector_registers() {
        let mut exec = Local::new().expect("executor");
        let args = [1.5, -2.0, 0.1, 7.0, 1e10, -0.0, 3.25, 0.2];
        let thunk = stubs::call_thunk(eight as *const () as Addr, &args).expect("eight fit");
        let addr = load(&mut exec, &thunk);
        let [a, b, c, d, e, f, g, h] = args;
        assert_eq!(
            exec.run(addr, &mut never).expect("runs"),
            Ok(eight(a, b, c, d, e, f, g, h))
        );
        assert!(stubs::call_thunk(0, &[0.0; 9]).is_none());
    }

    #[test]
    fn runs_code_resolves_and_survives_stack_overflow() {
        let mut exec = Local::new().expect("executor");
        let f = load(&mut exec, &returns(42.5));
        assert_eq!(exec.run(f, &mut never).expect("runs"), Ok(42.5));

        // Stubs 128..192: calling stub 130 lands in its trampoline, then the resolver.
        let chunk = exec.loader.create_stubs(128).expect("stubs");
        let stub = chunk + 2 * stubs::STUB_BYTES;
        assert_eq!(
            exec.run(stub, &mut never).expect("runs"),
            Err(Abort::Unresolved(130))
        );
        let mut seen = Vec::new();
        let mut to_f = |_: &mut LocalLoader, id| {
            seen.push(id);
            Some(f)
        };
        assert_eq!(exec.run(stub, &mut to_f).expect("runs"), Ok(42.5));
        assert_eq!(seen, [130]);
        exec.loader
            .set_slot(stub + stubs::SLOT_OFFSET, f)
            .expect("set slot");
        assert_eq!(exec.run(stub, &mut never).expect("runs"), Ok(42.5));

        // call self, forever.
        let r = load(&mut exec, &[0xe8, 0xfb, 0xff, 0xff, 0xff]);
        for _ in 0..2 {
            assert_eq!(
                exec.run(r, &mut never).expect("runs"),
                Err(Abort::StackOverflow { pc: r })
            );
        }
        assert_eq!(exec.run(f, &mut never).expect("still fine"), Ok(42.5));
        assert!(exec.run(12345, &mut never).is_err());
    }
}
