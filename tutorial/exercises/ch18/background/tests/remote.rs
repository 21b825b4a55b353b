// ANCHOR: tools
//! The remote executor, through the command: a second process really runs the code.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The checkpoint's binary, which cargo builds for these tests.
const BIN: &str = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));

/// Runs the command with `args` on the program `text`.
fn toy(args: &[&str], text: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// What the command prints with `args` on `text`.
fn stdout(args: &[&str], text: &str) -> String {
    String::from_utf8(toy(args, text).stdout).unwrap()
}
// ANCHOR_END: tools

// ANCHOR: oracle
/// Programs whose output covers the natives, recursion, loops, redefinition and
/// the order of the program's output and the echoed values.
const PROGRAMS: &[&str] = &[
    "def fib(n) if n < 2 then n else fib(n - 1) + fib(n - 2); fib(20); fib(1) + fib(2)",
    "extern putchard(c); def line(n) for i = 0, i < n in putchard(42);
     line(5) + putchard(10); line(3); putchard(10)",
    "extern printd(x); def f(x) printd(x) + x; f(1) + f(2); printd(sqrt(2))",
    "def f(x) x * 2; def g(x) f(x) + 1; g(3); def f(x) x * 3; g(3)",
    "def even(n) if n < 1 then 1 else odd(n - 1);
     def odd(n) if n < 1 then 0 else even(n - 1); even(10); odd(7); pow(2, 10) + atan2(0, 1)",
];

#[test]
fn the_remote_engine_prints_what_the_interpreter_prints() {
    for text in PROGRAMS {
        assert_eq!(
            stdout(&["--remote"], text),
            stdout(&["--interp"], text),
            "{text}"
        );
    }
}
// ANCHOR_END: oracle

// ANCHOR: lazy
#[test]
fn only_the_functions_called_are_compiled_remotely() {
    let mut text = String::new();
    for i in 0..100 {
        text += &format!("def f{i}(x) x + {i};\n");
    }
    text += "f7(1) + f42(1)";
    // ANCHOR: tier0_a
    let expected = "[lazy] compiled f7 at tier 0\n[lazy] compiled f42 at tier 0\n";
    // ANCHOR_END: tier0_a
    assert_eq!(
        stdout(&["--remote", "--trace"], &text),
        format!("{expected}Evaluated to 51.000000\n")
    );
}
// ANCHOR_END: lazy

// ANCHOR: crash
#[test]
fn a_crash_kills_the_executor_only_and_definitions_survive() {
    let text = "def f(x) x + 1; extern printd(x); extern crash(x);
                def g(x) printd(x) + crash(x); f(1); g(7); printd(f(2)); f(3)";
    let output = toy(&["--remote", "--trace"], text);
    // What `g` printed before the crash was in the executor's buffer: lost with it.
    // ANCHOR: tier0_b
    let expected = "[lazy] compiled f at tier 0\nEvaluated to 2.000000\n\
                    [lazy] compiled g at tier 0 (calls printd, crash)\n\
                    [lazy] compiled f at tier 0\n\
                    3.000000\nEvaluated to 0.000000\nEvaluated to 4.000000\n";
    // ANCHOR_END: tier0_b
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: the executor crashed (killed by signal 6); restarted it, definitions kept\n"
    );
    // One item failed: the exit status says so.
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn errors_at_a_distance_leave_the_executor_running() {
    // `g` calls `h`, not defined yet: `g`'s first call fails. `down` never stops:
    // it fills the executor's JIT stack. Neither restarts the executor: `f`, once
    // compiled, is not compiled again.
    let text = "def f(x) x + 1; def g(x) h(x); def down(n) 1 + down(n + 1);
                f(1); g(1); down(0); def h(x) x * 10; g(1); f(2)";
    let output = toy(&["--remote", "--trace"], text);
    // ANCHOR: tier0_c
    let expected = "[lazy] compiled f at tier 0\nEvaluated to 2.000000\n\
                    [lazy] compiled down at tier 0 (calls down)\n\
                    [lazy] compiled down at tier 1\n\
                    [lazy] compiled g at tier 0 (calls h)\n[lazy] compiled h at tier 0\n\
                    Evaluated to 10.000000\nEvaluated to 3.000000\n";
    // ANCHOR_END: tier0_c
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
    // The errors, as chapter 14 reports them in one process: at the call.
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        "1:26: error: unknown function `h`\n\
         2:29: error: stack overflow: the calls nest deeper than the JIT stack (64 MiB) holds\n"
    );
    assert_eq!(stderr, String::from_utf8(toy(&[], text).stderr).unwrap());
}
// ANCHOR_END: crash

// ANCHOR: tier_up
#[test]
fn a_remote_function_tiers_up_with_the_executors_counters() {
    let text = "def f(x) x * 2; for i = 1, i < 3000 in f(i); f(21);
                def f(x) x * 3; for i = 1, i < 3000 in f(i); f(21)";
    let trace = "[lazy] compiled f at tier 0\n[lazy] compiled f at tier 1\n";
    let value = |v| format!("Evaluated to 0.000000\nEvaluated to {v}.000000\n");
    let expected = format!("{trace}{}{trace}{}", value(42), value(63));
    assert_eq!(stdout(&["--remote", "--trace"], text), expected);
    assert_eq!(stdout(&["--trace"], text), expected);
}
// ANCHOR_END: tier_up

// ANCHOR: garbage
#[test]
fn a_malformed_frame_ends_the_executor_with_an_error() {
    // A frame of 4 GiB, announced: refused before any of it is read.
    let output = toy(&["--executor"], "\u{7f}\u{7f}\u{7f}\u{7f}");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.ends_with("--executor: a frame of 2139062143 bytes: more than 16777216\n"),
        "{stderr}"
    );
}
// ANCHOR_END: garbage

#[test]
fn tier_1_in_the_background_prints_what_the_interpreter_prints() {
    for text in PROGRAMS {
        let loops = format!("{text}; def hot(x) x * 2; for i = 1, i < 5000 in hot(i); hot(4)");
        let expected = stdout(&["--interp"], &loops);
        assert_eq!(stdout(&["--background"], &loops), expected, "{loops}");
        let remote = stdout(&["--background", "--remote"], &loops);
        assert_eq!(remote, expected, "{loops}");
    }
}
