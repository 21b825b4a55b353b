//! `toy -g`: JIT'd code as GDB sees it, through GDB's JIT interface.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const FIB: &str = "extern printd(x);\n\
def fib(x)\n  \
  if x < 3 then\n    \
    1\n  \
  else\n    \
    fib(x - 1) + fib(x - 2);\n\
\n\
def run(n)\n  \
  printd(fib(n));\n\
\n\
run(10);\n";

/// Runs `toy ARGS FILE` under `gdb --batch` with the given commands.
fn gdb(dir: &Path, toy_args: &[&str], file: &str, commands: &[&str]) -> String {
    let mut gdb = Command::new("gdb");
    gdb.current_dir(dir).args(["--batch", "-nx"]);
    for command in commands {
        gdb.args(["-ex", command]);
    }
    let out = gdb
        .arg("--args")
        .arg(env!("CARGO_BIN_EXE_toy"))
        .args(toy_args)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("gdb runs");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn gdb_stops_in_a_jit_compiled_function_before_it_exists() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("prog.ks"), FIB).expect("write");
    let out = gdb(
        dir.path(),
        &["-g"],
        "prog.ks",
        &[
            "set breakpoint pending on",
            "break fib",
            "run",
            "bt",
            "info args",
            "delete",
            "continue",
        ],
    );
    // Pending at first: `fib` is compiled only when `run` first calls it.
    assert!(out.contains("Breakpoint 1 (fib) pending."), "{out}");
    // Stopped after the prologue, on the body's first line, parameters readable.
    assert!(
        out.contains("hit Breakpoint 1, fib (x=10) at prog.ks:3"),
        "{out}"
    );
    assert!(out.contains("3\t  if x < 3 then"), "{out}");
    // The backtrace names the JIT'd callers with their lines, and goes on through
    // `toy_enter`'s stack switch into toy's own frames.
    assert!(out.contains(" in run (n=10) at prog.ks:9"), "{out}");
    assert!(out.contains(" in __anon_expr () at prog.ks:11"), "{out}");
    assert!(out.contains(" in toy_enter ()"), "{out}");
    // (evaluate_now may be inlined into its caller: named without its path then.)
    assert!(out.contains("evaluate_now ("), "{out}");
    assert!(!out.contains(" in ?? ()"), "{out}");
    assert!(out.contains("x = 10"), "{out}");
    // And the program goes on to its end.
    assert!(out.contains("55.000000"), "{out}");
    assert!(out.contains("exited normally"), "{out}");
}

/// The README's command line for JIT'd code, as a user types it (only `toy` is this
/// build's binary): with its input not a terminal (as under `--batch`) gdb does not
/// ask "Make breakpoint pending?", so it stops in `fib` only if the line says so.
#[test]
fn the_readmes_gdb_command_line_breaks_in_fib() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let lines: Vec<&str> = readme
        .lines()
        .filter(|line| line.starts_with("gdb ") && line.contains("--args toy -g"))
        .collect();
    let [line] = lines.as_slice() else {
        panic!("README.md should have one `gdb ... --args toy -g` line: {lines:?}");
    };
    let words = shlex::split(line.split(" # ").next().unwrap_or(line)).expect("shell words");
    let (program, args) = words.split_first().expect("a command");
    assert_eq!(program, "gdb");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("prog.ks"), FIB).expect("write");
    let toy = env!("CARGO_BIN_EXE_toy");
    let args: Vec<&str> = args
        .iter()
        .map(|arg| if arg == "toy" { toy } else { arg.as_str() })
        .collect();
    for batch in [false, true] {
        let mut gdb = Command::new("gdb");
        if batch {
            gdb.arg("--batch");
        }
        let out = gdb
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("gdb runs");
        let out = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.contains("hit Breakpoint 1, fib (x=10) at prog.ks:3"),
            "batch {batch}: {out}"
        );
    }
}

/// Runs `text` (saved as `file`) under gdb on the lazy and the eager engine, stopping
/// at every entry of `f`; the output of each run, by engine.
fn break_in_f(file: &str, text: &str) -> Vec<(&'static str, String)> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(file), text).expect("write");
    ["--engine=lazy", "--engine=eager"]
        .into_iter()
        .map(|engine| {
            let commands = [
                "set breakpoint pending on",
                "break f",
                "run",
                "continue",
                "continue",
            ];
            let out = gdb(dir.path(), &["-g", engine, "--echo"], file, &commands);
            (engine, out)
        })
        .collect()
}

#[test]
fn gdb_follows_redefinitions_and_eager_compilation() {
    let text = "def f(x)\n  x + 1;\nf(1);\ndef f(x)\n  x * 100;\nf(1);\n";
    for (engine, out) in break_in_f("redefine.ks", text) {
        // Each body is its own object: the first one's code and debug object are
        // gone once it is replaced, and the breakpoint moves to the new body.
        assert!(
            out.contains("hit Breakpoint 1, f (x=1) at redefine.ks:2"),
            "{engine}: {out}"
        );
        assert!(
            out.contains("hit Breakpoint 1, f (x=1) at redefine.ks:5"),
            "{engine}: {out}"
        );
        assert!(out.contains("Evaluated to 2.000000"), "{engine}: {out}");
        assert!(out.contains("Evaluated to 100.000000"), "{engine}: {out}");
        assert!(out.contains("exited normally"), "{engine}: {out}");
    }
}

#[test]
fn code_gdb_had_a_breakpoint_in_is_never_overwritten() {
    // `g` first, so that the second expression lands in the first `f`'s released
    // block: GDB's breakpoint there once wrote its saved byte into that expression's
    // constant, and `f(1)` ran as `f(0)`.
    let text = "def g(x) x;\ng(1);\ndef f(x)\n x + 1;\nf(1);\ndef f(x)\n x * 100;\nf(1);\n";
    for (engine, out) in break_in_f("reuse.ks", text) {
        assert!(
            out.contains("hit Breakpoint 1, f (x=1) at reuse.ks:7"),
            "{engine}: {out}"
        );
        assert!(out.contains("Evaluated to 100.000000"), "{engine}: {out}");
        assert!(out.contains("exited normally"), "{engine}: {out}");
    }
}

/// Waits for `toy`'s executor process, a child of `toy`.
fn child_of(pid: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // The executor is forked by whichever thread of `toy` runs the program.
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("toy's threads");
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            if let Some(child) = children.split_whitespace().next() {
                return child.parse().expect("a pid");
            }
        }
        assert!(Instant::now() < deadline, "no executor process");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn gdb_attached_to_the_remote_executor_sees_jit_frames() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ks = dir.path().join("spin.ks");
    std::fs::write(
        &ks,
        "def spin(n)\n  for i = 1, i < n in 0;\n\
         def outer(n)\n  spin(n) + 1;\n\
         outer(1000000000000);\n",
    )
    .expect("write");
    let mut toy = Command::new(env!("CARGO_BIN_EXE_toy"))
        .env("TOY_CACHE", "off")
        .args(["--engine=remote", "-g"])
        .arg(&ks)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("toy runs");
    let executor = child_of(toy.id());
    // Attach until the loop is running (the executor may still be starting up).
    let deadline = Instant::now() + Duration::from_secs(60);
    let out = loop {
        let out: Output = Command::new("gdb")
            .args(["--batch", "-nx", "-p", &executor.to_string()])
            .args(["-ex", "thread apply all bt"])
            .stdin(Stdio::null())
            .output()
            .expect("gdb runs");
        let out = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.contains("spin (n=") || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    toy.kill().expect("kill toy");
    toy.wait().expect("toy ends");
    assert!(out.contains("spin (n=1000000000000) at "), "{out}");
    assert!(out.contains("spin.ks:2"), "{out}");
    assert!(out.contains(" in outer (n=1000000000000) at "), "{out}");
    assert!(out.contains("spin.ks:4"), "{out}");
    assert!(out.contains(" in __anon_expr () at "), "{out}");
}

#[test]
fn debug_needs_a_compiling_engine() {
    let out = Command::new(env!("CARGO_BIN_EXE_toy"))
        .env("TOY_CACHE", "off")
        .args(["-g", "--engine=interp"])
        .stdin(Stdio::null())
        .output()
        .expect("toy runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-g needs a compiling engine"),
        "{out:?}"
    );
}
