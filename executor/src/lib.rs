//! The LLVM-free half of toy's JIT: where JIT'd code lives and runs.
//!
//! Executable memory ([`memory`]), stubs and trampolines ([`stubs`]), entering and
//! leaving JIT'd code and the resolver that compile callbacks go through ([`entry`]),
//! the runtime that Kaleidoscope programs call ([`runtime`]), all of it behind
//! [`local::Local`], which also tells a debugger about the code ([`gdb`]). The `toy` process uses it in-process; the `toy-executor` process
//! serves it to a remote `toy` over a byte stream ([`protocol`], [`server`]), or to
//! several over TCP ([`listener`], [`token`]).
#![warn(missing_docs)]

mod auth;
pub mod entry;
pub mod gdb;
pub mod listener;
pub mod local;
pub mod memory;
pub mod protocol;
pub mod runtime;
pub mod server;
pub mod stubs;
pub mod token;

use std::sync::atomic::{AtomicBool, Ordering};

use thiserror::Error;

pub use entry::{Abort, JIT_STACK_SIZE, block_interrupts, handle_interrupts, poll_interrupt};

/// An address in the executor's address space.
pub type Addr = u64;

/// A resolved `extern`: its address and, when the runtime knows it, its arity.
pub type ExternSymbol = (Addr, Option<usize>);

/// Failures of executor operations (not of the program being run).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// The memory could not be mapped.
    #[error("cannot map JIT memory: {0}")]
    Memory(String),
    /// No free block is large enough.
    #[error("out of JIT memory (wanted {0} bytes)")]
    OutOfMemory(u64),
    /// An address outside the executor's memory, or not the start of a block.
    #[error("bad executor address {0:#x}")]
    BadAddress(Addr),
    /// An unusable alignment.
    #[error("bad alignment {0}")]
    BadAlignment(u64),
    /// `run` was called while code was already running on this thread.
    #[error("an evaluation is already running")]
    Reentered,
    /// The other side broke the protocol (or sent garbage).
    #[error("executor protocol error: {0}")]
    Protocol(String),
    /// The executor process is gone: how it ended.
    #[error("executor {0}")]
    Terminated(String),
}

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
