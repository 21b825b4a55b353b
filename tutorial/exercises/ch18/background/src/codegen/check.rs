// ANCHOR: head
//! The generator's checks without its IR: the errors `item` would report for a
//! `def`, found by walking the tree, for a JIT that makes a definition's IR only
//! on its first call.

use super::{CodegenError, Generator};
use crate::ast::{Expr, Prototype, Span};
// ANCHOR_END: head

// ANCHOR: check
impl Generator<'_> {
    /// Remembers `proto`'s number of parameters and returns the first error that
    /// `item` would report for the `def` `proto body`, in the order `item` meets
    /// them; makes no module. A new name is forgotten again if the body is wrong.
    pub fn check(&mut self, proto: &Prototype, body: &Expr) -> Result<(), CodegenError> {
        let is_new = !self.arities.contains_key(&proto.name);
        self.remember(proto)?;
        let params: Vec<&str> = proto.params.iter().map(String::as_str).collect();
        let result = self.check_expr(body, &params);
        if result.is_err() && is_new {
            self.arities.remove(&proto.name);
        }
        result
    }

    /// Makes `name` a function of `arity` parameters, as an `extern` would: a
    /// forward reference, defined later.
    pub fn assume(&mut self, name: &str, arity: usize) {
        self.arities.insert(name.to_string(), arity);
    }
    // ANCHOR_END: check

    // ANCHOR: check_expr
    /// The first error in `expr` whose variables in scope are `scope`; the same
    /// walk as `expr`'s, in the same order, without the builder.
    fn check_expr(&self, expr: &Expr, scope: &[&str]) -> Result<(), CodegenError> {
        match expr {
            Expr::Number(_) => Ok(()),
            Expr::Variable(name, span) => in_scope(scope, name, span),
            Expr::Binary(_, lhs, rhs) => {
                self.check_expr(lhs, scope)?;
                self.check_expr(rhs, scope)
            }
            Expr::Call(callee, args, span) => {
                let Some(&expected) = self.arities.get(callee) else {
                    let (name, span) = (callee.clone(), span.clone());
                    return Err(CodegenError::UnknownFunction { name, span });
                };
                if expected != args.len() {
                    let (name, found, span) = (callee.clone(), args.len(), span.clone());
                    let error = CodegenError::Arity {
                        name,
                        expected,
                        found,
                        span,
                    };
                    return Err(error);
                }
                args.iter().try_for_each(|arg| self.check_expr(arg, scope))
            }
            Expr::If(cond, yes, no) => [cond, yes, no]
                .into_iter()
                .try_for_each(|e| self.check_expr(e, scope)),
            // The start before the loop's variable exists; body, step, end with it.
            Expr::For(l) => {
                self.check_expr(&l.start, scope)?;
                let mut inner = scope.to_vec();
                inner.push(&l.var);
                self.check_expr(&l.body, &inner)?;
                if let Some(step) = &l.step {
                    self.check_expr(step, &inner)?;
                }
                self.check_expr(&l.end, &inner)
            }
            Expr::Assign(name, span, value) => {
                self.check_expr(value, scope)?;
                in_scope(scope, name, span)
            }
            Expr::Var(bindings, body) => {
                let mut inner = scope.to_vec();
                for (name, init) in bindings {
                    if let Some(init) = init {
                        self.check_expr(init, &inner)?;
                    }
                    inner.push(name);
                }
                self.check_expr(body, &inner)
            }
        }
    }
}

/// `name` is a variable of `scope`, or the generator's error.
fn in_scope(scope: &[&str], name: &str, span: &Span) -> Result<(), CodegenError> {
    match scope.contains(&name) {
        true => Ok(()),
        false => Err(CodegenError::UnknownVariable {
            name: name.to_string(),
            span: span.clone(),
        }),
    }
}
// ANCHOR_END: check_expr

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use inkwell::context::Context;

    use super::*;
    use crate::ast::Item;
    use crate::lexer::lex;
    use crate::parser::parse;

    /// One item's outcome: `Ok`, or the error's text and place.
    type Outcome = Result<(), String>;

    /// Each item's outcome through `item` (with IR) and through `check` (without).
    fn both(text: &str) -> (Vec<Outcome>, Vec<Outcome>) {
        let context = Context::create();
        let (mut with_ir, mut without) = (Generator::new(&context), Generator::new(&context));
        let show = |err: CodegenError| format!("{err} at {:?}", err.span());
        let mut outcomes = (Vec::new(), Vec::new());
        for item in parse(text, &lex(text)) {
            let item = item.expect("the tests' programs parse");
            outcomes.0.push(with_ir.item(&item).map(drop).map_err(show));
            let checked = match &item {
                Item::Def(proto, body) => without.check(proto, body),
                _ => without.item(&item).map(drop),
            };
            outcomes.1.push(checked.map_err(show));
        }
        outcomes
    }

    #[test]
    fn check_finds_what_the_generator_finds() {
        let programs = [
            "def f(x) x + 1; def g(a b) f(a) * b; g(1, 2); def h(x) y;",
            "def f(x) f(x, 1); def g(x) g(x); def k(x) h(x); extern sin(x); def s(x) sin(x)",
            "def f(x) for i = 0, i < x, i in i; def g(x) for i = i, 1 in 2; def h() i",
            "def f(x) var a = 1, b = a in a + b + x; def g() var a = a in a; def h(x) y = 1",
            "def f(x) if x < 1 then z else 2; def g(x) x = x + 1; def f(x y) x",
            "def f(x) var v in w = f(1, 2); def g(x) g(x) + q",
        ];
        for text in programs {
            let (with_ir, without) = both(text);
            assert_eq!(with_ir, without, "{text}");
            assert!(
                with_ir.iter().any(Result::is_err),
                "{text}: no error to compare"
            );
        }
    }
}
// ANCHOR_END: tests
