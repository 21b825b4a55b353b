//! The parse tree: what the parser produces before operators are resolved.
//!
//! Binary expressions are kept as flat chains `a op b op c ...`, because their shape
//! depends on the operator table *at the time the item is accepted*, which the parser
//! does not know (a `def binary` earlier in the same input changes it).

use super::source::Span;

/// A name with its span.
pub type Spanned<'s> = (&'s str, Span);

// ANCHOR: syntax
/// A top-level item as parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Item<'s> {
    /// `def proto body`
    Def(Proto<'s>, Expr<'s>),
    /// `extern proto`
    Extern(Proto<'s>),
    /// A top-level expression.
    Expr(Expr<'s>),
}

/// What a prototype introduces.
#[derive(Clone, Debug, PartialEq)]
pub enum ProtoKind<'s> {
    /// A function named by an identifier.
    Function(&'s str),
    /// `unary!`; an optional (invalid) precedence is kept to report it.
    Unary(char, Option<(f64, Span)>),
    /// `binary|` with an optional precedence.
    Binary(char, Option<(f64, Span)>),
}

/// `name(params)`, `unaryX(param)` or `binaryX prec (lhs rhs)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Proto<'s> {
    /// What is being defined.
    pub kind: ProtoKind<'s>,
    /// Parameter names, space separated in the source.
    pub params: Vec<Spanned<'s>>,
    /// From `def`/`extern`'s name to the closing parenthesis.
    pub span: Span,
}

/// An expression as parsed; fields are the parts its syntax names, and `span` covers it.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq)]
pub enum Expr<'s> {
    /// A number literal.
    Number(f64, Span),
    /// A variable reference.
    Ident(&'s str, Span),
    /// `callee(args)`; the span covers the whole call.
    Call(Spanned<'s>, Vec<Expr<'s>>, Span),
    /// `if cond then a else b`
    If(Box<[Expr<'s>; 3]>, Span),
    /// `for var = start, end [, step] in body`
    For {
        var: Spanned<'s>,
        start: Box<Expr<'s>>,
        end: Box<Expr<'s>>,
        step: Option<Box<Expr<'s>>>,
        body: Box<Expr<'s>>,
        span: Span,
    },
    /// `var a = 1, b in body`
    Var {
        bindings: Vec<(Spanned<'s>, Option<Expr<'s>>)>,
        body: Box<Expr<'s>>,
        span: Span,
    },
    /// A prefix operator (with its span) applied to an operand; then the whole span.
    Unary(char, Span, Box<Expr<'s>>, Span),
    /// `first op operand op operand ...`, not yet shaped by precedence; then the span.
    Chain(Box<Expr<'s>>, Vec<(char, Span, Expr<'s>)>, Span),
}
// ANCHOR_END: syntax

impl Expr<'_> {
    /// The span of the whole expression (stored, so that this is O(1) however deep
    /// the tree).
    pub fn span(&self) -> Span {
        match self {
            Expr::Number(_, span)
            | Expr::Ident(_, span)
            | Expr::Call(_, _, span)
            | Expr::If(_, span)
            | Expr::For { span, .. }
            | Expr::Var { span, .. }
            | Expr::Unary(_, _, _, span)
            | Expr::Chain(_, _, span) => *span,
        }
    }
}
