//! Blocks of function code and their lifetimes. A block (one object's code: one
//! function, or a batch of them) is released with the last global whose code lies in
//! it. Code replaced while an evaluation runs may still be on the stack, so it
//! *retires* and is released only when the evaluation has ended.

use foldhash::{HashMap, HashMapExt};

use toy_shared::executor::Loader;
use toy_shared::{Addr, ExecError};

/// Which blocks hold whose code, and which wait for the evaluation to end.
pub struct Blocks {
    /// How many globals' code lies in each block.
    users: HashMap<Addr, u32>,
    /// Blocks replaced while code could still be running them.
    retired: Vec<Addr>,
}

impl Blocks {
    /// No blocks.
    pub fn new() -> Self {
        Blocks {
            users: HashMap::new(),
            retired: Vec::new(),
        }
    }

    /// Counts one more global whose code lies in `block`.
    pub fn adopt(&mut self, block: Addr) {
        *self.users.entry(block).or_insert(0) += 1;
    }

    /// Drops one user of `block`, releasing it with its last.
    pub fn drop_user(&mut self, loader: &mut dyn Loader, block: Addr) -> Result<(), ExecError> {
        match self.users.get_mut(&block) {
            Some(users) if *users > 1 => {
                *users -= 1;
                Ok(())
            }
            _ => {
                self.users.remove(&block);
                loader.release(block)
            }
        }
    }

    /// Drops one user of `block` once the running evaluation has ended.
    pub fn retire(&mut self, block: Addr) {
        self.retired.push(block);
    }

    /// Releases code replaced during an evaluation that has now ended.
    pub fn release_retired(&mut self, loader: &mut dyn Loader) -> Result<(), ExecError> {
        for block in std::mem::take(&mut self.retired) {
            self.drop_user(loader, block)?;
        }
        Ok(())
    }

    /// Forgets every block (their memory went with a replaced executor).
    pub fn clear(&mut self) {
        self.users.clear();
        self.retired.clear();
    }
}
