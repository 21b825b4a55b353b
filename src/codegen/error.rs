//! What can fail in code generation, by step: target set-up, IR building,
//! verification, the pass pipeline and emission. Every one is a bug of toy's or an
//! unusable target, reported rather than crashed on; LLVM's own words are kept as a
//! field where LLVM gives any. Each message reads as it did when this was one string
//! (`LLVM: ...`); the variant says which step failed.

use inkwell::builder::BuilderError;
use thiserror::Error;

/// Why code generation failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CodegenError {
    /// LLVM's native target could not be initialized.
    #[error("LLVM: {message}")]
    NativeTarget {
        /// LLVM's message.
        message: String,
    },
    /// LLVM has no target for the triple.
    #[error("LLVM: {message}")]
    UnknownTarget {
        /// The triple asked for.
        triple: String,
        /// LLVM's message.
        message: String,
    },
    /// LLVM made no target machine for the triple and CPU.
    #[error("LLVM: no target machine for {triple}")]
    NoTargetMachine {
        /// The triple asked for.
        triple: String,
        /// The CPU asked for.
        cpu: String,
    },
    /// The IR builder refused an instruction.
    #[error("LLVM: {message}")]
    Builder {
        /// The builder's message.
        message: String,
    },
    /// IR was generated with no function or block to put it in.
    #[error("LLVM: {what}")]
    NoInsertPoint {
        /// What was missing.
        what: &'static str,
    },
    /// A call that must produce a `double` produced nothing.
    #[error("LLVM: call of {callee} has no value")]
    CallWithoutValue {
        /// The function (or function pointer) called.
        callee: String,
    },
    /// A value meant to be called is not a function pointer.
    #[error("LLVM: {pointer} is not a function pointer")]
    NotCallable {
        /// The global holding the pointer.
        pointer: String,
    },
    /// The generated module is not valid IR.
    #[error("LLVM: {message}")]
    Verify {
        /// The verifier's message.
        message: String,
    },
    /// The optimization pipeline failed.
    #[error("LLVM: {message}")]
    Passes {
        /// The pipeline's text.
        pipeline: &'static str,
        /// LLVM's message.
        message: String,
    },
    /// The target machine could not write the object or assembly.
    #[error("LLVM: {message}")]
    Emit {
        /// LLVM's message.
        message: String,
    },
    /// A compiler was asked for before one was made (a bug of the caller's).
    #[error("LLVM: no compiler")]
    NoCompiler,
}

impl From<BuilderError> for CodegenError {
    fn from(err: BuilderError) -> Self {
        CodegenError::Builder {
            message: err.to_string(),
        }
    }
}
