// ANCHOR: head
//! Running JIT'd code on a stack of its own, and leaving it early. `toy_enter`
//! saves the registers the host expects back, switches to the JIT stack and calls
//! the code; `toy_escape` abandons every frame on the JIT stack and returns from
//! `toy_enter` with a status. x86-64 Linux, System V ABI.

use std::cell::{Cell, OnceCell};
use std::io;

use memmap2::MmapMut;

use crate::signals;
// ANCHOR_END: head

// ANCHOR: asm
std::arch::global_asm!(
    ".globl toy_enter",
    "toy_enter:",
    // rdi = the function, rsi = the top of the JIT stack, rdx = the `Entry`.
    // The callee-saved registers, on the host's stack: `toy_escape` pops them.
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    // Entry.host_rsp = where they are; rbx (callee-saved: the code keeps it) = the Entry.
    "mov [rdx], rsp",
    "mov rbx, rdx",
    // The JIT stack: its top is a multiple of 16, so the call is aligned.
    "mov rsp, rsi",
    "call rdi",
    // Returned: Entry.value = xmm0, and leave as an escape with status 0 would.
    "movsd [rbx + 8], xmm0",
    "mov rdi, rbx",
    "xor esi, esi",
    ".globl toy_escape",
    "toy_escape:",
    // rdi = the `Entry`, rsi = the status. Back to the host's stack: every frame
    // on the JIT stack is forgotten.
    "mov rsp, [rdi]",
    "mov rax, rsi",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    // The return address of `toy_enter`'s caller: `toy_enter` returns `status`.
    "ret",
);

/// What `toy_enter` and `toy_escape` share: `#[repr(C)]`, the assembly reads it.
#[repr(C)]
struct Entry {
    /// The host's stack pointer, below the saved registers (offset 0).
    host_rsp: usize,
    /// The code's value, when it returns (offset 8).
    value: f64,
}

unsafe extern "C" {
    /// Calls `function` on the stack that ends at `top`: 0, or an escape's status.
    fn toy_enter(function: usize, top: usize, entry: *mut Entry) -> u64;
    /// Returns `status` from the `toy_enter` that saved `entry`.
    fn toy_escape(entry: *mut Entry, status: u64) -> !;
}
// ANCHOR_END: asm

// ANCHOR: status
/// `toy_enter`'s status: the code returned.
const RETURNED: u64 = 0;
/// A status: a resolve failed, and left its error with the JIT.
pub const FAILED: u64 = 1;
/// A status: the code ran out of JIT stack.
pub const OVERFLOWED: u64 = 2;

/// Why a run ended without a value.
#[derive(Debug, PartialEq)]
pub enum Stop {
    /// A resolve failed (`FAILED`).
    Failed,
    /// The JIT stack is full (`OVERFLOWED`).
    Overflowed,
}
// ANCHOR_END: status

// ANCHOR: stack
/// The JIT stack: 64 MiB, room for millions of small frames.
pub const STACK: usize = 64 << 20;
/// The guard at its bottom: never readable or writable, so that a push into it
/// faults. 64 KiB, so that no frame of JIT'd code can step over it.
const GUARD: usize = 64 << 10;
/// The stack a resolve or a native needs: less than this left is an overflow.
pub const RESERVE: usize = 1 << 20;

/// One thread's JIT stack: the guard, then the stack, growing down towards it.
///
/// ```text
/// low addresses                                                  high addresses
/// | guard (---, 64 KiB) | stack (rw-, 64 MiB)          <── grows down   | top
/// ```
struct Stack {
    /// The mapping: unmapped when the thread ends.
    _map: MmapMut,
    /// Where the guard starts.
    base: usize,
}

impl Stack {
    fn new() -> io::Result<Self> {
        let mut map = MmapMut::map_anon(GUARD + STACK)?;
        let base = map.as_mut_ptr() as usize;
        // SAFETY: the first `GUARD` bytes of our own mapping, whole pages, which
        // nothing references: no access at all from now on.
        if unsafe { libc::mprotect(base as *mut _, GUARD, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Stack { _map: map, base })
    }

    /// The stack's top, where `toy_enter` points `rsp`: a multiple of 16.
    fn top(&self) -> usize {
        self.base + GUARD + STACK
    }
}
// ANCHOR_END: stack

// ANCHOR: thread
thread_local! {
    /// This thread's JIT stack, made by `prepare`.
    static JIT_STACK: OnceCell<Stack> = const { OnceCell::new() };
    /// The run under way on this thread: null when none. Read by the signal handler:
    /// a `const` thread-local with no destructor is a plain memory read.
    static CURRENT: Cell<*mut Entry> = const { Cell::new(std::ptr::null_mut()) };
    /// The guard and the stack of that run: `[base, base + GUARD)` and what follows.
    static BASE: Cell<usize> = const { Cell::new(0) };
}

/// Gives this thread a JIT stack and an alternate signal stack, and makes a fault on
/// the guard page an overflow. Idempotent.
pub fn prepare() -> io::Result<()> {
    signals::install()?;
    signals::alternate_stack()?;
    JIT_STACK.with(|cell| match cell.get() {
        Some(_) => Ok(()),
        None => Stack::new().map(|stack| {
            let _ = cell.set(stack);
        }),
    })
}
// ANCHOR_END: thread

// ANCHOR: run
/// Calls `function` on this thread's JIT stack: its value, or why it stopped.
/// `prepare` must have run on this thread.
///
/// # Safety
/// `function` must be safe to call: JIT'd code whose every way out is a `ret` or
/// an escape.
pub unsafe fn run(function: unsafe extern "C" fn() -> f64) -> Result<f64, Stop> {
    let (base, top) = JIT_STACK.with(|cell| {
        let stack = cell.get().expect("`prepare` ran on this thread");
        (stack.base, stack.top())
    });
    let mut entry = Entry {
        host_rsp: 0,
        value: 0.0,
    };
    let previous = (CURRENT.replace(&mut entry), BASE.replace(base));
    // SAFETY: `toy_enter` keeps the ABI's promises to us (callee-saved registers
    // and the stack pointer restored) on both of its ways out; `function` is
    // callable by the caller's promise; `entry` lives until it returns.
    let status = unsafe { toy_enter(function as usize, top, &mut entry) };
    CURRENT.set(previous.0);
    BASE.set(previous.1);
    match status {
        RETURNED => Ok(entry.value),
        FAILED => Err(Stop::Failed),
        _ => Err(Stop::Overflowed),
    }
}
// ANCHOR_END: run

// ANCHOR: escape
/// Leaves the run under way on this thread: `toy_enter` returns `status`.
///
/// # Safety
/// A run must be under way on this thread, and no frame between its `toy_enter`
/// and this call may own anything that needs dropping or be halfway through a
/// change: those frames are forgotten, not unwound.
pub unsafe fn escape(status: u64) -> ! {
    let entry = CURRENT.get();
    if entry.is_null() {
        std::process::abort(); // a bug of ours: there is nowhere to go
    }
    // SAFETY: `entry` is the live run's (`run` clears it before it returns); the
    // frames above it are abandoned by the caller's promise.
    unsafe { toy_escape(entry, status) }
}

/// Called by the resolver when a resolve fails: leaves the run with `FAILED`.
pub extern "C" fn failed() -> ! {
    // SAFETY: only the resolver calls this, from a run: the frames above it are the
    // resolver's and JIT'd code's, which own nothing; `resolve` has returned.
    unsafe { escape(FAILED) }
}

/// Escapes with `OVERFLOWED` when the run under way has less than `RESERVE` bytes
/// of JIT stack left; does nothing outside a run.
///
/// # Safety
/// As for `escape`: the caller's frames, up to the JIT'd code, own nothing yet.
pub unsafe fn ensure_room() {
    // The address of a local: how far down the stack this frame is.
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let base = BASE.get();
    if !CURRENT.get().is_null() && here < base + GUARD + RESERVE {
        // SAFETY: a run is under way; the rest is the caller's promise.
        unsafe { escape(OVERFLOWED) }
    }
}
// ANCHOR_END: escape

// ANCHOR: on_guard
/// Where a fault at `address` should go: the escape of the run under way, if the
/// address is in the guard of its stack.
pub fn on_guard(address: usize) -> Option<usize> {
    let (entry, base) = (CURRENT.get(), BASE.get());
    let hit = !entry.is_null() && (base..base + GUARD).contains(&address);
    hit.then_some(entry as usize)
}

/// Rewrites the registers of a thread stopped by a signal so that it resumes in
/// `toy_escape(entry, status)` when the handler returns.
///
/// # Safety
/// `context` must be the `ucontext_t` the kernel gave the handler, and `entry` the
/// live run's (from `on_guard`).
pub unsafe fn escape_on_return(context: *mut libc::c_void, entry: usize, status: u64) {
    // SAFETY: by the caller's promise; only the saved registers change.
    let registers = unsafe { &mut (*(context as *mut libc::ucontext_t)).uc_mcontext.gregs };
    registers[libc::REG_RIP as usize] = toy_escape as *const () as i64;
    registers[libc::REG_RDI as usize] = entry as i64;
    registers[libc::REG_RSI as usize] = status as i64;
    // SAFETY: `entry` is the live run's, so it is readable.
    registers[libc::REG_RSP as usize] = unsafe { (*(entry as *const Entry)).host_rsp } as i64;
}
// ANCHOR_END: on_guard

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn where_am_i() -> f64 {
        let local = 0u8;
        std::hint::black_box(&local) as *const u8 as usize as f64
    }

    extern "C" fn fails() -> f64 {
        // SAFETY: called by `run`; this frame owns nothing.
        unsafe { escape(FAILED) }
    }

    extern "C" fn deep(n: f64) -> f64 {
        // SAFETY: this frame and those above it own nothing.
        unsafe { ensure_room() };
        match n < 0.0 {
            true => 0.0,
            false => 1.0 + deep(std::hint::black_box(n + 1.0)),
        }
    }

    extern "C" fn recurses() -> f64 {
        deep(0.0)
    }

    extern "C" fn touches_the_guard() -> f64 {
        let guard = BASE.get() + 16;
        // SAFETY: none: this read faults, on purpose, and the handler escapes.
        unsafe { std::ptr::read_volatile(guard as *const f64) }
    }

    #[test]
    fn the_code_runs_on_the_jit_stack() {
        prepare().unwrap();
        // SAFETY: the functions above return or escape.
        let address = unsafe { run(where_am_i) }.unwrap() as usize;
        let (base, top) = JIT_STACK.with(|s| (s.get().unwrap().base, s.get().unwrap().top()));
        assert!((base + GUARD..top).contains(&address));
        let host = 0u8;
        assert!(!(base..top).contains(&(&host as *const u8 as usize)));
    }

    #[test]
    fn an_escape_returns_from_the_entry_and_the_next_run_works() {
        prepare().unwrap();
        let mut sum = 0.0;
        for i in 0..100 {
            // SAFETY: as above.
            assert_eq!(unsafe { run(fails) }, Err(Stop::Failed));
            sum += i as f64;
        }
        // The host's registers came back every time: `sum` is still right.
        assert_eq!(sum, 4950.0);
        assert_eq!(CURRENT.get(), std::ptr::null_mut());
        assert!(unsafe { run(where_am_i) }.is_ok());
    }

    #[test]
    fn too_little_room_is_an_overflow() {
        prepare().unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { run(recurses) }, Err(Stop::Overflowed));
    }

    #[test]
    fn a_fault_on_the_guard_is_an_overflow() {
        prepare().unwrap();
        for _ in 0..3 {
            // SAFETY: as above; the fault is caught, three times in a row.
            assert_eq!(unsafe { run(touches_the_guard) }, Err(Stop::Overflowed));
        }
        assert!(unsafe { run(where_am_i) }.is_ok());
    }
}
// ANCHOR_END: tests
