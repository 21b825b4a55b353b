//! Where lines break: each item and expression goes on one line if it fits and holds
//! no comment, else it is broken in its canonical shape, its parts in turn on one
//! line if they fit.

use super::printer::Printer;
use super::{INDENT, WIDTH, flat};
use crate::frontend::source::Span;
use crate::frontend::syntax::{Expr, Item, Proto, ProtoKind};

/// A chain's link: operator, its span, the operand after it.
type Link<'s> = (char, Span, Expr<'s>);

/// The precedence of an operator nobody defined (toy's default for `def binary`).
const DEFAULT_PRECEDENCE: f64 = 30.0;

/// Lays items out into a [`Printer`].
pub struct Layout<'a> {
    /// The output.
    pub p: Printer<'a>,
    /// Binary operators' precedences as the program defines them so far: they only
    /// decide where a long chain breaks (its lowest-precedence operators first), never
    /// what it means.
    precedences: Vec<(char, f64)>,
}

impl<'a> Layout<'a> {
    /// A layout into `p`, knowing the built-in operators.
    pub fn new(p: Printer<'a>) -> Self {
        let precedences = vec![
            ('=', 2.0),
            ('<', 10.0),
            ('+', 20.0),
            ('-', 20.0),
            ('*', 40.0),
        ];
        Layout { p, precedences }
    }

    fn precedence(&self, op: char) -> f64 {
        self.precedences
            .iter()
            .rev()
            .find(|(c, _)| *c == op)
            .map_or(DEFAULT_PRECEDENCE, |(_, p)| *p)
    }

    fn budget(&self, tail: usize) -> usize {
        WIDTH.saturating_sub(self.p.column() + tail)
    }

    /// Writes one item (without its `;`).
    pub fn item(&mut self, item: &Item, span: Span) {
        self.p.cont = INDENT;
        match item {
            Item::Def(proto, body) => {
                if let ProtoKind::Binary(op, precedence) = proto.kind {
                    let p = precedence.map_or(DEFAULT_PRECEDENCE, |(p, _)| p);
                    self.precedences.push((op, p));
                }
                self.p.prepare(span.start);
                if !self.p.has_comment(span.range()) {
                    let line = format!("def {} ", flat::proto(self.p.text, proto));
                    let budget = WIDTH.saturating_sub(line.len() + 1);
                    if let Some(body) = flat::expr(self.p.text, body, budget, false) {
                        self.p.token(&line);
                        self.p.token(&body);
                        return;
                    }
                }
                self.p.token("def ");
                self.proto(proto);
                self.p.break_to(INDENT, body.span().start);
                self.expr(body, 1);
            }
            Item::Extern(proto) => {
                self.p.token_at(span.start, "extern ");
                self.proto(proto);
            }
            Item::Expr(e) => self.expr(e, 1),
        }
    }

    fn proto(&mut self, proto: &Proto) {
        if !self.p.has_comment(proto.span.range()) {
            let text = flat::proto(self.p.text, proto);
            self.p.token_at(proto.span.start, &text);
            return;
        }
        // A comment inside a prototype: token by token, so that each comment stays
        // before the token it preceded.
        let (head, precedence) = flat::proto_head(self.p.text, proto);
        self.p.token_at(proto.span.start, &head);
        if let Some((precedence, start)) = precedence {
            self.p.space();
            self.p.token_at(start, precedence);
            self.p.space();
        }
        self.p.token("(");
        for (i, (name, span)) in proto.params.iter().enumerate() {
            if i > 0 {
                self.p.space();
            }
            self.p.token_at(span.start, name);
        }
        self.p.token(")");
    }

    /// Writes `e`, followed on its last line by `tail` columns of something else.
    pub fn expr(&mut self, e: &Expr, tail: usize) {
        self.expr_followed(e, tail, false);
    }

    /// Writes `e`, followed by an operator if `followed` (see [`flat::needs_parens`]).
    fn expr_followed(&mut self, e: &Expr, tail: usize, followed: bool) {
        let span = e.span();
        self.p.prepare(span.start);
        if !self.p.has_comment(span.range())
            && let Some(text) = flat::expr(self.p.text, e, self.budget(tail), followed)
        {
            self.p.token(&text);
            return;
        }
        let col = self.p.column();
        let cont = std::mem::replace(&mut self.p.cont, col + INDENT);
        self.broken(e, col, tail, followed);
        self.p.cont = cont;
    }

    /// Writes `e` as an operand of a chain or prefix operator, in parentheses if it
    /// needs them.
    fn operand(&mut self, e: &Expr, tail: usize, followed: bool) {
        if flat::needs_parens(e, followed) {
            self.p.prepare(e.span().start);
            self.p.token("(");
            self.expr_followed(e, tail + 1, false);
            self.p.token(")");
        } else {
            self.expr_followed(e, tail, followed);
        }
    }

    /// Writes `e`, which starts at column `col`, on several lines.
    fn broken(&mut self, e: &Expr, col: usize, tail: usize, followed: bool) {
        match e {
            Expr::Number(_, span) | Expr::Ident(_, span) => {
                self.p.token_at(span.start, &self.p.text[span.range()]);
            }
            Expr::Call((name, _), args, _) => {
                self.p.token(name);
                self.p.token("(");
                let col = self.p.column();
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        self.p.token(",");
                        self.p.break_to(col, arg.span().start);
                    }
                    let last = i + 1 == args.len();
                    self.expr(arg, if last { tail + 1 } else { 1 });
                }
                self.p.token(")");
            }
            Expr::If(..) => self.if_(e, col, tail),
            Expr::For {
                var,
                start,
                end,
                step,
                body,
                ..
            } => {
                self.p.token("for ");
                self.p.token_at(var.1.start, var.0);
                self.p.token(" = ");
                self.expr(start, 1);
                self.p.token(",");
                self.p.space();
                match step {
                    Some(step) => {
                        self.expr(end, 1);
                        self.p.token(",");
                        self.p.space();
                        self.expr(step, 3);
                    }
                    None => self.expr(end, 3),
                }
                self.p.token(" in");
                self.p.break_to(col + INDENT, body.span().start);
                self.expr(body, tail);
            }
            Expr::Var { bindings, body, .. } => {
                self.p.token("var ");
                let names = self.p.column();
                let first = bindings[0].0.1.start;
                let one_line = !self.p.has_comment(first..body.span().start)
                    && flat::bindings(self.p.text, bindings, self.budget(3)).is_some();
                for (i, ((name, span), init)) in bindings.iter().enumerate() {
                    if i > 0 {
                        self.p.token(",");
                        if one_line {
                            self.p.space();
                        } else {
                            self.p.break_to(names, span.start);
                        }
                    }
                    self.p.token_at(span.start, name);
                    if let Some(init) = init {
                        self.p.token(" = ");
                        self.expr(init, if i + 1 == bindings.len() { 3 } else { 1 });
                    }
                }
                self.p.token(" in");
                self.p.break_to(col, body.span().start);
                self.expr(body, tail);
            }
            Expr::Unary(op, _, operand, _) => {
                self.p.token(&flat::unary_prefix(self.p.text, *op, operand));
                self.operand(operand, tail, followed);
            }
            Expr::Chain(first, rest, _) => self.chain(first, rest, tail, followed),
        }
    }

    /// `if c then a else b` on several lines; an `if` in the `else` branch continues
    /// the ladder (`else if`) at the same indentation.
    fn if_(&mut self, e: &Expr, col: usize, tail: usize) {
        let Expr::If(parts, _) = e else {
            return self.expr(e, tail);
        };
        let [cond, then, else_] = &**parts;
        self.p.token("if ");
        self.expr(cond, 5);
        self.p.token(" then");
        self.p.break_to(col + INDENT, then.span().start);
        self.expr(then, 0);
        self.p.break_to(col, else_.span().start);
        self.p.token("else");
        if matches!(else_, Expr::If(..)) {
            self.p.space();
            self.p.prepare(else_.span().start);
            let cont = std::mem::replace(&mut self.p.cont, col + INDENT);
            self.if_(else_, col, tail);
            self.p.cont = cont;
        } else {
            self.p.break_to(col + INDENT, else_.span().start);
            self.expr(else_, tail);
        }
    }

    /// A chain that does not fit on one line: broken after each of its
    /// lowest-precedence operators, the operands aligned with the first; each part
    /// between them is again one line if it fits.
    fn chain(&mut self, first: &Expr, rest: &[Link], tail: usize, followed: bool) {
        let Some(lowest) = rest
            .iter()
            .map(|(op, _, _)| self.precedence(*op))
            .min_by(f64::total_cmp)
        else {
            return self.operand(first, tail, followed);
        };
        let col = self.p.column();
        let mut part_first = first;
        let mut part_start = 0;
        for i in 0..=rest.len() {
            if i < rest.len() && self.precedence(rest[i].0) != lowest {
                continue;
            }
            let last = i == rest.len();
            let (part_tail, part_followed) = if last { (tail, followed) } else { (2, true) };
            self.part(part_first, &rest[part_start..i], part_tail, part_followed);
            if let Some((op, op_span, operand)) = rest.get(i) {
                self.p.space();
                self.p.token_at(op_span.start, op.encode_utf8(&mut [0; 4]));
                self.p.break_to(col, operand.span().start);
                part_first = operand;
                part_start = i + 1;
            }
        }
    }

    /// A part of a chain: on one line if it fits, else broken again.
    fn part(&mut self, first: &Expr, rest: &[Link], tail: usize, followed: bool) {
        let Some((_, _, last)) = rest.last() else {
            return self.operand(first, tail, followed);
        };
        let range = first.span().start..last.span().end;
        self.p.prepare(range.start);
        if !self.p.has_comment(range)
            && let Some(text) = flat::chain(self.p.text, first, rest, self.budget(tail), followed)
        {
            self.p.token(&text);
            return;
        }
        self.chain(first, rest, tail, followed);
    }
}
