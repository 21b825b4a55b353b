//! Differential testing of inlining under redefinition (issue 18): programs of the
//! generator's hot mode (`common::programs::hot`) call functions thousands of times,
//! so tiered mode tiers them up and tier-1 code inlines their current bodies, then
//! redefine callees (another body, another arity, an operator) and run the same hot
//! phase again. Every inlining configuration must give the interpreter's stdout, exit
//! status and `Error:` lines.

use std::time::Duration;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::common::{self, programs::hot};

/// The interpreter (the oracle, first), then every configuration whose code inlines.
const CONFIGS: [&[&str]; 7] = [
    &["--engine=interp"],
    &["--engine=lazy", "--speculate=on"],
    &["--engine=lazy", "--speculate=off"],
    &["--engine=lazy", "--tier=1", "-O2"],
    &["--engine=eager", "-O2"],
    &["--engine=remote"],
    &["--engine=lazy", "-O3"],
];

/// Calls of `hot` per phase: from just past the first tier-0 poll (every 1024 calls:
/// a tier-1 compile is queued, and may finish only after the redefinitions that
/// follow, when it must be discarded) to well past the second (the tier-1 code runs
/// for most of the phase); small enough for a debug build.
const TRIPS: std::ops::Range<u16> = 1100..4000;

/// A cache shared by a run's programs: a tier-1 object's key must name the bodies it
/// inlined, or a later phase would load code that embeds a replaced body.
static CACHE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("differential-hot-cache");
    let _ = std::fs::remove_dir_all(&dir);
    dir.display().to_string()
});

/// Stdout, status, and the diagnostics' `Error:` lines.
fn run(config: &[&str], program: &str) -> (i32, String, Vec<String>) {
    let (status, stdout, stderr) = common::outcome(
        common::toy()
            .args(config)
            .arg("--echo")
            .write_stdin(program)
            .timeout(Duration::from_secs(60)),
    );
    let errors = stderr
        .lines()
        .filter(|l| l.starts_with("Error:"))
        .map(str::to_string)
        .collect();
    (status, stdout, errors)
}

fn check(program: &str) -> Result<(), TestCaseError> {
    let cached: &[&str] = &["--engine=lazy", "--cache", &CACHE];
    let configs: Vec<&[&str]> = CONFIGS.iter().copied().chain([cached]).collect();
    let results: Vec<_> = configs.iter().map(|c| run(c, program)).collect();
    if results.iter().all(|r| *r == results[0]) {
        return Ok(());
    }
    // Outputs run to thousands of characters: say where each first departs from the
    // interpreter's (rerun the program for the rest).
    let (_, oracle, _) = &results[0];
    let mut report = format!("engines disagree on:\n{program}\n");
    for (c, (status, stdout, errors)) in configs.iter().zip(&results) {
        let lines = stdout.lines().count();
        let first = stdout
            .lines()
            .map(Some)
            .chain([None])
            .zip(oracle.lines().map(Some).chain([None]))
            .position(|(a, b)| a != b);
        let stdout = match first {
            None => "the interpreter's".to_string(),
            Some(at) => format!(
                "from line {}: {:?}, the interpreter's {:?}",
                at + 1,
                clip(stdout.lines().nth(at)),
                clip(oracle.lines().nth(at))
            ),
        };
        report.push_str(&format!(
            "--- {}: status {status}, {lines} lines, stdout {stdout}\n{}",
            c.join(" "),
            errors.iter().map(|e| format!("{e}\n")).collect::<String>()
        ));
    }
    Err(TestCaseError::fail(report))
}

/// A line of output, at most 60 characters of it.
fn clip(line: Option<&str>) -> String {
    match line {
        None => "(end)".to_string(),
        Some(l) if l.chars().count() > 60 => {
            format!("{}...", l.chars().take(60).collect::<String>())
        }
        Some(l) => l.to_string(),
    }
}

#[test]
fn inlining_engines_agree_under_redefinition() {
    let cases = super::env_number("TOY_FUZZ_CASES", 40) as u32;
    let seed = super::env_number("TOY_FUZZ_SEED", 0x1d_ef5e);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let result = runner.run(&hot::hot_prog(TRIPS), |prog| check(&hot::hot_source(&prog)));
    if let Err(err) = result {
        panic!("{err}");
    }
}

#[test]
fn the_hot_mode_tiers_up_inlines_and_invalidates() {
    // Over a fixed batch: every kind of change is printed, and the default engine
    // inlines and then drops code for a redefinition (else the differential test above
    // would not be testing inlining at all).
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[18; 32]),
    );
    let programs: Vec<String> = (0..40)
        .map(|_| {
            let prog = hot::hot_prog(TRIPS)
                .new_tree(&mut runner)
                .expect("a program")
                .current();
            hot::hot_source(&prog)
        })
        .collect();
    let all = programs.concat();
    for needle in [
        "def phase(n)",
        "\nvar s = 0 in (for k",
        "def binary",
        "def unary",
    ] {
        assert!(all.contains(needle), "no hot-mode program has `{needle}`");
    }
    // An arity change: some function defined with two different parameter lists.
    assert!(programs.iter().any(|p| {
        let heads: std::collections::HashSet<&str> = p
            .lines()
            .filter(|l| l.starts_with("def f0("))
            .map(|l| &l[..l.find(')').expect("a parameter list")])
            .collect();
        heads.len() > 1
    }));
    let (mut inlined, mut invalidated) = (0, 0);
    for program in programs.iter().take(8) {
        let (_, _, stderr) = common::outcome(
            common::toy()
                .args(["--engine=lazy", "--trace-jit"])
                .write_stdin(program.as_str())
                .timeout(Duration::from_secs(60)),
        );
        inlined += usize::from(stderr.contains(" at tier 1 may inline "));
        invalidated += usize::from(stderr.contains("[jit] invalidated "));
    }
    assert!(inlined >= 4, "{inlined} of 8 programs inlined at tier 1");
    assert!(
        invalidated >= 2,
        "{invalidated} of 8 programs invalidated code"
    );
}
