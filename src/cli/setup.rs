//! Why the CLI could not set up what the options ask for: each layer's own error,
//! turned into a message only here, by the diagnostic the CLI prints.

use thiserror::Error;

use super::input::InputError;
use toy::codegen::CodegenError;
use toy_executor::token::TokenError;
use toy_shared::ExecError;

/// A failure to build the engine, compiler or connection the options ask for.
#[derive(Debug, Error)]
pub enum SetupError {
    /// Options that contradict each other.
    #[error("{0}")]
    Usage(&'static str),
    /// The token file could not be read.
    #[error(transparent)]
    TokenFile(InputError),
    /// A token the listener would refuse.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The executor could not be started or reached.
    #[error(transparent)]
    Executor(#[from] ExecError),
    /// The JIT refused its configuration.
    #[error(transparent)]
    Jit(#[from] toy::jit::Error),
    /// LLVM could not be set up for this machine.
    #[error(transparent)]
    Codegen(#[from] CodegenError),
}
