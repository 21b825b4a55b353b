//! The language's semantics (LLVM tutorial chapter 7), checked on every engine.
//!
//! Each case runs as piped input with `--no-echo` unless its text says otherwise, and
//! must give the same stdout and exit status under every engine in `ENGINES`.

mod common;

use common::{ENGINES, Engine};

/// Runs `program` on every engine with `args`; returns the one (status, stdout) they
/// agree on, and the stderr of the first.
fn all_engines(args: &[&str], program: &str) -> (i32, String, String) {
    let mut first: Option<(i32, String, String)> = None;
    for engine in ENGINES {
        let result = Engine::new(engine).run(args, program);
        match &first {
            None => first = Some(result),
            Some(f) => assert_eq!(
                (f.0, &f.1),
                (result.0, &result.1),
                "{engine} disagrees on:\n{program}"
            ),
        }
    }
    first.expect("at least one engine")
}

/// Asserts that `program` (with `--no-echo`) prints `expected` and succeeds.
fn prints(program: &str, expected: &str) {
    let (status, stdout, stderr) = all_engines(&["--no-echo"], program);
    assert_eq!(stdout, expected, "program:\n{program}\nstderr:\n{stderr}");
    assert_eq!(status, 0, "program:\n{program}\nstderr:\n{stderr}");
}

/// The echoed values of `program`'s top-level expressions, and its stderr.
fn values(program: &str) -> (Vec<String>, String, i32) {
    let (status, stdout, stderr) = all_engines(&["--echo"], program);
    let values = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Evaluated to "))
        .map(str::to_string)
        .collect();
    (values, stderr, status)
}

const PRELUDE: &str = "extern printd(x); extern putchard(c); def binary : 1 (x y) y;\n";

#[test]
fn for_runs_body_then_step_then_end_condition_then_increments() {
    // p(n) prints n and yields 1, so the output shows the order of evaluation.
    let program = format!(
        "{PRELUDE}def p(n) printd(n) : 1;\n\
         printd(for i = 0, p(3) * 0 + (i < 1), p(2) * 0 + 1 in p(1));"
    );
    prints(
        &program,
        "1.000000\n2.000000\n3.000000\n1.000000\n2.000000\n3.000000\n0.000000\n",
    );
}

#[test]
fn for_runs_its_body_at_least_once_and_sees_assignments_to_its_variable() {
    let program = format!(
        "{PRELUDE}\
         def count(n) var c = 0 in (for i = 0, i < n in c = c + 1) : c;\n\
         printd(count(0)); printd(count(5));\n\
         def jumps() var c = 0 in (for i = 0, i < 10 in (i = i + 5) : c = c + 1) : c;\n\
         printd(jumps());\n\
         def last() var seen = 0 in (for i = 0, i < 3, 2 in seen = i) : seen;\n\
         printd(last());"
    );
    // count(0): one run; count(5): i = 0..5; jumps: i = 0 -> 5 -> 6 -> 11 stops; last: 0, 2, 4.
    prints(&program, "1.000000\n6.000000\n2.000000\n4.000000\n");
}

#[test]
fn comparisons_conditions_and_nan() {
    let program = format!(
        "{PRELUDE}\
         def inf() var x = 1 in (for i = 0, i < 20 in x = x * 1000000000000000000000) : x;\n\
         def nan() inf() - inf();\n\
         printd(2 < 3); printd(3 < 2); printd(2 < 2);\n\
         printd(nan() < 1); printd(1 < nan());\n\
         printd(if nan() then 1 else 2);\n\
         printd(if 0.5 then 1 else 2); printd(if 0 - 0 then 1 else 2);\n\
         printd(inf()); printd(0 - inf());"
    );
    // `<` is LLVM's `fcmp ult` (true when unordered); `if` is `fcmp one` (NaN is false).
    prints(
        &program,
        "1.000000\n0.000000\n0.000000\n1.000000\n1.000000\n2.000000\n1.000000\n2.000000\ninf\n-inf\n",
    );
}

#[test]
fn tests_for_zero_agree_on_signed_zeros_denormals_infinities_and_nan() {
    // Optimized code tests "x == 0" on the bits of x (src/codegen/zero_test.rs); an
    // equality written with `<`, inlined into its callers, is such a test. `tiny` is
    // the least denormal (the body runs 1074 times): `x < 0` and `0 < x` are false
    // only for ±0. `sqrt` is opaque to LLVM (callees are `nobuiltin`), so `x * sqrt(1)`
    // keeps the inlined tests from folding to constants.
    let program = format!(
        "{PRELUDE}\
         extern sqrt(x);\n\
         def unary!(v) if v then 0 else 1;\n\
         def binary ~ 9 (a b) !(a < b) * !(b < a);\n\
         def zero(x) if x ~ 0 then 1 else 0;\n\
         def nonzero(x) if x ~ 0 then 0 else 1;\n\
         def inf() var x = 1 in (for i = 0, i < 20 in x = x * 1000000000000000000000) : x;\n\
         def tiny() var x = 1 in (for i = 0, i < 1073 in x = x * 0.5) : x;\n\
         def check(x) var y = x * sqrt(1) in printd(zero(y)) : printd(nonzero(y));\n\
         def all() check(0) : check(0 - 0) : check(0 * (0 - 1)) : check(sqrt(0 - 1)) : \
         check(tiny()) : check(0 - tiny()) : check(inf()) : check(0 - inf()) : check(1);\n\
         all(); for i = 0, i < 3 in all();"
    );
    // zero, then nonzero, of: 0, -0, -0, NaN, tiny, -tiny, inf, -inf, 1.
    let once = [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
    let once: String = once.iter().map(|b| format!("{b}.000000\n")).collect();
    let expected = once.repeat(5); // once, then four times in the loop
    for args in [
        &["--no-echo"][..],
        &["--no-echo", "-O2"],
        &["--no-echo", "-O3", "--tier", "1"],
    ] {
        let (status, stdout, stderr) = all_engines(args, &program);
        assert_eq!(stdout, expected, "{args:?}\nstderr:\n{stderr}");
        assert_eq!(status, 0, "{args:?}\nstderr:\n{stderr}");
    }
}

#[test]
fn var_initializers_scopes_and_shadowing() {
    let program = format!(
        "{PRELUDE}\
         def f(x) (var x = x + 1, y = x * 10, z in x + y + z) + x;\n\
         printd(f(1));\n\
         def g(x) (for x = 10, x < 11 in 0) + x;\n\
         printd(g(7));\n\
         def h(a) (a = 5) + a;\n\
         printd(h(1));"
    );
    // f(1): inner x = 2, y = 20, z = 0 -> 22, plus the outer x (1) -> 23.
    prints(&program, "23.000000\n7.000000\n10.000000\n");
}

#[test]
fn operands_and_arguments_are_evaluated_left_to_right() {
    let program = format!(
        "{PRELUDE}\
         def three(a b c) 0;\n\
         printd(1) + printd(2);\n\
         three(printd(3), printd(4), printd(5));\n\
         def binary& 6 (a b) 0;\n\
         printd(6) & printd(7);"
    );
    prints(
        &program,
        "1.000000\n2.000000\n3.000000\n4.000000\n5.000000\n6.000000\n7.000000\n",
    );
}

#[test]
fn putchard_writes_bytes_and_returns_zero() {
    prints(
        &format!("{PRELUDE}printd(putchard(72) + putchard(105) + putchard(10));"),
        "Hi\n0.000000\n",
    );
}

#[test]
fn ten_arguments() {
    let program = format!(
        "{PRELUDE}def ten(a b c d e f g h i j) a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h + 9*i + 10*j;\n\
         printd(ten(1, 1, 1, 1, 1, 1, 1, 1, 1, 1));\n\
         printd(ten(0, 0, 0, 0, 0, 0, 0, 0, 0, 1));"
    );
    prints(&program, "55.000000\n10.000000\n");
}

#[test]
fn forward_references_and_mutual_recursion() {
    let (values, stderr, status) = values(
        "def a(x) b(x) * 2;\ndef b(x) x + 1;\na(3);\n\
         def even(n) if n < 1 then 1 else odd(n - 1);\n\
         def odd(n) if n < 1 then 0 else even(n - 1);\n\
         even(10); even(7); odd(7);",
    );
    assert_eq!(
        values,
        ["8.000000", "1.000000", "0.000000", "1.000000"],
        "{stderr}"
    );
    assert_eq!(status, 0);
}

#[test]
fn redefinition_is_seen_by_existing_callers() {
    let (values, stderr, status) = values("def f() 1;\ndef g() f() * 10;\ng();\ndef f() 2;\ng();");
    assert_eq!(values, ["10.000000", "20.000000"], "{stderr}");
    assert_eq!(status, 0);
}

#[test]
fn a_missing_callee_fails_the_call_and_can_be_defined_later() {
    let (values, stderr, status) = values("def a(x) b(x);\n1;\na(1);\ndef b(x) x + 41;\na(1);");
    assert_eq!(values, ["1.000000", "42.000000"]);
    assert!(stderr.contains("unknown function `b`"), "{stderr}");
    assert!(stderr.contains("<stdin>:1:10"), "{stderr}");
    assert_eq!(status, 1);
}

#[test]
fn a_redefinition_that_changes_arity_is_caught_at_the_next_call() {
    let (values, stderr, status) =
        values("def f(x) x;\ndef g() f(1);\ng();\ndef f(x y) x;\ng();\n3;");
    assert_eq!(values, ["1.000000", "3.000000"]);
    assert!(
        stderr.contains("`f` takes 2 argument(s) but 1 were given"),
        "{stderr}"
    );
    assert_eq!(status, 1);
}

#[test]
fn deep_recursion_is_a_stack_overflow_error_and_definitions_survive() {
    let (values, stderr, status) =
        values("def inf(x) 1 + inf(x + 1);\ndef ok(x) x * 2;\ninf(0);\nok(21);");
    assert!(stderr.contains("stack overflow"), "{stderr}");
    // Every engine points at the top-level expression.
    assert!(stderr.contains("<stdin>:3:1"), "{stderr}");
    assert_eq!(values, ["42.000000"]);
    assert_eq!(status, 1);
}

#[test]
fn externs_resolve_to_the_runtime_and_to_c_math_only() {
    let (values, stderr, status) = values(
        "extern sin(x); extern pow(x y); extern floor(x);\n\
         sin(0); pow(2, 10); floor(2.7);\n\
         extern nosuch(x); def f(x) nosuch(x);\n\
         4; f(1);\n\
         extern exit(x); exit(0);\n\
         extern sqrt(x y); sqrt(4, 4);\n\
         5;",
    );
    assert_eq!(
        values,
        [
            "0.000000",
            "1024.000000",
            "2.000000",
            "4.000000",
            "5.000000"
        ],
        "{stderr}"
    );
    assert!(
        stderr.contains("extern `nosuch` is not a function toy can call"),
        "{stderr}"
    );
    assert!(
        stderr.contains("extern `exit` is not a function toy can call"),
        "{stderr}"
    );
    assert!(
        stderr.contains("extern `sqrt` declares 2 parameter(s), but `sqrt` takes 1"),
        "{stderr}"
    );
    assert_eq!(status, 1);
}

#[test]
fn a_def_takes_precedence_over_an_extern_of_the_same_name() {
    let (values, stderr, status) = values(
        "extern sin(x);\ndef sin(x) 42;\nsin(0);\nextern sin(x);\nsin(0);\nextern sin(a b);",
    );
    assert_eq!(values, ["42.000000", "42.000000"]);
    assert!(
        stderr.contains("`sin` is already defined with 1 parameter(s)"),
        "{stderr}"
    );
    assert_eq!(status, 1);
}

#[test]
fn callers_of_an_extern_see_a_def_that_replaces_it() {
    // Compiled while `sin` was libm's, `f` must call ours once it is defined (no
    // engine may fold `sin(1)` to a constant). The recursive `sin` must not be taken
    // for libm's either.
    let (values, stderr, status) = values(
        "extern sin(x);\ndef f() sin(1);\nf();\n\
         def sin(x) if x < 1 then 42 else sin(x - 1) + 1;\nf();\nsin(2);",
    );
    assert_eq!(values, ["0.841471", "43.000000", "44.000000"], "{stderr}");
    assert_eq!(status, 0);
}

#[test]
fn user_operators_call_their_functions() {
    let program = format!(
        "{PRELUDE}\
         def unary-(v) 0 - v;\n\
         def binary> 10 (a b) b < a;\n\
         def binary| 5 (a b) if a then 1 else if b then 1 else 0;\n\
         printd(-3); printd(- -3); printd(3 > 2 | 0); printd(2 > 3 | 1 > 2);"
    );
    prints(&program, "-3.000000\n3.000000\n1.000000\n0.000000\n");
}

#[test]
fn a_rejected_operator_definition_leaves_no_operator_behind() {
    let (values, stderr, status) =
        values("def binary% 5 (a b) a % nope;\n1 % 2;\ndef binary% 5 (a b) a - b;\n7 % 2;");
    assert_eq!(values, ["5.000000"], "{stderr}");
    assert!(stderr.contains("unknown variable `nope`"), "{stderr}");
    assert!(stderr.contains("unknown binary operator `%`"), "{stderr}");
    assert_eq!(status, 1);
}

#[test]
fn straight_line_expressions_give_the_compiled_doubles_bit_for_bit() {
    // The lazy JIT interprets top-level expressions without loops or calls; the
    // results must be the ones compiled code gives (no reassociation, IEEE rounding),
    // scaled up so that the last bits show in `%f`.
    let (values, stderr, status) = values(
        "(0.1 + 0.2 - 0.3) * 100000000000000000000;\n\
         (0.1 + (0.2 - 0.3)) * 100000000000000000000;\n\
         (0.7 * 3 - 2.1) * 100000000000000000000;\n\
         var a = 0.1, b in ((b = a * 3) - 0.3) * 100000000000000000000;\n\
         if 0.1 + 0.2 < 0.3 then 1 else 2;\n\
         0.3 - 0.1 * 3 < 0;\n",
    );
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        values,
        [
            "5551.115123",
            "2775.557562",
            "-44408.920985",
            "5551.115123",
            "2.000000",
            "1.000000"
        ]
    );
}

#[test]
fn expressions_calling_compiled_functions_give_the_compiled_doubles_bit_for_bit() {
    // The lazy JIT interprets top-level expressions without loops and calls compiled
    // code through thunks; every engine (the eager one compiles the expression) must
    // print the same bits, including through arguments and user operators.
    let (values, stderr, status) = values(
        "def id(x) x;\n\
         def binary ^ 30 (a b) a * b;\n\
         def eight(a b c d e f g h) a - b + c - d + e - f + g - h;\n\
         (id(0.1) + 0.2 - 0.3) * 100000000000000000000;\n\
         (0.1 + id(0.2 - 0.3)) * 100000000000000000000;\n\
         (0.7 ^ 3 - 2.1) * 100000000000000000000;\n\
         eight(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8) * 100000000000000000000;\n\
         if id(0.1) + 0.2 < 0.3 then id(1) else id(2);\n",
    );
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        values,
        [
            "5551.115123",
            "2775.557562",
            "-44408.920985",
            "-40000000000000016384.000000",
            "2.000000"
        ]
    );
}
