//! The lazy JIT seen from outside: `--trace-jit` shows what is compiled, and when.
//! (The language's semantics under every engine, lazy included, are in semantics.rs.)

mod common;

use common::run;

/// Runs `program` lazily with echo and the trace; returns (status, stdout, the names
/// compiled, in order, with stderr's other lines kept for messages).
fn lazily(program: &str) -> (i32, String, Vec<String>, String) {
    let (status, stdout, stderr) = run(&["--engine=lazy", "--trace-jit", "--echo"], program);
    let mut compiled = Vec::new();
    let mut rest = String::new();
    for line in stderr.lines() {
        match line.strip_prefix("[jit] compiled ") {
            Some(tail) => {
                let (name, time) = tail.split_once(" in ").expect("a time follows the name");
                assert!(time.contains(" ms"), "{line}");
                compiled.push(name.to_string());
            }
            None => {
                rest.push_str(line);
                rest.push('\n');
            }
        }
    }
    (status, stdout, compiled, rest)
}

#[test]
fn only_called_functions_are_compiled_each_once() {
    let mut program: String = (0..1000)
        .map(|i| format!("def f{i}(x) x + {i};\n"))
        .collect();
    // f3 calls f500, which is defined after it.
    program.push_str("def f3(x) f500(x) * 2;\n");
    program.push_str("f1(0);\nf2(0);\nf3(1);\n");
    let (status, stdout, compiled, rest) = lazily(&program);
    assert_eq!(status, 0, "{rest}");
    assert_eq!(
        stdout,
        "Evaluated to 1.000000\nEvaluated to 2.000000\nEvaluated to 1002.000000\n"
    );
    assert_eq!(compiled, ["f1", "f2", "f3", "f500"]);

    // Calling them all again compiles nothing more.
    program.push_str("f1(0) + f2(0) + f3(1);\n");
    let (_, stdout, again, _) = lazily(&program);
    assert!(stdout.ends_with("Evaluated to 1005.000000\n"), "{stdout}");
    assert_eq!(again, compiled);
}

#[test]
fn forward_references_and_mutual_recursion_compile_on_demand() {
    let (status, stdout, compiled, rest) = lazily(
        "def even(n) if n < 1 then 1 else odd(n - 1);\n\
         def odd(n) if n < 1 then 0 else even(n - 1);\n\
         def never(x) even(x);\n\
         even(10) + odd(7) * 10;\n",
    );
    assert_eq!(status, 0, "{rest}");
    assert_eq!(stdout, "Evaluated to 11.000000\n");
    assert_eq!(compiled, ["even", "odd"]);
}

#[test]
fn stack_arguments_and_vector_registers_pass_through_the_resolver() {
    // Eight arguments travel in xmm0-xmm7, the rest on the stack: the first call goes
    // through the resolver, which must keep them all. The caller keeps values live
    // across the call, in registers the compile must not clobber.
    let (status, stdout, compiled, rest) = lazily(
        "def ten(a b c d e f g h i j) a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h + 9*i + 10*j;\n\
         def twelve(a b c d e f g h i j k l) ten(a, b, c, d, e, f, g, h, i, j) * 1000 + k * 10 + l;\n\
         def caller(x) var y = x * 3 in y + twelve(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, x, y) + y;\n\
         caller(2);\n\
         caller(2);\n",
    );
    assert_eq!(status, 0, "{rest}");
    // ten(1..10) = 385; twelve = 385000 + 20 + 6; caller = 6 + 385026 + 6.
    assert_eq!(stdout, "Evaluated to 385038.000000\n".repeat(2));
    assert_eq!(compiled, ["caller", "twelve", "ten"]);
}

#[test]
fn a_redefinition_is_seen_by_an_already_compiled_caller() {
    let (status, stdout, compiled, rest) = lazily(
        "def inner(x) x + 1;\n\
         def outer(x) inner(x) * 10;\n\
         outer(1);\n\
         def inner(x) x + 2;\n\
         outer(1);\n",
    );
    assert_eq!(status, 0, "{rest}");
    assert_eq!(stdout, "Evaluated to 20.000000\nEvaluated to 30.000000\n");
    // outer is compiled once; only the new inner is compiled again.
    assert_eq!(compiled, ["outer", "inner", "inner"]);
}

#[test]
fn a_def_replacing_an_extern_is_seen_by_an_already_compiled_caller() {
    let (status, stdout, compiled, rest) = lazily(
        "extern sin(x);\n\
         def f() sin(1);\n\
         f();\n\
         def sin(x) 42;\n\
         f();\n",
    );
    assert_eq!(status, 0, "{rest}");
    assert_eq!(stdout, "Evaluated to 0.841471\nEvaluated to 42.000000\n");
    // f calls through sin's stub whether sin is libm's or ours: it is compiled once.
    assert_eq!(compiled, ["f", "sin"]);
}

#[test]
fn an_operator_defined_lazily_is_compiled_when_used() {
    let (status, stdout, compiled, rest) = lazily(
        "def binary% 60 (a b) a - b * 2;\n\
         def unary~(v) 0 - v;\n\
         ~(10 % 3);\n",
    );
    assert_eq!(status, 0, "{rest}");
    assert_eq!(stdout, "Evaluated to -4.000000\n");
    // The operand is evaluated first, so `%` is compiled before `~`.
    assert_eq!(compiled, ["binary%", "unary~"]);
}

#[test]
fn a_missing_callee_fails_then_the_call_is_retried() {
    let (status, stdout, compiled, rest) = lazily(
        "def f(x) g(x) + 1;\n\
         f(1);\n\
         2 + 2;\n\
         def g(x) x * 100;\n\
         f(1);\n",
    );
    assert_eq!(status, 1);
    assert_eq!(stdout, "Evaluated to 4.000000\nEvaluated to 101.000000\n");
    assert!(rest.contains("unknown function `g`"), "{rest}");
    assert!(rest.contains("<stdin>:1:10"), "points at the call: {rest}");
    // f was not compiled while g was missing.
    assert_eq!(compiled, ["f", "g"]);
}

#[test]
fn an_arity_change_found_at_the_first_call_leaves_the_caller_uncompiled() {
    let (status, stdout, compiled, rest) = lazily(
        "def g(x) x;\n\
         def f(x) g(x) * 2;\n\
         def g(x y) x + y;\n\
         f(1);\n\
         def g(x) x * 3;\n\
         f(1);\n",
    );
    assert_eq!(status, 1);
    assert_eq!(stdout, "Evaluated to 6.000000\n");
    assert!(
        rest.contains("`g` takes 2 argument(s) but 1 were given"),
        "{rest}"
    );
    assert_eq!(compiled, ["f", "g"]);
}

#[test]
fn a_stack_overflow_keeps_compiled_definitions() {
    let (status, stdout, compiled, rest) = lazily(
        "def inf(x) 1 + inf(x + 1);\n\
         def ok(x) x * 2;\n\
         ok(1);\n\
         inf(0);\n\
         ok(2) + inf(0);\n\
         ok(3);\n",
    );
    assert_eq!(status, 1);
    assert_eq!(stdout, "Evaluated to 2.000000\nEvaluated to 6.000000\n");
    assert_eq!(rest.matches("stack overflow").count(), 2, "{rest}");
    assert_eq!(compiled, ["ok", "inf"]);
}
