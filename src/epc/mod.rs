//! Executor process control (after ORC's `ExecutorProcessControl`): the controller's
//! handle on an executor, in this process or in another.
//!
//! The JIT talks to an executor only through `toy_shared::executor::{Executor,
//! Loader}`, whose operations carry plain numbers and bytes (addresses in the
//! executor's address space, never host pointers), so that each can become one
//! message to another process. The executor of this process is
//! `toy_executor::local::InProcess`; [`remote::Remote`] is one in a `toy-executor`
//! process, reached over pipes or TCP, whose every answer is checked before the JIT
//! sees it.

pub mod remote;

/// The executor of this process. Re-exported on purpose: a program that links LLVM
/// (through `toy`) and names `toy_executor` itself can have LLVM's copy of GDB's JIT
/// symbols linked before toy's and fail to link (`tests/linker.rs` did).
pub use toy_executor::local::InProcess;
