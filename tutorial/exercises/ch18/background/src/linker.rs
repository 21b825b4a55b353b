// ANCHOR: head
//! Our JIT linker: loads an x86-64 ELF relocatable object into fresh memory,
//! resolves its symbols and applies its relocations, then makes it executable.

use std::collections::HashMap;

use object::elf;
use object::{
    Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionFlags,
    SectionIndex,
};

// ANCHOR: use_executor
use crate::executor::{ExecError, Executor};
// ANCHOR_END: use_executor
// ANCHOR_END: head

// ANCHOR: error
/// Why an object cannot be linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The bytes are not an object file that the `object` crate can read.
    #[error("cannot read the object file: {0}")]
    Read(#[from] object::read::Error),
    /// A symbol that the object uses and nothing defines.
    #[error("unresolved symbol `{0}`")]
    Unresolved(String),
    /// A relocation type this linker does not implement.
    #[error("unsupported relocation {} against `{symbol}`", type_name(*.r_type))]
    Unsupported {
        /// The ELF relocation type.
        r_type: u32,
        /// The symbol it refers to.
        symbol: String,
    },
    /// A 32-bit displacement that cannot reach its target.
    #[error(
        "cannot reach `{symbol}` at {target:#x} from {place:#x}: \
         beyond the ±2 GiB of a 32-bit displacement"
    )]
    OutOfRange {
        /// The symbol.
        symbol: String,
        /// Its address.
        target: usize,
        /// The address of the field that would hold the displacement.
        place: usize,
    },
    /// The operating system refused the memory.
    #[error("executable memory: {0}")]
    Memory(#[from] std::io::Error),
    // ANCHOR: exec_error
    /// The executor could not reserve, write or finalize the memory.
    #[error(transparent)]
    Executor(#[from] ExecError),
    // ANCHOR_END: exec_error
}

/// The name of the relocation types this linker knows, for messages.
fn type_name(r_type: u32) -> String {
    match r_type {
        elf::R_X86_64_64 => "R_X86_64_64".into(),
        elf::R_X86_64_PC32 => "R_X86_64_PC32".into(),
        elf::R_X86_64_PLT32 => "R_X86_64_PLT32".into(),
        elf::R_X86_64_GOTPCREL => "R_X86_64_GOTPCREL".into(),
        elf::R_X86_64_GOTPCRELX => "R_X86_64_GOTPCRELX".into(),
        elf::R_X86_64_REX_GOTPCRELX => "R_X86_64_REX_GOTPCRELX".into(),
        elf::R_X86_64_32S => "R_X86_64_32S".into(),
        other => format!("type {other}"),
    }
}
// ANCHOR_END: error

// ANCHOR: linked
/// An object loaded in memory of its own, ready to run.
pub struct Linked {
    // ANCHOR: block
    /// Its block in the executor: the JIT releases it when the code is dropped.
    pub block: usize,
    // ANCHOR_END: block
    /// The address of each global symbol the object defines.
    pub symbols: HashMap<String, usize>,
    /// The names of the symbols it uses and does not define.
    pub imports: Vec<String>,
}

/// The size of a far stub: `jmp *slot(%rip)` (6 bytes) and two bytes of padding.
const STUB: usize = 8;
// ANCHOR_END: linked

// ANCHOR: link
// ANCHOR: signature
/// Links the object `bytes` into memory of `executor`'s: its undefined symbols are
/// looked up with `resolve`.
pub fn link(
    bytes: &[u8],
    resolve: &dyn Fn(&str) -> Option<usize>,
    executor: &dyn Executor,
) -> Result<Linked, LinkError> {
    // ANCHOR_END: signature
    let file = object::File::parse(bytes)?;

    // 1. Layout: the offset of each loaded section in the block, in file order.
    let mut offsets: HashMap<SectionIndex, usize> = HashMap::new();
    let mut size = 0usize;
    for section in file.sections() {
        if loaded(&section) {
            size = size.next_multiple_of(section.align().max(1) as usize);
            offsets.insert(section.index(), size);
            size += section.size() as usize;
        }
    }
    // ANCHOR_END: link

    // ANCHOR: imports
    // 2. Imports: every undefined symbol, resolved now; each gets a GOT slot, which
    //    holds its address, and a far stub, which jumps through the slot.
    let mut imports: Vec<(String, usize)> = Vec::new();
    for symbol in file.symbols() {
        let name = symbol.name()?;
        if symbol.is_undefined() && !name.is_empty() && !imports.iter().any(|(n, _)| n == name) {
            let address = resolve(name).ok_or_else(|| LinkError::Unresolved(name.into()))?;
            imports.push((name.to_string(), address));
        }
    }
    let got = size.next_multiple_of(8);
    let stubs = got + 8 * imports.len();
    let total = stubs + STUB * imports.len();
    // ANCHOR_END: imports

    // ANCHOR: copy
    // ANCHOR: reserve
    // 3. Memory: reserved in the executor first, for its address; the sections, the
    //    GOT and the stubs are copied into an image of it, here.
    let base = executor.reserve(total)?;
    let mut image = vec![0; total];
    let memory = &mut image[..];
    // ANCHOR_END: reserve
    for section in file.sections() {
        if let Some(&offset) = offsets.get(&section.index()) {
            let data = section.data()?;
            memory[offset..offset + data.len()].copy_from_slice(data);
        }
    }
    for (i, (_, address)) in imports.iter().enumerate() {
        let (slot, stub) = (got + 8 * i, stubs + STUB * i);
        memory[slot..slot + 8].copy_from_slice(&address.to_le_bytes());
        // jmp *disp32(%rip): the displacement counts from the end of the instruction.
        let disp = slot as i32 - (stub as i32 + 6);
        memory[stub..stub + 2].copy_from_slice(&[0xff, 0x25]);
        memory[stub + 2..stub + 6].copy_from_slice(&disp.to_le_bytes());
        memory[stub + 6..stub + 8].copy_from_slice(&[0xcc, 0xcc]); // int3: never reached
    }
    // ANCHOR_END: copy

    // ANCHOR: relocate
    // 4. Relocations: each one patches a field of a loaded section.
    for section in file.sections() {
        let Some(&offset) = offsets.get(&section.index()) else {
            continue;
        };
        for (at, relocation) in section.relocations() {
            let (RelocationFlags::Elf { r_type }, RelocationTarget::Symbol(index)) =
                (relocation.flags(), relocation.target())
            else {
                return Err(LinkError::Unsupported {
                    r_type: 0,
                    symbol: "?".into(),
                });
            };
            let symbol = file.symbol_by_index(index)?;
            let name = symbol.name()?;
            // S: the symbol's address; A: the addend; P: the field's address.
            let import = imports.iter().position(|(n, _)| n == name);
            let s = match import {
                Some(i) => imports[i].1,
                None => defined(&symbol, &offsets, base)?,
            };
            let a = relocation.addend();
            let (field, p) = (offset + at as usize, base + offset + at as usize);
            let value = match r_type {
                // S + A: a full 64-bit address.
                elf::R_X86_64_64 => {
                    let value = s.wrapping_add(a as usize);
                    memory[field..field + 8].copy_from_slice(&value.to_le_bytes());
                    continue;
                }
                // S + A - P, and through the far stub if S is too far away.
                elf::R_X86_64_PC32 | elf::R_X86_64_PLT32 => {
                    match (relative(name, s, a, p), import) {
                        // Too far for a call: call the import's stub, which is near.
                        (Err(LinkError::OutOfRange { .. }), Some(i)) => {
                            relative(name, base + stubs + STUB * i, a, p)?
                        }
                        (value, _) => value?,
                    }
                }
                // G + GOT + A - P: the displacement of the symbol's GOT slot.
                elf::R_X86_64_GOTPCREL | elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX => {
                    let Some(i) = import else {
                        let symbol = name.to_string();
                        return Err(LinkError::Unsupported { r_type, symbol });
                    };
                    relative(name, base + got + 8 * i, a, p)?
                }
                _ => {
                    let symbol = name.to_string();
                    return Err(LinkError::Unsupported { r_type, symbol });
                }
            };
            memory[field..field + 4].copy_from_slice(&value.to_le_bytes());
        }
    }
    // ANCHOR_END: relocate

    // ANCHOR: finish
    // ANCHOR: send
    // 5. The image goes to the executor, which makes it executable from now on, and
    //    never writable again.
    executor.write(base, &image)?;
    executor.finalize(base)?;
    // ANCHOR_END: send
    let mut symbols = HashMap::new();
    for symbol in file.symbols() {
        if symbol.is_definition() && symbol.is_global() {
            let address = defined(&symbol, &offsets, base)?;
            symbols.insert(symbol.name()?.to_string(), address);
        }
    }
    let imports = imports.into_iter().map(|(name, _)| name).collect();
    Ok(Linked {
        block: base,
        symbols,
        imports,
    })
}
// ANCHOR_END: finish

// ANCHOR: helpers
/// Whether a section is loaded: it takes memory at run time (`SHF_ALLOC`), it is
/// not empty, and it is not `.eh_frame`, the unwinding tables, since nothing unwinds
/// through our code.
fn loaded(section: &object::Section<'_, '_>) -> bool {
    let alloc = match section.flags() {
        SectionFlags::Elf { sh_flags } => sh_flags & u64::from(elf::SHF_ALLOC) != 0,
        _ => false,
    };
    alloc && section.size() > 0 && section.name() != Ok(".eh_frame")
}

/// The address of a symbol that the object defines in a loaded section.
fn defined(
    symbol: &object::Symbol<'_, '_>,
    offsets: &HashMap<SectionIndex, usize>,
    base: usize,
) -> Result<usize, LinkError> {
    let offset = symbol.section_index().and_then(|index| offsets.get(&index));
    match offset {
        Some(offset) => Ok(base + offset + symbol.address() as usize),
        None => Err(LinkError::Unresolved(symbol.name()?.to_string())),
    }
}

/// `S + A - P` as a 32-bit displacement, if it fits.
fn relative(symbol: &str, s: usize, a: i64, p: usize) -> Result<i32, LinkError> {
    let value = (s as i64).wrapping_add(a).wrapping_sub(p as i64);
    i32::try_from(value).map_err(|_| LinkError::OutOfRange {
        symbol: symbol.to_string(),
        target: s,
        place: p,
    })
}
// ANCHOR_END: helpers

// ANCHOR: test_tools
#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use inkwell::OptimizationLevel;
    use inkwell::context::Context;
    use inkwell::memory_buffer::MemoryBuffer;
    use inkwell::targets::{
        CodeModel, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
    };

    use object::SymbolKind;

    use super::*;
    use crate::codegen::Generator;
    use crate::emit;
    // ANCHOR: test_use
    use crate::executor::Local;
    // ANCHOR_END: test_use
    use crate::lexer::lex;
    use crate::parser::parse;

    /// A machine for the generic x86-64 CPU, so that the bytes are the same on every
    /// host, with the given code shape.
    fn machine(reloc: RelocMode, model: CodeModel) -> TargetMachine {
        Target::initialize_native(&InitializationConfig::default()).unwrap();
        let triple = TargetTriple::create("x86_64-unknown-linux-gnu");
        let target = Target::from_triple(&triple).unwrap();
        let level = OptimizationLevel::Default;
        target
            .create_target_machine(&triple, "x86-64", "", level, reloc, model)
            .unwrap()
    }

    /// The object of the last item of `text` (the earlier ones declare what it calls).
    fn object(text: &str, machine: &TargetMachine) -> Vec<u8> {
        let context = Context::create();
        let mut generator = Generator::new(&context);
        let mut modules = parse(text, &lex(text)).into_iter().map(|item| {
            let item = item.expect("the tests' programs parse");
            generator.item(&item).expect("the tests' programs compile")
        });
        let module = modules.by_ref().last().unwrap();
        // The JIT's passes: since chapter 9 the unoptimized code keeps `x` in a slot.
        crate::passes::optimize(&module, machine).unwrap();
        emit::object(&module, machine).unwrap()
    }

    // ANCHOR: test_link
    /// Links into memory of this process's, for good: the tests' code is never freed.
    fn link(bytes: &[u8], resolve: &dyn Fn(&str) -> Option<usize>) -> Result<Linked, LinkError> {
        let executor = Box::leak(Box::new(Local::new().unwrap()));
        super::link(bytes, resolve, executor)
    }
    // ANCHOR_END: test_link

    /// A function of ours that JIT'd code calls: it lives in the test binary, far
    /// from the memory the linker maps.
    extern "C" fn triple(x: f64) -> f64 {
        3.0 * x
    }

    /// Finds `triple`; any other name is unknown.
    fn resolve(name: &str) -> Option<usize> {
        let triple: extern "C" fn(f64) -> f64 = triple;
        (name == "triple").then_some(triple as usize)
    }

    /// Calls the function `name`, of one parameter, that `linked` defines.
    fn call(linked: &Linked, name: &str, x: f64) -> f64 {
        // SAFETY: the tests' functions take and return one double.
        let f: extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(linked.symbols[name]) };
        f(x)
    }

    /// The loaded sections (with their bytes), the named symbols and the relocations
    /// of an object, as the linker sees them, one a line.
    fn dump(bytes: &[u8]) -> String {
        let file = object::File::parse(bytes).unwrap();
        let section_name = |index| file.section_by_index(index).unwrap().name().unwrap();
        let mut out = String::new();
        for section in file.sections().filter(loaded) {
            let (name, data) = (section.name().unwrap(), section.data().unwrap());
            let hex: Vec<String> = data.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(out, "section {name}, align {}:", section.align()).unwrap();
            for line in hex.chunks(16) {
                writeln!(out, "    {}", line.join(" ")).unwrap();
            }
        }
        for symbol in file.symbols() {
            let kind = symbol.kind();
            if symbol.name() == Ok("") || matches!(kind, SymbolKind::File | SymbolKind::Section) {
                continue;
            }
            let scope = if symbol.is_global() {
                "global"
            } else {
                "local"
            };
            let (name, address) = (symbol.name().unwrap(), symbol.address());
            match symbol.section_index() {
                Some(index) => writeln!(
                    out,
                    "symbol {name} ({scope}): {} + {address:#x}",
                    section_name(index)
                ),
                None => writeln!(out, "symbol {name} ({scope}): undefined"),
            }
            .unwrap();
        }
        for section in file.sections().filter(loaded) {
            for (at, relocation) in section.relocations() {
                let (RelocationFlags::Elf { r_type }, RelocationTarget::Symbol(index)) =
                    (relocation.flags(), relocation.target())
                else {
                    panic!("not an ELF relocation against a symbol");
                };
                let symbol = file.symbol_by_index(index).unwrap();
                let target = match (symbol.kind(), symbol.section_index()) {
                    (SymbolKind::Section, Some(index)) => section_name(index),
                    _ => symbol.name().unwrap(),
                };
                let (kind, addend) = (type_name(r_type), relocation.addend());
                let section = section.name().unwrap();
                writeln!(
                    out,
                    "relocation {section} + {at:#x}: {kind} {target} {addend:+}"
                )
                .unwrap();
            }
        }
        out
    }

    // ANCHOR_END: test_tools

    // ANCHOR: test_dump
    /// One item that calls a function of the host and uses a constant.
    const SMALL: &str = "extern triple(x); def f(x) triple(x) * 2.5";

    #[test]
    fn a_small_items_object() {
        let object = object(SMALL, &machine(RelocMode::PIC, CodeModel::Small));
        assert_eq!(
            dump(&object),
            "\
section .text, align 16:
    50 e8 00 00 00 00 f2 0f 59 05 00 00 00 00 58 c3
section .rodata.cst8, align 8:
    00 00 00 00 00 00 04 40
symbol .LCPI0_0 (local): .rodata.cst8 + 0x0
symbol f (global): .text + 0x0
symbol triple (global): undefined
relocation .text + 0x2: R_X86_64_PLT32 triple -4
relocation .text + 0xa: R_X86_64_PC32 .LCPI0_0 -4
"
        );
    }
    // ANCHOR_END: test_dump

    // ANCHOR: test_far
    #[test]
    fn a_far_function_is_called_through_a_got_slot_and_a_stub() {
        let object = object(SMALL, &machine(RelocMode::PIC, CodeModel::Small));
        let linked = link(&object, &resolve).unwrap();
        assert_eq!(linked.imports, ["triple"]);
        let (f, far) = (linked.symbols["f"], resolve("triple").unwrap());
        // Why the stub is needed: our memory and the test binary are far apart.
        assert!(f.abs_diff(far) > 1 << 31, "{f:#x} and {far:#x} are near");
        // SAFETY: the linked block is readable, and holds the layout of the chapter's
        // diagram: .text at 0, .rodata.cst8 at 0x10, the GOT slot at 0x18 and the
        // stub at 0x20, 8 bytes each.
        let (text, slot, stub) = unsafe {
            let text = std::ptr::read(f as *const [u8; 16]);
            let slot = std::ptr::read_unaligned((f + 0x18) as *const usize);
            (text, slot, std::ptr::read((f + 0x20) as *const [u8; 8]))
        };
        // The call (e8) goes to the stub: 0x1a bytes after its end, at 0x6. The
        // constant's displacement (after f2 0f 59 05) is 2: from 0xe to 0x10.
        let linked_text = "50 e8 1a 00 00 00 f2 0f 59 05 02 00 00 00 58 c3";
        let hex: Vec<String> = text.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex.join(" "), linked_text);
        // The stub jumps through the slot (-14 from its end, at 0x26), which holds
        // `triple`'s address.
        assert_eq!(stub, [0xff, 0x25, 0xf2, 0xff, 0xff, 0xff, 0xcc, 0xcc]);
        assert_eq!(slot, far);
        assert_eq!(call(&linked, "f", 2.0), 15.0);
    }

    #[test]
    fn a_displacement_that_does_not_fit_is_an_error() {
        let err = relative("triple", 0x5555_0000_0000, -4, 0x7f00_0000_0002).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot reach `triple` at 0x555500000000 from 0x7f0000000002: \
             beyond the ±2 GiB of a 32-bit displacement"
        );
    }
    // ANCHOR_END: test_far

    // ANCHOR: test_absolute
    #[test]
    fn the_large_code_model_uses_absolute_addresses() {
        let object = object(SMALL, &machine(RelocMode::Static, CodeModel::Large));
        let relocations: Vec<String> = dump(&object)
            .lines()
            .filter(|line| line.starts_with("relocation"))
            .map(String::from)
            .collect();
        assert_eq!(
            relocations,
            [
                "relocation .text + 0x3: R_X86_64_64 triple +0",
                "relocation .text + 0xf: R_X86_64_64 .rodata.cst8 +0",
            ]
        );
        let linked = link(&object, &resolve).unwrap();
        assert_eq!(call(&linked, "f", 2.0), 15.0);
    }
    // ANCHOR_END: test_absolute

    // ANCHOR: test_got
    /// The number that `scaled` multiplies by: a variable of the host.
    static SCALE: f64 = 2.5;

    #[test]
    fn a_host_variable_is_reached_through_the_got() {
        // Kaleidoscope has no global variables: the IR is written by hand.
        let ir = "@scale = external global double
                  define double @scaled(double %x) {
                    %s = load double, double* @scale
                    %r = fmul double %x, %s
                    ret double %r
                  }";
        let context = Context::create();
        let buffer = MemoryBuffer::create_from_memory_range_copy(ir.as_bytes(), "scaled");
        let module = context.create_module_from_ir(buffer).unwrap();
        let object = emit::object(&module, &machine(RelocMode::PIC, CodeModel::Small)).unwrap();
        assert!(dump(&object).contains("relocation .text + 0x3: R_X86_64_GOTPCREL scale -4"));
        let scale = |name: &str| (name == "scale").then_some(&SCALE as *const f64 as usize);
        let linked = link(&object, &scale).unwrap();
        assert_eq!(call(&linked, "scaled", 2.0), 5.0);
    }
    // ANCHOR_END: test_got

    // ANCHOR: test_unresolved
    #[test]
    fn an_unknown_symbol_is_an_error_that_names_it() {
        let object = object(SMALL, &machine(RelocMode::PIC, CodeModel::Small));
        let err = link(&object, &|_| None).err().unwrap();
        assert_eq!(err.to_string(), "unresolved symbol `triple`");
    }
}
// ANCHOR_END: test_unresolved
