//! toy: a toolchain for Kaleidoscope, the language of LLVM's tutorials.
//!
//! Data flows one way: [`frontend`] (source → tokens → parse tree → AST), then an
//! [`engine::Engine`] that runs the AST ([`interp`], the reference interpreter),
//! driven item by item by a [`session::Session`]. [`runtime`] holds what running
//! programs call.

#![warn(missing_docs)]

pub mod aot;
pub mod codegen;
pub mod engine;
pub mod error;
pub mod executor;
pub mod frontend;
pub mod interp;
pub mod jit;
pub mod session;

pub use error::Error;
pub use toy_executor::runtime;
