//! The code cache through the command: the local and the remote executor share it,
//! since it holds objects before they are linked.

use std::process::Command;

/// The checkpoint's binary, which cargo builds for these tests.
const BIN: &str = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));

#[test]
fn either_executor_loads_what_the_other_compiled() {
    let dir = std::env::temp_dir().join(format!("toy-cache-command-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // `fib(20)` calls `fib` thousands of times: it reaches tier 1, which is cached.
    let program = dir.with_extension("ks");
    let fib = "def fib(x) if x < 3 then 1 else fib(x-1) + fib(x-2);";
    std::fs::write(&program, format!("{fib} fib(20)")).unwrap();
    let compiled = "[lazy] compiled fib at tier 0 (calls fib)\n[lazy] compiled fib at tier 1\n";
    let loaded = "[lazy] loaded fib at tier 1\n";
    let value = "Evaluated to 6765.000000\n";
    let run = |remote: bool| {
        let mut command = Command::new(BIN);
        command.args(["--trace", "--cache"]).arg(&dir).arg(&program);
        if remote {
            command.arg("--remote");
        }
        let output = command.output().unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(run(false), format!("{compiled}{value}"));
    assert_eq!(run(true), format!("{loaded}{value}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run(true), format!("{compiled}{value}"));
    assert_eq!(run(false), format!("{loaded}{value}"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&program);
}
