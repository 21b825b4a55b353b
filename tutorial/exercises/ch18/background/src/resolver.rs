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
use crate::executor::Resolve;
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
    /// The question a first call asks on this thread, if code runs: a raw pointer
    /// to a `Resolve` whose lifetime `with_resolver` erased.
    static CURRENT: Cell<Option<*mut Resolve<'static>>> = const { Cell::new(None) };
    /// Why the last resolve on this thread failed, for the run to report.
    static FAILURE: Cell<Option<String>> = const { Cell::new(None) };
}

/// Why the last resolve on this thread failed.
pub fn take_failure() -> String {
    FAILURE.take().unwrap_or_else(|| "a resolve failed".into())
}

/// Calls `run` (which runs JIT'd code) with `resolve` as the answer to first calls.
pub fn with_resolver<T>(resolve: &mut Resolve<'_>, run: impl FnOnce() -> T) -> T {
    // SAFETY: only the lifetime changes; the pointer is used only until `run`
    // returns, while `resolve` is still borrowed here.
    let resolve: *mut Resolve<'static> = unsafe { std::mem::transmute(resolve) };
    let previous = CURRENT.replace(Some(resolve));
    let result = run();
    CURRENT.set(previous);
    result
}
// ANCHOR_END: current

// ANCHOR: resolve
/// Called by `toy_resolver` with a function's id: compiles it and returns its code's
/// address. An error cannot go back to the caller, JIT'd code that expects a value:
/// it is left in `FAILURE`, and 0 tells the resolver to escape. Too little stack
/// left for LLVM escapes at once, as an overflow.
extern "C" fn resolve(id: u64) -> usize {
    // SAFETY: nothing is owned yet, here or in the frames above (the resolver's
    // and JIT'd code's).
    unsafe { escape::ensure_room() };
    let Some(resolve) = CURRENT.get() else {
        fatal("a stub was called with no JIT running");
    };
    // SAFETY: `with_resolver` stored this pointer from a `&mut` that it holds until
    // the JIT'd code returns, and that nothing else uses meanwhile: its caller waits
    // for the code, and a resolve's `&mut` ends before it returns into the code. So
    // this is the only reference to it while it lives, and it is alive.
    let resolve = unsafe { &mut *resolve };
    match resolve(id as usize) {
        Ok(address) => address,
        // `message` moves into the thread-local: when this returns, nothing of the
        // resolve is left on the stack but the resolver's saved registers.
        Err(message) => {
            FAILURE.set(Some(message));
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
