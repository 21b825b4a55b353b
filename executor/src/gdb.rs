//! GDB's JIT interface: how a debugger learns about code that appears at run time.
//!
//! GDB puts a breakpoint on [`__jit_debug_register_code`]; each time it is hit, GDB
//! reads [`__jit_debug_descriptor`] and loads (or forgets) the in-memory object file
//! its `relevant_entry` points at, as if it were a shared library. The objects are
//! prepared by `toy`'s JIT linker (section addresses and relocations already applied),
//! so this module only keeps them alive and linked into the list GDB walks.
//! See "JIT Compilation Interface" in the GDB manual.

use std::cell::UnsafeCell;
use std::ptr;
use std::sync::Mutex;

const JIT_NOACTION: u32 = 0;
const JIT_REGISTER: u32 = 1;
const JIT_UNREGISTER: u32 = 2;

/// One object in GDB's list (layout fixed by GDB).
#[repr(C)]
struct Entry {
    next: *mut Entry,
    prev: *mut Entry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

/// The list head GDB reads (layout fixed by GDB).
#[repr(C)]
struct Descriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut Entry,
    first_entry: *mut Entry,
}

/// `Descriptor` in a cell, so that it can be a `static` GDB finds by name.
#[repr(transparent)]
pub struct DescriptorCell(UnsafeCell<Descriptor>);

// SAFETY: the descriptor is only read or written while `LOCK` is held (GDB reads it
// while the process is stopped).
unsafe impl Sync for DescriptorCell {}

/// The descriptor GDB reads, by this exact name.
#[allow(non_upper_case_globals)]
#[unsafe(no_mangle)]
pub static __jit_debug_descriptor: DescriptorCell = DescriptorCell(UnsafeCell::new(Descriptor {
    version: 1,
    action_flag: JIT_NOACTION,
    relevant_entry: ptr::null_mut(),
    first_entry: ptr::null_mut(),
}));

/// Serializes changes to the list.
static LOCK: Mutex<()> = Mutex::new(());

/// Where GDB's breakpoint goes: called after each change to the list.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn __jit_debug_register_code() {
    // SAFETY: an empty asm statement; it only keeps the call (and the stores before
    // it) from being optimized away, since GDB observes them.
    unsafe { std::arch::asm!("", options(nostack, preserves_flags)) }
}

/// An object registered with GDB; dropping it unregisters it.
pub struct Registration {
    entry: *mut Entry,
    _object: Box<[u8]>,
}

// SAFETY: the entry is owned by this registration and only touched under `LOCK`.
unsafe impl Send for Registration {}

/// Registers an in-memory ELF object (with its sections' load addresses filled in).
pub fn register(object: Vec<u8>) -> Registration {
    let object = object.into_boxed_slice();
    let entry = Box::into_raw(Box::new(Entry {
        next: ptr::null_mut(),
        prev: ptr::null_mut(),
        symfile_addr: object.as_ptr(),
        symfile_size: object.len() as u64,
    }));
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: we hold the lock; `entry` is a fresh allocation and `first_entry` is
    // null or a live entry of another registration.
    unsafe {
        let descriptor = &mut *__jit_debug_descriptor.0.get();
        (*entry).next = descriptor.first_entry;
        if !descriptor.first_entry.is_null() {
            (*descriptor.first_entry).prev = entry;
        }
        descriptor.first_entry = entry;
        descriptor.relevant_entry = entry;
        descriptor.action_flag = JIT_REGISTER;
    }
    __jit_debug_register_code();
    Registration {
        entry,
        _object: object,
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let entry = self.entry;
        // SAFETY: we hold the lock; `entry` is in the list, and its neighbours are live.
        unsafe {
            let descriptor = &mut *__jit_debug_descriptor.0.get();
            let (prev, next) = ((*entry).prev, (*entry).next);
            if prev.is_null() {
                descriptor.first_entry = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            descriptor.relevant_entry = entry;
            descriptor.action_flag = JIT_UNREGISTER;
        }
        __jit_debug_register_code();
        // SAFETY: unlinked above, and GDB has read it during the call; ours to free.
        drop(unsafe { Box::from_raw(entry) });
    }
}

/// How many objects are registered (for tests).
pub fn registered() -> usize {
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut count = 0;
    // SAFETY: we hold the lock; the list holds live entries only.
    unsafe {
        let mut entry = (*__jit_debug_descriptor.0.get()).first_entry;
        while !entry.is_null() {
            count += 1;
            entry = (*entry).next;
        }
    }
    count
}
