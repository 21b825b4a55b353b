// ANCHOR: head
//! What the JIT asks of the place where its code runs: memory, stubs, natives, and
//! running a function. [`Local`] is this process, as in chapter 13; `Remote` (in
//! `remote.rs`) is another process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;

use crate::escape::{self, Stop};
use crate::memory::{Code, Writable};
use crate::stubs::{self, Stubs};
// ANCHOR: use_counters
use crate::tiers::{self, Counters};
// ANCHOR_END: use_counters
use crate::{natives, resolver};
// ANCHOR_END: head

// ANCHOR: error
/// Why the executor could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The executor refused a request (no memory, an unknown block, no stub left).
    #[error("the executor refused: {0}")]
    Refused(String),
    /// The executor process ended, or its pipe broke, or it sent nonsense.
    #[error("the executor crashed ({0}); restarted it, definitions kept")]
    Crashed(String),
    /// A function could not be compiled on its first call: the code that called it
    /// was left, as in chapter 14, and the executor goes on.
    #[error("{0}")]
    Failed(String),
    /// The code filled the executor's JIT stack, and was left.
    #[error("stack overflow")]
    Overflowed,
}
// ANCHOR_END: error

// ANCHOR: trait
/// The resolver's question to the JIT: the code of function `id`, compiled now.
pub type Resolve<'a> = dyn FnMut(usize) -> Result<usize, String> + 'a;

/// Where JIT'd code lives and runs. Its methods take `&self`: while `run` is in
/// progress, the JIT calls the others to link a function that the code calls.
pub trait Executor {
    /// Reserves `len` writable bytes; returns their address.
    fn reserve(&self, len: usize) -> Result<usize, ExecError>;
    /// Copies `bytes` to the start of the block at `address`.
    fn write(&self, address: usize, bytes: &[u8]) -> Result<(), ExecError>;
    /// Makes the block at `address` executable, and never writable again.
    fn finalize(&self, address: usize) -> Result<(), ExecError>;
    /// Unmaps the block at `address`: nothing may call into it any more.
    fn release(&self, address: usize) -> Result<(), ExecError>;
    /// Takes one more stub: its id.
    fn add_stub(&self) -> Result<usize, ExecError>;
    /// The address of stub `id`: what the function's callers call.
    fn stub(&self, id: usize) -> usize;
    /// Points stub `id` at `address`, or, for `None`, back at its trampoline.
    fn set_slot(&self, id: usize, address: Option<usize>) -> Result<(), ExecError>;
    /// The address of the native `name`, if there is one.
    fn native(&self, name: &str) -> Option<usize>;
    /// Calls the function `() -> f64` at `address`, finalized code of the JIT's. A
    /// first call of a function in it asks `resolve` for the function's code.
    fn run(&self, address: usize, resolve: &mut Resolve<'_>) -> Result<f64, ExecError>;
    /// Starts afresh after a crash: no blocks, no stubs taken.
    fn restart(&self) -> Result<(), ExecError>;
}
// ANCHOR_END: trait

// ANCHOR: local
/// A block of the JIT's memory: being written, or finished code (kept only to be
/// dropped, which unmaps it).
enum Block {
    Writable(Writable),
    Code { _code: Code },
}

/// The executor in this process: what chapter 13's JIT did itself.
pub struct Local {
    /// Every function's stub, trampoline and slot.
    stubs: RefCell<Stubs>,
    /// The blocks reserved and not released, by address.
    blocks: RefCell<HashMap<usize, Block>>,
    // ANCHOR: counters_field
    /// Each stub's call counter, for tier-0 code.
    counters: Counters,
    // ANCHOR_END: counters_field
}

impl Local {
    /// An executor with its stubs, whose trampolines jump to our resolver.
    pub fn new() -> io::Result<Self> {
        // ANCHOR: local_prepare
        // This thread runs the code: its JIT stack, and the overflow handler.
        escape::prepare()?;
        // ANCHOR_END: local_prepare
        Ok(Local {
            stubs: RefCell::new(Stubs::new(resolver::entry())?),
            blocks: RefCell::new(HashMap::new()),
            // ANCHOR: counters_new
            counters: Counters::new(),
            // ANCHOR_END: counters_new
        })
    }

    /// Where stub `id` jumps now.
    #[cfg(test)]
    pub fn target(&self, id: usize) -> usize {
        self.stubs.borrow().target(id)
    }

    // ANCHOR: counters_get
    /// The call counters.
    #[cfg(test)]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    // ANCHOR_END: counters_get
}
// ANCHOR_END: local

// ANCHOR: local_memory
/// A refusal that names the address it is about.
fn no_block(address: usize) -> ExecError {
    ExecError::Refused(format!("no writable block at {address:#x}"))
}

impl Executor for Local {
    fn reserve(&self, len: usize) -> Result<usize, ExecError> {
        let block = Writable::new(len).map_err(|err| ExecError::Refused(err.to_string()))?;
        let address = block.address();
        self.blocks
            .borrow_mut()
            .insert(address, Block::Writable(block));
        Ok(address)
    }

    fn write(&self, address: usize, bytes: &[u8]) -> Result<(), ExecError> {
        let mut blocks = self.blocks.borrow_mut();
        let Some(Block::Writable(block)) = blocks.get_mut(&address) else {
            return Err(no_block(address));
        };
        let memory = block.bytes();
        if bytes.len() > memory.len() {
            let len = bytes.len();
            return Err(ExecError::Refused(format!(
                "{len} bytes: more than the block at {address:#x}"
            )));
        }
        memory[..bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    fn finalize(&self, address: usize) -> Result<(), ExecError> {
        let mut blocks = self.blocks.borrow_mut();
        let Some(Block::Writable(block)) = blocks.remove(&address) else {
            return Err(no_block(address));
        };
        let code = block
            .finish()
            .map_err(|err| ExecError::Refused(err.to_string()))?;
        blocks.insert(address, Block::Code { _code: code });
        Ok(())
    }

    fn release(&self, address: usize) -> Result<(), ExecError> {
        match self.blocks.borrow_mut().remove(&address) {
            Some(_) => Ok(()),
            None => Err(no_block(address)),
        }
    }
    // ANCHOR_END: local_memory

    // ANCHOR: local_stubs
    fn add_stub(&self) -> Result<usize, ExecError> {
        let full = || ExecError::Refused(format!("all {} stubs are taken", stubs::CAPACITY));
        self.stubs.borrow_mut().add().ok_or_else(full)
    }

    fn stub(&self, id: usize) -> usize {
        self.stubs.borrow().stub(id)
    }

    fn set_slot(&self, id: usize, address: Option<usize>) -> Result<(), ExecError> {
        let mut stubs = self.stubs.borrow_mut();
        if id >= stubs.len() {
            return Err(ExecError::Refused(format!("no stub {id}")));
        }
        match address {
            Some(address) => stubs.set(id, address),
            None => stubs.reset(id),
        }
        Ok(())
    }

    fn native(&self, name: &str) -> Option<usize> {
        // ANCHOR: native_counters
        if name == tiers::COUNTERS {
            return Some(self.counters.address());
        }
        // ANCHOR_END: native_counters
        natives::lookup(name).map(|(_, address)| address)
    }
    // ANCHOR_END: local_stubs

    // ANCHOR: local_run
    fn run(&self, address: usize, resolve: &mut Resolve<'_>) -> Result<f64, ExecError> {
        // SAFETY: the JIT gives the address of a function of no parameters that
        // returns a double, in a block it finalized: executable code.
        let function: unsafe extern "C" fn() -> f64 = unsafe { std::mem::transmute(address) };
        // No borrow of `self` is held while the code runs: a first call in it
        // reaches `resolve`, which calls our other methods.
        // SAFETY: as above; every way out of the code is a return or an escape.
        let outcome = resolver::with_resolver(resolve, || unsafe { escape::run(function) });
        match outcome {
            Ok(value) => Ok(value),
            Err(Stop::Failed) => Err(ExecError::Failed(resolver::take_failure())),
            Err(Stop::Overflowed) => Err(ExecError::Overflowed),
        }
    }

    fn restart(&self) -> Result<(), ExecError> {
        Err(ExecError::Refused("this process cannot restart".into()))
    }
}
// ANCHOR_END: local_run

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_reserved_written_finalized_and_run() {
        let local = Local::new().unwrap();
        let address = local.reserve(64).unwrap();
        // movsd xmm0, [rip + 1]; ret; then the double 42.0.
        let mut code = vec![0xf2, 0x0f, 0x10, 0x05, 1, 0, 0, 0, 0xc3];
        code.extend_from_slice(&42.0f64.to_le_bytes());
        local.write(address, &code).unwrap();
        local.finalize(address).unwrap();
        // Finished code is never written again.
        assert!(local.write(address, &code).is_err());
        let mut resolve = |_: usize| -> Result<usize, String> { unreachable!() };
        assert_eq!(local.run(address, &mut resolve).unwrap(), 42.0);
        local.release(address).unwrap();
        assert!(local.release(address).is_err());
    }

    #[test]
    fn a_request_about_nothing_is_refused() {
        let local = Local::new().unwrap();
        assert!(local.write(0x1000, &[0xc3]).is_err());
        assert!(local.finalize(0x1000).is_err());
        assert!(local.set_slot(0, Some(0x1000)).is_err());
        let id = local.add_stub().unwrap();
        assert!(local.set_slot(id, Some(0x1000)).is_ok());
        let block = local.reserve(8).unwrap();
        assert!(local.write(block, &[0; 4097]).is_err());
    }
}
// ANCHOR_END: tests
