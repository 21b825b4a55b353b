//! The reference interpreter: a direct, tree-walking reading of the language's rules.
//!
//! It is the oracle that the JIT engines are tested against, so it stays simple: every
//! rule of the language is one arm of `Machine::eval` (in `machine.rs`), finished,
//! once its operands are values, by the tasks that `Machine::step` runs.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{Error, ProgramError};
use crate::frontend::ast::{BinOp, Expr, Function, Name, Prototype};
use crate::frontend::source::Span;
use crate::runtime::{self, ExternFn, MAX_EXTERN_ARGS};

mod machine;

pub use machine::MAX_DEPTH;
use machine::Machine;

enum Callee {
    Defined {
        function: Arc<Function>,
        /// The generation at which every callee of the body was last found to exist.
        checked: Cell<u64>,
    },
    Extern {
        proto: Arc<Prototype>,
        resolved: Cell<Option<ExternFn>>,
    },
}

impl Callee {
    fn arity(&self) -> usize {
        match self {
            Callee::Defined { function, .. } => function.proto.arity(),
            Callee::Extern { proto, .. } => proto.arity(),
        }
    }
}

/// A call made elsewhere: callee, argument values, span of the call.
pub type Call<'a> = dyn FnMut(&str, &[f64], Span) -> Result<f64, Error> + 'a;

/// The tree-walking engine.
#[derive(Default)]
pub struct Interpreter {
    functions: HashMap<Name, Callee>,
    /// Bumped whenever a name is (re)defined, so that checks done at a function's
    /// first call are redone after the program changes.
    generation: u64,
}

impl Interpreter {
    /// An interpreter with no functions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Evaluates a top-level expression whose every call goes to `call` (the JIT's
    /// compiled functions, through their stubs): the same doubles as compiled code.
    pub fn evaluate_calling(&self, expr: &Function, call: &mut Call<'_>) -> Result<f64, Error> {
        Machine::new(self, expr.slots, Some(call)).run(expr)
    }

    /// Resolves an extern on its first call.
    fn resolve(
        &self,
        proto: &Prototype,
        cell: &Cell<Option<ExternFn>>,
        span: Span,
    ) -> Result<ExternFn, ProgramError> {
        if let Some(f) = cell.get() {
            return Ok(f);
        }
        let name = proto.name.to_string();
        let f = runtime::lookup(&name).ok_or_else(|| ProgramError::UnresolvedExtern {
            name: name.clone(),
            span,
        })?;
        if f.arity != proto.arity() {
            return Err(ProgramError::WrongArity {
                name,
                expected: f.arity,
                found: proto.arity(),
                span,
            });
        }
        if proto.arity() > MAX_EXTERN_ARGS {
            return Err(ProgramError::TooManyExternParams {
                name,
                arity: proto.arity(),
                max: MAX_EXTERN_ARGS,
                span,
            });
        }
        cell.set(Some(f));
        Ok(f)
    }

    /// Before a function first runs (and again after the program changed), every
    /// function its body calls must exist with the right arity: the same moment at
    /// which a lazy JIT compiles and links it.
    fn check_callees(&self, expr: &Expr) -> Result<(), ProgramError> {
        for call in expr.calls() {
            let callee = self.callee(call.callee.as_str(), call.arity, call.span)?;
            if let Callee::Extern { proto, resolved } = callee {
                self.resolve(proto, resolved, call.span)?;
            }
        }
        Ok(())
    }

    /// The callee a call names, if it exists with that many parameters.
    fn callee(&self, name: &str, argc: usize, span: Span) -> Result<&Callee, ProgramError> {
        let callee = self
            .functions
            .get(name)
            .ok_or_else(|| ProgramError::UnknownFunction {
                name: name.to_string(),
                span,
            })?;
        if callee.arity() != argc {
            return Err(ProgramError::WrongArity {
                name: name.to_string(),
                expected: callee.arity(),
                found: argc,
                span,
            });
        }
        Ok(callee)
    }

    /// Checks the callees of a defined function's `body` before it runs, unless they
    /// were checked since the program last changed.
    fn checked(&self, checked: &Cell<u64>, body: &Expr) -> Result<(), ProgramError> {
        if checked.get() != self.generation {
            self.check_callees(body)?;
            checked.set(self.generation);
        }
        Ok(())
    }
}

/// A built-in binary operator applied.
fn builtin(op: BinOp, l: f64, r: f64) -> f64 {
    match op {
        BinOp::Add => l + r,
        BinOp::Sub => l - r,
        BinOp::Mul => l * r,
        // LLVM's `fcmp ult`: true when less *or unordered* (a NaN operand).
        BinOp::Lt => bool_value(l.partial_cmp(&r).is_none_or(|o| o == Ordering::Less)),
        // Only built-in operators get here.
        BinOp::User(_) => f64::NAN,
    }
}

/// The language's truth: ordered and not equal to 0.0 (LLVM's `fcmp one`), so NaN is false.
fn truthy(value: f64) -> bool {
    value
        .partial_cmp(&0.0)
        .is_some_and(|o| o != Ordering::Equal)
}

/// A comparison's result: 1.0 or 0.0.
fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

impl Engine for Interpreter {
    fn define(&mut self, function: Arc<Function>) -> Result<(), Error> {
        self.generation += 1;
        self.functions.insert(
            function.proto.name.clone(),
            Callee::Defined {
                function,
                checked: Cell::new(0),
            },
        );
        Ok(())
    }

    fn declare(&mut self, proto: Arc<Prototype>) -> Result<(), Error> {
        self.generation += 1;
        self.functions.insert(
            proto.name.clone(),
            Callee::Extern {
                proto,
                resolved: Cell::new(None),
            },
        );
        Ok(())
    }

    fn remove(&mut self, name: &str, _span: Span) -> Result<(), Error> {
        self.generation += 1;
        self.functions.remove(name);
        Ok(())
    }

    fn evaluate(&mut self, expr: Arc<Function>) -> Result<f64, Error> {
        self.check_callees(&expr.body)?;
        Machine::new(self, expr.slots, None).run(&expr)
    }
}
