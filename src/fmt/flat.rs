//! Expressions and prototypes on one line, if they fit.

use crate::frontend::source::Span;
use crate::frontend::syntax::{Expr, Proto, ProtoKind, Spanned};

/// A `var` binding: its name and initial value.
pub type Binding<'s> = (Spanned<'s>, Option<Expr<'s>>);

/// One-line text under construction, given up once it is longer than its budget.
struct Flat<'a> {
    text: &'a str,
    out: String,
    budget: usize,
}

impl Flat<'_> {
    fn push(&mut self, s: &str) -> Option<()> {
        self.out.push_str(s);
        (self.out.len() <= self.budget).then_some(())
    }

    /// `e`; `followed`: an operator comes after it, which a trailing `if`, `for` or
    /// `var` would take into its last part.
    fn expr(&mut self, e: &Expr, followed: bool) -> Option<()> {
        match e {
            Expr::Number(_, span) | Expr::Ident(_, span) => self.push(&self.text[span.range()]),
            Expr::Call((name, _), args, _) => {
                self.push(name)?;
                self.push("(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        self.push(", ")?;
                    }
                    self.expr(arg, false)?;
                }
                self.push(")")
            }
            Expr::If(parts, _) => {
                let [cond, then, else_] = &**parts;
                self.push("if ")?;
                self.expr(cond, false)?;
                self.push(" then ")?;
                self.expr(then, false)?;
                self.push(" else ")?;
                self.expr(else_, false)
            }
            Expr::For {
                var,
                start,
                end,
                step,
                body,
                ..
            } => {
                self.push("for ")?;
                self.push(var.0)?;
                self.push(" = ")?;
                self.expr(start, false)?;
                self.push(", ")?;
                self.expr(end, false)?;
                if let Some(step) = step {
                    self.push(", ")?;
                    self.expr(step, false)?;
                }
                self.push(" in ")?;
                self.expr(body, false)
            }
            Expr::Var { bindings, body, .. } => {
                self.push("var ")?;
                self.bindings(bindings)?;
                self.push(" in ")?;
                self.expr(body, false)
            }
            Expr::Unary(op, _, operand, _) => {
                self.push(&unary_prefix(self.text, *op, operand))?;
                self.operand(operand, followed)
            }
            Expr::Chain(first, rest, _) => self.chain(first, rest, followed),
        }
    }

    fn bindings(&mut self, bindings: &[Binding]) -> Option<()> {
        for (i, ((name, _), init)) in bindings.iter().enumerate() {
            if i > 0 {
                self.push(", ")?;
            }
            self.push(name)?;
            if let Some(init) = init {
                self.push(" = ")?;
                self.expr(init, false)?;
            }
        }
        Some(())
    }

    fn chain(&mut self, first: &Expr, rest: &[(char, Span, Expr)], followed: bool) -> Option<()> {
        self.operand(first, followed || !rest.is_empty())?;
        for (i, (op, _, operand)) in rest.iter().enumerate() {
            self.push(" ")?;
            self.push(op.encode_utf8(&mut [0; 4]))?;
            self.push(" ")?;
            self.operand(operand, followed || i + 1 < rest.len())?;
        }
        Some(())
    }

    /// `e` as an operand of a chain or prefix operator, in parentheses if it needs
    /// them (see [`needs_parens`]).
    fn operand(&mut self, e: &Expr, followed: bool) -> Option<()> {
        if needs_parens(e, followed) {
            self.push("(")?;
            self.expr(e, false)?;
            self.push(")")
        } else {
            self.expr(e, followed)
        }
    }
}

/// Whether `e`, as an operand of a chain or prefix operator, needs parentheses: the
/// parse tree has none, so a chain in a chain is one that the source parenthesised,
/// and an `if`, `for` or `var` followed by an operator would take it in.
pub fn needs_parens(e: &Expr, followed: bool) -> bool {
    match e {
        Expr::Chain(..) => true,
        Expr::If(..) | Expr::For { .. } | Expr::Var { .. } => followed,
        _ => false,
    }
}

/// What a prefix operator is written as before `operand`: the operator alone, or
/// followed by a space where the two would read as one token (`.` before `5`).
pub fn unary_prefix(text: &str, op: char, operand: &Expr) -> String {
    let starts_with_digit = text[operand.span().range()]
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit());
    if op == '.' && starts_with_digit {
        format!("{op} ")
    } else {
        op.to_string()
    }
}

/// `e` (followed by an operator if `followed`) on one line, if that takes at most
/// `budget` columns.
pub fn expr(text: &str, e: &Expr, budget: usize, followed: bool) -> Option<String> {
    let mut flat = Flat {
        text,
        out: String::new(),
        budget,
    };
    flat.expr(e, followed)?;
    Some(flat.out)
}

/// The chain `first op operand ...` (followed by an operator if `followed`) on one
/// line, if that takes at most `budget` columns.
pub fn chain(
    text: &str,
    first: &Expr,
    rest: &[(char, Span, Expr)],
    budget: usize,
    followed: bool,
) -> Option<String> {
    let mut flat = Flat {
        text,
        out: String::new(),
        budget,
    };
    flat.chain(first, rest, followed)?;
    Some(flat.out)
}

/// `a = 1, b, c = 2` on one line, if that takes at most `budget` columns.
pub fn bindings(text: &str, bindings: &[Binding], budget: usize) -> Option<String> {
    let mut flat = Flat {
        text,
        out: String::new(),
        budget,
    };
    flat.bindings(bindings)?;
    Some(flat.out)
}

/// What a prototype defines, as written before its parameters: the name, or the
/// operator after its keyword (`binary|`), with the precedence as the source spells it.
pub fn proto_head<'t>(text: &'t str, proto: &Proto) -> (String, Option<(&'t str, usize)>) {
    match &proto.kind {
        ProtoKind::Function(name) => (name.to_string(), None),
        ProtoKind::Unary(op, precedence) | ProtoKind::Binary(op, precedence) => {
            let keyword = match proto.kind {
                ProtoKind::Unary(..) => "unary",
                _ => "binary",
            };
            let precedence = precedence.map(|(_, span)| (&text[span.range()], span.start));
            (format!("{keyword}{op}"), precedence)
        }
    }
}

/// A prototype: `name(a b)`, `unary-(v)`, `binary| 5 (a b)`; the precedence as the
/// source spells it.
pub fn proto(text: &str, proto: &Proto) -> String {
    let mut out = match proto_head(text, proto) {
        (head, Some((precedence, _))) => format!("{head} {precedence} "),
        (head, None) => head,
    };
    out.push('(');
    let params: Vec<&str> = proto.params.iter().map(|(name, _)| *name).collect();
    out.push_str(&params.join(" "));
    out.push(')');
    out
}
