//! The interpreter's evaluation loop: the tree walk of the language's rules, with its
//! stacks on the heap.
//!
//! A recursive walk (`eval(body)` calling `eval(call)` calling `eval(body)`) uses
//! hundreds of bytes of machine stack per Kaleidoscope call in a release build and
//! kilobytes in a debug one, far from the million nested calls the language promises.
//! So the walk keeps what is left to do on a *work stack* of small tasks, the values
//! computed on a *value stack*, and each call's locals in one vector: memory grows with
//! the program's recursion, not with Rust's frames. A call in tail position finds its
//! frame's `Return` on top of the work stack; if it calls the function itself, it
//! reuses the frame, so self tail recursion runs in constant space as in compiled code.

use std::cell::Cell;
use std::sync::Arc;

use super::{Call, Callee, Interpreter, builtin, truthy};
use crate::error::{Error, ProgramError};
use crate::frontend::ast::{BinOp, CalleeName, Expr, ExprKind, Fixity, Function, Slot};
use crate::frontend::source::Span;
use crate::runtime::{ExternFn, MAX_EXTERN_ARGS};
use toy_executor::interrupted;

/// Deepest call nesting the interpreter allows before reporting a stack overflow
/// (the language guarantees 1,000,000; each costs about 200 bytes of heap).
pub const MAX_DEPTH: usize = 2_000_000;

/// What is left to do, innermost last.
enum Task<'a> {
    /// Evaluates an expression and pushes its value.
    Eval(&'a Expr),
    /// Pushes a constant.
    Push(f64),
    /// Pops the right then the left operand, pushes the result.
    Builtin(BinOp),
    /// Pops a value into a local (and pushes it back for an assignment's value).
    Store { slot: Slot, keep: bool },
    /// Pops a value and drops it.
    Discard,
    /// Pops the condition and evaluates one branch.
    Branch { then: &'a Expr, else_: &'a Expr },
    /// Pops `argc` arguments and enters a function defined in the program.
    Enter {
        function: &'a Arc<Function>,
        /// When the function's callees were last checked.
        checked: &'a Cell<u64>,
        argc: usize,
    },
    /// Pops `argc` arguments and calls a C function.
    Extern {
        f: ExternFn,
        name: &'a str,
        argc: usize,
        span: Span,
    },
    /// Pops `argc` arguments and hands the call to the evaluation's hook.
    Hook {
        name: CalleeName<'a>,
        argc: usize,
        span: Span,
    },
    /// One iteration of a `for` loop.
    ForBody(Loop<'a>),
    /// Pops the end condition and the step of a `for` iteration; loops or yields 0.
    ForTest(Loop<'a>),
    /// Leaves a function: drops its frame (its value stays on the value stack).
    Return,
}

/// The parts of a `for` loop that each iteration needs.
#[derive(Clone, Copy)]
struct Loop<'a> {
    slot: Slot,
    end: &'a Expr,
    step: Option<&'a Expr>,
    body: &'a Expr,
    span: Span,
}

/// A call in progress: where its locals start, and which function it runs.
struct Frame<'a> {
    base: usize,
    function: Option<&'a Function>,
}

/// One evaluation.
pub(super) struct Machine<'a, 'h> {
    interp: &'a Interpreter,
    hook: Option<&'h mut Call<'h>>,
    work: Vec<Task<'a>>,
    values: Vec<f64>,
    locals: Vec<f64>,
    frames: Vec<Frame<'a>>,
}

impl<'a, 'h> Machine<'a, 'h> {
    /// A machine for a top-level expression (`slots` locals), whose calls go to `hook`
    /// if there is one.
    pub(super) fn new(
        interp: &'a Interpreter,
        slots: usize,
        hook: Option<&'h mut Call<'h>>,
    ) -> Self {
        Machine {
            interp,
            hook,
            work: Vec::new(),
            values: Vec::new(),
            locals: vec![0.0; slots],
            frames: vec![Frame {
                base: 0,
                function: None,
            }],
        }
    }

    /// Evaluates the top-level expression `expr`. A stack overflow is reported at it,
    /// as in every engine (compiled code cannot tell which call overflowed).
    pub(super) fn run(mut self, expr: &'a Function) -> Result<f64, Error> {
        self.work.push(Task::Eval(&expr.body));
        while let Some(task) = self.work.pop() {
            match self.step(task) {
                Ok(()) => {}
                Err(Error::Program(ProgramError::StackOverflow { .. })) => {
                    return Err(ProgramError::StackOverflow {
                        span: expr.proto.span,
                    }
                    .into());
                }
                Err(err) => return Err(err),
            }
        }
        Ok(self.pop())
    }

    // ANCHOR: eval
    /// Runs one task: an expression to evaluate, or the rest of a rule whose operands
    /// are now on the value stack (an operator's arithmetic, a branch, a store, a
    /// loop's iteration, a call's entry and return).
    fn step(&mut self, task: Task<'a>) -> Result<(), Error> {
        match task {
            Task::Eval(expr) => self.eval(expr)?,
            Task::Push(value) => self.values.push(value),
            Task::Builtin(op) => {
                let r = self.pop();
                let l = self.pop();
                self.values.push(builtin(op, l, r));
            }
            Task::Store { slot, keep } => {
                let value = self.pop();
                let base = self.base();
                self.locals[base + slot] = value;
                if keep {
                    self.values.push(value);
                }
            }
            Task::Discard => {
                self.pop();
            }
            Task::Branch { then, else_ } => {
                let cond = self.pop();
                self.work
                    .push(Task::Eval(if truthy(cond) { then } else { else_ }));
            }
            Task::Enter {
                function,
                checked,
                argc,
            } => self.enter(function, checked, argc)?,
            Task::Extern {
                f,
                name,
                argc,
                span,
            } => {
                let at = self.values.len() - argc;
                let result = f.call(&self.values[at..]).ok_or_else(|| {
                    ProgramError::TooManyExternParams {
                        name: name.to_string(),
                        arity: argc,
                        max: MAX_EXTERN_ARGS,
                        span,
                    }
                })?;
                self.values.truncate(at);
                self.values.push(result);
            }
            Task::Hook { name, argc, span } => {
                let at = self.values.len() - argc;
                // Hook tasks exist only in evaluations with a hook.
                let Some(hook) = self.hook.as_mut() else {
                    return Ok(());
                };
                let result = hook(name.as_str(), &self.values[at..], span)?;
                self.values.truncate(at);
                self.values.push(result);
            }
            Task::ForBody(l) => {
                if interrupted() {
                    return Err(ProgramError::Interrupted { span: l.span }.into());
                }
                // Chapter 7's order: body, step, end condition, then the increment.
                self.work.push(Task::ForTest(l));
                self.work.push(Task::Eval(l.end));
                self.work.push(match l.step {
                    Some(step) => Task::Eval(step),
                    None => Task::Push(1.0),
                });
                self.work.push(Task::Discard);
                self.work.push(Task::Eval(l.body));
            }
            Task::ForTest(l) => {
                let more = truthy(self.pop());
                let step = self.pop();
                // The variable as it is now: the body may have assigned it.
                let base = self.base();
                self.locals[base + l.slot] += step;
                if more {
                    self.work.push(Task::ForBody(l));
                } else {
                    self.values.push(0.0);
                }
            }
            Task::Return => {
                if let Some(frame) = self.frames.pop() {
                    self.locals.truncate(frame.base);
                }
            }
        }
        Ok(())
    }

    /// Evaluates one expression: a value now, or tasks that will push it.
    fn eval(&mut self, expr: &'a Expr) -> Result<(), Error> {
        // Every kind does something different here; the visitor is for walks that look for something.
        match &expr.kind {
            ExprKind::Number(value) => self.values.push(*value),
            ExprKind::Variable { slot, .. } => {
                let value = self.locals[self.base() + slot];
                self.values.push(value);
            }
            ExprKind::Assign { slot, value, .. } => {
                self.work.push(Task::Store {
                    slot: *slot,
                    keep: true,
                });
                self.work.push(Task::Eval(value));
            }
            ExprKind::Unary { op, operand } => {
                let name = CalleeName::operator(Fixity::Unary, *op);
                self.call(name, [&**operand], expr.span)?;
            }
            ExprKind::Binary { op, lhs, rhs } => {
                if let BinOp::User(op) = op {
                    let name = CalleeName::operator(Fixity::Binary, *op);
                    self.call(name, [&**lhs, &**rhs], expr.span)?;
                } else {
                    self.work.push(Task::Builtin(*op));
                    self.work.push(Task::Eval(rhs));
                    self.work.push(Task::Eval(lhs));
                }
            }
            ExprKind::Call { callee, args } => {
                self.call(CalleeName::Named(callee), args, expr.span)?;
            }
            ExprKind::If { cond, then, else_ } => {
                self.work.push(Task::Branch { then, else_ });
                self.work.push(Task::Eval(cond));
            }
            ExprKind::For {
                slot,
                start,
                end,
                step,
                body,
                ..
            } => {
                self.work.push(Task::ForBody(Loop {
                    slot: *slot,
                    end,
                    step: step.as_deref(),
                    body,
                    span: expr.span,
                }));
                self.work.push(Task::Store {
                    slot: *slot,
                    keep: false,
                });
                self.work.push(Task::Eval(start));
            }
            ExprKind::Var { bindings, body } => {
                self.work.push(Task::Eval(body));
                for binding in bindings.iter().rev() {
                    self.work.push(Task::Store {
                        slot: binding.slot,
                        keep: false,
                    });
                    self.work.push(match &binding.init {
                        Some(init) => Task::Eval(init),
                        None => Task::Push(0.0),
                    });
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: eval

    /// A call by name: checks what can be checked before the arguments run, then
    /// evaluates them left to right and makes the call.
    fn call(
        &mut self,
        name: CalleeName<'a>,
        args: impl IntoIterator<Item = &'a Expr, IntoIter: DoubleEndedIterator + ExactSizeIterator>,
        span: Span,
    ) -> Result<(), Error> {
        let args = args.into_iter();
        if interrupted() {
            return Err(ProgramError::Interrupted { span }.into());
        }
        let interp = self.interp;
        let task = if self.hook.is_some() {
            Task::Hook {
                name,
                argc: args.len(),
                span,
            }
        } else {
            let callee = interp.callee(name.as_str(), args.len(), span)?;
            match callee {
                Callee::Defined { function, checked } => Task::Enter {
                    function,
                    checked,
                    argc: args.len(),
                },
                Callee::Extern { proto, resolved } => Task::Extern {
                    f: interp.resolve(proto, resolved, span)?,
                    name: &proto.name,
                    argc: args.len(),
                    span,
                },
            }
        };
        self.work.push(task);
        self.work.extend(args.rev().map(Task::Eval));
        Ok(())
    }

    /// Enters `function` with the `argc` values on top of the value stack.
    fn enter(
        &mut self,
        function: &'a Arc<Function>,
        checked: &Cell<u64>,
        argc: usize,
    ) -> Result<(), Error> {
        // Callees are checked after the arguments ran, as a compiled caller finds a
        // missing callee when the call reaches the resolver.
        self.interp.checked(checked, &function.body)?;
        let at = self.values.len() - argc;
        let current = self.frames.last().and_then(|frame| frame.function);
        let tail = matches!(self.work.last(), Some(Task::Return))
            && current.is_some_and(|f| std::ptr::eq(f, &**function));
        if tail {
            // A self tail call: the same frame, new arguments, the body again.
            let base = self.base();
            self.locals.truncate(base);
        } else {
            if self.frames.len() >= MAX_DEPTH {
                return Err(ProgramError::StackOverflow {
                    span: function.proto.span,
                }
                .into());
            }
            self.frames.push(Frame {
                base: self.locals.len(),
                function: Some(function),
            });
            self.work.push(Task::Return);
        }
        self.locals.extend_from_slice(&self.values[at..]);
        let base = self.base();
        self.locals.resize(base + function.slots, 0.0);
        self.values.truncate(at);
        self.work.push(Task::Eval(&function.body));
        Ok(())
    }

    fn base(&self) -> usize {
        self.frames.last().map_or(0, |frame| frame.base)
    }

    /// The value on top. Every task pops only what earlier tasks pushed, so the stack
    /// is never empty here.
    fn pop(&mut self) -> f64 {
        let value = self.values.pop();
        debug_assert!(value.is_some(), "the interpreter's value stack is balanced");
        value.unwrap_or(f64::NAN)
    }
}
