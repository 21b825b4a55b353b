//! The LLVM-free half of toy's JIT: where JIT'd code lives and runs.
//!
//! Executable memory ([`memory`]), stubs and trampolines ([`stubs`]), entering and
//! leaving JIT'd code and the resolver that compile callbacks go through ([`entry`],
//! with its signal handlers in [`signals`]),
//! the runtime that Kaleidoscope programs call ([`runtime`]), all of it behind
//! [`local::Local`], which also tells a debugger about the code ([`gdb`]). The `toy`
//! process uses it in-process ([`local::InProcess`]); the `toy-executor` process
//! serves it to a remote `toy` over a byte stream ([`command`], [`server`], speaking
//! `toy_shared::wire`), or to several over TCP ([`listener`], [`token`]). What both
//! sides agree on (addresses, errors, the `Loader` and `Executor` traits it
//! implements) lives in `toy_shared`.
#![warn(missing_docs)]

mod auth;
pub mod command;
pub mod entry;
pub mod gdb;
pub mod listener;
pub mod local;
pub mod memory;
mod output;
pub mod runtime;
pub mod server;
pub mod signals;
pub mod stubs;
pub mod token;

use std::sync::atomic::{AtomicBool, Ordering};

pub use entry::{JIT_STACK_SIZE, poll_interrupt};
pub use signals::{block_interrupts, handle_interrupts};

/// Set by Ctrl-C (see [`handle_interrupts`]); the interpreter and the runtime poll it.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C was pressed since the last [`take_interrupt`].
#[inline]
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Takes the pending Ctrl-C, if any.
pub fn take_interrupt() -> bool {
    INTERRUPTED.swap(false, Ordering::Relaxed)
}
