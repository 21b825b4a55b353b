//! From parse tree to AST: operator precedence, scopes and the checks that need them.

use std::sync::Arc;

use super::ast::{
    self, ANON_NAME, BinOp, Binding, ExprKind, Fixity, Function, Name, OperatorName, Prototype,
    Slot,
};
use super::source::Span;
use super::syntax::{self, Expr as SynExpr};
use crate::error::Error;

/// Built-in binary operators and their precedences.
pub const BUILTIN_BINARY: [(char, u32); 5] = [('=', 2), ('<', 10), ('+', 20), ('-', 20), ('*', 40)];

/// Precedence of a `def binaryX` without one.
pub const DEFAULT_PRECEDENCE: u32 = 30;

// ANCHOR: operators
/// The operators known at a point of the program, indexed by their (ASCII) character:
/// looked up for every operator in every expression, so a table, not a map.
#[derive(Clone, Debug)]
pub struct Operators {
    binary: [Option<u32>; 128],
    unary: [bool; 128],
}

impl Default for Operators {
    fn default() -> Self {
        let mut ops = Operators {
            binary: [None; 128],
            unary: [false; 128],
        };
        for (op, prec) in BUILTIN_BINARY {
            ops.binary[op as usize] = Some(prec);
        }
        ops
    }
}

impl Operators {
    /// The built-in operators only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Precedence of a binary operator, if it is known.
    pub fn precedence(&self, op: char) -> Option<u32> {
        self.binary.get(op as usize).copied().flatten()
    }

    /// Whether a unary operator has been defined.
    pub fn has_unary(&self, op: char) -> bool {
        self.unary.get(op as usize).copied().unwrap_or(false)
    }

    fn define_binary(&mut self, op: char, prec: u32) {
        if let Some(entry) = self.binary.get_mut(op as usize) {
            *entry = Some(prec);
        }
    }

    fn define_unary(&mut self, op: char) {
        if let Some(entry) = self.unary.get_mut(op as usize) {
            *entry = true;
        }
    }

    /// Whether `op` is a built-in binary operator.
    pub fn is_builtin(op: char) -> bool {
        BUILTIN_BINARY.iter().any(|&(c, _)| c == op)
    }
}
// ANCHOR_END: operators

/// Arity of a global function as currently known, if any.
pub trait Signatures {
    /// The number of parameters of `name`, if it is defined or declared.
    fn arity(&self, name: &str) -> Option<usize>;
}

impl<F: Fn(&str) -> Option<usize>> Signatures for F {
    fn arity(&self, name: &str) -> Option<usize> {
        self(name)
    }
}

/// Resolves one item. A `def` of an operator installs it in `ops` before its body is
/// resolved, so that the body can use it; a caller that rejects the item (here or
/// later) restores the table it had before (see `Session::run`).
pub fn resolve_item(
    item: syntax::Item<'_>,
    ops: &mut Operators,
    globals: &dyn Signatures,
) -> Result<ast::Item, Error> {
    match item {
        syntax::Item::Extern(proto) => {
            let proto = prototype(proto, false)?;
            Ok(ast::Item::Extern(Arc::new(proto)))
        }
        syntax::Item::Expr(body) => {
            let proto = Prototype {
                name: ANON_NAME.into(),
                kind: ast::ProtoKind::Function,
                params: Vec::new(),
                span: body.span(),
            };
            let function = function(proto, body, ops, globals, true)?;
            Ok(ast::Item::Expr(Arc::new(function)))
        }
        syntax::Item::Def(proto, body) => {
            let proto = prototype(proto, true)?;
            // Installed now, so that the body may use its own operator.
            match proto.kind {
                ast::ProtoKind::Binary(op, prec) => ops.define_binary(op, prec),
                ast::ProtoKind::Unary(op) => ops.define_unary(op),
                ast::ProtoKind::Function => {}
            }
            let function = function(proto, body, ops, globals, false)?;
            Ok(ast::Item::Def(Arc::new(function)))
        }
    }
}

fn prototype(proto: syntax::Proto<'_>, is_def: bool) -> Result<Prototype, Error> {
    let syntax::Proto { kind, params, span } = proto;
    // Sorted, duplicates sit side by side (cheaper than a set for a few names).
    let mut names: Vec<(&str, Span)> = params.clone();
    names.sort_by_key(|&(name, span)| (name, span.start));
    let duplicate = names
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .min_by_key(|pair| pair[1].1.start);
    if let Some(pair) = duplicate {
        return Err(Error::DuplicateParameter {
            name: pair[1].0.into(),
            span: pair[1].1,
        });
    }
    let operands = |kind: &'static str, expected: usize| {
        if params.len() == expected {
            Ok(())
        } else {
            Err(Error::OperatorOperands {
                kind,
                expected,
                found: params.len(),
                span,
            })
        }
    };
    let (name, kind): (Name, _) = match kind {
        syntax::ProtoKind::Function(name) => (name.into(), ast::ProtoKind::Function),
        _ if !is_def => {
            return Err(Error::Syntax {
                message: "`extern` declares functions, not operators".into(),
                label: "define operators with `def`".into(),
                span,
            });
        }
        syntax::ProtoKind::Unary(op, precedence) => {
            if let Some((_, span)) = precedence {
                return Err(Error::UnaryPrecedence { span });
            }
            operands("unary", 1)?;
            (
                OperatorName::new(Fixity::Unary, op).as_str().into(),
                ast::ProtoKind::Unary(op),
            )
        }
        syntax::ProtoKind::Binary(op, precedence) => {
            if Operators::is_builtin(op) {
                return Err(Error::BuiltinOperator { op, span });
            }
            let prec = match precedence {
                None => DEFAULT_PRECEDENCE,
                Some((value, span)) => {
                    if value.fract() != 0.0 || !(1.0..=100.0).contains(&value) {
                        return Err(Error::BadPrecedence { value, span });
                    }
                    value as u32
                }
            };
            operands("binary", 2)?;
            (
                OperatorName::new(Fixity::Binary, op).as_str().into(),
                ast::ProtoKind::Binary(op, prec),
            )
        }
    };
    Ok(Prototype {
        name,
        kind,
        params: params.into_iter().map(|(name, _)| name.into()).collect(),
        span,
    })
}

fn function(
    proto: Prototype,
    body: SynExpr<'_>,
    ops: &Operators,
    globals: &dyn Signatures,
    top_level: bool,
) -> Result<Function, Error> {
    let mut scope = Scope {
        ops,
        globals,
        this: (proto.name.clone(), proto.arity()),
        top_level,
        names: proto
            .params
            .iter()
            .enumerate()
            .map(|(slot, name)| (name.clone(), slot))
            .collect(),
        slots: proto.arity(),
    };
    let body = scope.expr(body)?;
    Ok(Function {
        slots: scope.slots,
        proto,
        body,
    })
}

struct Scope<'a> {
    ops: &'a Operators,
    globals: &'a dyn Signatures,
    /// The function being defined: it may call itself.
    this: (Name, usize),
    /// Top-level expressions run at once, so their callees must exist now.
    top_level: bool,
    names: Vec<(Name, Slot)>,
    slots: usize,
}

impl Scope<'_> {
    fn lookup(&self, name: &str) -> Option<&(Name, Slot)> {
        self.names.iter().rev().find(|(n, _)| &**n == name)
    }

    fn bind(&mut self, name: &str) -> (Name, Slot) {
        let slot = self.slots;
        self.slots += 1;
        let name: Name = name.into();
        self.names.push((name.clone(), slot));
        (name, slot)
    }

    fn arity(&self, name: &str) -> Option<usize> {
        if *self.this.0 == *name {
            Some(self.this.1)
        } else {
            self.globals.arity(name)
        }
    }

    fn expr(&mut self, expr: SynExpr<'_>) -> Result<ast::Expr, Error> {
        let span = expr.span();
        let kind = match expr {
            SynExpr::Number(value, _) => ExprKind::Number(value),
            SynExpr::Ident(name, span) => match self.lookup(name) {
                Some((name, slot)) => ExprKind::Variable {
                    name: name.clone(),
                    slot: *slot,
                },
                None => {
                    return Err(Error::UnknownVariable {
                        name: name.into(),
                        span,
                    });
                }
            },
            SynExpr::Call((callee, callee_span), args, span) => {
                match self.arity(callee) {
                    Some(expected) if expected != args.len() => {
                        return Err(Error::WrongArity {
                            name: callee.into(),
                            expected,
                            found: args.len(),
                            span,
                        });
                    }
                    None if self.top_level => {
                        return Err(Error::UnknownFunction {
                            name: callee.into(),
                            span: callee_span,
                        });
                    }
                    _ => {}
                }
                let args = args
                    .into_iter()
                    .map(|arg| self.expr(arg))
                    .collect::<Result<_, _>>()?;
                ExprKind::Call {
                    callee: callee.into(),
                    args,
                }
            }
            SynExpr::If(branches, _) => {
                let [cond, then, else_] = *branches;
                ExprKind::If {
                    cond: Box::new(self.expr(cond)?),
                    then: Box::new(self.expr(then)?),
                    else_: Box::new(self.expr(else_)?),
                }
            }
            SynExpr::For {
                var,
                start,
                end,
                step,
                body,
                ..
            } => {
                // The start value is computed before the variable is in scope.
                let start = Box::new(self.expr(*start)?);
                let mark = self.names.len();
                let (name, slot) = self.bind(var.0);
                let body = Box::new(self.expr(*body)?);
                let step = match step {
                    Some(step) => Some(Box::new(self.expr(*step)?)),
                    None => None,
                };
                let end = Box::new(self.expr(*end)?);
                self.names.truncate(mark);
                ExprKind::For {
                    var: name,
                    slot,
                    start,
                    end,
                    step,
                    body,
                }
            }
            SynExpr::Var { bindings, body, .. } => {
                let mark = self.names.len();
                let mut out = Vec::with_capacity(bindings.len());
                for ((name, _), init) in bindings {
                    // Each initializer sees the bindings before it, not its own.
                    let init = match init {
                        Some(init) => Some(self.expr(init)?),
                        None => None,
                    };
                    let (name, slot) = self.bind(name);
                    out.push(Binding { name, slot, init });
                }
                let body = Box::new(self.expr(*body)?);
                self.names.truncate(mark);
                ExprKind::Var {
                    bindings: out,
                    body,
                }
            }
            SynExpr::Unary(op, op_span, operand, _) => {
                if !self.ops.has_unary(op) {
                    return Err(Error::UnknownUnaryOperator { op, span: op_span });
                }
                ExprKind::Unary {
                    op,
                    operand: Box::new(self.expr(*operand)?),
                }
            }
            SynExpr::Chain(first, rest, _) => return self.chain(*first, rest),
        };
        Ok(ast::Expr { kind, span })
    }

    // ANCHOR: chain
    /// Shapes `a op b op c ...` by precedence, left-associatively, with an explicit
    /// stack (no recursion, however long the chain).
    fn chain(
        &mut self,
        first: SynExpr<'_>,
        rest: Vec<(char, Span, SynExpr<'_>)>,
    ) -> Result<ast::Expr, Error> {
        let mut operands = vec![self.expr(first)?];
        let mut operators: Vec<(char, u32)> = Vec::new();
        for (op, op_span, operand) in rest {
            let prec = self
                .ops
                .precedence(op)
                .ok_or(Error::UnknownBinaryOperator { op, span: op_span })?;
            while let Some(&(top, top_prec)) = operators.last() {
                if top_prec < prec {
                    break;
                }
                operators.pop();
                reduce(&mut operands, top)?;
            }
            operators.push((op, prec));
            operands.push(self.expr(operand)?);
        }
        while let Some((op, _)) = operators.pop() {
            reduce(&mut operands, op)?;
        }
        Ok(operands.pop().expect("a chain leaves one operand"))
    }
    // ANCHOR_END: chain
}

/// Replaces the top two operands by `lhs op rhs`.
fn reduce(operands: &mut Vec<ast::Expr>, op: char) -> Result<(), Error> {
    let rhs = operands.pop().expect("operator has a right operand");
    let lhs = operands.pop().expect("operator has a left operand");
    let span = lhs.span.to(rhs.span);
    let kind = match op {
        '=' => match lhs.kind {
            ExprKind::Variable { name, slot } => ExprKind::Assign {
                name,
                slot,
                value: Box::new(rhs),
            },
            _ => return Err(Error::InvalidAssignment { span: lhs.span }),
        },
        _ => ExprKind::Binary {
            op: BinOp::from_char(op),
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    };
    operands.push(ast::Expr { kind, span });
    Ok(())
}
