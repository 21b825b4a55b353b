// ANCHOR: head
//! The resolver: the routine every trampoline jumps to on a function's first call.
//! It saves the caller's arguments, has the JIT compile the function, restores them
//! and jumps to the new code, as if the caller had called it directly.
//! x86-64 Linux, System V ABI: a double argument travels in `xmm0`–`xmm7`.

use std::cell::Cell;
use std::io::Write;

// ANCHOR: use_escape
use crate::escape;
// ANCHOR_END: use_escape
use crate::jit::Jit;
// ANCHOR_END: head

// ANCHOR: asm
std::arch::global_asm!(
    ".globl toy_resolver",
    "toy_resolver:",
    // The trampoline pushed the id: [rsp] = id, [rsp + 8] = the caller's return
    // address. The caller's call was aligned, so rsp is a multiple of 16 here.
    "push rbp",
    "mov rbp, rsp",
    // 128 bytes for xmm0-xmm7, and 8 to align rsp again after the push of rbp.
    "sub rsp, 136",
    "movaps [rsp], xmm0",
    "movaps [rsp + 16], xmm1",
    "movaps [rsp + 32], xmm2",
    "movaps [rsp + 48], xmm3",
    "movaps [rsp + 64], xmm4",
    "movaps [rsp + 80], xmm5",
    "movaps [rsp + 96], xmm6",
    "movaps [rsp + 112], xmm7",
    // rax = resolve(id): the function's code, compiled, linked and in its slot.
    "mov rdi, [rbp + 8]",
    "call {resolve}",
    // ANCHOR: asm_failed
    // 0: the resolve failed and left its error with the JIT. Leave the run: this
    // frame and every JIT'd frame above it are abandoned.
    "test rax, rax",
    "jnz 2f",
    "call {failed}",
    "2:",
    // ANCHOR_END: asm_failed
    "movaps xmm0, [rsp]",
    "movaps xmm1, [rsp + 16]",
    "movaps xmm2, [rsp + 32]",
    "movaps xmm3, [rsp + 48]",
    "movaps xmm4, [rsp + 64]",
    "movaps xmm5, [rsp + 80]",
    "movaps xmm6, [rsp + 96]",
    "movaps xmm7, [rsp + 112]",
    "mov rsp, rbp",
    "pop rbp",
    // Drop the id: the stack is as the caller left it, its return address on top.
    "add rsp, 8",
    "jmp rax",
    resolve = sym resolve,
    // ANCHOR: sym_failed
    failed = sym crate::escape::failed,
    // ANCHOR_END: sym_failed
);

unsafe extern "C" {
    /// The routine above. Never called from Rust: only its address is used.
    fn toy_resolver();
}

/// The resolver's address, for the trampolines to jump to.
pub fn entry() -> usize {
    toy_resolver as *const () as usize
}
// ANCHOR_END: asm

// ANCHOR: current
thread_local! {
    /// The JIT whose code runs on this thread, if any: a first call resolves there.
    static CURRENT: Cell<*mut ()> = const { Cell::new(std::ptr::null_mut()) };
}

/// Calls `run` (which runs JIT'd code) with `jit` as the JIT that resolves first
/// calls. `jit` is not used by anything else until `run` returns.
pub fn with_jit<T>(jit: &mut Jit<'_>, run: impl FnOnce() -> T) -> T {
    let previous = CURRENT.replace(jit as *mut Jit<'_> as *mut ());
    let result = run();
    CURRENT.set(previous);
    result
}
// ANCHOR_END: current

// ANCHOR: resolve
/// Called by `toy_resolver` with a function's id: compiles it and returns its code's
/// address. An error cannot go back to the caller, JIT'd code that expects a value:
/// it is left with the JIT, and 0 tells the resolver to escape. Too little stack
/// left for LLVM escapes at once, as an overflow.
extern "C" fn resolve(id: u64) -> usize {
    // SAFETY: nothing is owned yet, here or in the frames above (the resolver's
    // and JIT'd code's).
    unsafe { escape::ensure_room() };
    let jit = CURRENT.get() as *mut Jit<'_>;
    if jit.is_null() {
        fatal("a stub was called with no JIT running");
    }
    // SAFETY: `with_jit` stored this pointer from a `&mut Jit` that it holds until
    // the JIT'd code returns, and that nothing else uses meanwhile: its caller waits
    // for the code, and a resolve's `&mut` ends before it returns into the code. So
    // this is the only reference to the JIT while it lives, and the JIT is alive.
    let jit = unsafe { &mut *jit };
    match jit.resolve(id as usize) {
        Ok(address) => address,
        // `err` moves into the JIT: when this returns, nothing of the resolve is
        // left on the stack but the resolver's saved registers.
        Err(err) => {
            jit.fail(err);
            0
        }
    }
}

/// Reports `message` and ends the process: with no unwinding through JIT'd frames,
/// which have no unwinding tables.
fn fatal(message: &str) -> ! {
    let _ = std::io::stdout().flush();
    eprintln!("{}: fatal: {message}", env!("CARGO_BIN_NAME"));
    std::process::exit(70)
}
// ANCHOR_END: resolve
