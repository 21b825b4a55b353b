//! The JIT's own failures: each names the layer that failed (LLVM, the linker, the
//! executor, the configuration) and keeps that layer's typed error as its source.

use thiserror::Error;

use crate::codegen::CodegenError;
use crate::jit::linker::LinkError;
use toy_shared::{ExecError, Termination};

/// A failure of toy's own while compiling, linking or running JIT'd code.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// LLVM could not compile a function (it stays uncompiled; a later call retries).
    #[error("cannot compile `{name}`: {source}")]
    Compile {
        /// The function (`__anon_expr` for a top-level expression).
        name: String,
        /// What LLVM said.
        source: CodegenError,
    },
    /// A compiled object could not be linked into executor memory.
    #[error("cannot link `{name}`: {source}")]
    Link {
        /// The function (the first of a batch).
        name: String,
        /// What the linker found.
        source: LinkError,
    },
    /// An object lacks the symbol it was compiled to define.
    #[error("the object of `{name}` lacks its symbol `{symbol}`")]
    MissingSymbol {
        /// The function.
        name: String,
        /// The symbol looked for.
        symbol: String,
    },
    /// Tier-0 code needs a call counter, and this global has none (or the executor
    /// has none at all).
    #[error("`{name}` has no call counter in the executor")]
    NoCallCounter {
        /// The function.
        name: String,
    },
    /// An interpreted expression called a compiled function with more arguments
    /// than a call thunk can pass.
    #[error("a call with {0} arguments cannot go through a thunk")]
    TooManyArguments(usize),
    /// The executor asked to resolve a function id toy never handed out (it lies).
    #[error("the executor asked for function id {0}, which toy never defined")]
    UnknownId(u32),
    /// An executor operation failed.
    #[error(transparent)]
    Executor(#[from] ExecError),
    /// The executor process died while running or loading code, and what toy did.
    #[error("executor {how} while evaluating this; {after}")]
    ExecutorDied {
        /// How it ended, or why toy ended it.
        how: Termination,
        /// Whether a fresh executor took its place.
        after: Recovery,
    },
    /// The JIT's configuration contradicts itself.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Error {
    /// The label under the span of the item that met the failure.
    pub fn label(&self) -> &'static str {
        match self {
            Error::Compile { .. } | Error::Link { .. } | Error::MissingSymbol { .. } => {
                "while compiling this"
            }
            Error::ExecutorDied { .. } => "running here",
            _ => "while compiling or running this",
        }
    }

    /// Whether an interrupt ended the evaluation (an executor that ignored Ctrl-C and
    /// was replaced).
    pub fn is_interrupt(&self) -> bool {
        matches!(self, Error::ExecutorDied { how, .. } if how.is_interrupt())
    }
}

/// What became of the executor after it died.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Recovery {
    /// A fresh executor runs, with every definition loaded again.
    #[error("started a fresh executor; all definitions are kept")]
    Restarted,
    /// A fresh executor runs, but loading the definitions into it failed.
    #[error("started a fresh executor, but reloading failed: {0}")]
    ReloadFailed(ExecError),
    /// This kind of executor cannot be replaced.
    #[error("it cannot be restarted")]
    CannotRestart,
    /// Starting a fresh executor failed.
    #[error("cannot start a fresh one: {0}")]
    RestartFailed(ExecError),
}

/// A [`crate::jit::JitConfig`] that asks for something the JIT cannot do.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Tiers and speculation belong to the lazy JIT; the eager JIT compiles once.
    #[error("{0} needs the lazy JIT (the eager JIT compiles every function once, at -O)")]
    NeedsLazy(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use toy_shared::{Lie, Stall};

    fn died(how: Termination) -> Error {
        Error::ExecutorDied {
            how,
            after: Recovery::Restarted,
        }
    }

    #[test]
    fn an_executor_that_ignored_ctrl_c_is_an_interrupt() {
        let ignored = died(
            Stall::IgnoredInterrupt {
                grace: Duration::from_secs(2),
            }
            .into(),
        );
        assert!(ignored.is_interrupt());
        assert_eq!(
            ignored.to_string(),
            "executor did not respond to the interrupt within 2 s while evaluating this; \
             started a fresh executor; all definitions are kept"
        );
    }

    #[test]
    fn other_deaths_are_not_interrupts() {
        let signaled = died(Termination::Signaled {
            number: 11,
            name: "SIGSEGV",
        });
        assert!(!signaled.is_interrupt());
        assert_eq!(
            signaled.to_string(),
            "executor terminated by signal 11 (SIGSEGV) while evaluating this; \
             started a fresh executor; all definitions are kept"
        );
        assert!(!died(Lie::InUse(1).into()).is_interrupt());
        // Its text names an interrupt; its variant does not.
        let path = died(Termination::CannotStart {
            path: "/interrupt/toy-executor".into(),
            error: std::io::Error::other("not found").into(),
        });
        assert!(path.to_string().contains("interrupt"));
        assert!(!path.is_interrupt());
    }
}
