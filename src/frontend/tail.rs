//! Self tail calls: a function's calls to itself in tail position.
//!
//! The language guarantees that these run in constant stack in every engine (IR
//! generation makes them a jump back to the top of the body, the interpreter reuses
//! the frame), so `def loop(i) if i < n then loop(i + 1) else i` is a loop whatever
//! the engine, tier or `-O` level. Tail positions are the body itself, both branches
//! of an `if` in tail position and the body of a `var ... in` in tail position.

use super::ast::{ANON_NAME, Expr, ExprKind, Function};

/// Whether `expr` is a call of `function` itself with the right number of arguments
/// (operators included). Top-level expressions never call themselves.
fn calls_itself(function: &Function, expr: &Expr) -> bool {
    let name = &*function.proto.name;
    name != ANON_NAME
        && expr.as_call().is_some_and(|call| {
            call.callee.as_str() == name && call.arity == function.proto.arity()
        })
}

/// The arguments of `expr` if it is a call of `function` itself with the right number
/// of arguments (operators included). Top-level expressions never call themselves.
pub fn self_call<'e>(function: &Function, expr: &'e Expr) -> Option<Vec<&'e Expr>> {
    calls_itself(function, expr).then(|| expr.children().collect())
}

/// The expressions in tail position in `body`, outermost first: `body`, and within
/// each, an `if`'s branches and a `var`'s body. Iterative, like [`Expr::walk`].
pub fn tail_positions(body: &Expr) -> impl Iterator<Item = &Expr> {
    let mut pending = vec![body];
    std::iter::from_fn(move || {
        let expr = pending.pop()?;
        // Not every child is in tail position, so not `Expr::children`.
        match &expr.kind {
            ExprKind::If { then, else_, .. } => pending.extend([&**else_, &**then]),
            ExprKind::Var { body, .. } => pending.push(body),
            _ => {}
        }
        Some(expr)
    })
}

/// Whether `function` calls itself in tail position: it loops, so (like a function
/// with a `for`) it is worth optimized code from its first call.
pub fn loops_on_itself(function: &Function) -> bool {
    tail_positions(&function.body).any(|expr| calls_itself(function, expr))
}
