// ANCHOR: head
//! Expressions too simple to compile: no call and no loop. The interpreter, the
//! JIT's oracle, evaluates them in time proportional to their size.

use crate::ast::Expr;
use crate::interp::Interpreter;
// ANCHOR_END: head

// ANCHOR: is_simple
/// Whether `expr` has no call (an operator of the program's is a call) and no loop.
pub fn is_simple(expr: &Expr) -> bool {
    match expr {
        Expr::Number(_) | Expr::Variable(..) => true,
        Expr::Call(..) | Expr::For(_) => false,
        Expr::Binary(_, lhs, rhs) => is_simple(lhs) && is_simple(rhs),
        Expr::If(cond, yes, no) => is_simple(cond) && is_simple(yes) && is_simple(no),
        Expr::Assign(_, _, value) => is_simple(value),
        Expr::Var(bindings, body) => {
            let init = bindings.iter().flat_map(|(_, init)| init);
            init.into_iter().all(is_simple) && is_simple(body)
        }
    }
}
// ANCHOR_END: is_simple

// ANCHOR: evaluate
/// The value of `expr` if it is simple, computed by the interpreter; `None` if it
/// must be compiled.
pub fn evaluate(expr: &Expr) -> Option<f64> {
    if !is_simple(expr) {
        return None;
    }
    // No call: nothing to define, nothing written.
    Interpreter::new(std::io::sink()).evaluate(expr).ok()
}
// ANCHOR_END: evaluate

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use inkwell::context::Context;

    use super::*;
    use crate::ast::Item;
    use crate::jit::Jit;
    use crate::lexer::lex;
    use crate::parser::parse;

    fn expr(text: &str) -> Expr {
        match parse(text, &lex(text)).remove(0) {
            Ok(Item::Expr(expr)) => expr,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn calls_and_loops_are_not_simple() {
        let simple = [
            "1 + 2 * 3",
            "if 1 < 2 then 3 else 4",
            "var a = 1, b in b = a + 1",
        ];
        assert!(simple.into_iter().all(|text| is_simple(&expr(text))));
        let not = [
            "f(1)",
            "1 + -2",
            "for i = 0, i < 3 in 0",
            "var a = f(1) in a",
        ];
        assert!(not.into_iter().all(|text| !is_simple(&expr(text))));
    }

    // ANCHOR: test_bits
    #[test]
    fn the_interpreter_computes_what_compiled_code_computes() {
        // Sums whose last bits depend on the order, an infinity, NaN, and -0.
        let expressions = [
            "0.1 + 0.2 + 0.3",
            "0.1 + (0.2 + 0.3)",
            "var a = 10000000000, b = a*a*a*a*a*a*a*a, inf = b*b*b*b in inf - inf",
            "var a = 10000000000, b = a*a*a*a*a*a*a*a, inf = b*b*b*b, nan = inf - inf in
             (nan < 1) + 2 * (1 < nan) + 4 * (if nan then 1 else 0)",
            "0 - 0 * 5",
            "var x = 3 in (x = x * x + 0.1) * 7 - x",
        ];
        for optimize in [false, true] {
            let context = Context::create();
            let mut jit = Jit::new(&context, optimize).unwrap();
            for text in expressions {
                let interpreted = evaluate(&expr(text)).unwrap();
                // In a function, the expression is compiled.
                let program = format!("def f() {text}; f()");
                let mut items = parse(&program, &lex(&program)).into_iter();
                jit.item(&items.next().unwrap().unwrap()).unwrap();
                let compiled = jit.item(&items.next().unwrap().unwrap()).unwrap();
                let compiled = compiled.unwrap();
                assert!(
                    interpreted.to_bits() == compiled.to_bits()
                        || (interpreted.is_nan() && compiled.is_nan()),
                    "{text}: {interpreted} vs {compiled}"
                );
            }
        }
    }
    // ANCHOR_END: test_bits
}
// ANCHOR_END: tests
