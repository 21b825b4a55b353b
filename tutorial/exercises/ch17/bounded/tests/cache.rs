//! The code cache through the command: the local and the remote executor share it,
//! since it holds objects before they are linked.

use std::process::Command;

/// The checkpoint's binary, which cargo builds for these tests.
const BIN: &str = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));

#[test]
fn either_executor_loads_what_the_other_compiled() {
    let dir = std::env::temp_dir().join(format!("toy-cache-command-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let program = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fib.ks");
    let run = |remote: bool| {
        let mut command = Command::new(BIN);
        command.args(["--trace", "--cache"]).arg(&dir).arg(program);
        if remote {
            command.arg("--remote");
        }
        let output = command.output().unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(
        run(false),
        "[lazy] compiled fib\n55.000000\nEvaluated to 0.000000\n"
    );
    assert_eq!(
        run(true),
        "[lazy] loaded fib\n55.000000\nEvaluated to 0.000000\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        run(true),
        "[lazy] compiled fib\n55.000000\nEvaluated to 0.000000\n"
    );
    assert_eq!(
        run(false),
        "[lazy] loaded fib\n55.000000\nEvaluated to 0.000000\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
