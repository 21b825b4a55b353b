//! The interface between the session (front end) and an execution engine. It knows no
//! engine: the interpreter and the JIT implement it.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::frontend::ast::{Function, Prototype};
use crate::frontend::source::{SourceId, SourceLines, Span};

// ANCHOR: engine
/// Something that can run Kaleidoscope: the reference interpreter, later the JITs.
///
/// The session has already checked every item it hands over (names, scopes, operators,
/// the arity of known callees); an engine reports what only it can see, such as a
/// callee that is still missing when the caller first runs.
pub trait Engine {
    /// Adds or replaces a function (later calls, including calls from functions that
    /// are already defined, use the new body).
    fn define(&mut self, function: Arc<Function>) -> Result<(), Error>;
    /// Declares an external function, resolved when it is first called.
    fn declare(&mut self, proto: Arc<Prototype>) -> Result<(), Error>;
    /// Runs a top-level expression and returns its value.
    fn evaluate(&mut self, expr: Arc<Function>) -> Result<f64, Error>;
    /// Forgets the function or extern `name` (the REPL's `:undo` of a first
    /// definition): later calls, including calls from compiled callers, report it
    /// unknown. `span` is the definition's, for toy's own failures.
    fn remove(&mut self, name: &str, span: Span) -> Result<(), Error>;
    /// The tier of `name`'s current machine code (`None`: not compiled, or an engine
    /// that compiles nothing).
    fn tier(&mut self, _name: &str) -> Option<u8> {
        None
    }
    /// The lines of source `id` as it is now, for an engine that emits debug
    /// information (called before items of that source are handed over).
    fn source_lines(&mut self, _id: SourceId, _lines: Arc<SourceLines>) {}
    /// Whether the engine wants [`Engine::source_lines`].
    fn wants_lines(&self) -> bool {
        false
    }
    /// What a compiling engine has compiled so far (`None`: it compiles nothing).
    fn stats(&mut self) -> Option<Stats> {
        None
    }
}

/// Counters of a compiling engine, for the REPL's `:stats`.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// Functions (and operators) defined.
    pub functions: usize,
    /// Of those, the ones with machine code.
    pub compiled: usize,
    /// `extern` declarations.
    pub externs: usize,
    /// Time spent compiling functions, by phase.
    pub timings: PhaseTimes,
    /// Time spent compiling top-level expressions, by phase.
    pub expressions: PhaseTimes,
    /// Top-level expressions interpreted rather than compiled.
    pub interpreted: u64,
    /// Hot functions recompiled at tier 1 and swapped in.
    pub tier_ups: u64,
    /// Compiled functions dropped because a body they had inlined changed.
    pub invalidations: u64,
    /// Bytes of machine code and data of compiled functions.
    pub code_bytes: u64,
    /// Bytes of stubs and trampolines.
    pub stub_bytes: u64,
    /// Bytes of executor memory in use.
    pub memory_in_use: u64,
}
// ANCHOR_END: engine

/// Time a compiling engine spent in each phase of compiling, summed over functions.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhaseTimes {
    /// AST to IR.
    pub irgen: Duration,
    /// The optimization pipeline.
    pub optimize: Duration,
    /// IR to an object file.
    pub codegen: Duration,
    /// Linking objects into executor memory.
    pub link: Duration,
    /// Functions compiled.
    pub count: u32,
}
