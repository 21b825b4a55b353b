//! `tools/llvm-feature`, which picks the cargo feature for the LLVM a machine has, run
//! on the real `llvm-config` of this build.

use std::path::Path;
use std::process::Command;

const HELPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/llvm-feature");

/// Runs the helper with `LLVM_CONFIG` set to `config`: its status, stdout, stderr.
fn run(config: &str) -> (bool, String, String) {
    let output = Command::new(HELPER)
        .env("LLVM_CONFIG", config)
        .output()
        .expect("the helper runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn picks_this_builds_feature_for_its_llvm_config() {
    let feature = if cfg!(feature = "llvm14") {
        "llvm14"
    } else if cfg!(feature = "llvm15") {
        "llvm15"
    } else {
        "llvm16"
    };
    let (ok, stdout, stderr) = run(env!("TOY_LLVM_CONFIG"));
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        format!("--no-default-features --features {feature}\n")
    );
}

#[test]
fn without_a_usable_llvm_it_fails_and_says_what_it_tried() {
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-llvm-config");
    let (ok, stdout, stderr) = run(&missing.to_string_lossy());
    assert!(!ok);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("no LLVM 14, 15 or 16") && stderr.contains("no-such-llvm-config"),
        "{stderr}"
    );
}

#[test]
fn on_its_own_it_names_a_supported_llvm_of_this_machine() {
    // This machine builds toy, so it has one; which one is the system's choice.
    let output = Command::new(HELPER)
        .env_remove("LLVM_CONFIG")
        .output()
        .expect("the helper runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let feature = stdout
        .strip_prefix("--no-default-features --features llvm")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("unexpected output {stdout:?}"));
    let config = format!("llvm-config-{feature}");
    let version = Command::new(&config)
        .arg("--version")
        .output()
        .unwrap_or_else(|err| panic!("{config}: {err}"));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with(&format!("{feature}.")));
}
