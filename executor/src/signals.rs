//! Signals while JIT'd code runs: Ctrl-C (and SIGURG in a TCP session) as an
//! interrupt that leaves JIT'd code at once, and SIGSEGV on the JIT stack's guard area
//! as a stack overflow. Both resume the thread in `toy_escape` (see [`crate::entry`]).

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::INTERRUPTED;
use crate::entry::{
    CURRENT, Context, FAULT_PC, GUARD, STATUS_INTERRUPTED, STATUS_OVERFLOW, toy_escape,
};

/// The range of JIT'd code, for the interrupt handler to recognise.
static CODE_RANGE: (AtomicU64, AtomicU64) = (AtomicU64::new(0), AtomicU64::new(0));

/// Tells the interrupt handler where JIT'd code lives.
pub fn set_code_range(start: u64, len: u64) {
    CODE_RANGE.0.store(start, Ordering::Relaxed);
    CODE_RANGE.1.store(len, Ordering::Relaxed);
}

/// Makes Ctrl-C (SIGINT) stop a running evaluation instead of the process: it sets
/// [`INTERRUPTED`], which the interpreter and the runtime poll, and when JIT'd code
/// is running on this thread it leaves that code at once.
///
/// Call it on the thread that runs programs, after blocking SIGINT in the others
/// (see [`block_interrupts`]) so that the signal is delivered here.
pub fn handle_interrupts() -> std::io::Result<()> {
    interrupt_on(libc::SIGINT)
}

/// Makes `signal` act like Ctrl-C (the executor process also takes SIGURG, raised
/// by urgent data on its TCP connection, as an interrupt).
pub fn interrupt_on(signal: libc::c_int) -> std::io::Result<()> {
    // SAFETY: a zeroed sigaction is valid; the handler only stores atomics and, when
    // JIT'd code was interrupted, redirects this thread's saved registers.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_interrupt as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Blocks SIGINT on the calling thread, so that it reaches the program's thread.
pub fn block_interrupts() {
    // SAFETY: plain signal-mask manipulation of the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

extern "C" fn on_interrupt(
    _signal: libc::c_int,
    _info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    INTERRUPTED.store(true, Ordering::Relaxed);
    let ctx = CURRENT.with(Cell::get);
    if ctx.is_null() {
        return;
    }
    let start = CODE_RANGE.0.load(Ordering::Relaxed);
    let len = CODE_RANGE.1.load(Ordering::Relaxed);
    // SAFETY: `context` is this thread's ucontext_t.
    let pc = unsafe {
        (*(context as *const libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize]
    } as u64;
    // JIT'd code holds no locks and owns nothing, so it may be abandoned at any
    // instruction; Rust code (the runtime) may not, and polls the flag instead.
    if pc.wrapping_sub(start) < len {
        // SAFETY: as above, and `ctx` is this thread's live evaluation context.
        unsafe { escape_on_return(context, ctx, STATUS_INTERRUPTED) };
    }
}

/// Makes the interrupted thread resume in `toy_escape(ctx, status)` when the signal
/// handler returns; returns the interrupted instruction's address.
///
/// # Safety
/// `context` must be the handler's ucontext_t and `ctx` the live context of the
/// evaluation running on this thread.
pub(crate) unsafe fn escape_on_return(
    context: *mut libc::c_void,
    ctx: *mut Context<'static>,
    status: u64,
) -> u64 {
    // SAFETY: guaranteed by the caller; only saved registers are changed.
    unsafe {
        let gregs = &mut (*(context as *mut libc::ucontext_t)).uc_mcontext.gregs;
        let pc = gregs[libc::REG_RIP as usize] as u64;
        gregs[libc::REG_RIP as usize] = toy_escape as *const () as i64;
        gregs[libc::REG_RDI as usize] = ctx as i64;
        gregs[libc::REG_RSI as usize] = status as i64;
        gregs[libc::REG_RSP as usize] = (*ctx).saved_rsp as i64;
        pc
    }
}

/// The SIGSEGV handler that was installed before ours.
static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

pub(crate) fn install_fault_handler() {
    PREVIOUS.get_or_init(|| {
        // SAFETY: a zeroed sigaction is valid; we fill in the handler and flags.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_fault as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        // SAFETY: installs a handler for SIGSEGV, keeping the previous one (Rust's
        // own stack-overflow reporter) to hand other faults back to.
        unsafe {
            let mut previous: libc::sigaction = std::mem::zeroed();
            libc::sigemptyset(&mut action.sa_mask);
            (libc::sigaction(libc::SIGSEGV, &action, &mut previous) == 0).then_some(previous)
        }
    });
}

extern "C" fn on_fault(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let address = unsafe { (*info).si_addr() } as usize;
    let (low, high) = GUARD.with(Cell::get);
    let ctx = CURRENT.with(Cell::get);
    if !ctx.is_null() && (low..high).contains(&address) {
        // SAFETY: `context` is this thread's ucontext_t and `ctx` its live context.
        let pc = unsafe { escape_on_return(context, ctx, STATUS_OVERFLOW) };
        FAULT_PC.with(|cell| cell.set(pc));
        return;
    }
    // Not ours. A SIGSEGV sent by `kill` (si_code <= 0) must end the process as it
    // would have without us: default action, raised again (pending until this handler
    // returns). A real fault goes back to the previous handler (Rust's stack-overflow
    // reporter) and repeats there.
    // SAFETY: reading si_code of the valid siginfo; restoring a handler that sigaction
    // itself returned, or the default.
    unsafe {
        if (*info).si_code <= 0 {
            libc::signal(libc::SIGSEGV, libc::SIG_DFL);
            libc::raise(libc::SIGSEGV);
            return;
        }
        match PREVIOUS.get().copied().flatten() {
            Some(previous) => {
                libc::sigaction(libc::SIGSEGV, &previous, std::ptr::null_mut());
            }
            None => {
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
            }
        }
    }
}
