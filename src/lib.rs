//! toy: a toolchain for Kaleidoscope, the language of LLVM's tutorials.
//!
//! Data flows one way: [`frontend`] (source → tokens → parse tree → resolved AST),
//! driven item by item by a [`session::Session`], into an [`engine::Engine`]: the
//! reference interpreter ([`interp`]) or the JIT ([`jit`]: [`codegen`] makes objects,
//! the JIT links them into an executor (through [`epc`]) — in process or in the LLVM-free
//! `toy-executor` — behind stubs). [`aot`] turns a whole program into an executable
//! instead. [`runtime`] holds what running programs call.

#![warn(missing_docs)]

pub mod aot;
pub mod codegen;
pub mod engine;
pub mod epc;
pub mod error;
pub mod frontend;
pub mod interp;
pub mod jit;
pub mod session;

pub use error::Error;
pub use toy_executor::runtime;
