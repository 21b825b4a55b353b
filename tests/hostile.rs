//! Hostile inputs: each ends in a diagnostic or a result, never a crash, a hang or a
//! Rust stack overflow.

mod common;

use std::time::{Duration, Instant};

/// Runs `toy` (default engine, echo) on `input`; returns (status, stdout, stderr).
fn feed(args: &[&str], input: &[u8]) -> (i32, String, String) {
    let start = Instant::now();
    let output = common::toy()
        .args(args)
        .arg("--echo")
        .write_stdin(input)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("toy runs");
    let status = output.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        status == 0 || status == 1,
        "crashed or hung (status {status}, {:?}): {}",
        start.elapsed(),
        &stderr[..stderr.len().min(2000)]
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    )
}

#[test]
fn a_megabyte_of_nested_parentheses() {
    let mut input = "(".repeat(1 << 20).into_bytes();
    input.extend_from_slice(b"1;\n2;\n");
    let (status, stdout, stderr) = feed(&[], &input);
    assert_eq!(status, 1);
    assert!(
        stderr.contains("nested too deeply"),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    // The next item still runs.
    assert_eq!(stdout, "Evaluated to 2.000000\n");
}

#[test]
fn the_longest_allowed_chain_runs_on_every_engine() {
    // 10,000 operators make a tree 10,000 levels deep (left-associative), the most allowed.
    let mut input = "1".to_string();
    input.push_str(&" + 1".repeat(10_000));
    input.push_str(";\n");
    for engine in ["--engine=interp", "--engine=lazy", "--engine=eager"] {
        let (status, stdout, stderr) = feed(&[engine], input.as_bytes());
        assert_eq!(
            (status, stdout.as_str()),
            (0, "Evaluated to 10001.000000\n"),
            "{engine}: {stderr}"
        );
    }
}

#[test]
fn an_operator_redefined_10_000_times() {
    let mut input: String = (0..10_000)
        .map(|i| format!("def binary% {} (a b) a * 10 + b + {i};\n", 1 + i % 100))
        .collect();
    input.push_str("1 % 2;\n");
    let (status, stdout, stderr) = feed(&[], input.as_bytes());
    assert_eq!(
        (status, stdout.as_str()),
        (0, "Evaluated to 10011.000000\n"),
        "{stderr}"
    );
}

#[test]
fn invalid_utf8_and_nul_bytes() {
    let (status, stdout, stderr) = feed(&[], b"1 + \xff\xfe;\n2 \0 3;\n4;\n");
    assert_eq!(status, 1);
    assert!(
        stderr.contains("UTF-8") || stderr.contains("utf-8"),
        "{stderr}"
    );
    assert!(stdout.ends_with("Evaluated to 4.000000\n"), "{stdout}");
}

#[test]
fn extremely_long_identifiers_and_numbers() {
    let name = "x".repeat(1 << 20);
    let digits = "9".repeat(1 << 20);
    let input = format!("def {name}(a) a + 1;\n{name}(1);\n{digits};\n0.{digits};\n");
    let (status, stdout, stderr) = feed(&[], input.as_bytes());
    assert_eq!(
        (status, stdout.as_str()),
        (
            0,
            "Evaluated to 2.000000\nEvaluated to inf\nEvaluated to 1.000000\n"
        ),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
}

#[test]
fn a_program_defining_100_000_functions() {
    let mut input: String = (0..100_000)
        .map(|i| format!("def f{i}(x) x + {i};\n"))
        .collect();
    input.push_str("f99999(1) + f0(1);\n");
    let (status, stdout, stderr) = feed(&[], input.as_bytes());
    assert_eq!(
        (status, stdout.as_str()),
        (0, "Evaluated to 100001.000000\n"),
        "{stderr}"
    );
}

/// What runs each deep input: every engine, and `--emit=ast` (printing the tree).
const MODES: [&[&str]; 5] = [
    &["--engine=interp"],
    &["--engine=lazy"],
    &["--engine=eager"],
    &["--engine=remote"],
    &["--emit=ast"],
];

/// `deep` (an item nested a million levels) is a nesting error in every mode, and
/// the item after it still runs. A file, not standard input: a million-line item read
/// line by line is parsed again at every line.
fn too_deep_everywhere(prelude: &str, deep: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("deep.ks");
    std::fs::write(&file, format!("{prelude}{deep};\n3;\n")).expect("write");
    let file = file.to_str().expect("a UTF-8 path");
    for mode in MODES {
        let args = [mode, &["--keep-going", file]].concat();
        let (status, stdout, stderr) = feed(&args, b"");
        let head = &stderr[..stderr.len().min(300)];
        assert_eq!(status, 1, "{mode:?}: {head}");
        assert!(
            head.contains("expression nested too deeply (the limit is 10000 levels)"),
            "{mode:?}: {head}"
        );
        let last = if mode == ["--emit=ast"] {
            "3\n"
        } else {
            "Evaluated to 3.000000\n"
        };
        assert!(stdout.ends_with(last), "{mode:?}: {stdout}");
    }
}

const MILLION: usize = 1_000_000;

#[test]
fn a_million_prefix_operators() {
    // One line of 1 MB: the shape of the original report (600 000 of them aborted
    // every engine and `--emit=ast` with a stack overflow).
    too_deep_everywhere(
        "def unary!(v) 0 - v;\n",
        &format!("{}1", "!".repeat(MILLION)),
    );
}

#[test]
fn a_chain_of_a_million_builtin_operators() {
    too_deep_everywhere("", &format!("1{}", "\n+ 1".repeat(MILLION)));
}

#[test]
fn a_chain_of_a_million_user_operators() {
    too_deep_everywhere(
        "def binary% 5 (a b) a + b;\n",
        &format!("1{}", "\n% 1".repeat(MILLION)),
    );
}

#[test]
fn a_definition_a_million_levels_deep() {
    too_deep_everywhere("", &format!("def f(x) x{};\nf(1)", "\n* x".repeat(MILLION)));
}

#[test]
fn a_million_nested_conditionals_loops_and_vars() {
    too_deep_everywhere("", &format!("{}1", "if 0 then 0 else\n".repeat(MILLION)));
    too_deep_everywhere("", &format!("{}1", "var a = 1 in\n".repeat(MILLION)));
    too_deep_everywhere("", &format!("{}1", "for i = 0, 0 in\n".repeat(MILLION)));
    too_deep_everywhere(
        "def f(x) x;\n",
        &format!("{}1{}", "f(".repeat(MILLION), ")".repeat(MILLION)),
    );
    too_deep_everywhere(
        "def unary!(v) 0 - v;\n",
        &format!("{}1{}", "!(".repeat(MILLION), ")".repeat(MILLION)),
    );
}

#[test]
fn the_deepest_allowed_function_compiles_in_the_background() {
    // Hot, so tier 1 recompiles it on a compiling thread, whose stack must hold code
    // generation over 10,000 levels.
    let input = format!(
        "def g(x) x{};\ndef f(n) for i = 0, i < n in g(i);\nf(3000);\ng(1);\n",
        " + x".repeat(10_000)
    );
    for engine in ["--engine=lazy", "--engine=remote"] {
        let (status, stdout, stderr) = feed(&[engine], input.as_bytes());
        assert_eq!(
            (status, stdout.as_str()),
            (0, "Evaluated to 0.000000\nEvaluated to 10001.000000\n"),
            "{engine}: {stderr}"
        );
    }
}

/// `extern`s of names that are data, or functions whose parameters or result are not
/// all doubles: called, each crashed, hung or computed garbage.
const HOSTILE_EXTERNS: [(&str, &str); 13] = [
    ("signgam()", "signgam()"),
    ("frexp(x e)", "frexp(1, 2)"),
    ("modf(x p)", "modf(1, 2)"),
    ("sincos(x s c)", "sincos(1, 2, 3)"),
    ("remquo(x y q)", "remquo(1, 2, 3)"),
    ("fegetenv(e)", "fegetenv(1)"),
    ("feholdexcept(e)", "feholdexcept(1)"),
    ("feupdateenv(e)", "feupdateenv(1)"),
    ("feenableexcept(e)", "feenableexcept(1)"),
    ("jn(n x)", "jn(100000000, 1)"),
    ("yn(n x)", "yn(100000000, 1)"),
    ("ldexp(x e)", "ldexp(1, 2)"),
    ("scalbn(x e)", "scalbn(1, 2)"),
];

#[test]
fn externs_of_non_double_functions_are_errors_at_the_extern() {
    for (proto, call) in HOSTILE_EXTERNS {
        let name = &proto[..proto.find('(').expect("a prototype")];
        let input = format!("extern {proto};\n{call};\n3;\n");
        let expected = format!("extern `{name}` is not a function toy can call");
        for engine in ["interp", "lazy", "eager", "remote"] {
            let (status, stdout, stderr) = feed(&[&format!("--engine={engine}")], input.as_bytes());
            assert_eq!(status, 1, "{proto} on {engine}: {stderr}");
            // Reported at the `extern` (line 1); the call then names no function.
            assert!(stderr.contains(&expected), "{proto} on {engine}: {stderr}");
            assert!(
                stderr.contains("<stdin>:1:8"),
                "{proto} on {engine}: {stderr}"
            );
            assert!(
                stderr.contains(&format!("unknown function `{name}`")),
                "{proto} on {engine}: {stderr}"
            );
            assert_eq!(stdout, "Evaluated to 3.000000\n", "{proto} on {engine}");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("prog.ks");
        std::fs::write(&file, format!("extern {proto};\n")).expect("write");
        let exe = dir.path().join("prog");
        let output = common::toy()
            .arg("build")
            .arg(&file)
            .arg("-o")
            .arg(&exe)
            .output()
            .expect("toy runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{proto}, toy build: {stderr}"
        );
        assert!(stderr.contains(&expected), "{proto}, toy build: {stderr}");
        assert!(!exe.exists(), "{proto}: toy build wrote an executable");
    }
}

#[test]
fn contradictory_externs_are_rejected_at_the_second_extern() {
    let input = "extern sin(x);\nextern sin(x y);\nsin(1, 2);\nsin(1);\n";
    for engine in ["interp", "lazy", "eager", "remote"] {
        let (status, stdout, stderr) = feed(&[&format!("--engine={engine}")], input.as_bytes());
        assert_eq!(status, 1, "{engine}: {stderr}");
        assert!(
            stderr.contains("extern `sin` declares 2 parameter(s), but `sin` takes 1"),
            "{engine}: {stderr}"
        );
        assert!(stderr.contains("<stdin>:2:8"), "{engine}: {stderr}");
        assert!(
            stderr.contains("`sin` takes 1 argument(s) but 2 were given"),
            "{engine}: {stderr}"
        );
        assert_eq!(stdout, "Evaluated to 0.841471\n", "{engine}: {stderr}");
    }
}
