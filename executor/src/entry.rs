//! Entering JIT'd code and leaving it early.
//!
//! `toy_enter` runs a `double(*)(void)` on a stack of our own (with a guard page) after
//! saving the caller's registers in a context; `toy_escape` abandons whatever JIT'd
//! frames are on that stack and returns from `toy_enter` with a status.
//!
//! `toy_resolver` is where every trampoline (a function's compile callback) leads: it
//! saves the argument registers, asks the evaluation's resolve callback for the
//! function's code (compiling it, on the host thread's stack), restores the registers
//! and jumps there, as if the caller had called the code directly.
//!
//! A declined resolve, Ctrl-C and stack overflows (a fault on the guard page, caught on
//! an alternate signal stack; the handlers are in [`crate::signals`]) all leave through
//! `toy_escape`, so a failed evaluation never unwinds JIT'd frames with Rust panics
//! and never kills the process.

use std::cell::Cell;
use std::sync::atomic::Ordering;

use memmap2::{MmapMut, MmapOptions};

use crate::INTERRUPTED;
use crate::signals;
use toy_shared::{Abort, ExecError};

/// Size of the stack JIT'd code runs on: room for the language's guaranteed
/// recursion depth (1,000,000 calls) with frames of up to 1 KiB (a function with ten
/// parameters and five locals takes 128 bytes at `-O0`). Only address space is
/// reserved (no swap); pages are used as the recursion reaches them, so a runaway
/// recursion costs at most this much memory before it is reported.
pub const JIT_STACK_SIZE: usize = 1 << 30;
const GUARD_SIZE: usize = 64 << 10;
const ALT_STACK_SIZE: usize = 64 << 10;

/// Status of a finished `toy_enter`.
const STATUS_OK: u64 = 0;
pub(crate) const STATUS_OVERFLOW: u64 = 1;
pub(crate) const STATUS_INTERRUPTED: u64 = 2;
const STATUS_UNRESOLVED: u64 = 2 << 32;

// ANCHOR: enter
std::arch::global_asm!(
    ".globl toy_enter",
    ".type toy_enter,@function",
    "toy_enter:",
    // The .cfi lines describe each frame state, so that a debugger can unwind from
    // JIT'd code through this function (and its stack switch) into toy's frames.
    ".cfi_startproc",
    // rdi = function, rsi = where to store the result, rdx = context, rcx = stack top.
    // Save the callee-saved registers and the result pointer on our own stack.
    "push rbp",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_offset rbp, -16",
    "push rbx",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_offset rbx, -24",
    "push r12",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_offset r12, -32",
    "push r13",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_offset r13, -40",
    "push r14",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_offset r14, -48",
    "push r15",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_offset r15, -56",
    "push rsi",
    ".cfi_adjust_cfa_offset 8",
    // Seven pushes after the return address: rsp is 16-byte aligned again.
    "mov [rdx], rsp",
    "mov r12, rdx",
    // Switch to the JIT stack and call; a normal return comes back here. While on
    // the JIT stack, the frame is found through the saved rsp: CFA = [r12] + 64
    // (DW_CFA_def_cfa_expression: DW_OP_breg12 0; DW_OP_deref; DW_OP_plus_uconst 64).
    "mov rsp, rcx",
    ".cfi_escape 0x0f, 0x05, 0x7c, 0x00, 0x06, 0x23, 0x40",
    "call rdi",
    "mov rsp, [r12]",
    ".cfi_def_cfa rsp, 64",
    "pop rsi",
    ".cfi_adjust_cfa_offset -8",
    "movsd [rsi], xmm0",
    "xor eax, eax",
    // Both ways out restore the callee-saved registers here.
    "toy_leave:",
    "pop r15",
    ".cfi_adjust_cfa_offset -8",
    "pop r14",
    ".cfi_adjust_cfa_offset -8",
    "pop r13",
    ".cfi_adjust_cfa_offset -8",
    "pop r12",
    ".cfi_adjust_cfa_offset -8",
    "pop rbx",
    ".cfi_adjust_cfa_offset -8",
    "pop rbp",
    ".cfi_adjust_cfa_offset -8",
    "ret",
    ".cfi_endproc",
    ".size toy_enter, . - toy_enter",
    "",
    ".globl toy_escape",
    ".type toy_escape,@function",
    "toy_escape:",
    // rdi = context, rsi = status. Back to the stack `toy_enter` saved, dropping every
    // JIT'd frame, and return `status` from `toy_enter`.
    "mov rsp, [rdi]",
    "mov rax, rsi",
    "pop rsi",
    "jmp toy_leave",
    ".size toy_escape, . - toy_escape",
);
// ANCHOR_END: enter

// ANCHOR: resolver
std::arch::global_asm!(
    ".globl toy_resolver",
    ".type toy_resolver,@function",
    "toy_resolver:",
    // A trampoline pushed the function's id and jumped here, so [rsp] = id,
    // [rsp+8] = the return address of the call to the stub and stack-passed arguments
    // start at [rsp+16]. The caller aligned its call, so rsp is 16-byte aligned now.
    "push rbp",
    "mov rbp, rsp",
    // Save the integer argument registers, and rax (the vector count of variadic
    // calls): seven pushes after rbp, so rsp is aligned again.
    "push rax",
    "push rdi",
    "push rsi",
    "push rdx",
    "push rcx",
    "push r8",
    "push r9",
    // Save the vector argument registers xmm0-xmm7.
    "sub rsp, 128",
    "movups [rsp], xmm0",
    "movups [rsp + 16], xmm1",
    "movups [rsp + 32], xmm2",
    "movups [rsp + 48], xmm3",
    "movups [rsp + 64], xmm4",
    "movups [rsp + 80], xmm5",
    "movups [rsp + 96], xmm6",
    "movups [rsp + 112], xmm7",
    // Compiling needs far more stack than may be left on the JIT stack: move to the
    // free part of the host thread's stack, below the frame of `toy_enter`.
    "call {host_stack}",
    "mov rsp, rax",
    // rax = toy_resolve(id): the code to run, once it exists. A declined resolve does
    // not return here (it leaves through `toy_escape`).
    "mov edi, [rbp + 8]",
    "call {resolve}",
    "mov r11, rax",
    // Back to the JIT stack; restore every argument register.
    "lea rsp, [rbp - 184]",
    "movups xmm0, [rsp]",
    "movups xmm1, [rsp + 16]",
    "movups xmm2, [rsp + 32]",
    "movups xmm3, [rsp + 48]",
    "movups xmm4, [rsp + 64]",
    "movups xmm5, [rsp + 80]",
    "movups xmm6, [rsp + 96]",
    "movups xmm7, [rsp + 112]",
    "add rsp, 128",
    "pop r9",
    "pop r8",
    "pop rcx",
    "pop rdx",
    "pop rsi",
    "pop rdi",
    "pop rax",
    "pop rbp",
    // Drop the id: the stack is exactly as the caller left it, with its return
    // address on top, and the code runs as if called directly. r11 is free to use: it
    // is neither an argument register nor preserved across calls.
    "add rsp, 8",
    "jmp r11",
    ".size toy_resolver, . - toy_resolver",
    host_stack = sym toy_host_stack,
    resolve = sym toy_resolve,
);
// ANCHOR_END: resolver

unsafe extern "C" {
    // `ctx` points at a `Context`, whose first field is the saved stack pointer.
    fn toy_enter(function: u64, out: *mut f64, ctx: *mut u64, stack_top: u64) -> u64;
    pub(crate) fn toy_escape(ctx: *mut u64, status: u64) -> !;
    fn toy_resolver();
}

/// Called by the resolver with a function id: the address to continue at, or `None` to
/// abandon the evaluation with [`Abort::Unresolved`].
pub type ResolveFn<'a> = dyn FnMut(u32) -> Option<u64> + 'a;

/// An evaluation in progress: where `toy_enter` saved the caller's stack pointer (the
/// assembly reads it at offset 0) and who resolves trampolines.
#[repr(C)]
pub(crate) struct Context<'a> {
    pub(crate) saved_rsp: u64,
    resolve: &'a mut ResolveFn<'a>,
}

thread_local! {
    /// The context of the evaluation running on this thread, if any.
    pub(crate) static CURRENT: Cell<*mut Context<'static>> = const { Cell::new(std::ptr::null_mut()) };
    /// The guard page range of this thread's JIT stack.
    pub(crate) static GUARD: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// The instruction that hit the guard page last.
    pub(crate) static FAULT_PC: Cell<u64> = const { Cell::new(0) };
}

/// A stack for JIT'd code, with a guard area below it.
pub struct JitStack {
    memory: MmapMut,
    _alt: MmapMut,
}

impl JitStack {
    /// Maps the stack, protects its guard area and prepares this thread to catch
    /// overflows on it.
    pub fn new() -> Result<Self, ExecError> {
        let memory = MmapOptions::new()
            .len(JIT_STACK_SIZE + GUARD_SIZE)
            .stack()
            .no_reserve_swap()
            .map_anon()
            .map_err(|e| ExecError::Memory(e.into()))?;
        let base = memory.as_ptr() as usize;
        // SAFETY: the guard area is the lowest part of our own mapping.
        if unsafe { libc::mprotect(base as *mut libc::c_void, GUARD_SIZE, libc::PROT_NONE) } != 0 {
            return Err(ExecError::Memory(std::io::Error::last_os_error().into()));
        }
        GUARD.with(|g| g.set((base, base + GUARD_SIZE)));
        let alt = MmapOptions::new()
            .len(ALT_STACK_SIZE)
            .map_anon()
            .map_err(|e| ExecError::Memory(e.into()))?;
        let stack = libc::stack_t {
            ss_sp: alt.as_ptr() as *mut libc::c_void,
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        // SAFETY: `alt` lives as long as this JitStack, which the executor keeps for as
        // long as it runs code on this thread.
        if unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) } != 0 {
            return Err(ExecError::Memory(std::io::Error::last_os_error().into()));
        }
        signals::install_fault_handler();
        Ok(JitStack { memory, _alt: alt })
    }

    fn top(&self) -> u64 {
        (self.memory.as_ptr() as u64 + self.memory.len() as u64) & !15
    }

    /// Runs the `double(*)(void)` at `function` on this stack; trampolines it reaches
    /// are resolved by `resolve`.
    ///
    /// # Safety
    /// `function` must be the address of machine code with that signature, and any
    /// code it reaches may only leave early through [`resolver_entry`].
    pub unsafe fn run(
        &mut self,
        function: u64,
        resolve: &mut ResolveFn<'_>,
    ) -> Result<Result<f64, Abort>, ExecError> {
        if !CURRENT.with(Cell::get).is_null() {
            // One evaluation at a time per thread: a resolve callback cannot run code.
            return Err(ExecError::Reentered);
        }
        let mut ctx = Context {
            saved_rsp: 0,
            resolve,
        };
        let mut out = 0.0;
        // The thread-local only lives while `ctx` does (it is cleared below), so
        // erasing the lifetime is sound.
        let ptr = (&raw mut ctx).cast::<Context<'static>>();
        CURRENT.with(|c| c.set(ptr));
        // SAFETY: the caller guarantees `function`; the stack top is aligned and the
        // context outlives the call.
        let status = unsafe { toy_enter(function, &mut out, ptr.cast(), self.top()) };
        CURRENT.with(|c| c.set(std::ptr::null_mut()));
        Ok(match status {
            STATUS_OK => Ok(out),
            STATUS_INTERRUPTED => Err(Abort::Interrupted),
            STATUS_OVERFLOW => Err(Abort::StackOverflow {
                pc: FAULT_PC.with(Cell::get),
            }),
            s => Err(Abort::Unresolved((s - STATUS_UNRESOLVED) as u32)),
        })
    }
}

/// Called by runtime functions on entry: leaves the evaluation if Ctrl-C was pressed.
pub fn poll_interrupt() {
    if !INTERRUPTED.load(Ordering::Relaxed) {
        return;
    }
    let ctx = CURRENT.with(Cell::get);
    if !ctx.is_null() {
        // SAFETY: called at the entry of a runtime function that owns nothing yet,
        // directly from JIT'd code running under `ctx`.
        unsafe { toy_escape(ctx.cast(), STATUS_INTERRUPTED) }
    }
}

/// Where trampolines jump, with their function's id pushed: the resolver.
pub fn resolver_entry() -> u64 {
    toy_resolver as *const () as u64
}

/// Called by the resolver on the JIT stack: the host stack pointer to resolve on.
extern "C" fn toy_host_stack() -> u64 {
    let ctx = CURRENT.with(Cell::get);
    if ctx.is_null() {
        // A trampoline reached outside any evaluation is a bug in the JIT.
        std::process::abort();
    }
    // SAFETY: `ctx` is the live context of the `toy_enter` running on this thread.
    // Everything below its saved stack pointer is unused host stack; keep a small gap.
    (unsafe { (*ctx).saved_rsp } - 256) & !15
}

/// Called by the resolver on the host stack: the code of function `id`, or an escape.
extern "C" fn toy_resolve(id: u32) -> u64 {
    let ctx = CURRENT.with(Cell::get);
    // SAFETY: `toy_host_stack` checked that `ctx` is live; the callback is the one
    // `JitStack::run` was given, and nothing else uses it while JIT'd code runs.
    let target = unsafe { ((*ctx).resolve)(id) };
    let status = match target {
        // Ctrl-C while compiling: the code stays compiled, the evaluation stops.
        Some(_) if INTERRUPTED.load(Ordering::Relaxed) => STATUS_INTERRUPTED,
        Some(code) => return code,
        None => STATUS_UNRESOLVED + u64::from(id),
    };
    // SAFETY: no Rust frame with a destructor lies between here and `toy_enter`
    // (the callback has returned; the resolver and JIT'd frames own nothing).
    unsafe { toy_escape(ctx.cast(), status) }
}
