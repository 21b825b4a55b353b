//! The benchmark suite (`benches/suite/`, timed by `cargo bench --bench workloads`),
//! run small: every program prints the same on the interpreter (the oracle), the
//! default engine and `--tier=1`, and its C twin prints the same at the same size.

mod common;

use std::path::Path;
use std::process::Command;

use common::{outcome, root, toy};

/// Every program of the suite and the size the tests run it at (its benchmark size
/// takes seconds; the interpreter must finish these in a fraction of one).
const PROGRAMS: &[(&str, &str)] = &[
    ("ackermann", "12"),
    ("fib", "15"),
    ("integrate", "4"),
    ("lattice", "30"),
    ("loops", "2000"),
    ("mandel", "0"),
    ("redefine", "1000"),
    ("springs", "2000"),
];

/// The program `name` with its `def size() ...;` line replaced by `size`.
fn sized(name: &str, size: &str) -> String {
    let path = root(&format!("benches/suite/{name}.ks"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    let at: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("def size() ") && lines[i].ends_with(';'))
        .collect();
    assert_eq!(
        at.len(),
        1,
        "{name}.ks needs exactly one `def size() N;` line"
    );
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i == at[0] {
            out.push_str(&format!("def size() {size};\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `toy ARGS FILE`'s stdout; the run must succeed.
fn run_toy(args: &[&str], file: &Path) -> String {
    let (status, stdout, stderr) = outcome(toy().args(args).arg(file));
    assert_eq!(status, 0, "toy {args:?} {}: {stderr}", file.display());
    stdout
}

/// The interpreter's output of `name` at `size`, after checking that the default
/// engine and `--tier=1` print the same.
fn agreed_output(name: &str, size: &str) -> String {
    let file = common::ks_file(&sized(name, size));
    let oracle = run_toy(&["--engine=interp"], file.path());
    assert!(!oracle.is_empty(), "{name} printed nothing");
    for args in [&[][..], &["--tier=1"][..]] {
        let jit = run_toy(args, file.path());
        assert_eq!(
            jit, oracle,
            "{name} at size {size}: toy {args:?} vs the interpreter"
        );
    }
    oracle
}

#[test]
fn every_program_is_listed_and_has_a_c_twin() {
    let on_disk: Vec<String> = common::ks_files("benches/suite")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let listed: Vec<&str> = PROGRAMS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        on_disk, listed,
        "PROGRAMS must list benches/suite/*.ks, sorted"
    );
    for name in listed {
        assert!(
            root(&format!("benches/suite/{name}.c")).is_file(),
            "{name}.ks has no C twin"
        );
    }
}

#[test]
fn every_engine_prints_what_the_interpreter_prints() {
    for (name, size) in PROGRAMS {
        agreed_output(name, size);
    }
}

/// A C compiler driver, if there is one (`cc`, as `toy build` uses).
fn cc() -> Option<&'static str> {
    let found = Command::new("cc")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    found.then_some("cc")
}

#[test]
fn every_c_twin_prints_what_the_interpreter_prints() {
    let Some(cc) = cc() else {
        eprintln!("no `cc` on PATH: the C twins are not compared");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, size) in PROGRAMS {
        let exe = dir.path().join(name);
        let (status, _, stderr) = outcome(
            assert_cmd::Command::new(cc)
                .arg("-O2")
                .arg("-o")
                .arg(&exe)
                .arg(root(&format!("benches/suite/{name}.c")))
                .arg("-lm"),
        );
        assert_eq!(status, 0, "cc failed on {name}.c: {stderr}");
        let (status, native, _) = outcome(assert_cmd::Command::new(&exe).arg(size));
        assert_eq!(status, 0, "{name}.c at size {size} failed");
        let file = common::ks_file(&sized(name, size));
        let oracle = run_toy(&["--engine=interp"], file.path());
        assert_eq!(native, oracle, "{name}.c vs {name}.ks at size {size}");
    }
}

#[test]
fn the_redefinition_changes_the_value_at_the_redefinition() {
    let n: f64 = 1000.0;
    let out = agreed_output("redefine", &n.to_string());
    // weight(i) = i / 2, then i / 4 + 1, summed over i = 1 .. n.
    let before = 0.25 * n * (n + 1.0);
    let after = 0.125 * n * (n + 1.0) + n;
    assert_eq!(out, format!("{before:.6}\n{after:.6}\n"));
}
