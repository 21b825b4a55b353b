//! The semantic edges where engines used to part ways: recursion (self tail calls loop,
//! a million nested calls always fit, runaway recursion is the same error everywhere),
//! the sign of zero and NaN through C math functions, and the code cache with tiers.
//! Each program must give the interpreter's stdout, status and diagnostics under every
//! engine, tier, `-O` level, speculation setting and cache state, and the same stdout
//! and status as an executable built by `toy build`.

use std::path::Path;
use std::time::Duration;

/// Every configuration that must agree with the interpreter (the first).
const CONFIGS: [&[&str]; 11] = [
    &["--engine=interp"],
    &["--engine=eager"],
    &["--engine=eager", "-O3"],
    &["--engine=lazy"],
    &["--engine=lazy", "-O0"],
    &["--engine=lazy", "-O3"],
    &["--engine=lazy", "--tier=0"],
    &["--engine=lazy", "--tier=1"],
    &["--engine=lazy", "--speculate=off"],
    &["--engine=remote", "-O2"],
    &["--engine=remote", "--tier=0"],
];

/// Runs on a fresh cache directory, in this order: cold, warm, then warm with each tier
/// forced (the objects the default run stored must not change what they compute).
const CACHED: [&[&str]; 5] = [
    &["--engine=lazy"],
    &["--engine=lazy"],
    &["--engine=lazy", "--tier=0"],
    &["--engine=lazy", "--tier=1"],
    &["--engine=lazy", "--speculate=off"],
];

struct Edge {
    name: &'static str,
    program: &'static str,
    /// What the interpreter prints on stdout.
    stdout: &'static str,
    /// Its exit status (1 when an item fails).
    status: i32,
    /// Whether the interpreter runs it (some loops are too long for a debug build).
    interpreted: bool,
    /// What the interpreter's diagnostics must contain (nothing if empty).
    error: &'static str,
    /// Whether `toy build` makes an executable of it (no front-end errors).
    built: bool,
}

const BIG: &str = "1000000000000000000000000000000000000000000000000000000000000000000000000\
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
    0000000000000000000000000000000000000000000000000000000000000000000000000000";

fn edges() -> Vec<Edge> {
    vec![
        Edge {
            // 2,500,000 is past the interpreter's depth limit (2,000,000): only a
            // reused frame gets there.
            name: "self tail calls run in constant stack",
            program: "extern printd(x);\n\
                def count(i n) if i < n then count(i + 1, n) else i;\n\
                printd(count(0, 2500000));\n\
                def binary% 5 (a b) if b < 1 then a else (a + 1) % (b - 1);\n\
                printd(0 % 2500000);\n\
                def v(i) var j = i + 1 in if j < 2500000 then v(j) else j;\n\
                printd(v(0));\n",
            stdout: "2500000.000000\nEvaluated to 0.000000\n2500000.000000\nEvaluated to 0.000000\n\
                2500000.000000\nEvaluated to 0.000000\n",
            status: 0,
            interpreted: true,
            error: "",
            built: true,
        },
        Edge {
            // 10^8 frames of even 16 bytes are more than the JIT's 1 GiB stack; 10^8
            // interpreted calls would take minutes in a debug build.
            name: "compiled self tail calls loop past any stack",
            program: "def count(i n) if i < n then count(i + 1, n) else i;\n\
                count(0, 100000000);\n",
            stdout: "Evaluated to 100000000.000000\n",
            status: 0,
            interpreted: false,
            error: "",
            built: true,
        },
        Edge {
            name: "a million nested calls fit",
            program: "def g(n) if n < 1 then 0 else 1 + g(n - 1);\n\
                g(1000000);\n\
                def even(n) if n < 1 then 1 else odd(n - 1);\n\
                def odd(n) if n < 1 then 0 else even(n - 1);\n\
                even(1000000);\n",
            stdout: "Evaluated to 1000000.000000\nEvaluated to 1.000000\n",
            status: 0,
            interpreted: true,
            error: "",
            built: true,
        },
        Edge {
            // Mutual tail calls are not loops: without sibling-call optimization
            // tier 1 would loop forever where tier 0 overflows.
            name: "runaway recursion is a stack overflow everywhere",
            program: "extern printd(x);\n\
                def inf(x) 1 + inf(x + 1);\n\
                def a(x) b(x + 1);\n\
                def b(x) a(x + 1);\n\
                printd(1);\n\
                inf(0);\n\
                a(0);\n\
                printd(2);\n",
            stdout: "1.000000\nEvaluated to 0.000000\n2.000000\nEvaluated to 0.000000\n",
            status: 1,
            interpreted: true,
            error: "stack overflow (recursion too deep)",
            built: true,
        },
        Edge {
            // C's isspace (\v, \f) is white space, and a comment ends at a bare CR.
            name: "white space and comments as in the C++ lexer",
            program: "extern printd(x);\x0bprintd(1);\x0c# a comment\rprintd(2);\r\nprintd(3);\n",
            stdout: "1.000000\nEvaluated to 0.000000\n2.000000\nEvaluated to 0.000000\n\
                3.000000\nEvaluated to 0.000000\n",
            status: 0,
            interpreted: true,
            error: "",
            built: true,
        },
        Edge {
            // Each extern is checked where it stands, against one table.
            name: "contradictory and impossible externs",
            program: "extern sin(x);\nextern sin(x y);\nsin(1);\nextern signgam();\n\
                extern ldexp(x y);\nextern copysign(x y);\nsin(0);\n",
            stdout: "Evaluated to 0.841471\nEvaluated to 0.000000\n",
            status: 1,
            interpreted: true,
            error: "<stdin>:2:8",
            built: false,
        },
        Edge {
            name: "the sign of zero and NaN",
            program: "",
            stdout: "",
            status: 0,
            interpreted: true,
            error: "",
            built: true,
        },
    ]
}

/// The sign-of-zero program: C math calls stay calls (LLVM may not rewrite `fmax` as
/// `llvm.maxnum`, which ignores the sign of zero), and a NaN prints as `nan` whether
/// LLVM folded it or the CPU computed it.
fn signs() -> String {
    format!(
        "extern printd(x);\nextern fmax(x y);\nextern fmin(x y);\nextern sqrt(x);\n\
         def f(a b) fmax(a, b);\n\
         printd(f(0 * (0 - 1), 0));\n\
         printd(fmax(0 * (0 - 1), 0));\n\
         printd(fmin(0, 0 * (0 - 1)));\n\
         def inf() {BIG} * 10;\n\
         def nan() inf() - inf();\n\
         printd(nan());\n\
         printd({BIG} * 10 - {BIG} * 10);\n\
         printd(sqrt(0 - 1));\n\
         0 * (0 - 1);\n\
         {BIG} * 10 - {BIG} * 10;\n\
         nan() < 1;\n"
    )
}

const SIGNS_STDOUT: &str = "0.000000\nEvaluated to 0.000000\n0.000000\nEvaluated to 0.000000\n\
    -0.000000\nEvaluated to 0.000000\nnan\nEvaluated to 0.000000\nnan\nEvaluated to 0.000000\n\
    nan\nEvaluated to 0.000000\nEvaluated to -0.000000\nEvaluated to nan\nEvaluated to 1.000000\n";

fn run(args: &[&str], program: &str) -> (i32, String, String) {
    super::common::outcome(
        super::common::toy()
            .args(args)
            .arg("--echo")
            .write_stdin(program)
            .timeout(Duration::from_secs(120)),
    )
}

/// Stdout and status of the program built by `toy build` (echoing nothing: only what
/// `printd` prints is compared).
fn built(dir: &Path, name: &str, program: &str) -> (i32, String, String) {
    let source = dir.join(format!("{name}.ks"));
    let exe = dir.join(name);
    std::fs::write(&source, program).expect("write the program");
    let build = super::common::outcome(
        super::common::toy()
            .arg("build")
            .arg(&source)
            .arg("-o")
            .arg(&exe),
    );
    assert_eq!(build.0, 0, "toy build failed: {}", build.2);
    let output = std::process::Command::new(&exe)
        .output()
        .expect("the executable runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_configuration_agrees_on_the_semantic_edges() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (index, edge) in edges().into_iter().enumerate() {
        let program = match edge.program {
            "" => signs(),
            text => text.to_string(),
        };
        let expected_stdout = match edge.program {
            "" => SIGNS_STDOUT,
            _ => edge.stdout,
        };
        let cache = dir.path().join(format!("cache-{index}"));
        let cache = cache.to_str().expect("a UTF-8 path").to_string();
        let mut runs: Vec<(String, (i32, String, String))> = Vec::new();
        for config in CONFIGS {
            if !edge.interpreted && config == ["--engine=interp"] {
                continue;
            }
            runs.push((config.join(" "), run(config, &program)));
        }
        for config in CACHED {
            let mut args = config.to_vec();
            args.extend(["--cache", &cache]);
            runs.push((args.join(" "), run(&args, &program)));
        }
        let (first, reference) = &runs[0];
        assert_eq!(
            (reference.0, reference.1.as_str()),
            (edge.status, expected_stdout),
            "{}: {first} gave\n{}",
            edge.name,
            reference.2
        );
        assert!(reference.2.contains(edge.error), "{}", reference.2);
        for (config, result) in &runs[1..] {
            assert_eq!(
                result, reference,
                "{}: `{config}` differs from `{first}`",
                edge.name
            );
        }
        if !edge.built {
            continue;
        }
        // The executable prints what printd prints, up to the first error (it stops
        // there, as `toy FILE` does), and fails the same way.
        let exe = built(dir.path(), &format!("edge{index}"), &program);
        let printed: String = expected_stdout
            .lines()
            .filter(|l| !l.starts_with("Evaluated to"))
            .take(if edge.status == 0 { usize::MAX } else { 1 })
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            (exe.0, exe.1.as_str()),
            (edge.status, printed.as_str()),
            "{}: the executable gave\n{}",
            edge.name,
            exe.2
        );
        if !edge.error.is_empty() {
            assert_eq!(exe.2, format!("error: {}\n", edge.error));
        }
    }
}
