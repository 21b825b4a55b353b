//! Printing the AST as S-expressions (`toy --emit=ast`).

use std::fmt::{self, Write};

use super::ast::{Expr, ExprKind, Item, ProtoKind, Prototype};

/// The item as one S-expression line.
pub fn item(item: &Item) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_item(&mut out, item);
    out
}

fn write_item(out: &mut String, item: &Item) -> fmt::Result {
    match item {
        Item::Def(function) => {
            out.push_str("(def ");
            proto(out, &function.proto)?;
            out.push(' ');
            expr(out, &function.body)?;
            out.push(')');
        }
        Item::Extern(p) => {
            out.push_str("(extern ");
            proto(out, p)?;
            out.push(')');
        }
        Item::Expr(function) => expr(out, &function.body)?,
    }
    Ok(())
}

fn proto(out: &mut String, proto: &Prototype) -> fmt::Result {
    out.push('(');
    out.push_str(&proto.name);
    if let ProtoKind::Binary(_, prec) = proto.kind {
        write!(out, " {prec}")?;
    }
    for param in &proto.params {
        write!(out, " {param}")?;
    }
    out.push(')');
    Ok(())
}

fn expr(out: &mut String, e: &Expr) -> fmt::Result {
    // Every kind does something different here; the visitor is for walks that look for something.
    match &e.kind {
        ExprKind::Number(n) => write!(out, "{n}"),
        ExprKind::Variable { name, .. } => write!(out, "{name}"),
        ExprKind::Assign { name, value, .. } => {
            write!(out, "(= {name} ")?;
            expr(out, value)?;
            write!(out, ")")
        }
        ExprKind::Unary { op, operand } => {
            write!(out, "(unary{op} ")?;
            expr(out, operand)?;
            write!(out, ")")
        }
        ExprKind::Binary { op, lhs, rhs } => {
            write!(out, "({} ", op.symbol())?;
            expr(out, lhs)?;
            out.push(' ');
            expr(out, rhs)?;
            write!(out, ")")
        }
        ExprKind::Call { callee, args } => {
            write!(out, "(call {callee}")?;
            for arg in args {
                out.push(' ');
                expr(out, arg)?;
            }
            write!(out, ")")
        }
        ExprKind::If { cond, then, else_ } => {
            out.push_str("(if ");
            expr(out, cond)?;
            out.push(' ');
            expr(out, then)?;
            out.push(' ');
            expr(out, else_)?;
            write!(out, ")")
        }
        ExprKind::For {
            var,
            start,
            end,
            step,
            body,
            ..
        } => {
            write!(out, "(for {var} ")?;
            expr(out, start)?;
            out.push(' ');
            expr(out, end)?;
            out.push(' ');
            match step {
                Some(step) => expr(out, step)?,
                None => out.push('1'),
            }
            out.push(' ');
            expr(out, body)?;
            write!(out, ")")
        }
        ExprKind::Var { bindings, body } => {
            out.push_str("(var (");
            for (i, binding) in bindings.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write!(out, "({} ", binding.name)?;
                match &binding.init {
                    Some(init) => expr(out, init)?,
                    None => out.push('0'),
                }
                out.push(')');
            }
            out.push_str(") ");
            expr(out, body)?;
            write!(out, ")")
        }
    }
}
