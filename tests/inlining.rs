//! The inlining of tier 1: hot code gets its callees' current bodies, and loses them
//! when one changes. Every program here prints the same on every engine as on the
//! interpreter, and the trace shows what was inlined and what was invalidated.

mod common;

use common::outcome;

/// The configurations that inline (tier 1 at -O2 and up) next to the oracle.
const INLINING: &[&[&str]] = &[
    &[],
    &["--tier=1", "-O2"],
    &["--engine=eager", "-O2"],
    &["--engine=remote"],
    &["-O3", "--speculate=off"],
];

/// Runs `toy ARGS FILE` on a file holding `program`.
fn run_file(args: &[&str], program: &str) -> (i32, String, String) {
    let file = common::ks_file(program);
    outcome(common::toy().args(args).arg(file.path()))
}

fn oracle(program: &str) -> (i32, String, String) {
    run_file(&["--engine=interp", "--keep-going"], program)
}

/// Runs `program` in every inlining configuration: the same output and status as the
/// interpreter; returns the traces.
fn same_everywhere(program: &str) -> Vec<String> {
    let (status, out, err) = oracle(program);
    let mut traces = Vec::new();
    for config in INLINING {
        let mut args = vec!["--keep-going", "--trace-jit"];
        args.extend_from_slice(config);
        let (s, o, e) = run_file(&args, program);
        assert_eq!((s, &o), (status, &out), "{config:?}: {e}\ninterp: {err}");
        let errors = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with("Error"))
                .map(String::from)
                .collect()
        };
        assert_eq!(errors(&e), errors(&err), "{config:?}");
        traces.push(e);
    }
    traces
}

const CHAIN: &str = "extern printd(x);
def binary : 1 (x y) y;
def c(x) x + 1;
def b(x) c(x) * 2;
def a(x) b(x) + 3;
def run(n) var s = 0 in (for i = 1, i < n in s = s + a(i)) : s;
printd(run(3000));
def c(x) x * 10;
printd(run(3000));
def b(x) c(x) - 1;
printd(run(3000));
";

#[test]
fn redefining_the_end_of_an_inlined_chain_changes_the_hot_caller() {
    let traces = same_everywhere(CHAIN);
    let (_, out, _) = oracle(CHAIN);
    let values: Vec<&str> = out.lines().collect();
    assert_eq!(values.len(), 3, "{out}");
    assert!(values[0] != values[1] && values[1] != values[2], "{out}");
    for trace in &traces {
        assert!(trace.contains("[jit] run at tier 1 may inline "), "{trace}");
        assert!(
            trace.contains("[jit] invalidated run: its code inlined `c`, which changed"),
            "{trace}"
        );
        assert!(
            trace.contains("[jit] invalidated run: its code inlined `b`, which changed"),
            "{trace}"
        );
    }
}

#[test]
fn redefining_an_inlined_operator_changes_the_hot_caller() {
    let program = "extern printd(x);
def binary : 1 (x y) y;
def binary| 5 (a b) if a then 1 else if b then 1 else 0;
def f(x) (x < 5) | (x < 2);
def run(n) var s = 0 in (for i = 0, i < n in s = s + f(i)) : s;
printd(run(2000));
def binary| 5 (a b) if a then 10 else b;
printd(run(2000));
";
    for trace in same_everywhere(program) {
        assert!(trace.contains("invalidated run"), "{trace}");
    }
}

#[test]
fn an_extern_replaced_by_a_def_is_called_and_an_arity_change_is_the_interpreters_error() {
    let program = "extern printd(x);
def binary : 1 (x y) y;
extern sin(x);
def f(x) sin(x) * 0 + 1;
def run(n) var s = 0 in (for i = 0, i < n in s = s + f(i)) : s;
printd(run(2000));
def sin(x) 41;
printd(run(2000));
def g(x) x;
def h(x) g(x) + 1;
def run2(n) var s = 0 in (for i = 0, i < n in s = s + h(i)) : s;
printd(run2(2000));
def g(x y) x;
printd(run2(10));
def g(x) 2 * x;
printd(run2(2000));
";
    let (status, out, err) = oracle(program);
    assert_eq!(status, 1, "one error: {err}");
    assert_eq!(out.lines().count(), 4, "{out}");
    same_everywhere(program);
}

#[test]
fn a_warm_cache_never_serves_code_that_inlined_an_old_body() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let run = |program: &str| {
        let file = common::ks_file(program);
        outcome(
            common::toy()
                .arg("--cache")
                .arg(&cache)
                .arg("--tier=1")
                .arg("-O2")
                .arg(file.path()),
        )
    };
    let first = CHAIN.split("def c(x) x * 10;").next().expect("prefix");
    let (status, out, err) = run(first);
    assert_eq!(status, 0, "{err}");
    let (_, warm, _) = run(first);
    assert_eq!(warm, out);
    // The same `run`, but `c` differs: the cached `run` inlined the old `c`.
    let changed = first.replace("def c(x) x + 1;", "def c(x) x + 2;");
    let (_, fresh, _) = run(&changed);
    let (_, expected, _) = oracle(&changed);
    assert_eq!(fresh, expected);
    assert_ne!(fresh, out);
}
