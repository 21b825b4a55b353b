//! toy: a toolchain for Kaleidoscope, the language of LLVM's tutorials — the
//! controller side of its JIT, and everything that needs LLVM.
//!
//! Data flows one way: [`frontend`] (source → tokens → parse tree → resolved AST),
//! driven item by item by a [`session::Session`], into an [`engine::Engine`]: the
//! reference interpreter ([`interp`]) or the [`jit`], which compiles with [`codegen`]
//! and links into an executor through [`epc`] (executor process control: in this
//! process, or a `toy-executor` process over pipes or TCP). [`aot`] turns a whole
//! program into an executable instead. [`error`] holds the library's errors by layer.
//!
//! Like LLVM ORC, toy has three sides: this crate is the controller; `toy_shared`
//! (crate `shared/`) is what both sides agree on (addresses, `ExecError`, the
//! `Loader`/`Executor` traits the JIT talks to, the wire protocol); `toy_executor`
//! (crate `executor/`, no LLVM) is the target: memory, stubs, the resolver, the
//! runtime programs call ([`runtime`]), the executor process. `ARCHITECTURE.md` at the
//! repository's root maps it all.

#![warn(missing_docs)]

pub mod analysis;
pub mod aot;
pub mod codegen;
pub mod commands;
pub mod engine;
pub mod epc;
pub mod error;
pub mod fmt;
pub mod frontend;
pub mod interp;
pub mod jit;
pub mod lsp;
pub mod session;

pub use error::Error;
pub use toy_executor::runtime;
