//! The errors of the library, by layer.
//!
//! [`ProgramError`] is what a Kaleidoscope program can do wrong: the front end, the
//! session and every engine report it, always at a span, and every engine reports the
//! same one for the same program. Toy's own failures (LLVM, the linker, the executor,
//! the cache) have their own types in their layers, gathered by [`jit::Error`]. The
//! library's [`enum@Error`] is one or the other, with the span it happened at; only the CLI
//! turns it into a diagnostic.

use thiserror::Error;

use crate::frontend::source::Span;
use crate::jit;

/// What the library reports: the program's error, or toy's own failure at a span.
#[derive(Debug, Error)]
pub enum Error {
    /// The program is wrong (every engine says the same).
    #[error(transparent)]
    Program(#[from] ProgramError),
    /// Compiling, linking or running JIT'd code failed for a reason of toy's own.
    #[error("{source}")]
    Jit {
        /// What failed (boxed: an evaluation's `Result` stays as small as the
        /// program's errors).
        source: Box<jit::Error>,
        /// The item being defined or evaluated.
        span: Span,
    },
}

impl Error {
    /// Toy's own failure `source` while handling the item at `span`.
    pub fn jit(source: impl Into<jit::Error>, span: Span) -> Self {
        Error::Jit {
            source: Box::new(source.into()),
            span,
        }
    }

    /// Where the error is.
    pub fn span(&self) -> Span {
        match self {
            Error::Program(err) => err.span(),
            Error::Jit { span, .. } => *span,
        }
    }

    /// A short label for the marker under the span.
    pub fn label(&self) -> String {
        match self {
            Error::Program(err) => err.label(),
            Error::Jit { source, .. } => source.label().into(),
        }
    }

    /// True when more input could complete the item (the REPL then asks for another line).
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Error::Program(err) if err.is_incomplete())
    }

    /// True for an evaluation stopped by Ctrl-C (the terminal's `^C` then needs a line
    /// of its own before the message).
    pub fn is_interrupt(&self) -> bool {
        match self {
            Error::Program(err) => matches!(err, ProgramError::Interrupted { .. }),
            Error::Jit { source, .. } => source.is_interrupt(),
        }
    }
}

/// Anything a Kaleidoscope program can do wrong.
///
/// Every variant has a `span`; the other fields are what its message names.
#[allow(missing_docs)]
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ProgramError {
    // Lexical errors.
    /// A character that starts no token.
    #[error("unexpected character `{}`", .ch.escape_debug())]
    UnexpectedChar { ch: char, span: Span },
    /// Bytes that are not UTF-8 (shown as U+FFFD).
    #[error("invalid UTF-8 in the input")]
    InvalidUtf8 { span: Span },
    /// A run of digits and dots that is not a number.
    #[error("malformed number `{text}`")]
    MalformedNumber { text: String, span: Span },

    // Syntax errors.
    /// The parser met a token it cannot use here.
    #[error("{message}")]
    Syntax {
        message: String,
        label: String,
        span: Span,
    },
    /// The input ended in the middle of an item.
    #[error("unexpected end of input; expected {expected}")]
    UnexpectedEnd { expected: String, span: Span },
    /// Parentheses, conditionals or loops nested deeper than the parser allows.
    #[error("expression nested too deeply (the limit is {limit} levels)")]
    TooDeep { limit: usize, span: Span },

    // Semantic errors, found when an item is accepted.
    /// A name that is neither a parameter nor a `for`/`var` variable in scope.
    #[error("unknown variable `{name}`")]
    UnknownVariable { name: String, span: Span },
    /// The left side of `=` is not a variable.
    #[error("the left side of `=` must be a variable")]
    InvalidAssignment { span: Span },
    /// `def binary+` and friends.
    #[error("cannot redefine built-in operator `{op}`")]
    BuiltinOperator { op: char, span: Span },
    /// A binary operator precedence outside 1..=100.
    #[error("operator precedence must be between 1 and 100, found {value}")]
    BadPrecedence { value: f64, span: Span },
    /// `def unary! 5 (x)`: unary operators have no precedence.
    #[error("a unary operator takes no precedence")]
    UnaryPrecedence { span: Span },
    /// An operator definition with the wrong number of parameters.
    #[error("a {kind} operator takes {expected} operand(s), found {found}")]
    OperatorOperands {
        kind: &'static str,
        expected: usize,
        found: usize,
        span: Span,
    },
    /// Two parameters with the same name.
    #[error("parameter `{name}` is declared twice")]
    DuplicateParameter { name: String, span: Span },
    /// A binary operator that no definition has introduced.
    #[error("unknown binary operator `{op}`")]
    UnknownBinaryOperator { op: char, span: Span },
    /// A unary operator that no definition has introduced.
    #[error("unknown unary operator `{op}`")]
    UnknownUnaryOperator { op: char, span: Span },
    /// An `extern` whose arity differs from the `def` of the same name.
    #[error("`{name}` is already defined with {defined} parameter(s)")]
    ConflictingExtern {
        name: String,
        defined: usize,
        span: Span,
    },

    /// An `extern` of a name that is not in the runtime's table of callable functions.
    #[error(
        "extern `{name}` is not a function toy can call: only putchard, printd and C math \
         functions of doubles (sin, pow, floor, ...: see the grammar's list)"
    )]
    NotCallableExtern { name: String, span: Span },
    /// An `extern` of a callable function with another number of parameters.
    #[error("extern `{name}` declares {found} parameter(s), but `{name}` takes {expected}")]
    ExternArity {
        name: String,
        expected: usize,
        found: usize,
        span: Span,
    },

    // Errors found when code runs (or, in the JIT engines, when it is linked to its callees).
    /// A call to a name that is neither defined nor declared.
    #[error("unknown function `{name}`")]
    UnknownFunction { name: String, span: Span },
    /// A call with the wrong number of arguments.
    #[error("`{name}` takes {expected} argument(s) but {found} were given")]
    WrongArity {
        name: String,
        expected: usize,
        found: usize,
        span: Span,
    },
    /// An `extern` that names no runtime or C math function.
    #[error(
        "cannot resolve external function `{name}`: no runtime or C math function has that name"
    )]
    UnresolvedExtern { name: String, span: Span },
    /// An `extern` with more parameters than the engine can call.
    #[error("external function `{name}` has {arity} parameters; at most {max} are supported")]
    TooManyExternParams {
        name: String,
        arity: usize,
        max: usize,
        span: Span,
    },
    /// Recursion ran out of stack.
    #[error("stack overflow (recursion too deep) in this call")]
    StackOverflow { span: Span },
    /// Ctrl-C during an evaluation.
    #[error("interrupted")]
    Interrupted { span: Span },
}

impl ProgramError {
    /// Where the error is.
    pub fn span(&self) -> Span {
        use ProgramError::*;
        match self {
            UnexpectedChar { span, .. }
            | InvalidUtf8 { span }
            | MalformedNumber { span, .. }
            | Syntax { span, .. }
            | UnexpectedEnd { span, .. }
            | TooDeep { span, .. }
            | UnknownVariable { span, .. }
            | InvalidAssignment { span }
            | BuiltinOperator { span, .. }
            | BadPrecedence { span, .. }
            | UnaryPrecedence { span }
            | OperatorOperands { span, .. }
            | DuplicateParameter { span, .. }
            | UnknownBinaryOperator { span, .. }
            | UnknownUnaryOperator { span, .. }
            | ConflictingExtern { span, .. }
            | NotCallableExtern { span, .. }
            | ExternArity { span, .. }
            | UnknownFunction { span, .. }
            | WrongArity { span, .. }
            | UnresolvedExtern { span, .. }
            | TooManyExternParams { span, .. }
            | StackOverflow { span }
            | Interrupted { span } => *span,
        }
    }

    /// A short label for the marker under the span.
    pub fn label(&self) -> String {
        use ProgramError::*;
        match self {
            UnexpectedChar { .. } | InvalidUtf8 { .. } => "not valid here".into(),
            MalformedNumber { .. } => "a number has at most one `.`".into(),
            Syntax { label, .. } => label.clone(),
            UnexpectedEnd { .. } => "input ends here".into(),
            TooDeep { .. } => "too deep".into(),
            UnknownVariable { .. } => "not in scope".into(),
            InvalidAssignment { .. } => "not a variable".into(),
            BuiltinOperator { .. } => "built-in".into(),
            BadPrecedence { .. } => "out of range".into(),
            UnaryPrecedence { .. } => "remove this".into(),
            OperatorOperands { .. } => "wrong number of operands".into(),
            DuplicateParameter { .. } => "declared again here".into(),
            UnknownBinaryOperator { .. } => "define it first with `def binary`".into(),
            UnknownUnaryOperator { .. } => "define it first with `def unary`".into(),
            ConflictingExtern { .. } => "conflicting declaration".into(),
            NotCallableExtern { .. } => "declared here".into(),
            ExternArity { .. } => "wrong number of parameters".into(),
            UnknownFunction { .. } => "not defined".into(),
            WrongArity { .. } => "wrong number of arguments".into(),
            UnresolvedExtern { .. } => "called here".into(),
            TooManyExternParams { .. } => "called here".into(),
            StackOverflow { .. } => "the call that overflowed".into(),
            Interrupted { .. } => "running here".into(),
        }
    }

    /// True when more input could complete the item (the REPL then asks for another line).
    pub fn is_incomplete(&self) -> bool {
        matches!(self, ProgramError::UnexpectedEnd { .. })
    }
}
