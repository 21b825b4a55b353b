// ANCHOR: head
//! The abstract syntax tree, and its printing as S-expressions.

use std::fmt;
use std::ops::Range;

/// A byte range of the program text: where a node was written.
pub type Span = Range<usize>;
// ANCHOR_END: head

// ANCHOR: types
/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number literal.
    Number(f64),
    // ANCHOR: variable
    /// A reference to a parameter, and where it is.
    Variable(String, Span),
    // ANCHOR_END: variable
    /// `lhs op rhs`, with precedence already applied.
    Binary(char, Box<Expr>, Box<Expr>),
    // ANCHOR: call
    /// `callee(args)`, and where the call is.
    Call(String, Vec<Expr>, Span),
    // ANCHOR_END: call
    // ANCHOR: control
    /// `if cond then yes else no`: `yes` when `cond` is neither 0 nor NaN.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `for var = start, end, step in body`: the tutorial's loop (see chapter 7).
    For(Box<For>),
    // ANCHOR_END: control
    // ANCHOR: mutation
    /// `name = value`: stores `value` in the variable `name` (where it is written)
    /// and yields it.
    Assign(String, Span, Box<Expr>),
    /// `var a = 1, b in body`: new variables, each initialized in order (to 0 when
    /// it has no initializer), visible in the initializers after it and in `body`.
    Var(Vec<(String, Option<Expr>)>, Box<Expr>),
    // ANCHOR_END: mutation
}

// ANCHOR: for
/// The parts of a `for` loop.
#[derive(Clone, Debug, PartialEq)]
pub struct For {
    /// The loop variable, visible in `end`, `step` and `body`.
    pub var: String,
    /// Its first value.
    pub start: Expr,
    /// Evaluated after each run of the body: the loop goes on while it is true.
    pub end: Expr,
    /// Added to the variable after each run; 1 when the loop has no step.
    pub step: Option<Expr>,
    /// The loop's body; its value is dropped.
    pub body: Expr,
}
// ANCHOR_END: for

/// A function's name and its parameters' names.
#[derive(Clone, Debug, PartialEq)]
pub struct Prototype {
    /// The function's name.
    pub name: String,
    /// The parameters' names, in order.
    pub params: Vec<String>,
    // ANCHOR: proto_span
    /// Where the function's name is.
    pub span: Span,
    // ANCHOR_END: proto_span
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `def proto body`
    Def(Prototype, Expr),
    /// `extern proto`
    Extern(Prototype),
    /// An expression to evaluate.
    Expr(Expr),
}
// ANCHOR_END: types

// ANCHOR: display
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => write!(f, "{n}"),
            Expr::Variable(name, _) => f.write_str(name),
            Expr::Binary(op, lhs, rhs) => write!(f, "({op} {lhs} {rhs})"),
            // ANCHOR: display_control
            Expr::If(cond, yes, no) => write!(f, "(if {cond} {yes} {no})"),
            Expr::For(l) => {
                write!(f, "(for {} {} {}", l.var, l.start, l.end)?;
                if let Some(step) = &l.step {
                    write!(f, " {step}")?;
                }
                write!(f, " {})", l.body)
            }
            // ANCHOR_END: display_control
            // ANCHOR: display_mutation
            Expr::Assign(name, _, value) => write!(f, "(= {name} {value})"),
            Expr::Var(bindings, body) => {
                f.write_str("(var (")?;
                for (i, (name, init)) in bindings.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " " };
                    match init {
                        Some(init) => write!(f, "{sep}({name} {init})")?,
                        None => write!(f, "{sep}{name}")?,
                    }
                }
                write!(f, ") {body})")
            }
            // ANCHOR_END: display_mutation
            Expr::Call(callee, args, _) => {
                write!(f, "(call {callee}")?;
                for arg in args {
                    write!(f, " {arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Prototype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}", self.name)?;
        for param in &self.params {
            write!(f, " {param}")?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Def(proto, body) => write!(f, "(def {proto} {body})"),
            Item::Extern(proto) => write!(f, "(extern {proto})"),
            Item::Expr(expr) => write!(f, "{expr}"),
        }
    }
}
// ANCHOR_END: display
