// ANCHOR: head
//! A fault on the guard of the JIT stack becomes an escape: a SIGSEGV handler that
//! runs on an alternate signal stack, since the stack that faulted is full.

use std::cell::Cell;
use std::io;
use std::sync::OnceLock;

use crate::escape;
// ANCHOR_END: head

// ANCHOR: install
/// The SIGSEGV action before ours (Rust's own stack-overflow reporter): a fault
/// that is not ours goes back to it. `None` if `sigaction` refused ours.
static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

/// Installs the handler, once for the process (`get_or_init` makes a second thread
/// wait for the first, so that it never takes our handler for the previous one).
pub fn install() -> io::Result<()> {
    let previous = PREVIOUS.get_or_init(|| {
        // SAFETY: a zeroed `sigaction` is valid (no flags, an empty mask); we fill
        // in the handler and its flags, and keep the action it replaces.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_segv as *const () as usize;
            // SA_SIGINFO: the handler gets the address and the registers;
            // SA_ONSTACK: it runs on the alternate stack.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            (libc::sigaction(libc::SIGSEGV, &action, &mut previous) == 0).then_some(previous)
        }
    });
    match previous {
        Some(_) => Ok(()),
        None => Err(io::Error::other("cannot install the SIGSEGV handler")),
    }
}
// ANCHOR_END: install

// ANCHOR: alternate
/// The size of an alternate signal stack: plenty for our handler.
const ALTERNATE: usize = 64 << 10;

thread_local! {
    /// Whether this thread has our alternate stack.
    static HAS_ALTERNATE: Cell<bool> = const { Cell::new(false) };
}

/// Gives this thread an alternate signal stack, once. It is never freed: the
/// kernel may use it until the thread ends, and 64 KiB a thread is cheap.
pub fn alternate_stack() -> io::Result<()> {
    if HAS_ALTERNATE.get() {
        return Ok(());
    }
    let memory = memmap2::MmapMut::map_anon(ALTERNATE)?;
    let stack = libc::stack_t {
        ss_sp: memory.as_ptr() as *mut libc::c_void,
        ss_flags: 0,
        ss_size: ALTERNATE,
    };
    // SAFETY: `stack` describes 64 KiB of our own memory, which we leak below so
    // that it stays mapped for as long as the thread runs.
    if unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    std::mem::forget(memory);
    HAS_ALTERNATE.set(true);
    Ok(())
}
// ANCHOR_END: alternate

// ANCHOR: handler
/// The SIGSEGV handler. A fault on the guard of the JIT stack while a run is under
/// way is an overflow: the thread resumes in `toy_escape`. Anything else is not
/// ours: the previous action is put back, and the fault, repeated when we return,
/// goes to it.
extern "C" fn on_segv(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: with SA_SIGINFO, the kernel passes a valid `siginfo_t`.
    let address = unsafe { (*info).si_addr() } as usize;
    if let Some(entry) = escape::on_guard(address) {
        // SAFETY: `context` is the kernel's, `entry` the live run's.
        unsafe { escape::escape_on_return(context, entry, escape::OVERFLOWED) };
        return;
    }
    if let Some(Some(previous)) = PREVIOUS.get() {
        // SAFETY: an action that `sigaction` itself returned.
        unsafe { libc::sigaction(libc::SIGSEGV, previous, std::ptr::null_mut()) };
    }
}
// ANCHOR_END: handler
