//! Printing the AST back as Kaleidoscope source that parses to the same AST.
//!
//! Every binary operation and assignment is parenthesised, so the output does not
//! depend on precedences; operator definitions come out with theirs.

use std::fmt::Write;

use super::ast::{BinOp, Expr, ExprKind, Function, Item, ProtoKind, Prototype};

/// The items as a program, one item per line.
pub fn program(items: &[Item]) -> String {
    let mut out = String::new();
    for item in items {
        out.push_str(&self::item(item));
        out.push('\n');
    }
    out
}

/// A function as a definition, with its `;` (also for top-level expressions).
pub fn function(function: &Function) -> String {
    let mut out = String::from("def ");
    proto(&mut out, &function.proto);
    out.push(' ');
    expr(&mut out, &function.body);
    out.push(';');
    out
}

/// One item, with its `;`.
pub fn item(item: &Item) -> String {
    let mut out = String::new();
    match item {
        Item::Def(function) => {
            out.push_str("def ");
            proto(&mut out, &function.proto);
            out.push(' ');
            expr(&mut out, &function.body);
        }
        Item::Extern(p) => {
            out.push_str("extern ");
            proto(&mut out, p);
        }
        Item::Expr(function) => expr(&mut out, &function.body),
    }
    out.push(';');
    out
}

/// A prototype as written after `def` or `extern`: `fib(x)`, `binary| 5 (a b)`.
pub fn signature(p: &Prototype) -> String {
    let mut out = String::new();
    proto(&mut out, p);
    out
}

fn proto(out: &mut String, proto: &Prototype) {
    match proto.kind {
        ProtoKind::Function => out.push_str(&proto.name),
        ProtoKind::Unary(op) => {
            let _ = write!(out, "unary{op}");
        }
        ProtoKind::Binary(op, prec) => {
            let _ = write!(out, "binary{op} {prec} ");
        }
    }
    out.push('(');
    out.push_str(
        &proto
            .params
            .iter()
            .map(|p| &**p)
            .collect::<Vec<_>>()
            .join(" "),
    );
    out.push(')');
}

fn expr(out: &mut String, e: &Expr) {
    // Every kind does something different here; the visitor is for walks that look for something.
    match &e.kind {
        // Shortest text that reads back as the same double; never an exponent.
        ExprKind::Number(n) => {
            let _ = write!(out, "{n}");
        }
        ExprKind::Variable { name, .. } => out.push_str(name),
        ExprKind::Assign { name, value, .. } => {
            let _ = write!(out, "({name} = ");
            expr(out, value);
            out.push(')');
        }
        ExprKind::Unary { op, operand } => {
            let _ = write!(out, "{op}(");
            expr(out, operand);
            out.push(')');
        }
        ExprKind::Binary { op, lhs, rhs } => {
            out.push('(');
            expr(out, lhs);
            let symbol = match op {
                BinOp::User(c) => *c,
                other => other.symbol(),
            };
            let _ = write!(out, " {symbol} ");
            expr(out, rhs);
            out.push(')');
        }
        ExprKind::Call { callee, args } => {
            out.push_str(callee);
            out.push('(');
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(out, arg);
            }
            out.push(')');
        }
        ExprKind::If { cond, then, else_ } => {
            out.push_str("(if ");
            expr(out, cond);
            out.push_str(" then ");
            expr(out, then);
            out.push_str(" else ");
            expr(out, else_);
            out.push(')');
        }
        ExprKind::For {
            var,
            start,
            end,
            step,
            body,
            ..
        } => {
            let _ = write!(out, "(for {var} = ");
            expr(out, start);
            out.push_str(", ");
            expr(out, end);
            if let Some(step) = step {
                out.push_str(", ");
                expr(out, step);
            }
            out.push_str(" in ");
            expr(out, body);
            out.push(')');
        }
        ExprKind::Var { bindings, body } => {
            out.push_str("(var ");
            for (i, binding) in bindings.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&binding.name);
                if let Some(init) = &binding.init {
                    out.push_str(" = ");
                    expr(out, init);
                }
            }
            out.push_str(" in ");
            expr(out, body);
            out.push(')');
        }
    }
}
