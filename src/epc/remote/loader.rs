//! The [`Loader`] of a remote executor: memory changes batched, look-ups batched and
//! cached, and every answer checked against what was asked.

use std::collections::HashMap;

use toy_shared::executor::Loader;
use toy_shared::wire::{Message, Op};
use toy_shared::{Addr, ExecError, ExternSymbol};

use super::check::count;
use super::connection::Connection;

/// Flush the batch once it holds this many bytes.
const BATCH_BYTES: usize = 1 << 20;

/// The names not looked up yet.
fn uncached<T>(names: &[&str], cache: &HashMap<String, T>) -> Vec<String> {
    names
        .iter()
        .filter(|n| !cache.contains_key(**n))
        .map(|n| n.to_string())
        .collect()
}

impl Connection {
    fn push(&mut self, op: Op) -> Result<(), ExecError> {
        // Each op counts too, so a batch stays far below the executor's list budget
        // (`toy_shared::wire::bounded`).
        self.batch_bytes += size_of::<Op>();
        if let Op::Write { bytes, .. } | Op::Debug { bytes, .. } = &op {
            self.batch_bytes += bytes.len();
        }
        self.batch.push(op);
        if self.batch_bytes >= BATCH_BYTES {
            self.sync()?;
        }
        Ok(())
    }

    /// The address answering `message`, and the bytes in use it reports.
    fn address(&mut self, message: Message) -> Result<Addr, ExecError> {
        let what = message.name();
        match self.call(message)? {
            Message::Address { addr, in_use } => {
                self.in_use = self.check(self.ledger.in_use(in_use))?;
                Ok(addr)
            }
            other => Err(self.unexpected(what, &other)),
        }
    }
}

impl Loader for Connection {
    fn reserve(&mut self, size: u64, align: u64) -> Result<Addr, ExecError> {
        let addr = self.address(Message::Reserve { size, align })?;
        let checked = self.ledger.reserved(addr, size, align);
        self.check(checked)?;
        Ok(addr)
    }

    fn write(&mut self, addr: Addr, bytes: &[u8]) -> Result<(), ExecError> {
        self.push(Op::Write {
            addr,
            bytes: bytes.to_vec(),
        })
    }

    fn finalize(&mut self, addr: Addr, size: u64) -> Result<(), ExecError> {
        self.push(Op::Finalize { addr, size })
    }

    fn release(&mut self, addr: Addr) -> Result<(), ExecError> {
        self.ledger.released(addr);
        self.push(Op::Release { addr })
    }

    fn set_slot(&mut self, slot: Addr, target: Addr) -> Result<(), ExecError> {
        self.push(Op::SetSlot { slot, target })
    }

    fn register_debug(&mut self, addr: Addr, object: Vec<u8>) -> Result<(), ExecError> {
        self.push(Op::Debug {
            addr,
            bytes: object,
        })
    }

    fn create_stubs(&mut self, first: u32) -> Result<Addr, ExecError> {
        let addr = self.address(Message::CreateStubs { first })?;
        let checked = self.ledger.stubs_created(addr, first);
        self.check(checked)?;
        Ok(addr)
    }

    fn lookup_externs(&mut self, names: &[&str]) -> Result<Vec<Option<ExternSymbol>>, ExecError> {
        let missing = uncached(names, &self.externs);
        if !missing.is_empty() {
            let found = match self.call(Message::LookupExterns(missing.clone()))? {
                Message::Externs(found) => self.check(count(found, missing.len()))?,
                other => return Err(self.unexpected("LookupExterns", &other)),
            };
            for (name, f) in missing.into_iter().zip(found) {
                let f = f.map(|(addr, arity)| (addr, arity.map(|a| a as usize)));
                self.externs.insert(name, f);
            }
        }
        Ok(names
            .iter()
            .map(|n| self.externs.get(*n).copied().flatten())
            .collect())
    }

    fn lookup_symbols(&mut self, names: &[&str]) -> Result<Vec<Option<Addr>>, ExecError> {
        let missing = uncached(names, &self.symbols);
        if !missing.is_empty() {
            let found = match self.call(Message::LookupSymbols(missing.clone()))? {
                Message::Symbols(found) => self.check(count(found, missing.len()))?,
                other => return Err(self.unexpected("LookupSymbols", &other)),
            };
            self.symbols.extend(missing.into_iter().zip(found));
        }
        Ok(names
            .iter()
            .map(|n| self.symbols.get(*n).copied().flatten())
            .collect())
    }

    fn memory_in_use(&mut self) -> Result<u64, ExecError> {
        self.sync()?;
        Ok(self.in_use)
    }
}
