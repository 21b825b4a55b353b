//! Walking the AST: the one place that knows which sub-expressions each kind has.
//!
//! [`Expr::children`] lists an expression's direct sub-expressions in evaluation order,
//! and [`Expr::walk`] visits a whole tree in pre-order on a heap stack built from it:
//! no Rust recursion, so a tree [`MAX_NESTING`](super::parser::MAX_NESTING) levels deep
//! is fine on any thread. Every walk that only *looks for* or *collects* something
//! goes through them, as an iterator adapter (`any`, `filter_map`, `find_map`), not as
//! its own `match` on [`ExprKind`]: the queries here ([`Expr::calls`],
//! [`Expr::has_loop`], [`Expr::is_straight_line`], [`Function::callees`],
//! [`Function::loops`]), `tail.rs`, the interpreter's callee check and the JIT's. The
//! matches that *produce* something for each kind stay explicit on purpose, each
//! marked with a one-line comment: IR generation (`codegen/generator.rs`), the
//! interpreter's `Machine::eval`, the printers (`print.rs`, `unparse.rs`) and the
//! resolver that builds the tree. There is no `Visitor` trait: no walk needs more
//! than "each expression, pre-order", which an iterator says in one line.

use std::collections::BTreeSet;

use super::ast::{BinOp, Binding, CalleeName, Expr, ExprKind, Fixity, Function, Name};
use super::source::Span;

/// The direct sub-expressions of an expression, in evaluation order (see
/// [`Expr::children`]). Allocation-free, and walkable from both ends.
#[derive(Clone, Debug)]
pub struct Children<'e>(Inner<'e>);

#[derive(Clone, Debug)]
enum Inner<'e> {
    /// Up to four children in fixed places, `None` where there is none (a `for`
    /// without a step); `slots[front..back]` are still to come.
    Fixed {
        slots: [Option<&'e Expr>; 4],
        front: usize,
        back: usize,
    },
    /// A call's arguments.
    Args(std::slice::Iter<'e, Expr>),
    /// A `var`'s initializers (bindings without one have none), then its body.
    Var(std::slice::Iter<'e, Binding>, Option<&'e Expr>),
}

impl<'e> Children<'e> {
    fn fixed<const N: usize>(exprs: [Option<&'e Expr>; N]) -> Self {
        let mut slots = [None; 4];
        slots[..N].copy_from_slice(&exprs);
        Children(Inner::Fixed {
            slots,
            front: 0,
            back: N,
        })
    }
}

impl<'e> Iterator for Children<'e> {
    type Item = &'e Expr;

    fn next(&mut self) -> Option<&'e Expr> {
        match &mut self.0 {
            Inner::Fixed { slots, front, back } => {
                while *front < *back {
                    *front += 1;
                    if let Some(expr) = slots[*front - 1] {
                        return Some(expr);
                    }
                }
                None
            }
            Inner::Args(args) => args.next(),
            Inner::Var(bindings, body) => bindings
                .find_map(|b| b.init.as_ref())
                .or_else(|| body.take()),
        }
    }
}

impl<'e> DoubleEndedIterator for Children<'e> {
    fn next_back(&mut self) -> Option<&'e Expr> {
        match &mut self.0 {
            Inner::Fixed { slots, front, back } => {
                while *front < *back {
                    *back -= 1;
                    if let Some(expr) = slots[*back] {
                        return Some(expr);
                    }
                }
                None
            }
            Inner::Args(args) => args.next_back(),
            Inner::Var(bindings, body) => body
                .take()
                .or_else(|| bindings.rev().find_map(|b| b.init.as_ref())),
        }
    }
}

/// A pre-order walk of a tree (see [`Expr::walk`]).
#[derive(Clone, Debug)]
pub struct Walk<'e> {
    /// Expressions still to visit, the next on top.
    pending: Vec<&'e Expr>,
}

impl<'e> Iterator for Walk<'e> {
    type Item = &'e Expr;

    fn next(&mut self) -> Option<&'e Expr> {
        let expr = self.pending.pop()?;
        // Reversed, so that the first child is popped first.
        self.pending.extend(expr.children().rev());
        Some(expr)
    }
}

/// A call an expression makes: a call by name or a user-defined operator's (see
/// [`Expr::as_call`]).
#[derive(Clone, Copy, Debug)]
pub struct CallSite<'e> {
    /// The function called (`binary|` for an operator).
    pub callee: CalleeName<'e>,
    /// How many arguments it passes.
    pub arity: usize,
    /// Where the call is.
    pub span: Span,
}

impl Expr {
    /// The direct sub-expressions, in evaluation order: a `for` runs its start, body,
    /// step, then end condition; a `var` its initializers, then its body. The one
    /// place that lists each kind's children.
    pub fn children(&self) -> Children<'_> {
        match &self.kind {
            ExprKind::Number(_) | ExprKind::Variable { .. } => Children::fixed([]),
            ExprKind::Assign { value, .. } => Children::fixed([Some(&**value)]),
            ExprKind::Unary { operand, .. } => Children::fixed([Some(&**operand)]),
            ExprKind::Binary { lhs, rhs, .. } => Children::fixed([Some(&**lhs), Some(&**rhs)]),
            ExprKind::Call { args, .. } => Children(Inner::Args(args.iter())),
            ExprKind::If { cond, then, else_ } => {
                Children::fixed([Some(&**cond), Some(&**then), Some(&**else_)])
            }
            ExprKind::For {
                start,
                end,
                step,
                body,
                ..
            } => Children::fixed([Some(&**start), Some(&**body), step.as_deref(), Some(&**end)]),
            ExprKind::Var { bindings, body } => {
                Children(Inner::Var(bindings.iter(), Some(&**body)))
            }
        }
    }

    /// `self` and every sub-expression, each before its children, children in
    /// evaluation order. Iterative (its stack is on the heap), so no tree is too deep
    /// for it; stop early with `any`, `find` or `find_map`.
    pub fn walk(&self) -> Walk<'_> {
        Walk {
            pending: vec![self],
        }
    }

    /// The call `self` makes, if it is one: a call by name or a user-defined operator
    /// (built-in operators are no calls). Its arguments are [`Expr::children`].
    pub fn as_call(&self) -> Option<CallSite<'_>> {
        let (callee, arity) = match &self.kind {
            ExprKind::Call { callee, args } => (CalleeName::Named(callee), args.len()),
            ExprKind::Unary { op, .. } => (CalleeName::operator(Fixity::Unary, *op), 1),
            ExprKind::Binary {
                op: BinOp::User(op),
                ..
            } => (CalleeName::operator(Fixity::Binary, *op), 2),
            _ => return None,
        };
        Some(CallSite {
            callee,
            arity,
            span: self.span,
        })
    }

    /// Every call in `self`, operators included, in evaluation order (a call before
    /// its arguments), once per call site.
    pub fn calls(&self) -> impl Iterator<Item = CallSite<'_>> {
        self.walk().filter_map(Expr::as_call)
    }

    /// Whether `self` has no loop and calls nothing (user operators are calls): it
    /// runs in time proportional to its size.
    pub fn is_straight_line(&self) -> bool {
        !self
            .walk()
            .any(|e| matches!(e.kind, ExprKind::For { .. }) || e.as_call().is_some())
    }

    /// Whether `self` contains a `for` loop.
    pub fn has_loop(&self) -> bool {
        self.walk().any(|e| matches!(e.kind, ExprKind::For { .. }))
    }
}

impl Function {
    /// The distinct `(name, arity)` pairs the body calls, sorted: operators count
    /// (`binary|`, `unary!`), a function calling itself lists itself, and a name
    /// called with two arities (possible while it is unknown) is listed twice.
    pub fn callees(&self) -> BTreeSet<(Name, usize)> {
        self.body
            .calls()
            .map(|call| (call.callee.to_name(), call.arity))
            .collect()
    }

    /// Whether the function loops: it has a `for`, or calls itself in tail position.
    /// Without on-stack replacement, a running loop never reaches better code.
    pub fn loops(&self) -> bool {
        self.body.has_loop() || super::tail::loops_on_itself(self)
    }
}
