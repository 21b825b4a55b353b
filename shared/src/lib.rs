//! What both halves of toy must agree on: the controller (`toy`: session, codegen,
//! JIT) and the target (`toy-executor`: memory, stubs, resolver, runtime, server).
//!
//! Addresses in the executor's address space ([`Addr`]), the errors of executor
//! operations ([`ExecError`]), how a run can end early ([`Abort`]), how an executor
//! ended ([`Termination`]), the traits the JIT talks to ([`executor::Loader`],
//! [`executor::Executor`]) and the wire protocol between two processes ([`wire`]).
//! No LLVM, no executable memory: plain data.
#![warn(missing_docs)]

pub mod executor;
pub mod termination;
pub mod wire;

use thiserror::Error;

pub use crate::termination::{Lie, Peer, Stall, Termination};
use crate::wire::{IoError, ProtocolError};

/// An address in the executor's address space.
pub type Addr = u64;

/// A resolved `extern`: its address and, when the runtime knows it, its arity.
pub type ExternSymbol = (Addr, Option<usize>);

/// Why JIT'd code did not return normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abort {
    /// The function with this id was called, and its resolve was declined.
    Unresolved(u32),
    /// Ctrl-C stopped the code.
    Interrupted,
    /// The JIT stack overflowed; `pc` is the instruction that faulted.
    StackOverflow {
        /// Address of the faulting instruction.
        pc: Addr,
    },
}

/// Failures of executor operations (not of the program being run).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// The memory could not be mapped.
    #[error("cannot map JIT memory: {0}")]
    Memory(IoError),
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
    /// The frames between the two sides broke the protocol (or could not be moved).
    #[error("executor protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The other side refused a request (a `Failed` answer): its reason, as sent.
    #[error("executor protocol error: {0}")]
    Refused(String),
    /// The executor process is gone: how it ended, or why `toy` ended it.
    #[error("executor {0}")]
    Terminated(Termination),
}
