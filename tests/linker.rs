//! The JIT linker on hand-made ELF objects: every supported relocation type, far
//! targets through a GOT slot and stub, unsupported relocations, and memory reuse.

use object::write::{Object, Relocation, StandardSection, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SymbolFlags, SymbolKind, SymbolScope,
    elf,
};
use toy::epc::InProcess;
use toy::jit::linker::{LinkError, link};
use toy_shared::Addr;
use toy_shared::executor::Executor;

/// `movabs rax, bits(value); movq xmm0, rax; ret`
fn returns(value: f64) -> Vec<u8> {
    let mut code = vec![0x48, 0xb8];
    code.extend_from_slice(&value.to_bits().to_le_bytes());
    code.extend_from_slice(&[0x66, 0x48, 0x0f, 0x6e, 0xc0, 0xc3]);
    code
}

/// An object with function `f` = `code`, relocations at (offset, symbol, addend, type)
/// against undefined symbols, and optional data.
struct Builder {
    object: Object<'static>,
    text: object::write::SectionId,
}

impl Builder {
    fn new(code: &[u8]) -> Self {
        let mut object = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let text = object.section_id(StandardSection::Text);
        let offset = object.append_section_data(text, code, 16);
        object.add_symbol(Symbol {
            name: b"f".to_vec(),
            value: offset,
            size: code.len() as u64,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
        Builder { object, text }
    }

    fn undefined(&mut self, name: &str) -> object::write::SymbolId {
        self.object.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Text,
            scope: SymbolScope::Unknown,
            weak: false,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        })
    }

    fn reloc(
        &mut self,
        section: object::write::SectionId,
        offset: u64,
        symbol: object::write::SymbolId,
        addend: i64,
        r_type: u32,
    ) {
        self.object
            .add_relocation(
                section,
                Relocation {
                    offset,
                    symbol,
                    addend,
                    flags: RelocationFlags::Elf { r_type },
                },
            )
            .expect("relocation");
    }

    fn text_reloc(&mut self, offset: u64, name: &str, addend: i64, r_type: u32) {
        let symbol = self.undefined(name);
        let text = self.text;
        self.reloc(text, offset, symbol, addend, r_type);
    }

    fn bytes(&self) -> Vec<u8> {
        self.object.write().expect("object writes")
    }
}

fn load(exec: &mut InProcess, code: &[u8]) -> Addr {
    let loader = exec.loader();
    let addr = loader.reserve(code.len() as u64, 16).expect("reserve");
    loader.write(addr, code).expect("write");
    addr
}

fn run_f(exec: &mut InProcess, object: &[u8], symbols: &[(&str, Addr)]) -> Result<f64, LinkError> {
    let mut resolve = |name: &str| symbols.iter().find(|(n, _)| *n == name).map(|(_, a)| *a);
    let linked = link(object, exec.loader(), &mut resolve, false)?;
    let f = linked.symbols["f"];
    let value = exec
        .run(f, &mut |_, _| None)
        .expect("runs")
        .expect("no abort");
    exec.loader().release(linked.block).expect("release");
    Ok(value)
}

#[test]
fn pc32_against_read_only_data() {
    let mut exec = InProcess::new().expect("executor");
    // movsd xmm0, [rip + c]; ret
    let mut b = Builder::new(&[0xf2, 0x0f, 0x10, 0x05, 0, 0, 0, 0, 0xc3]);
    let rodata = b.object.section_id(StandardSection::ReadOnlyData);
    let at = b
        .object
        .append_section_data(rodata, &3.5f64.to_le_bytes(), 8);
    let section = b.object.section_symbol(rodata);
    let text = b.text;
    b.reloc(text, 4, section, at as i64 - 4, elf::R_X86_64_PC32);
    assert_eq!(run_f(&mut exec, &b.bytes(), &[]), Ok(3.5));
}

#[test]
fn plt32_call_of_an_external_function() {
    let mut exec = InProcess::new().expect("executor");
    let g = load(&mut exec, &returns(7.0));
    // sub rsp, 8; call g; add rsp, 8; ret
    let mut b = Builder::new(&[
        0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0, 0, 0x48, 0x83, 0xc4, 0x08, 0xc3,
    ]);
    b.text_reloc(5, "g", -4, elf::R_X86_64_PLT32);
    assert_eq!(run_f(&mut exec, &b.bytes(), &[("g", g)]), Ok(7.0));
}

#[test]
fn abs64_in_data() {
    let mut exec = InProcess::new().expect("executor");
    let g = load(&mut exec, &returns(8.0));
    // mov rax, [rip + ptr]; jmp rax
    let mut b = Builder::new(&[0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xff, 0xe0]);
    let data = b.object.section_id(StandardSection::Data);
    let at = b.object.append_section_data(data, &[0; 8], 8);
    let gsym = b.undefined("g");
    b.reloc(data, at, gsym, 0, elf::R_X86_64_64);
    let section = b.object.section_symbol(data);
    let text = b.text;
    b.reloc(text, 3, section, at as i64 - 4, elf::R_X86_64_PC32);
    assert_eq!(run_f(&mut exec, &b.bytes(), &[("g", g)]), Ok(8.0));
}

#[test]
fn got_relative_loads_and_calls() {
    let mut exec = InProcess::new().expect("executor");
    let g = load(&mut exec, &returns(9.0));
    // jmp [rip + g@GOTPCREL]  (ff 25), with each of the three GOT relocation types
    for r_type in [elf::R_X86_64_GOTPCREL, elf::R_X86_64_GOTPCRELX] {
        let mut b = Builder::new(&[0xff, 0x25, 0, 0, 0, 0]);
        b.text_reloc(2, "g", -4, r_type);
        assert_eq!(
            run_f(&mut exec, &b.bytes(), &[("g", g)]),
            Ok(9.0),
            "type {r_type}"
        );
    }
    // mov rax, [rip + g@GOTPCREL]; jmp rax
    let mut b = Builder::new(&[0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xff, 0xe0]);
    b.text_reloc(3, "g", -4, elf::R_X86_64_REX_GOTPCRELX);
    assert_eq!(run_f(&mut exec, &b.bytes(), &[("g", g)]), Ok(9.0));
}

#[test]
fn absolute_32_bit_fields() {
    let mut exec = InProcess::new().expect("executor");
    // mov eax, imm32; cvtsi2sd xmm0, rax; ret
    let code = [0xb8, 0, 0, 0, 0, 0xf2, 0x48, 0x0f, 0x2a, 0xc0, 0xc3];
    let mut b = Builder::new(&code);
    b.text_reloc(1, "k", 4, elf::R_X86_64_32);
    assert_eq!(run_f(&mut exec, &b.bytes(), &[("k", 1230)]), Ok(1234.0));
    assert!(matches!(
        run_f(&mut exec, &b.bytes(), &[("k", 1 << 40)]),
        Err(LinkError::OutOfRange { .. })
    ));
    // mov rax, simm32; cvtsi2sd xmm0, rax; ret
    let code = [
        0x48, 0xc7, 0xc0, 0, 0, 0, 0, 0xf2, 0x48, 0x0f, 0x2a, 0xc0, 0xc3,
    ];
    let mut b = Builder::new(&code);
    b.text_reloc(3, "k", 0, elf::R_X86_64_32S);
    assert_eq!(
        run_f(&mut exec, &b.bytes(), &[("k", (-5i64) as u64)]),
        Ok(-5.0)
    );
    assert!(matches!(
        run_f(&mut exec, &b.bytes(), &[("k", 1 << 33)]),
        Err(LinkError::OutOfRange { .. })
    ));
}

#[test]
fn far_targets_go_through_a_got_slot_and_stub() {
    let mut exec = InProcess::new().expect("executor");
    // Place a function more than 2 GiB away from JIT memory.
    let code = returns(11.0);
    let hint = exec.base().wrapping_add(16 << 30);
    let far = memmap_far(hint, &code);
    let distance = far.abs_diff(exec.base());
    assert!(distance > 1 << 31, "the target is only {distance:#x} away");
    let mut b = Builder::new(&[
        0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0, 0, 0x48, 0x83, 0xc4, 0x08, 0xc3,
    ]);
    b.text_reloc(5, "far", -4, elf::R_X86_64_PLT32);
    assert_eq!(run_f(&mut exec, &b.bytes(), &[("far", far)]), Ok(11.0));
}

/// Maps `code` executable at `hint`; returns its address.
fn memmap_far(hint: u64, code: &[u8]) -> u64 {
    // SAFETY (test): a fresh anonymous private page at a fixed, unused address; it is
    // filled, made executable and never unmapped.
    unsafe {
        let p = libc::mmap(
            hint as *mut libc::c_void,
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED, "could not map at {hint:#x}");
        std::ptr::copy_nonoverlapping(code.as_ptr(), p as *mut u8, code.len());
        assert_eq!(
            libc::mprotect(p, 4096, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
        p as u64
    }
}

#[test]
fn unsupported_relocations_are_errors() {
    let mut exec = InProcess::new().expect("executor");
    let mut b = Builder::new(&[0xb8, 0, 0, 0, 0, 0xc3]);
    b.text_reloc(1, "t", 0, elf::R_X86_64_TPOFF32);
    match run_f(&mut exec, &b.bytes(), &[("t", 0)]) {
        Err(LinkError::Unsupported { r_type, symbol }) => {
            assert_eq!(r_type, elf::R_X86_64_TPOFF32);
            assert_eq!(symbol, "t");
        }
        other => panic!("expected an unsupported relocation, got {other:?}"),
    }
    let mut b = Builder::new(&[0xe8, 0, 0, 0, 0, 0xc3]);
    b.text_reloc(1, "nowhere_to_be_found", -4, elf::R_X86_64_PLT32);
    assert!(matches!(
        run_f(&mut exec, &b.bytes(), &[]),
        Err(LinkError::Unresolved(_))
    ));
}

#[test]
fn symbols_the_resolver_lacks_are_looked_up_in_the_executor() {
    let mut exec = InProcess::new().expect("executor");
    // movabs rax, bits(-2.5); movq xmm0, rax; sub rsp, 8; call fabs; add rsp, 8; ret
    let mut code = vec![0x48, 0xb8];
    code.extend_from_slice(&(-2.5f64).to_bits().to_le_bytes());
    code.extend_from_slice(&[
        0x66, 0x48, 0x0f, 0x6e, 0xc0, 0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0, 0,
    ]);
    code.extend_from_slice(&[0x48, 0x83, 0xc4, 0x08, 0xc3]);
    let mut b = Builder::new(&code);
    b.text_reloc(20, "fabs", -4, elf::R_X86_64_PLT32);
    assert_eq!(run_f(&mut exec, &b.bytes(), &[]), Ok(2.5));
}
