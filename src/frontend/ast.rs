//! The abstract syntax tree that every engine consumes.
//!
//! Operators are resolved (precedence applied, `=` turned into assignment) and every
//! local variable has a *slot*: parameters take slots `0..arity`, and each `for` or
//! `var` binding takes a fresh one, so shadowing needs no run-time bookkeeping.

use std::sync::Arc;

use super::source::Span;

/// A shared, immutable name.
pub type Name = Arc<str>;

/// Index of a local variable in its function's frame.
pub type Slot = usize;

// ANCHOR: ast
/// A built-in or user-defined binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `<`: 1.0 if the left operand is less (or either is NaN), else 0.0.
    Lt,
    /// A `def binaryX` operator: a call to the function `binaryX`.
    User(char),
}

impl BinOp {
    /// The operator for a character: built-in, or a user-defined one.
    pub fn from_char(op: char) -> BinOp {
        match op {
            '+' => BinOp::Add,
            '-' => BinOp::Sub,
            '*' => BinOp::Mul,
            '<' => BinOp::Lt,
            other => BinOp::User(other),
        }
    }

    /// The operator's character.
    pub fn symbol(self) -> char {
        match self {
            BinOp::Add => '+',
            BinOp::Sub => '-',
            BinOp::Mul => '*',
            BinOp::Lt => '<',
            BinOp::User(c) => c,
        }
    }
}

/// Whether an operator is written before its operand or between two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixity {
    /// `unaryX`
    Unary,
    /// `binaryX`
    Binary,
}

/// The name of the function behind a user-defined operator (`unary!`, `binary|`),
/// built without allocating: interpreters look it up on every use.
#[derive(Clone, Copy)]
pub struct OperatorName {
    buf: [u8; 12],
    len: usize,
}

impl OperatorName {
    /// The operator function's name.
    pub fn new(fixity: Fixity, op: char) -> Self {
        let prefix = match fixity {
            Fixity::Unary => "unary",
            Fixity::Binary => "binary",
        };
        let mut buf = [0u8; 12];
        buf[..prefix.len()].copy_from_slice(prefix.as_bytes());
        let len = prefix.len() + op.encode_utf8(&mut buf[prefix.len()..]).len();
        OperatorName { buf, len }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// The kinds of expression. Fields: `name`/`slot` a local and its frame slot, `value`
/// an assigned value, `op` an operator character, the rest the sub-expressions the
/// variant's syntax names.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A number literal.
    Number(f64),
    /// Reads a local.
    Variable { name: Name, slot: Slot },
    /// `name = value`: stores and yields the value.
    Assign {
        name: Name,
        slot: Slot,
        value: Box<Expr>,
    },
    /// A user-defined prefix operator: a call to `unaryX`.
    Unary { op: char, operand: Box<Expr> },
    /// A binary operator; both operands are evaluated, left first.
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// A call of a function by name, resolved when the caller first runs.
    Call { callee: Name, args: Vec<Expr> },
    /// `if cond then then_ else else_`: true means "not equal to 0.0" (NaN is false).
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        else_: Box<Expr>,
    },
    /// `for var = start, end, step in body`: a do-while loop that yields 0.0.
    For {
        var: Name,
        slot: Slot,
        start: Box<Expr>,
        end: Box<Expr>,
        step: Option<Box<Expr>>,
        body: Box<Expr>,
    },
    /// `var a = init, b in body`: each binding gets a slot, initialized in order.
    Var {
        bindings: Vec<Binding>,
        body: Box<Expr>,
    },
}

/// One `var` binding; without an initializer it starts at 0.0.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// The variable's name.
    pub name: Name,
    /// Its slot.
    pub slot: Slot,
    /// The initial value.
    pub init: Option<Expr>,
}

/// What a prototype defines.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ProtoKind {
    /// An ordinary function.
    Function,
    /// A prefix operator.
    Unary(char),
    /// An infix operator with its precedence.
    Binary(char, u32),
}

/// A function's signature.
#[derive(Clone, Debug, PartialEq)]
pub struct Prototype {
    /// The function's name (`binary|` for an operator).
    pub name: Name,
    /// Function, unary or binary operator.
    pub kind: ProtoKind,
    /// Parameter names, in slot order.
    pub params: Vec<Name>,
    /// Where it was declared.
    pub span: Span,
}

/// A function definition, or a top-level expression wrapped as a function.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Its signature.
    pub proto: Prototype,
    /// Its body.
    pub body: Expr,
    /// How many local slots its frame needs (parameters included).
    pub slots: usize,
}

/// A resolved top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `def`
    Def(Arc<Function>),
    /// `extern`
    Extern(Arc<Prototype>),
    /// A top-level expression, as an anonymous function of no parameters.
    Expr(Arc<Function>),
}
// ANCHOR_END: ast

/// The name given to top-level expressions.
pub const ANON_NAME: &str = "__anon_expr";

/// The name of the function a call calls: as written, or an operator's (built when
/// needed, not allocated).
#[derive(Clone, Copy)]
pub enum CalleeName<'e> {
    /// A call by name.
    Named(&'e Name),
    /// A user-defined operator's function.
    Operator(OperatorName),
}

impl std::fmt::Debug for CalleeName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl CalleeName<'_> {
    /// The function behind a user-defined operator.
    pub fn operator(fixity: Fixity, op: char) -> Self {
        CalleeName::Operator(OperatorName::new(fixity, op))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        match self {
            CalleeName::Named(name) => name,
            CalleeName::Operator(name) => name.as_str(),
        }
    }

    /// The name as a [`Name`] (allocated for an operator).
    pub fn to_name(&self) -> Name {
        match self {
            CalleeName::Named(name) => Name::clone(name),
            CalleeName::Operator(name) => name.as_str().into(),
        }
    }
}

impl Prototype {
    /// Number of parameters.
    pub fn arity(&self) -> usize {
        self.params.len()
    }
}
