//! From parse tree to AST: operator precedence, scopes and the checks that need them.

use std::sync::Arc;

use super::ast::{self, ANON_NAME, BinOp, Binding, ExprKind, Function, Name, Prototype, Slot};
use super::parser::MAX_NESTING;
use super::proto::{check_extern, prototype};
use super::source::Span;
use super::syntax::{self, Expr as SynExpr};
use crate::error::ProgramError;

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
    /// Whether `name` is defined by a `def` (an `extern` of it then names that
    /// definition, not a runtime function).
    fn is_defined(&self, _name: &str) -> bool {
        false
    }
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
) -> Result<ast::Item, ProgramError> {
    match item {
        syntax::Item::Extern(proto) => {
            let proto = prototype(proto, false)?;
            // Checked here, once for every engine and `toy build`: an extern of
            // anything else would be called with the wrong signature.
            if !globals.is_defined(&proto.name) {
                check_extern(&proto)?;
            }
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

fn function(
    proto: Prototype,
    body: SynExpr<'_>,
    ops: &Operators,
    globals: &dyn Signatures,
    top_level: bool,
) -> Result<Function, ProgramError> {
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
    let (body, _) = scope.expr(body)?;
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

    /// Resolves `expr` with the height of its tree (0 for a leaf), which must not exceed
    /// [`MAX_NESTING`]: every pass after this one (printers, code generation, the
    /// interpreter) may then recurse over the tree.
    fn expr(&mut self, expr: SynExpr<'_>) -> Result<Tall, ProgramError> {
        let span = expr.span();
        // The tallest child so far; a leaf is no level of nesting.
        let mut below = 0;
        let leaf = matches!(expr, SynExpr::Number(..) | SynExpr::Ident(..));
        // Every kind does something different here; the visitor is for walks that look for something.
        let kind = match expr {
            SynExpr::Number(value, _) => ExprKind::Number(value),
            SynExpr::Ident(name, span) => match self.lookup(name) {
                Some((name, slot)) => ExprKind::Variable {
                    name: name.clone(),
                    slot: *slot,
                },
                None => {
                    return Err(ProgramError::UnknownVariable {
                        name: name.into(),
                        span,
                    });
                }
            },
            SynExpr::Call((callee, callee_span), args, span) => {
                match self.arity(callee) {
                    Some(expected) if expected != args.len() => {
                        return Err(ProgramError::WrongArity {
                            name: callee.into(),
                            expected,
                            found: args.len(),
                            span,
                        });
                    }
                    None if self.top_level => {
                        return Err(ProgramError::UnknownFunction {
                            name: callee.into(),
                            span: callee_span,
                        });
                    }
                    _ => {}
                }
                let args = args
                    .into_iter()
                    .map(|arg| self.child(arg, &mut below))
                    .collect::<Result<_, _>>()?;
                ExprKind::Call {
                    callee: callee.into(),
                    args,
                }
            }
            SynExpr::If(branches, _) => {
                let [cond, then, else_] = *branches;
                ExprKind::If {
                    cond: Box::new(self.child(cond, &mut below)?),
                    then: Box::new(self.child(then, &mut below)?),
                    else_: Box::new(self.child(else_, &mut below)?),
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
                let start = Box::new(self.child(*start, &mut below)?);
                let mark = self.names.len();
                let (name, slot) = self.bind(var.0);
                let body = Box::new(self.child(*body, &mut below)?);
                let step = match step {
                    Some(step) => Some(Box::new(self.child(*step, &mut below)?)),
                    None => None,
                };
                let end = Box::new(self.child(*end, &mut below)?);
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
                        Some(init) => Some(self.child(init, &mut below)?),
                        None => None,
                    };
                    let (name, slot) = self.bind(name);
                    out.push(Binding { name, slot, init });
                }
                let body = Box::new(self.child(*body, &mut below)?);
                self.names.truncate(mark);
                ExprKind::Var {
                    bindings: out,
                    body,
                }
            }
            SynExpr::Unary(op, op_span, operand, _) => {
                if !self.ops.has_unary(op) {
                    return Err(ProgramError::UnknownUnaryOperator { op, span: op_span });
                }
                ExprKind::Unary {
                    op,
                    operand: Box::new(self.child(*operand, &mut below)?),
                }
            }
            SynExpr::Chain(first, rest, _) => return self.chain(*first, rest),
        };
        let height = if leaf { 0 } else { below + 1 };
        tall(ast::Expr { kind, span }, height, span)
    }

    /// Resolves a child expression, keeping the tallest child's height in `below`.
    fn child(&mut self, expr: SynExpr<'_>, below: &mut usize) -> Result<ast::Expr, ProgramError> {
        let (expr, height) = self.expr(expr)?;
        *below = (*below).max(height);
        Ok(expr)
    }

    // ANCHOR: chain
    /// Shapes `a op b op c ...` by precedence, left-associatively, with an explicit
    /// stack (no recursion, however long the chain).
    fn chain(
        &mut self,
        first: SynExpr<'_>,
        rest: Vec<(char, Span, SynExpr<'_>)>,
    ) -> Result<Tall, ProgramError> {
        let mut operands = vec![self.expr(first)?];
        let mut operators: Vec<(char, u32, Span)> = Vec::new();
        for (op, op_span, operand) in rest {
            let prec = self
                .ops
                .precedence(op)
                .ok_or(ProgramError::UnknownBinaryOperator { op, span: op_span })?;
            while let Some(&(top, top_prec, top_span)) = operators.last() {
                if top_prec < prec {
                    break;
                }
                operators.pop();
                reduce(&mut operands, top, top_span)?;
            }
            operators.push((op, prec, op_span));
            operands.push(self.expr(operand)?);
        }
        while let Some((op, _, op_span)) = operators.pop() {
            reduce(&mut operands, op, op_span)?;
        }
        Ok(operands.pop().expect("a chain leaves one operand"))
    }
    // ANCHOR_END: chain
}

/// A resolved expression and the height of its tree.
type Tall = (ast::Expr, usize);

/// `expr` with its `height`, unless that is more than [`MAX_NESTING`] (reported at
/// `span`).
fn tall(expr: ast::Expr, height: usize, span: Span) -> Result<Tall, ProgramError> {
    if height > MAX_NESTING {
        return Err(ProgramError::TooDeep {
            limit: MAX_NESTING,
            span,
        });
    }
    Ok((expr, height))
}

/// Replaces the top two operands by `lhs op rhs`: one level more than the taller.
fn reduce(operands: &mut Vec<Tall>, op: char, op_span: Span) -> Result<(), ProgramError> {
    let (rhs, rhs_height) = operands.pop().expect("operator has a right operand");
    let (lhs, lhs_height) = operands.pop().expect("operator has a left operand");
    let height = lhs_height.max(rhs_height) + 1;
    let span = lhs.span.to(rhs.span);
    let kind = match op {
        '=' => match lhs.kind {
            ExprKind::Variable { name, slot } => ExprKind::Assign {
                name,
                slot,
                value: Box::new(rhs),
            },
            _ => return Err(ProgramError::InvalidAssignment { span: lhs.span }),
        },
        _ => ExprKind::Binary {
            op: BinOp::from_char(op),
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    };
    operands.push(tall(ast::Expr { kind, span }, height, op_span)?);
    Ok(())
}
