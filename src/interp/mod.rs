//! The reference interpreter: a direct, tree-walking reading of the language's rules.
//!
//! It is the oracle that the JIT engines are tested against, so it stays simple: every
//! rule of the language is one arm of [`Interpreter::eval`].

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::{Engine, interrupted};
use crate::error::Error;
use crate::frontend::ast::{
    BinOp, Expr, ExprKind, Fixity, Function, Name, OperatorName, Prototype,
};
use crate::frontend::source::Span;
use crate::runtime::{self, ExternFn, MAX_EXTERN_ARGS};

/// How much machine stack one evaluation may use before it reports a stack overflow.
pub const STACK_BUDGET: usize = 256 << 20;

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

/// Where an evaluation's calls go instead of the interpreter's own functions: given
/// the callee's name, the argument values and the call's span, the result.
pub type Hook<'a> = Option<&'a mut Call<'a>>;

/// A call made elsewhere: callee, argument values, span of the call.
pub type Call<'a> = dyn FnMut(&str, &[f64], Span) -> Result<f64, Error> + 'a;

/// The tree-walking engine.
#[derive(Default)]
pub struct Interpreter {
    functions: HashMap<Name, Callee>,
    /// Bumped whenever a name is (re)defined, so that checks done at a function's
    /// first call are redone after the program changes.
    generation: u64,
    /// Stack address where the current evaluation started.
    stack_base: Cell<usize>,
}

impl Interpreter {
    /// An interpreter with no functions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Evaluates a top-level expression whose every call goes to `call` (the JIT's
    /// compiled functions, through their stubs): the same doubles as compiled code.
    pub fn evaluate_calling(&self, expr: &Function, call: &mut Call<'_>) -> Result<f64, Error> {
        self.stack_base.set(stack_pointer());
        let mut frame = vec![0.0; expr.slots];
        self.eval(&expr.body, &mut frame, &mut Some(call))
    }

    /// Resolves an extern on its first call.
    fn resolve(
        &self,
        proto: &Prototype,
        cell: &Cell<Option<ExternFn>>,
        span: Span,
    ) -> Result<ExternFn, Error> {
        if let Some(f) = cell.get() {
            return Ok(f);
        }
        let name = proto.name.to_string();
        let f = runtime::lookup(&name).ok_or_else(|| Error::UnresolvedExtern {
            name: name.clone(),
            span,
        })?;
        if f.arity != proto.arity() {
            return Err(Error::WrongArity {
                name,
                expected: f.arity,
                found: proto.arity(),
                span,
            });
        }
        if proto.arity() > MAX_EXTERN_ARGS {
            return Err(Error::TooManyExternParams {
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
    fn check_callees(&self, expr: &Expr) -> Result<(), Error> {
        let mut result = Ok(());
        expr.for_each_call(&mut |name, arity, span| {
            if result.is_err() {
                return;
            }
            result = match self.functions.get(name) {
                None => Err(Error::UnknownFunction {
                    name: name.to_string(),
                    span,
                }),
                Some(callee) if callee.arity() != arity => Err(Error::WrongArity {
                    name: name.to_string(),
                    expected: callee.arity(),
                    found: arity,
                    span,
                }),
                Some(Callee::Extern { proto, resolved }) => {
                    self.resolve(proto, resolved, span).map(|_| ())
                }
                Some(Callee::Defined { .. }) => Ok(()),
            };
        });
        result
    }

    fn call(
        &self,
        name: &str,
        args: &[&Expr],
        frame: &mut [f64],
        span: Span,
        hook: &mut Hook<'_>,
    ) -> Result<f64, Error> {
        if interrupted() {
            return Err(Error::Interrupted { span });
        }
        if hook.is_some() {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(self.eval(arg, frame, hook)?);
            }
            if let Some(call) = hook {
                return call(name, &values, span);
            }
        }
        if self.stack_used() > STACK_BUDGET {
            return Err(Error::StackOverflow { span });
        }
        let callee = self
            .functions
            .get(name)
            .ok_or_else(|| Error::UnknownFunction {
                name: name.to_string(),
                span,
            })?;
        if callee.arity() != args.len() {
            return Err(Error::WrongArity {
                name: name.to_string(),
                expected: callee.arity(),
                found: args.len(),
                span,
            });
        }
        match callee {
            Callee::Defined { function, checked } => {
                let mut callee_frame = Vec::with_capacity(function.slots);
                for arg in args {
                    callee_frame.push(self.eval(arg, frame, hook)?);
                }
                callee_frame.resize(function.slots, 0.0);
                if checked.get() != self.generation {
                    self.check_callees(&function.body)?;
                    checked.set(self.generation);
                }
                self.eval(&function.body, &mut callee_frame, hook)
            }
            Callee::Extern { proto, resolved } => {
                let f = self.resolve(proto, resolved, span)?;
                let mut values = [0.0; MAX_EXTERN_ARGS];
                for (value, arg) in values.iter_mut().zip(args) {
                    *value = self.eval(arg, frame, hook)?;
                }
                f.call(&values[..args.len()])
                    .ok_or_else(|| Error::TooManyExternParams {
                        name: name.to_string(),
                        arity: args.len(),
                        max: MAX_EXTERN_ARGS,
                        span,
                    })
            }
        }
    }

    // ANCHOR: eval
    /// Evaluates an expression in a frame of local slots.
    /// A left-deep chain of built-in operators (`1 + 1 + ... + 1`), walked
    /// iteratively: recursing as deep as the chain is long would exhaust the stack.
    /// Operands are evaluated in the same order as by recursion.
    fn chain(&self, expr: &Expr, frame: &mut [f64], hook: &mut Hook<'_>) -> Result<f64, Error> {
        let mut spine = Vec::new();
        let mut left = expr;
        while let ExprKind::Binary { op, lhs, rhs } = &left.kind
            && !matches!(op, BinOp::User(_))
        {
            spine.push((*op, &**rhs));
            left = lhs;
        }
        let mut value = self.eval(left, frame, hook)?;
        for (op, rhs) in spine.into_iter().rev() {
            let r = self.eval(rhs, frame, hook)?;
            value = builtin(op, value, r);
        }
        Ok(value)
    }

    fn eval(&self, expr: &Expr, frame: &mut [f64], hook: &mut Hook<'_>) -> Result<f64, Error> {
        if self.stack_used() > STACK_BUDGET {
            return Err(Error::StackOverflow { span: expr.span });
        }
        match &expr.kind {
            ExprKind::Number(value) => Ok(*value),
            ExprKind::Variable { slot, .. } => Ok(frame[*slot]),
            ExprKind::Assign { slot, value, .. } => {
                let value = self.eval(value, frame, hook)?;
                frame[*slot] = value;
                Ok(value)
            }
            ExprKind::Unary { op, operand } => {
                let name = OperatorName::new(Fixity::Unary, *op);
                self.call(name.as_str(), &[operand], frame, expr.span, hook)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                if let BinOp::User(op) = op {
                    let name = OperatorName::new(Fixity::Binary, *op);
                    return self.call(name.as_str(), &[lhs, rhs], frame, expr.span, hook);
                }
                if let ExprKind::Binary { op: inner, .. } = &lhs.kind
                    && !matches!(inner, BinOp::User(_))
                {
                    return self.chain(expr, frame, hook);
                }
                let l = self.eval(lhs, frame, hook)?;
                let r = self.eval(rhs, frame, hook)?;
                Ok(builtin(*op, l, r))
            }
            ExprKind::Call { callee, args } => {
                let args: Vec<&Expr> = args.iter().collect();
                self.call(callee, &args, frame, expr.span, hook)
            }
            ExprKind::If { cond, then, else_ } => {
                if truthy(self.eval(cond, frame, hook)?) {
                    self.eval(then, frame, hook)
                } else {
                    self.eval(else_, frame, hook)
                }
            }
            ExprKind::For {
                slot,
                start,
                end,
                step,
                body,
                ..
            } => {
                frame[*slot] = self.eval(start, frame, hook)?;
                loop {
                    if interrupted() {
                        return Err(Error::Interrupted { span: expr.span });
                    }
                    // Chapter 7's order: body, step, end condition, then increment
                    // the variable as it is now (the body may have assigned it).
                    self.eval(body, frame, hook)?;
                    let step = match step {
                        Some(step) => self.eval(step, frame, hook)?,
                        None => 1.0,
                    };
                    let more = truthy(self.eval(end, frame, hook)?);
                    frame[*slot] += step;
                    if !more {
                        break;
                    }
                }
                Ok(0.0)
            }
            ExprKind::Var { bindings, body } => {
                for binding in bindings {
                    frame[binding.slot] = match &binding.init {
                        Some(init) => self.eval(init, frame, hook)?,
                        None => 0.0,
                    };
                }
                self.eval(body, frame, hook)
            }
        }
    }
    // ANCHOR_END: eval

    fn stack_used(&self) -> usize {
        self.stack_base.get().saturating_sub(stack_pointer())
    }
}

/// The language's truth: ordered and not equal to 0.0 (LLVM's `fcmp one`), so NaN is false.
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

fn truthy(value: f64) -> bool {
    value
        .partial_cmp(&0.0)
        .is_some_and(|o| o != Ordering::Equal)
}

fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// An approximation of the stack pointer: the address of a local.
#[inline(always)]
fn stack_pointer() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
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

    fn evaluate(&mut self, expr: Arc<Function>) -> Result<f64, Error> {
        self.stack_base.set(stack_pointer());
        self.check_callees(&expr.body)?;
        let mut frame = vec![0.0; expr.slots];
        self.eval(&expr.body, &mut frame, &mut None)
    }
}
