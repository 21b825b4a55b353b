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
        "error: expression nested too deeply (the limit is 10000 levels)"
    );
    let ok = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(last(&ok), "1");
    let deep_if = "if 1 then ".repeat(20_000) + "1" + &" else 0".repeat(20_000);
    assert!(last(&deep_if).starts_with("error: expression nested too deeply"));
}

/// Runs `f` on a stack as large as the one `toy` gives its worker thread: trees 10,000
/// levels deep are resolved, printed and dropped recursively, at a few KiB a level in
/// a debug build.
fn on_a_large_stack(f: impl FnOnce() + Send + 'static) {
    let worker = std::thread::Builder::new().stack_size(1 << 30).spawn(f);
    worker.expect("thread starts").join().expect("no panic");
}

#[test]
fn every_level_of_the_tree_counts_towards_the_nesting_limit() {
    on_a_large_stack(every_level_counts);
}

fn every_level_counts() {
    let too_deep = "error: expression nested too deeply (the limit is 10000 levels)";
    let prefix = |n: usize| format!("def unary-(v) 0 - v; {}1", "-".repeat(n));
    assert!(last(&prefix(10_000)).starts_with("(unary- (unary- "));
    assert_eq!(last(&prefix(10_001)), too_deep);
    assert_eq!(last(&prefix(1_000_000)), too_deep);
    // A left-associative chain of n operators is n levels deep.
    let chain = |n: usize| format!("1{}", " + 1".repeat(n));
    assert!(last(&chain(10_000)).starts_with("(+ (+ "));
    assert_eq!(last(&chain(10_001)), too_deep);
    assert_eq!(last(&chain(1_000_000)), too_deep);
    // User operators too, and the levels of a chain add to those around it.
    let user = |n: usize| format!("def binary% (a b) a; ({}1)", "1 % ".repeat(n));
    assert!(last(&user(10_000)).starts_with("(% (% "));
    assert_eq!(last(&user(10_001)), too_deep);
    let inside = format!("if 1 then {} else 0", chain(9_999));
    assert!(last(&inside).starts_with("(if 1 (+ (+ "));
    assert_eq!(
        last(&format!("if 1 then {} else 0", chain(10_000))),
        too_deep
    );
    // Levels are given back after each operand: many shallow prefix runs are fine.
    let runs = format!(
        "def unary-(v) 0 - v; def f(a b) a; {}1",
        "-1 + --f(-1, --1) + ".repeat(200)
    );
    assert!(last(&runs).starts_with("(+ (+ "));
    // Precedence decides the depth, not the number of operators.
    let flat = format!("1{}", " * 2 + 1".repeat(400));
    assert!(last(&flat).starts_with("(+ (+ "));
}

#[test]
fn the_deepest_error_points_at_its_operator() {
    on_a_large_stack(deepest_error);
}

fn deepest_error() {
    let mut session = Session::new(None);
    let text = format!("1{}", "\n+ 1".repeat(10_100));
    let source = session.sources_mut().add("t", text);
    let mut errors: Vec<Error> = Vec::new();
    session.run(source, 0, true, &mut |_, result| {
        if let Err(err) = result {
            errors.push(err);
        }
        ControlFlow::Continue(())
    });
    // The 10,001st `+` makes the tree 10,001 levels deep.
    let span = errors[0].span();
    assert_eq!(session.sources().line_col(source, span.start), (10_002, 1));
    assert_eq!(span.range().len(), 1);
}

#[test]
fn externs_name_runtime_functions_with_their_arity() {
    let out = items("extern sin(x); extern sin(x y); sin(1, 2); sin(1)");
    assert_eq!(
        out,
        [
            "(extern (sin x))",
            "error: extern `sin` declares 2 parameter(s), but `sin` takes 1",
            "error: `sin` takes 1 argument(s) but 2 were given",
            "(call sin 1)",
        ]
    );
    let not_callable = |name: &str| {
        format!(
            "error: extern `{name}` is not a function toy can call: only putchard, printd and \
             C math functions of doubles (sin, pow, floor, ...: see the grammar's list)"
        )
    };
    assert_eq!(last("extern signgam()"), not_callable("signgam"));
    assert_eq!(last("extern ldexp(x e)"), not_callable("ldexp"));
    assert_eq!(last("extern exit(x)"), not_callable("exit"));
    assert_eq!(last("extern fma(a b c)"), "(extern (fma a b c))");
    // An extern of a function defined with `def` names that definition...
    assert_eq!(last("def f(x) x; extern f(x)"), "(extern (f x))");
    // ...with its arity.
    assert_eq!(
        last("def f(x) x; extern f(x y)"),
        "error: `f` is already defined with 1 parameter(s)"
    );
    // A def may replace an extern, with any arity (as a def replaces a def).
    assert_eq!(
        items("extern sin(x); def sin(a b) a; sin(1, 2)")[1..],
        ["(def (sin a b) a)", "(call sin 1 2)"]
    );
    // Functions of toy's own need no forward declaration: an extern of one that is
    // not defined yet names nothing.
    let out = items("extern g(x); def g(x) x + 1; g(1)");
    assert_eq!(
        out,
        [
            not_callable("g").as_str(),
            "(def (g x) (+ x 1))",
            "(call g 1)"
        ]
    );
}

#[test]
fn extern_errors_point_at_the_extern() {
    let mut session = Session::new(None);
    let source = session
        .sources_mut()
        .add("t", "extern sin(x);\nextern  sin(a b);\nextern signgam();");
    let mut errors: Vec<Error> = Vec::new();
    session.run(source, 0, true, &mut |_, result| {
        if let Err(err) = result {
            errors.push(err);
        }
        ControlFlow::Continue(())
    });
    let at = |err: &Error| session.sources().line_col(source, err.span().start);
    assert_eq!(errors.len(), 2);
    assert_eq!(at(&errors[0]), (2, 9));
    assert_eq!(at(&errors[1]), (3, 8));
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
