//! Self tail calls: a function's calls to itself in tail position.
//!
//! The language guarantees that these run in constant stack in every engine (IR
//! generation makes them a jump back to the top of the body, the interpreter reuses
//! the frame), so `def loop(i) if i < n then loop(i + 1) else i` is a loop whatever
//! the engine, tier or `-O` level. Tail positions are the body itself, both branches
//! of an `if` in tail position and the body of a `var ... in` in tail position.

use super::ast::{ANON_NAME, BinOp, Expr, ExprKind, Fixity, Function, OperatorName};

/// The arguments of `expr` if it is a call of `function` itself with the right number
/// of arguments (operators included). Top-level expressions never call themselves.
pub fn self_call<'e>(function: &Function, expr: &'e Expr) -> Option<Vec<&'e Expr>> {
    let name = &*function.proto.name;
    if name == ANON_NAME {
        return None;
    }
    let args: Vec<&Expr> = match &expr.kind {
        ExprKind::Call { callee, args } if **callee == *name => args.iter().collect(),
        ExprKind::Unary { op, operand }
            if OperatorName::new(Fixity::Unary, *op).as_str() == name =>
        {
            vec![&**operand]
        }
        ExprKind::Binary {
            op: BinOp::User(op),
            lhs,
            rhs,
        } if OperatorName::new(Fixity::Binary, *op).as_str() == name => vec![&**lhs, &**rhs],
        _ => return None,
    };
    (args.len() == function.proto.arity()).then_some(args)
}

/// Whether `function` calls itself in tail position: it loops, so (like a function
/// with a `for`) it is worth optimized code from its first call.
pub fn loops_on_itself(function: &Function) -> bool {
    let mut expr = &function.body;
    let mut pending = Vec::new();
    loop {
        match &expr.kind {
            ExprKind::If { then, else_, .. } => {
                pending.push(&**else_);
                expr = then;
                continue;
            }
            ExprKind::Var { body, .. } => {
                expr = body;
                continue;
            }
            _ if self_call(function, expr).is_some() => return true,
            _ => {}
        }
        match pending.pop() {
            Some(next) => expr = next,
            None => return false,
        }
    }
}
