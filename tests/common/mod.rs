//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// Every engine; each must give the same output.
pub const ENGINES: &[&str] = &["interp", "eager", "lazy"];

/// The built `toy` binary, with a clean environment for diagnostics.
pub fn toy() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toy"));
    cmd.env_remove("NO_COLOR");
    cmd
}

/// A path relative to the repository root.
pub fn root(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The `.ks` files in a directory, sorted.
pub fn ks_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root(dir))
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ks"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .ks files in {dir}");
    files
}

/// Runs `toy` with `args` and `stdin`; returns (status, stdout, stderr).
pub fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let output = toy()
        .args(args)
        .write_stdin(stdin)
        .output()
        .expect("toy runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
