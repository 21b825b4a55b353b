//! Records the exact version of the LLVM this build links, for the code cache's key
//! (`src/jit/cache`): llvm-sys, a direct dependency for this reason, tells its
//! dependents which `llvm-config` it used (`DEP_LLVM_<MAJOR>_CONFIG_PATH`), and that
//! program's `--version` is exported as `TOY_LLVM_VERSION`.

use std::process::Command;

fn main() {
    let majors = ["14", "15", "16"];
    // Exactly one feature is on (src/codegen/llvm_version.rs refuses anything else).
    let Some(major) = majors
        .iter()
        .find(|major| std::env::var_os(format!("CARGO_FEATURE_LLVM{major}")).is_some())
    else {
        return;
    };
    let variable = format!("DEP_LLVM_{major}_CONFIG_PATH");
    println!("cargo::rerun-if-env-changed={variable}");
    let config = std::env::var(&variable)
        .unwrap_or_else(|_| panic!("llvm-sys did not report its llvm-config ({variable})"));
    let output = Command::new(&config)
        .arg("--version")
        .output()
        .unwrap_or_else(|err| panic!("cannot run {config}: {err}"));
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(
        output.status.success() && !version.is_empty(),
        "{config} --version failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // llvm-sys accepts a newer LLVM than its own when it finds one first on the PATH;
    // toy's version-specific code would then not match the library.
    assert!(
        version.split('.').next() == Some(major),
        "feature llvm{major} is on, but llvm-sys found LLVM {version} ({config}): point \
         LLVM_SYS_{major}0_PREFIX at an LLVM {major} (see .cargo/config.toml) or pick the matching feature"
    );
    println!("cargo::rustc-env=TOY_LLVM_VERSION={version}");
    // For tests/llvm_feature.rs: the helper must pick this build's feature for it.
    println!("cargo::rustc-env=TOY_LLVM_CONFIG={config}");
}
