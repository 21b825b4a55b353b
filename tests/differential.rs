//! Differential testing: random valid programs must give the same stdout and exit
//! status under every engine and optimization level, and the AST must survive a round
//! trip through the source printer.
//!
//! `cargo test` runs a fixed-seed batch; `TOY_FUZZ_CASES=100000 cargo test --release
//! --test differential` runs as many as asked (`TOY_FUZZ_SEED=N` picks another seed).
//! A failure is shrunk to a small program, printed with every engine's output.

mod common;
#[path = "differential/edges.rs"]
mod edges;
#[path = "differential/hot.rs"]
mod hot;

use std::time::Duration;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use toy::frontend::{print, unparse};
use toy::session::Session;

use common::programs;

/// The configurations that must agree.
const CONFIGS: [&[&str]; 5] = [
    &["--engine=interp"],
    &["--engine=eager"],
    &["--engine=lazy"],
    &["--engine=lazy", "-O0"],
    &["--engine=remote", "-O2"],
];

/// One code cache for every program of a run, so that functions that print alike in
/// different programs meet in it (their keys must tell them apart when they differ).
static CACHE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("differential-cache");
    let _ = std::fs::remove_dir_all(&dir);
    dir.display().to_string()
});

fn run(config: &[&str], program: &str) -> (i32, String, String) {
    common::outcome(
        common::toy()
            .args(config)
            .arg("--echo")
            .write_stdin(program)
            .timeout(Duration::from_secs(60)),
    )
}

/// The S-expressions of a program's items.
fn ast(text: &str) -> Result<Vec<String>, String> {
    Session::resolve_program(text)
        .map(|items| items.iter().map(print::item).collect())
        .map_err(|e| e.to_string())
}

fn check(program: &str) -> Result<(), TestCaseError> {
    // The printer: parse(print(ast)) == ast.
    let items = Session::resolve_program(program)
        .map_err(|e| TestCaseError::fail(format!("invalid program ({e}):\n{program}")))?;
    let printed = unparse::program(&items);
    let again = ast(&printed)
        .map_err(|e| TestCaseError::fail(format!("printed program invalid ({e}):\n{printed}")))?;
    let original: Vec<String> = items.iter().map(print::item).collect();
    if again != original {
        return Err(TestCaseError::fail(format!(
            "round trip changed the AST\nprogram:\n{program}\nprinted:\n{printed}"
        )));
    }
    // The engines, then the lazy JIT with the shared code cache, twice (the second
    // run is served from it).
    let cached: &[&str] = &["--engine=lazy", "--cache", &CACHE];
    let configs: Vec<&[&str]> = CONFIGS.iter().copied().chain([cached, cached]).collect();
    let results: Vec<_> = configs.iter().map(|c| run(c, program)).collect();
    let (status, stdout, stderr) = &results[0];
    if *status != 0 {
        return Err(TestCaseError::fail(format!(
            "the interpreter rejected a generated program: {stderr}\n{program}"
        )));
    }
    for result in results.iter().skip(1) {
        if (&result.0, &result.1) != (status, stdout) {
            let mut report = format!("engines disagree on:\n{program}\n");
            for (c, r) in configs.iter().zip(&results) {
                report.push_str(&format!(
                    "--- {} (status {}):\n{}{}",
                    c.join(" "),
                    r.0,
                    r.1,
                    r.2
                ));
            }
            return Err(TestCaseError::fail(report));
        }
    }
    Ok(())
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn engines_agree_on_generated_programs() {
    let cases = env_number("TOY_FUZZ_CASES", 150) as u32;
    let seed = env_number("TOY_FUZZ_SEED", 0x7e57_5eed);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 400,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    // TOY_GENERATOR=tutorial: programs LLVM's C++ chapter 7 runs as toy does;
    // TOY_DUMP_PROGRAMS=DIR also writes each program checked there (see
    // tools/cxx-reference/run.sh, which runs them against the C++).
    let tutorial = std::env::var("TOY_GENERATOR").is_ok_and(|g| g == "tutorial");
    let dump = std::env::var_os("TOY_DUMP_PROGRAMS").map(std::path::PathBuf::from);
    let written = std::cell::Cell::new(0u32);
    let result = runner.run(&programs::prog(), |prog| {
        let source = match tutorial {
            true => programs::tutorial_source(&prog),
            false => programs::source(&prog),
        };
        check(&source)?;
        if let Some(dir) = &dump {
            let path = dir.join(format!("case-{:05}.ks", written.get()));
            std::fs::write(&path, &source)
                .map_err(|e| TestCaseError::fail(format!("{}: {e}", path.display())))?;
            written.set(written.get() + 1);
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}

#[test]
fn the_generator_covers_every_construct() {
    // Over a fixed batch, every construct appears in some program.
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut all = String::new();
    for _ in 0..200 {
        let prog = programs::prog()
            .new_tree(&mut runner)
            .expect("a program")
            .current();
        all.push_str(&programs::source(&prog));
    }
    for needle in [
        "def binary",
        "def unary",
        "if ",
        "for ",
        "var ",
        " = ",
        "printd(",
        "putchard(",
        "rec(",
        "(a b c d e f g h i j)",
        "sqrt(",
        "fmax(",
    ] {
        assert!(all.contains(needle), "no generated program has `{needle}`");
    }
    // A forward reference: f0 calling f1, defined after it.
    assert!(
        all.lines()
            .any(|l| l.starts_with("def f0(") && l.contains("f1("))
    );
    // A redefinition: some function defined twice in one program.
    assert!(
        all.split("extern printd")
            .any(|p| p.matches("def f0(").count() > 1)
    );
}
