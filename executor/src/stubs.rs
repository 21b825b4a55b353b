//! Indirect stubs and their trampolines, packed densely into chunks of executor memory.
//!
//! Global number `id` owns 32 bytes: its stub (the name's permanent address) and its
//! trampoline (the compile callback the slot points at until there is code to run):
//!
//! ```text
//!  0: ff 25 02 00 00 00   jmp *slot(%rip)         the stub
//!  6: cc cc
//!  8: slot                (8 bytes)               the code, an extern, or the trampoline
//! 16: 68 <id>             push $id                the trampoline
//! 21: ff 25 <disp>        jmp *resolver(%rip)     (one resolver pointer per chunk)
//! 27: cc cc cc cc cc
//! ```
//!
//! A chunk holds 64 of them and ends with the 8-byte address of the executor's
//! resolver (padded): 2064 bytes, 32.25 per function. The executor writes chunks
//! ([`chunk_bytes`]); the JIT only computes addresses from a chunk's start.

use toy_shared::Addr;

/// Bytes per stub and trampoline.
pub const STUB_BYTES: u64 = 32;
/// Stubs per chunk.
pub const CHUNK: u64 = 64;
/// Bytes per chunk: the stubs, then the resolver's address (padded to 16).
pub const CHUNK_BYTES: u64 = STUB_BYTES * CHUNK + 16;
/// Offset of a stub's slot.
pub const SLOT_OFFSET: u64 = 8;
/// Offset of a stub's trampoline.
pub const TRAMPOLINE_OFFSET: u64 = 16;

// ANCHOR: chunk
/// The machine code of a chunk at `chunk` holding ids `first..first + CHUNK`.
pub fn chunk_bytes(chunk: Addr, first: u32, resolver: Addr) -> Vec<u8> {
    let mut bytes = vec![0xcc; CHUNK_BYTES as usize];
    let pointer = STUB_BYTES * CHUNK;
    for i in 0..CHUNK {
        let at = (i * STUB_BYTES) as usize;
        let stub = &mut bytes[at..at + STUB_BYTES as usize];
        let id = u32::try_from(u64::from(first) + i).unwrap_or(u32::MAX);
        stub[0..6].copy_from_slice(&[0xff, 0x25, 0x02, 0, 0, 0]);
        let trampoline = chunk + i * STUB_BYTES + TRAMPOLINE_OFFSET;
        stub[8..16].copy_from_slice(&trampoline.to_le_bytes());
        stub[16] = 0x68;
        stub[17..21].copy_from_slice(&id.to_le_bytes());
        // rip after the jmp is stub + 27; the displacement is at most a chunk.
        let disp = (pointer - (i * STUB_BYTES + 27)) as u32;
        stub[21..23].copy_from_slice(&[0xff, 0x25]);
        stub[23..27].copy_from_slice(&disp.to_le_bytes());
    }
    bytes[pointer as usize..pointer as usize + 8].copy_from_slice(&resolver.to_le_bytes());
    bytes
}
// ANCHOR_END: chunk

/// Arguments a [`call_thunk`] can pass (in xmm0-xmm7).
pub const THUNK_MAX_ARGS: usize = 8;

// ANCHOR: thunk
/// A `double(*)(void)` that calls `target` with `args` (at most [`THUNK_MAX_ARGS`]):
/// how an interpreted top-level expression calls a compiled function through its stub
/// without compiling anything. The jump is a tail call: `target` returns straight to
/// whoever called the thunk.
pub fn call_thunk(target: Addr, args: &[f64]) -> Option<Vec<u8>> {
    if args.len() > THUNK_MAX_ARGS {
        return None;
    }
    let mut code = Vec::with_capacity(15 * args.len() + 12);
    for (i, arg) in args.iter().enumerate() {
        code.extend_from_slice(&[0x48, 0xb8]); // movabs rax, imm64
        code.extend_from_slice(&arg.to_bits().to_le_bytes());
        code.extend_from_slice(&[0x66, 0x48, 0x0f, 0x6e, 0xc0 | ((i as u8) << 3)]); // movq xmm_i, rax
    }
    code.extend_from_slice(&[0x48, 0xb8]); // movabs rax, target
    code.extend_from_slice(&target.to_le_bytes());
    code.extend_from_slice(&[0xff, 0xe0]); // jmp rax
    Some(code)
}
// ANCHOR_END: thunk

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trampolines_push_their_id_and_reach_the_shared_pointer() {
        let bytes = chunk_bytes(0x1000, 64, 0xdead_beef);
        let pointer = (STUB_BYTES * CHUNK) as usize;
        assert_eq!(&bytes[pointer..pointer + 8], &0xdead_beefu64.to_le_bytes());
        for i in [0usize, 1, 63] {
            let at = i * STUB_BYTES as usize;
            let slot = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().expect("8"));
            assert_eq!(slot, 0x1000 + at as u64 + TRAMPOLINE_OFFSET);
            let id = u32::from_le_bytes(bytes[at + 17..at + 21].try_into().expect("4"));
            assert_eq!(id as usize, 64 + i);
            let disp = u32::from_le_bytes(bytes[at + 23..at + 27].try_into().expect("4"));
            assert_eq!(at + 27 + disp as usize, pointer);
        }
    }
}
