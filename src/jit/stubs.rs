//! The JIT's view of the stubs: which chunk holds which ids (the executor writes them;
//! see [`toy_executor::stubs`] for the layout).

use toy_executor::stubs::{CHUNK, CHUNK_BYTES, SLOT_OFFSET, STUB_BYTES, TRAMPOLINE_OFFSET};

use toy_shared::executor::Loader;
use toy_shared::{Addr, ExecError};

/// The stubs of all globals, by id.
#[derive(Default)]
pub struct Stubs {
    chunks: Vec<Addr>,
}

impl Stubs {
    /// The stub of global `id`, creating its chunk if needed; new stubs point at their
    /// trampolines.
    pub fn create(&mut self, loader: &mut dyn Loader, id: u32) -> Result<Addr, ExecError> {
        while self.chunks.len() as u64 * CHUNK <= u64::from(id) {
            let first = u32::try_from(self.chunks.len() as u64 * CHUNK)
                .map_err(|_| ExecError::OutOfMemory(CHUNK_BYTES))?;
            self.chunks.push(loader.create_stubs(first)?);
        }
        Ok(self.stub(id))
    }

    /// The stub of global `id`, which must have been created.
    fn stub(&self, id: u32) -> Addr {
        let id = u64::from(id);
        self.chunks[(id / CHUNK) as usize] + (id % CHUNK) * STUB_BYTES
    }

    /// Points the stub of `id` at `target`.
    pub fn point(&self, loader: &mut dyn Loader, id: u32, target: Addr) -> Result<(), ExecError> {
        loader.set_slot(self.stub(id) + SLOT_OFFSET, target)
    }

    /// The trampoline of `id` (which must have been created): calling it enters the
    /// resolver as a first call of `id` does.
    pub fn trampoline(&self, id: u32) -> Addr {
        self.stub(id) + TRAMPOLINE_OFFSET
    }

    /// Points the stub of `id` back at its trampoline.
    pub fn reset(&self, loader: &mut dyn Loader, id: u32) -> Result<(), ExecError> {
        loader.set_slot(self.stub(id) + SLOT_OFFSET, self.trampoline(id))
    }

    /// Forgets every chunk (after the executor was replaced by a fresh one).
    pub fn clear(&mut self) {
        self.chunks.clear();
    }

    /// Bytes of executor memory the stubs take.
    pub fn memory(&self) -> u64 {
        self.chunks.len() as u64 * CHUNK_BYTES
    }
}
