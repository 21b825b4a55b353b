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
fn an_expression_with_100_000_operators() {
    let mut input = "1".to_string();
    input.push_str(&" + 1".repeat(100_000));
    input.push_str(";\n");
    for engine in ["--engine=interp", "--engine=lazy"] {
        let (status, stdout, stderr) = feed(&[engine], input.as_bytes());
        assert_eq!(
            (status, stdout.as_str()),
            (0, "Evaluated to 100001.000000\n"),
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

#[test]
fn a_hundred_thousand_prefix_operators() {
    let input = format!("def unary!(v) 0 - v;\n{}1;\n3;\n", "!".repeat(100_000));
    for engine in ["--engine=interp", "--engine=lazy"] {
        let (_, stdout, stderr) = feed(&[engine], input.as_bytes());
        // A result, or a diagnostic (the interpreter's recursion limit): never a crash.
        assert!(
            stdout == "Evaluated to 1.000000\nEvaluated to 3.000000\n"
                || (stdout == "Evaluated to 3.000000\n" && stderr.contains("stack overflow")),
            "{engine}: {stdout} {}",
            &stderr[..stderr.len().min(500)]
        );
    }
}
