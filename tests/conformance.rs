//! The shared conformance suite: output of LLVM's own C++ tutorial implementation.

mod common;

use common::{ENGINES, ks_files, toy};

fn expected(path: &std::path::Path) -> String {
    std::fs::read_to_string(path.with_extension("out")).expect("expected output exists")
}

#[test]
fn files_print_exactly_the_reference_output() {
    for (engine, path) in ENGINES.iter().flat_map(|e| {
        ks_files("tests/conformance")
            .into_iter()
            .map(move |p| (e, p))
    }) {
        let output = toy()
            .arg(format!("--engine={engine}"))
            .arg(&path)
            .output()
            .expect("toy runs");
        assert!(
            output.status.success(),
            "{} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected(&path),
            "{}",
            path.display()
        );
        assert!(
            output.stderr.is_empty(),
            "{}: unexpected stderr",
            path.display()
        );
    }
}

#[test]
fn piped_without_echo_prints_exactly_the_reference_output() {
    for (engine, path) in ENGINES.iter().flat_map(|e| {
        ks_files("tests/conformance")
            .into_iter()
            .map(move |p| (e, p))
    }) {
        let output = toy()
            .arg(format!("--engine={engine}"))
            .arg("--no-echo")
            .pipe_stdin(&path)
            .expect("input file")
            .output()
            .expect("toy runs");
        assert!(output.status.success(), "{}", path.display());
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected(&path),
            "{}",
            path.display()
        );
    }
}
