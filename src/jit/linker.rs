//! Our JIT linker: lays out an ELF relocatable object in executor memory, resolves its
//! symbols and applies its x86-64 relocations.
//!
//! Targets further than ±2 GiB from a 32-bit PC-relative call go through a GOT slot and
//! a `jmp *slot(%rip)` stub placed with the code. The linker never touches executable
//! memory: it builds the image locally and hands it to the executor in one write.

use std::collections::HashMap;

use object::elf;
use object::{
    Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionFlags,
    SectionIndex,
};
use thiserror::Error;

use toy_shared::executor::Loader;
use toy_shared::{Addr, ExecError};

/// Why an object could not be linked.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// The bytes are not an object file we can read.
    #[error("cannot read object file: {0}")]
    Parse(#[from] object::read::Error),
    /// An object that reads, but is not what codegen makes.
    #[error("malformed object file: {0}")]
    Malformed(&'static str),
    /// A symbol that nothing defines.
    #[error("unresolved symbol `{0}`")]
    Unresolved(String),
    /// A relocation type this linker does not implement.
    #[error("unsupported relocation type {r_type} against `{symbol}`")]
    Unsupported {
        /// The ELF relocation type.
        r_type: u32,
        /// Its symbol.
        symbol: String,
    },
    /// A value that does not fit its relocation field.
    #[error("relocation against `{symbol}` out of range")]
    OutOfRange {
        /// The symbol.
        symbol: String,
    },
    /// The executor refused an operation.
    #[error(transparent)]
    Executor(#[from] ExecError),
}

/// An object placed in executor memory.
#[derive(Debug)]
pub struct Linked {
    /// The block holding it (to release later).
    pub block: Addr,
    /// Its size in bytes.
    pub size: u64,
    /// Addresses of the global symbols it defines.
    pub symbols: HashMap<String, Addr>,
    /// Their sizes in bytes, as the object gives them.
    pub sizes: HashMap<String, u64>,
}

/// Size of a far-call stub: `jmp *[rip+disp32]` padded to 8 bytes.
const STUB_SIZE: u64 = 8;

// ANCHOR: link
/// Links `bytes` into `executor`. Undefined symbols are resolved by `resolve` first;
/// the rest are looked up in the executor, in one batch. With `debug`, the unwind
/// tables are loaded too and a copy of the object, relocated for where it now lives,
/// is registered with the executor's debugger interface.
pub fn link(
    bytes: &[u8],
    executor: &mut dyn Loader,
    resolve: &mut dyn FnMut(&str) -> Option<Addr>,
    debug: bool,
) -> Result<Linked, LinkError> {
    let file = object::File::parse(bytes).map_err(LinkError::Parse)?;

    // 1. Layout: every allocated section (unwind tables only for a debugger), in order.
    let mut offsets: HashMap<SectionIndex, u64> = HashMap::new();
    let mut size = 0u64;
    let mut max_align = 64u64;
    for section in file.sections() {
        if !loaded(&section, debug) {
            continue;
        }
        let align = section.align().max(1);
        max_align = max_align.max(align);
        size = size.next_multiple_of(align);
        offsets.insert(section.index(), size);
        size += section.size();
    }

    // 2. External symbols: resolved now; each may need a GOT slot and a far stub.
    let mut externals: Vec<(String, Option<Addr>)> = Vec::new();
    let mut external_index: HashMap<String, usize> = HashMap::new();
    for symbol in file.symbols() {
        if !symbol.is_undefined() {
            continue;
        }
        let name = symbol.name().map_err(LinkError::Parse)?;
        if name.is_empty() || external_index.contains_key(name) {
            continue;
        }
        external_index.insert(name.to_string(), externals.len());
        externals.push((name.to_string(), resolve(name)));
    }
    let missing: Vec<&str> = externals
        .iter()
        .filter(|(_, addr)| addr.is_none())
        .map(|(name, _)| name.as_str())
        .collect();
    let found = if missing.is_empty() {
        Vec::new()
    } else {
        executor.lookup_symbols(&missing)?
    };
    let mut found = found.into_iter();
    let externals: Vec<(String, Addr)> = externals
        .into_iter()
        .map(|(name, addr)| {
            let addr = match addr {
                Some(addr) => Some(addr),
                None => found.next().flatten(),
            };
            addr.map(|a| (name.clone(), a))
                .ok_or(LinkError::Unresolved(name))
        })
        .collect::<Result<_, _>>()?;
    let got_offset = size.next_multiple_of(8);
    let stubs_offset = got_offset + 8 * externals.len() as u64;
    let total = stubs_offset + STUB_SIZE * externals.len() as u64;

    // 3. Reserve, then build the image with the final addresses.
    let block = executor.reserve(total.max(1), max_align.min(4096))?;
    let mut image = vec![0u8; total as usize];
    for section in file.sections() {
        if let Some(&offset) = offsets.get(&section.index())
            && section.kind() != object::SectionKind::UninitializedData
        {
            let data = section.data().map_err(LinkError::Parse)?;
            image[offset as usize..offset as usize + data.len()].copy_from_slice(data);
        }
    }
    for (i, (_, addr)) in externals.iter().enumerate() {
        let got = got_offset as usize + 8 * i;
        image[got..got + 8].copy_from_slice(&addr.to_le_bytes());
        // jmp *[rip + disp32]: the GOT slot, relative to the end of this instruction.
        let stub = stubs_offset + STUB_SIZE * i as u64;
        let disp = (got_offset + 8 * i as u64) as i64 - (stub as i64 + 6);
        let s = stub as usize;
        image[s..s + 2].copy_from_slice(&[0xff, 0x25]);
        image[s + 2..s + 6].copy_from_slice(&(disp as i32).to_le_bytes());
        image[s + 6..s + 8].copy_from_slice(&[0xcc, 0xcc]);
    }

    let placed = Placed {
        file: &file,
        block,
        offsets: &offsets,
        externals: &externals,
        external_index: &external_index,
    };
    let symbol_addr = |index| placed.symbol(index, false);

    // 4. Relocations.
    for section in file.sections() {
        let Some(&section_offset) = offsets.get(&section.index()) else {
            continue;
        };
        for (at, relocation) in section.relocations() {
            let RelocationTarget::Symbol(index) = relocation.target() else {
                return Err(LinkError::Malformed("relocation without a symbol"));
            };
            let (name, external, target) = symbol_addr(index)?;
            let RelocationFlags::Elf { r_type } = relocation.flags() else {
                return Err(LinkError::Malformed("not an ELF relocation"));
            };
            let place_offset = (section_offset + at) as usize;
            let place = block + section_offset + at;
            let addend = relocation.addend();
            let got = external.map(|i| block + got_offset + 8 * i as u64);
            let stub = external.map(|i| block + stubs_offset + STUB_SIZE * i as u64);
            let pcrel = |to: Addr| to.wrapping_add(addend as u64).wrapping_sub(place) as i64;
            let out_of_range = || LinkError::OutOfRange {
                symbol: name.clone(),
            };
            if let Some(field) = absolute(r_type, target.wrapping_add(addend as u64)) {
                let field = field.ok_or_else(out_of_range)?;
                image[place_offset..place_offset + field.len()].copy_from_slice(&field);
                continue;
            }
            match r_type {
                elf::R_X86_64_PC32 | elf::R_X86_64_PLT32 => {
                    let mut value = pcrel(target);
                    if i32::try_from(value).is_err() {
                        // Too far for a 32-bit displacement: call through the far stub.
                        value = pcrel(stub.ok_or_else(out_of_range)?);
                    }
                    let value = i32::try_from(value).map_err(|_| out_of_range())?;
                    image[place_offset..place_offset + 4].copy_from_slice(&value.to_le_bytes());
                }
                elf::R_X86_64_GOTPCREL | elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX => {
                    let slot = match got {
                        Some(slot) => slot,
                        // A GOT reference to a symbol defined here: the code only
                        // loads its address, which a new slot can hold.
                        None => {
                            return Err(LinkError::Unsupported {
                                r_type,
                                symbol: name,
                            });
                        }
                    };
                    let value = i32::try_from(pcrel(slot)).map_err(|_| out_of_range())?;
                    image[place_offset..place_offset + 4].copy_from_slice(&value.to_le_bytes());
                }
                r_type => {
                    return Err(LinkError::Unsupported {
                        r_type,
                        symbol: name,
                    });
                }
            }
        }
    }

    // 5. One write, then make it runnable (and known to a debugger).
    executor.write(block, &image)?;
    executor.finalize(block, total)?;
    if debug {
        let object = debug_object(bytes, &placed, &image)?;
        executor.register_debug(block, object)?;
    }
    let mut symbols = HashMap::new();
    let mut sizes = HashMap::new();
    for symbol in file.symbols() {
        if symbol.is_definition() && symbol.is_global() {
            let (name, _, addr) = symbol_addr(symbol.index())?;
            sizes.insert(name.clone(), symbol.size());
            symbols.insert(name, addr);
        }
    }
    Ok(Linked {
        block,
        size: total,
        symbols,
        sizes,
    })
}
// ANCHOR_END: link

/// Whether a section is loaded: allocated, and not an unwind table unless a debugger
/// will want it (nothing unwinds through JIT'd code otherwise).
fn loaded(section: &object::Section<'_, '_>, debug: bool) -> bool {
    let alloc = match section.flags() {
        SectionFlags::Elf { sh_flags } => sh_flags & u64::from(elf::SHF_ALLOC) != 0,
        _ => false,
    };
    alloc && (debug || section.name() != Ok(".eh_frame")) && section.size() > 0
}

/// Where an object's sections and external symbols ended up.
struct Placed<'a> {
    file: &'a object::File<'a>,
    block: Addr,
    /// Offset in the block of each loaded section.
    offsets: &'a HashMap<SectionIndex, u64>,
    externals: &'a [(String, Addr)],
    external_index: &'a HashMap<String, usize>,
}

impl Placed<'_> {
    /// A symbol's name, index among the externals (if undefined here) and address.
    /// A symbol in a section that is not loaded (debug sections) is an error, unless
    /// `unloaded_at_zero`: then it keeps its section-relative value, as in any
    /// relocatable object whose debug sections are at address 0.
    fn symbol(
        &self,
        index: object::SymbolIndex,
        unloaded_at_zero: bool,
    ) -> Result<(String, Option<usize>, Addr), LinkError> {
        let symbol = self.file.symbol_by_index(index).map_err(LinkError::Parse)?;
        let name = symbol.name().unwrap_or("").to_string();
        if symbol.is_undefined() {
            let i = *self
                .external_index
                .get(&name)
                .ok_or_else(|| LinkError::Unresolved(name.clone()))?;
            return Ok((name, Some(i), self.externals[i].1));
        }
        let section = symbol
            .section_index()
            .ok_or_else(|| LinkError::Unresolved(name.clone()))?;
        let base = match self.offsets.get(&section) {
            Some(offset) => self.block + offset,
            None if unloaded_at_zero => 0,
            None => return Err(LinkError::Unresolved(name)),
        };
        Ok((name, None, base + symbol.address()))
    }
}

/// The little-endian field an absolute relocation (`S + A`) writes, for the types
/// that have one (`None` for the others); `Some(None)` if `value` does not fit.
fn absolute(r_type: u32, value: u64) -> Option<Option<Vec<u8>>> {
    let bytes = value.to_le_bytes();
    let fits = match r_type {
        elf::R_X86_64_64 => return Some(Some(bytes.to_vec())),
        elf::R_X86_64_32 => u32::try_from(value).is_ok(),
        elf::R_X86_64_32S => i32::try_from(value as i64).is_ok(),
        _ => return None,
    };
    Some(fits.then(|| bytes[..4].to_vec()))
}

// ANCHOR: debug_object
/// The object as a debugger should see it once linked: each loaded section gets its
/// load address (`sh_addr`) and its relocated bytes, the relocations in `.debug_*`
/// sections are applied here (debug sections keep address 0, as in any relocatable
/// object), and the relocation sections are then disabled, so GDB reads a finished
/// object and relocates nothing itself.
fn debug_object(bytes: &[u8], placed: &Placed<'_>, image: &[u8]) -> Result<Vec<u8>, LinkError> {
    use object::read::elf::{FileHeader as _, SectionHeader as _};
    type Header = elf::SectionHeader64<object::Endianness>;
    let malformed = LinkError::Malformed;
    let object::File::Elf64(elf) = placed.file else {
        return Err(malformed("debug object: not a 64-bit ELF object"));
    };
    let endian = elf.endian();
    let shoff = elf.elf_header().e_shoff(endian) as usize;
    let shentsize = usize::from(elf.elf_header().e_shentsize(endian));
    let header = |index: usize| shoff + index * shentsize;
    let mut copy = bytes.to_vec();

    for section in placed.file.sections() {
        let index = section.index();
        if let Some(&offset) = placed.offsets.get(&index) {
            let at = header(index.0) + std::mem::offset_of!(Header, sh_addr);
            copy[at..at + 8].copy_from_slice(&(placed.block + offset).to_le_bytes());
            if let Some((file_offset, size)) = section.file_range() {
                let (from, to) = (file_offset as usize, (file_offset + size) as usize);
                let linked = &image[offset as usize..(offset + size) as usize];
                copy.get_mut(from..to)
                    .ok_or_else(|| malformed("debug object: section outside the file"))?
                    .copy_from_slice(linked);
            }
            continue;
        }
        if !section.name().is_ok_and(|n| n.starts_with(".debug")) {
            continue;
        }
        let Some((file_offset, _)) = section.file_range() else {
            continue;
        };
        for (at, relocation) in section.relocations() {
            let RelocationTarget::Symbol(symbol) = relocation.target() else {
                return Err(malformed("debug object: relocation without a symbol"));
            };
            let (name, _, target) = placed.symbol(symbol, true)?;
            let RelocationFlags::Elf { r_type } = relocation.flags() else {
                return Err(malformed("debug object: not an ELF relocation"));
            };
            let value = target.wrapping_add(relocation.addend() as u64);
            let field = absolute(r_type, value)
                .ok_or_else(|| LinkError::Unsupported {
                    r_type,
                    symbol: name.clone(),
                })?
                .ok_or(LinkError::OutOfRange { symbol: name })?;
            let place = (file_offset + at) as usize;
            copy.get_mut(place..place + field.len())
                .ok_or_else(|| malformed("debug object: relocation outside its section"))?
                .copy_from_slice(&field);
        }
    }

    // Every relocation is applied now: turn the relocation sections into SHT_NULL.
    let sections = elf.elf_section_table().iter();
    for (index, section) in sections.enumerate() {
        if section.sh_type(endian) == elf::SHT_RELA {
            let at = header(index) + std::mem::offset_of!(Header, sh_type);
            copy[at..at + 4].copy_from_slice(&elf::SHT_NULL.to_le_bytes());
        }
    }
    Ok(copy)
}
// ANCHOR_END: debug_object
