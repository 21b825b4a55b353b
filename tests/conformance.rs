//! The shared conformance suite: output of LLVM's own C++ tutorial implementation.

mod common;

use std::path::{Path, PathBuf};

use common::{ENGINES, Engine, ks_files};

/// Every (engine, program) pair.
fn cases() -> Vec<(&'static str, PathBuf)> {
    let files = ks_files("tests/conformance");
    ENGINES
        .iter()
        .flat_map(|engine| files.iter().map(move |path| (*engine, path.clone())))
        .collect()
}

/// Checks one run against the program's `.out` file.
fn check(engine: &str, path: &Path, output: std::process::Output) {
    let expected =
        std::fs::read_to_string(path.with_extension("out")).expect("expected output exists");
    let what = format!("{engine} {}", path.display());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what} failed: {stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{what}");
    assert!(stderr.is_empty(), "{what}: unexpected stderr {stderr}");
}

#[test]
fn files_print_exactly_the_reference_output() {
    for (engine, path) in cases() {
        let output = Engine::new(engine)
            .toy()
            .arg(&path)
            .output()
            .expect("toy runs");
        check(engine, &path, output);
    }
}

#[test]
fn piped_without_echo_prints_exactly_the_reference_output() {
    for (engine, path) in cases() {
        let output = Engine::new(engine)
            .toy()
            .arg("--no-echo")
            .pipe_stdin(&path)
            .expect("input file")
            .output()
            .expect("toy runs");
        check(engine, &path, output);
    }
}
