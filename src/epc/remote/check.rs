//! Validation of what the executor says, at the wire: the JIT core never sees an id,
//! address or count that `toy` did not ask for. A lie ([`Lie`], in `toy-shared` because
//! the executor's [`Termination`](toy_shared::Termination) carries it) retires the
//! executor.

use std::collections::BTreeMap;

use toy_executor::memory::REGION_SIZE;
use toy_executor::stubs::{CHUNK, CHUNK_BYTES};
use toy_shared::wire::VERSION;
use toy_shared::{Addr, Lie};

/// What `toy` asked of one executor: its memory, the blocks it reserved there and the
/// ids it created stubs for.
#[derive(Debug, Default)]
pub struct Ledger {
    base: Addr,
    /// Live blocks: start → size.
    blocks: BTreeMap<Addr, u64>,
    /// Ids below this have stubs.
    ids: u64,
}

/// The host's target triple without its vendor (`x86_64-linux-gnu`): the code `toy`
/// compiles runs on any vendor's.
fn without_vendor(triple: &str) -> String {
    let parts: Vec<&str> = triple.split('-').collect();
    match parts.as_slice() {
        [arch, _vendor, rest @ ..] if !rest.is_empty() => format!("{arch}-{}", rest.join("-")),
        _ => triple.to_string(),
    }
}

/// This machine's page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

impl Ledger {
    /// Checks a `Welcome` against what `toy` expects: protocol, target, page size, and
    /// a JIT memory region that fits the address space.
    pub fn welcome(
        version: u32,
        triple: &str,
        page_size: u64,
        base: Addr,
        host_triple: &str,
    ) -> Result<Ledger, Lie> {
        if version != VERSION {
            return Err(Lie::Version { found: version });
        }
        if without_vendor(triple) != without_vendor(host_triple) {
            return Err(Lie::Triple {
                found: triple.into(),
                expected: host_triple.into(),
            });
        }
        let expected = self::page_size();
        if page_size != expected {
            return Err(Lie::PageSize {
                found: page_size,
                expected,
            });
        }
        if base == 0 || !base.is_multiple_of(expected) || base.checked_add(REGION_SIZE).is_none() {
            return Err(Lie::Base(base));
        }
        Ok(Ledger {
            base,
            blocks: BTreeMap::new(),
            ids: 0,
        })
    }

    /// Checks and records the answer to `Reserve { size, align }`.
    pub fn reserved(&mut self, addr: Addr, size: u64, align: u64) -> Result<(), Lie> {
        let inside = addr >= self.base
            && (addr - self.base)
                .checked_add(size)
                .is_some_and(|end| end <= REGION_SIZE);
        if !inside {
            return Err(Lie::Outside { addr, size });
        }
        if align > 1 && !addr.is_multiple_of(align) {
            return Err(Lie::Misaligned { addr, align });
        }
        let end = addr + size.max(1);
        // The block starting last before `end` is the only one that can overlap.
        if let Some((&other, &other_size)) = self.blocks.range(..end).next_back()
            && other + other_size.max(1) > addr
        {
            return Err(Lie::Overlap { addr, other });
        }
        self.blocks.insert(addr, size);
        Ok(())
    }

    /// Checks and records the answer to `CreateStubs { first }`.
    pub fn stubs_created(&mut self, addr: Addr, first: u32) -> Result<(), Lie> {
        self.reserved(addr, CHUNK_BYTES, 16)?;
        self.ids = self.ids.max(u64::from(first) + CHUNK);
        Ok(())
    }

    /// `toy` gave the block at `addr` back.
    pub fn released(&mut self, addr: Addr) {
        self.blocks.remove(&addr);
    }

    /// Checks the id of a `Resolve`.
    pub fn resolve(&self, id: u32) -> Result<(), Lie> {
        if u64::from(id) < self.ids {
            Ok(())
        } else {
            Err(Lie::UnknownId {
                id,
                count: self.ids,
            })
        }
    }

    /// Checks a count of bytes in use.
    pub fn in_use(&self, in_use: u64) -> Result<u64, Lie> {
        if in_use <= REGION_SIZE {
            Ok(in_use)
        } else {
            Err(Lie::InUse(in_use))
        }
    }
}

/// Checks that `found` answers match `asked` look-ups.
pub fn count<T>(found: Vec<T>, asked: usize) -> Result<Vec<T>, Lie> {
    if found.len() == asked {
        Ok(found)
    } else {
        Err(Lie::Count {
            found: found.len(),
            asked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        let base = 1 << 40;
        Ledger::welcome(
            VERSION,
            "x86_64-pc-linux-gnu",
            page_size(),
            base,
            "x86_64-unknown-linux-gnu",
        )
        .expect("a good welcome")
    }

    #[test]
    fn blocks_must_lie_inside_memory_aligned_and_apart() {
        let mut l = ledger();
        let base = 1 << 40;
        assert_eq!(l.reserved(base + 64, 32, 16), Ok(()));
        assert!(matches!(
            l.reserved(base + 80, 16, 16),
            Err(Lie::Overlap { .. })
        ));
        assert!(matches!(
            l.reserved(base + 40, 32, 8),
            Err(Lie::Overlap { .. })
        ));
        assert_eq!(l.reserved(base + 96, 16, 16), Ok(()));
        assert!(matches!(
            l.reserved(base + 8, 16, 16),
            Err(Lie::Misaligned { .. })
        ));
        assert!(matches!(
            l.reserved(base - 16, 16, 16),
            Err(Lie::Outside { .. })
        ));
        assert!(matches!(
            l.reserved(base + REGION_SIZE - 16, 32, 16),
            Err(Lie::Outside { .. })
        ));
        assert!(matches!(
            l.reserved(u64::MAX - 15, 32, 16),
            Err(Lie::Outside { .. })
        ));
        l.released(base + 64);
        assert_eq!(l.reserved(base + 64, 32, 16), Ok(()));
    }

    #[test]
    fn ids_must_have_stubs() {
        let mut l = ledger();
        assert!(l.resolve(0).is_err());
        l.stubs_created((1 << 40) + 4096, 0).expect("stubs");
        assert_eq!(l.resolve(63), Ok(()));
        assert_eq!(l.resolve(64), Err(Lie::UnknownId { id: 64, count: 64 }));
    }

    #[test]
    fn welcomes_are_checked() {
        let host = "x86_64-unknown-linux-gnu";
        let good = |v, t, p, b| Ledger::welcome(v, t, p, b, host);
        assert!(good(VERSION, "x86_64-pc-linux-gnu", page_size(), 1 << 40).is_ok());
        assert!(matches!(
            good(VERSION + 1, "x86_64-pc-linux-gnu", page_size(), 1 << 40),
            Err(Lie::Version { .. })
        ));
        assert!(matches!(
            good(VERSION, "aarch64-unknown-linux-gnu", page_size(), 1 << 40),
            Err(Lie::Triple { .. })
        ));
        assert!(matches!(
            good(VERSION, "x86_64-pc-linux-gnu", page_size() * 2, 1 << 40),
            Err(Lie::PageSize { .. })
        ));
        assert!(matches!(
            good(VERSION, "x86_64-pc-linux-gnu", page_size(), 12345),
            Err(Lie::Base(_))
        ));
    }

    #[test]
    fn answers_must_match_questions() {
        assert_eq!(count(vec![1, 2], 2), Ok(vec![1, 2]));
        assert_eq!(count(vec![1, 2], 1), Err(Lie::Count { found: 2, asked: 1 }));
    }
}
