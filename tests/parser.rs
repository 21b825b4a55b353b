//! Parser and resolver: precedence, associativity, user-defined operators, scopes,
//! incomplete versus invalid input.

use std::ops::ControlFlow;

use toy::Error;
use toy::frontend::parser::is_incomplete;
use toy::frontend::print;
use toy::session::{Outcome, Session};

/// Each item of `text` as an S-expression, or the error's message.
fn items(text: &str) -> Vec<String> {
    let mut session = Session::new(None);
    let source = session.sources_mut().add("test", text);
    let mut out = Vec::new();
    session.run(source, 0, true, &mut |_, result| {
        out.push(match result {
            Ok(Outcome::Resolved(item)) => print::item(&item),
            Ok(other) => format!("{other:?}"),
            Err(err) => format!("error: {err}"),
        });
        ControlFlow::Continue(())
    });
    out
}

fn last(text: &str) -> String {
    items(text).pop().expect("at least one item")
}

#[test]
fn builtin_precedence_and_left_associativity() {
    assert_eq!(last("1 + 2 * 3"), "(+ 1 (* 2 3))");
    assert_eq!(last("1 * 2 + 3"), "(+ (* 1 2) 3)");
    assert_eq!(last("1 - 2 - 3"), "(- (- 1 2) 3)");
    assert_eq!(last("1 - 2 + 3"), "(+ (- 1 2) 3)");
    assert_eq!(last("1 < 2 + 3"), "(< 1 (+ 2 3))");
    assert_eq!(last("(1 + 2) * 3"), "(* (+ 1 2) 3)");
    assert_eq!(
        last("def f(x) x = 1 + 2 < 3"),
        "(def (f x) (= x (< (+ 1 2) 3)))"
    );
}

#[test]
fn user_defined_precedence() {
    let text = "def binary| 5 (a b) a; def binary& 6 (a b) b; def binary^ 50 (a b) a;";
    assert_eq!(last(&format!("{text} 1 | 2 & 3")), "(| 1 (& 2 3))");
    assert_eq!(last(&format!("{text} 1 & 2 | 3")), "(| (& 1 2) 3)");
    assert_eq!(
        last(&format!("{text} 2 * 3 ^ 4 + 1")),
        "(+ (* 2 (^ 3 4)) 1)"
    );
    assert_eq!(last(&format!("{text} 1 ^ 2 ^ 3")), "(^ (^ 1 2) 3)");
    // Default precedence 30: between + (20) and * (40).
    assert_eq!(
        last("def binary% (a b) a; 1 + 2 % 3 * 4"),
        "(+ 1 (% 2 (* 3 4)))"
    );
}

#[test]
fn redefining_an_operator_changes_the_precedence_of_later_items_only() {
    let out = items("def binary| 5 (a b) a; 1 | 2 + 3; def binary| 50 (a b) b; 1 | 2 + 3");
    assert_eq!(out[1], "(| 1 (+ 2 3))");
    assert_eq!(out[3], "(+ (| 1 2) 3)");
}

#[test]
fn operator_is_usable_in_its_own_body_and_on_the_next_item() {
    let out = items("def binary% 40 (a b) if a < b then a else (a - b) % b;\n7 % 3");
    assert_eq!(
        out[0],
        "(def (binary% 40 a b) (if (< a b) a (% (- a b) b)))"
    );
    assert_eq!(out[1], "(% 7 3)");
    let out = items("def unary!(v) if v then 0 else !!0; !1");
    assert_eq!(out[1], "(unary! 1)");
}

#[test]
fn rejected_definition_installs_no_operator() {
    let out = items("def binary| 5 (a b) a + nosuchvariable; 1 | 2");
    assert_eq!(out[0], "error: unknown variable `nosuchvariable`");
    assert_eq!(out[1], "error: unknown binary operator `|`");
    let out = items("def unary! 5 (a) a; !1");
    assert_eq!(out[1], "error: unknown unary operator `!`");
}

#[test]
fn unary_operators_bind_tighter_than_any_binary_operator() {
    let out = items("def unary-(v) 0 - v; - 1 * 2; - - 1; 1 - -1");
    assert_eq!(out[1], "(* (unary- 1) 2)");
    assert_eq!(out[2], "(unary- (unary- 1))");
    assert_eq!(out[3], "(- 1 (unary- 1))");
}

#[test]
fn assignment_needs_a_variable_and_is_left_associative() {
    assert_eq!(last("def f(x) (x) = 2"), "(def (f x) (= x 2))");
    assert_eq!(
        last("def f(x y) x = y = 1"),
        "error: the left side of `=` must be a variable"
    );
    assert_eq!(
        last("def f(x y) x = (y = 1)"),
        "(def (f x y) (= x (= y 1)))"
    );
}

#[test]
fn scopes_of_for_and_var() {
    // The start value is outside the loop variable's scope; the rest is inside.
    assert_eq!(
        last("def f(i) for i = i, i < 3, i in i"),
        "(def (f i) (for i i (< i 3) i i))"
    );
    assert_eq!(last("for i = i, 1 in 0"), "error: unknown variable `i`");
    // Initializers see earlier bindings, not their own.
    assert_eq!(last("var a = 1, b = a in b"), "(var ((a 1) (b a)) b)");
    assert_eq!(last("var a = a in a"), "error: unknown variable `a`");
    // Bindings end with their body.
    assert_eq!(last("(var a in a) + a"), "error: unknown variable `a`");
}

#[test]
fn items_need_no_semicolons() {
    let out = items("def f(x) x\ndef g(x) x 1 2\n3");
    assert_eq!(out, vec!["(def (f x) x)", "(def (g x) x)", "1", "2", "3"]);
}

#[test]
fn calls_check_the_arity_of_known_functions_only() {
    assert_eq!(
        last("def f(a b) a; f(1)"),
        "error: `f` takes 2 argument(s) but 1 were given"
    );
    assert_eq!(
        last("def f(a) f(a, a)"),
        "error: `f` takes 1 argument(s) but 2 were given"
    );
    // A forward reference inside a definition is fine...
    assert_eq!(last("def f(a) g(a, a)"), "(def (f a) (call g a a))");
    // ...but a top-level expression runs at once, so its callees must exist.
    assert_eq!(last("g(1)"), "error: unknown function `g`");
}

#[test]
fn an_error_skips_only_the_rest_of_its_item() {
    let out = items("1 + + ; 2; def f(x y; def g(x) x; 3 )");
    assert_eq!(out[0], "error: expected expression, found `;`");
    assert_eq!(out[1], "2");
    assert!(out[2].starts_with("error: expected"), "{}", out[2]);
    assert_eq!(out[3], "(def (g x) x)");
    assert_eq!(out[4], "3");
    assert!(out[5].starts_with("error: expected"), "{}", out[5]);
    assert_eq!(out.len(), 6);
}

#[test]
fn incomplete_and_invalid_input_are_told_apart() {
    for text in [
        "def",
        "def f",
        "def f(x",
        "def f(x)",
        "1 +",
        "(1",
        "if 1 then 2",
        "for i = 1,",
        "var a in",
        "f(1,",
        "def binary",
        "extern",
    ] {
        assert!(is_incomplete(text), "{text:?} should be incomplete");
    }
    for text in [
        "1 + )",
        "def f(x) x",
        "1.2.3",
        "def (",
        "1;",
        "",
        "# just a comment",
        "1 é",
        "f(1,)",
    ] {
        assert!(!is_incomplete(text), "{text:?} should not be incomplete");
    }
}

#[test]
fn nesting_is_limited_without_crashing() {
    let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(
        last(&deep),
        "error: expression nested too deeply (the limit is 512 levels)"
    );
    let ok = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    assert_eq!(last(&ok), "1");
    let deep_if = "if 1 then ".repeat(1000) + "1" + &" else 0".repeat(1000);
    assert!(last(&deep_if).starts_with("error: expression nested too deeply"));
}

#[test]
fn long_chains_and_prefix_runs_are_not_recursive_in_the_parser() {
    // The resulting trees are 100 000 levels deep: printing and dropping them recurses,
    // so this runs on a stack as large as the one `toy` gives its worker thread.
    let worker = std::thread::Builder::new().stack_size(1 << 30).spawn(|| {
        let chain = format!("1{}", " + 1".repeat(100_000));
        assert!(last(&chain).starts_with("(+ (+ "));
        let prefix = format!("def unary-(v) 0 - v; {}1", "-".repeat(100_000));
        assert!(last(&prefix).starts_with("(unary- (unary- "));
    });
    worker.expect("thread starts").join().expect("no panic");
}

#[test]
fn errors_carry_spans() {
    let mut session = Session::new(None);
    let source = session.sources_mut().add("t", "def f(x)\n  x + y");
    let mut errors: Vec<Error> = Vec::new();
    session.run(source, 0, true, &mut |_, result| {
        if let Err(err) = result {
            errors.push(err);
        }
        ControlFlow::Continue(())
    });
    let span = errors[0].span();
    assert_eq!(session.sources().line_col(source, span.start), (2, 7));
}
