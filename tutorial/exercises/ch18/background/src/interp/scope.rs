//! Mutable variables in the interpreter: the scope of a call, `=` and `var`.

use std::io::Write;

use super::{Interpreter, Located, RuntimeError};
use crate::ast::{Expr, Span};

/// The variables of one call: names bound to values, the innermost last. A name
/// bound twice (a `var` or a loop variable named like a parameter) means its last
/// binding, until that binding is removed again.
#[derive(Debug, Default)]
pub(super) struct Scope(Vec<(String, f64)>);

impl Scope {
    /// The scope a call starts with: its parameters, bound to its arguments.
    pub(super) fn new(params: &[String], args: &[f64]) -> Self {
        Scope(params.iter().cloned().zip(args.iter().copied()).collect())
    }

    /// The value of the innermost variable named `name`.
    pub(super) fn get(&self, name: &str) -> Option<f64> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }

    /// Stores `value` in the innermost variable named `name`; `false` if none is.
    pub(super) fn set(&mut self, name: &str, value: f64) -> bool {
        match self.0.iter_mut().rev().find(|(n, _)| n == name) {
            Some((_, slot)) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// Binds a new variable, which hides any other of its name.
    pub(super) fn bind(&mut self, name: &str, value: f64) {
        self.0.push((name.to_string(), value));
    }

    /// Where the scope is now, for `restore`.
    pub(super) fn mark(&self) -> usize {
        self.0.len()
    }

    /// Removes the variables bound since `mark`, which uncovers what they hid.
    pub(super) fn restore(&mut self, mark: usize) {
        self.0.truncate(mark);
    }
}

impl<W: Write> Interpreter<W> {
    /// `name = value`: evaluates `value` first, stores it, and yields it.
    pub(super) fn assign(
        &mut self,
        name: &str,
        span: &Span,
        value: &Expr,
        vars: &mut Scope,
    ) -> Result<f64, Located> {
        let value = self.eval(value, vars)?;
        match vars.set(name, value) {
            true => Ok(value),
            // `define` checked every assignment; a bug of ours if it happens.
            false => Err((RuntimeError::UnknownVariable(name.into()), span.clone())),
        }
    }

    /// `var a = 1, b in body`: binds each variable in turn (its initializer sees the
    /// variables bound before it, not itself), runs `body`, and unbinds them again.
    pub(super) fn var(
        &mut self,
        bindings: &[(String, Option<Expr>)],
        body: &Expr,
        vars: &mut Scope,
    ) -> Result<f64, Located> {
        let mark = vars.mark();
        for (name, init) in bindings {
            let value = match init {
                Some(init) => self.eval(init, vars)?,
                None => 0.0,
            };
            vars.bind(name, value);
        }
        let result = self.eval(body, vars);
        vars.restore(mark);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::run;

    #[test]
    fn assignment_stores_and_yields_the_value() {
        let (values, _) = run("def f(x) (x = x + 1) * 10 + x; f(1); def g(a) a = 7; g(0)");
        assert_eq!(values, ["22.000000", "7.000000"]);
    }

    #[test]
    fn var_initializes_in_order_and_defaults_to_zero() {
        let (values, _) = run("var a = 1, b = a + 1, c in a * 100 + b * 10 + c");
        assert_eq!(values, ["120.000000"]);
    }

    #[test]
    fn an_initializer_sees_the_outer_variable_of_its_own_name() {
        // `var x = x + 1` reads the parameter `x`: the new `x` is not bound yet.
        let (values, _) = run("def f(x) (var x = x + 1 in x * 10) + x; f(5)");
        assert_eq!(values, ["65.000000"]);
    }

    #[test]
    fn shadowing_ends_with_the_body_and_assignment_hits_the_innermost() {
        let (values, _) =
            run("def f(x) (var x = 1 in x = 100) + x; f(5); def g(x) (var y in x = 3) + x; g(5)");
        assert_eq!(values, ["105.000000", "6.000000"]);
    }

    #[test]
    fn the_loop_reads_its_variable_again_after_the_body() {
        // The body doubles i, then the step adds 1: i is 0, 1, 3, and then 6 < 5
        // is false.
        let (values, out) = run("extern printd(x); def binary : 1 (x y) y; \
             def f() for i = 0, i < 5 in printd(i) : (i = i * 2); f()");
        assert_eq!(values, ["0.000000"]);
        assert_eq!(out, "0.000000\n1.000000\n3.000000\n");
    }

    #[test]
    fn unknown_variables_are_errors_of_the_definition() {
        let (values, _) = run("def f(x) y = 1; def g(x) var a = a in a; def h(x) (var b in b) + b");
        assert_eq!(
            values,
            [
                "error at `y`: unknown variable `y`",
                "error at `a`: unknown variable `a`",
                "error at `b`: unknown variable `b`",
            ]
        );
    }
}
