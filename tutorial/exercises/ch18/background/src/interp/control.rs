// ANCHOR: head
//! Control flow in the interpreter: what a condition is, and the tutorial's `for`.

use std::io::Write;

use super::{Interpreter, Located, Scope};
use crate::ast::For;
// ANCHOR_END: head

// ANCHOR: truth
/// Whether a condition holds: LLVM's `fcmp one x, 0.0`, "ordered and not equal",
/// so neither 0 (nor -0) nor NaN is true. (`x != 0.0` alone would take NaN.)
pub(super) fn truth(x: f64) -> bool {
    !x.is_nan() && x != 0.0
}
// ANCHOR_END: truth

// ANCHOR: for_loop
impl<W: Write> Interpreter<W> {
    /// Runs a `for` loop in a call whose variables are `vars`; its value is 0.
    pub(super) fn for_loop(&mut self, l: &For, vars: &mut Scope) -> Result<f64, Located> {
        let start = self.eval(&l.start, vars)?;
        // The loop variable is one more variable, while the loop runs.
        let mark = vars.mark();
        vars.bind(&l.var, start);
        let result = self.iterate(l, vars);
        vars.restore(mark);
        result
    }

    /// Runs the loop whose variable `vars` has just bound; 0 when the loop ends.
    fn iterate(&mut self, l: &For, vars: &mut Scope) -> Result<f64, Located> {
        loop {
            // The tutorial's order: body, step, the end condition, and only then the
            // variable is read again (the body or the condition may have assigned
            // it) and the step added to it.
            self.eval(&l.body, vars)?;
            let step = match &l.step {
                Some(step) => self.eval(step, vars)?,
                None => 1.0,
            };
            let end = self.eval(&l.end, vars)?;
            let next = vars.get(&l.var).expect("the loop variable") + step;
            vars.set(&l.var, next);
            if !truth(end) {
                return Ok(0.0);
            }
        }
    }
}
// ANCHOR_END: for_loop

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::super::tests::run;

    #[test]
    fn if_takes_a_branch_and_nan_is_false() {
        let (values, _) = run(
            "extern sqrt(x); if 0 then 1 else 2; if 0-3 then 1 else 2; if sqrt(0-1) then 1 else 2",
        );
        assert_eq!(values, ["2.000000", "1.000000", "2.000000"]);
    }

    #[test]
    fn for_runs_its_body_before_testing_and_yields_zero() {
        let (values, out) = run("extern printd(x); for i = 0, i < 2 in printd(i); \
             for i = 1, i < 10, i * 2 in printd(i); for i = 7, 0 in printd(i)");
        assert_eq!(values, ["0.000000", "0.000000", "0.000000"]);
        // i < 2 sees i before the step: 0, 1 and 2 run. The step may be any
        // expression of i (1, 1+2, 3+6, 9+18). A false end still runs the body once.
        let expected = "0.000000\n1.000000\n2.000000\n1.000000\n3.000000\n9.000000\n\
                        27.000000\n7.000000\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn a_loop_variable_shadows_a_parameter_until_the_loop_ends() {
        let (values, _) =
            run("def f(i) (for i = 10, i < 11 in i) + i; f(5); def g(x) for j = 0, j in y");
        assert_eq!(values, ["5.000000", "error at `y`: unknown variable `y`"]);
    }
}
// ANCHOR_END: tests
