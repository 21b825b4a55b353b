//! The `toy` command's input and output at their limits: failed writes, oversized or
//! endless inputs, and error recovery that is the same for files and piped input.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::piped::Piped;
use common::{ENGINES, Engine, ks_file, toy};

/// The same command as `cmd`, as a `std` command (to redirect its stdout).
fn std_command(cmd: &assert_cmd::Command) -> Command {
    let mut std = Command::new(cmd.get_program());
    std.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => std.env(key, value),
            None => std.env_remove(key),
        };
    }
    std
}

/// Runs `cmd` with stdout on `/dev/full` (every write fails with ENOSPC) and `stdin`;
/// returns (status, stderr).
fn to_dev_full(mut cmd: Command, stdin: &str) -> (Option<i32>, String) {
    let full = std::fs::File::create("/dev/full").expect("/dev/full");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .expect("toy starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("toy runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const NO_SPACE: &str = "cannot write program output: No space left on device (os error 28)";

#[test]
fn failed_writes_of_program_output_are_errors_on_every_engine() {
    let program = ks_file("extern printd(x);\nextern putchard(c);\nprintd(1);\nputchard(65);\n");
    for engine in ENGINES {
        // Kept until the end: `tcp` stops its listener when dropped.
        let engine_ = Engine::new(engine);
        let mut cmd = std_command(&engine_.toy());
        cmd.arg(program.path());
        let (status, stderr) = to_dev_full(cmd, "");
        assert!(stderr.contains(NO_SPACE), "{engine}: {stderr}");
        assert_eq!(stderr.matches(NO_SPACE).count(), 1, "{engine}: {stderr}");
        assert_eq!(status, Some(1), "{engine}: {stderr}");
    }
}

#[test]
fn failed_writes_of_echoed_values_are_errors() {
    for engine in ENGINES {
        let engine_ = Engine::new(engine);
        let (status, stderr) = to_dev_full(std_command(&engine_.toy()), "1 + 2;\n");
        assert!(stderr.contains(NO_SPACE), "{engine}: {stderr}");
        assert_eq!(status, Some(1), "{engine}: {stderr}");
    }
    // Output of --emit goes the same way.
    let (status, stderr) = to_dev_full(std_command(toy().arg("--emit=ast")), "1 + 2;\n");
    assert!(stderr.contains(NO_SPACE), "{stderr}");
    assert_eq!(status, Some(1), "{stderr}");
}

#[test]
fn a_reader_that_goes_away_still_ends_toy_quietly() {
    // `toy prog.ks | head -c 1`: an endless printer stops when its reader exits.
    let program = ks_file("extern putchard(c);\nfor i = 0, 1 in putchard(65);\n");
    let mut child = std_command(toy().arg(program.path()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("toy starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 1];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("some output");
    drop(stdout);
    let output = child.wait_with_output().expect("toy ends");
    assert_eq!(first, *b"A");
    assert_eq!(output.status.code(), Some(141));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// Runs `cmd` with `stdin`; gives its (status, stderr), failing the test if it has not
/// ended after two minutes (before the bounds, these inputs exhausted memory).
fn run_bounded(mut cmd: Command, stdin: Stdio) -> (Option<i32>, String) {
    let child = cmd
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("toy starts");
    let pid = child.id();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || send.send(child.wait_with_output()));
    match receive.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(output) => {
            let output = output.expect("toy runs");
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            (output.status.code(), stderr)
        }
        Err(_) => {
            // SAFETY: kill takes any pid; this one is our child, not yet reaped (the
            // thread waiting for it has not returned).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("toy still reads after two minutes");
        }
    }
}

fn dev_zero() -> Stdio {
    std::fs::File::open("/dev/zero").expect("/dev/zero").into()
}

#[test]
fn endless_inputs_are_refused_with_a_clear_error() {
    let limit = "larger than 64 MiB, the most toy reads";
    let piped = std_command(toy().arg("--engine=interp"));
    let (status, stderr) = run_bounded(piped, dev_zero());
    assert!(
        stderr.contains(&format!("cannot read standard input: {limit}")),
        "{stderr}"
    );
    assert_eq!(status, Some(2), "{stderr}");

    let tokens = std_command(toy().arg("--emit=tokens"));
    let (status, stderr) = run_bounded(tokens, dev_zero());
    assert!(
        stderr.contains(&format!("cannot read standard input: {limit}")),
        "{stderr}"
    );
    assert_eq!(status, Some(2), "{stderr}");

    let file = std_command(toy().args(["--engine=interp", "/dev/zero"]));
    let (status, stderr) = run_bounded(file, Stdio::null());
    assert!(
        stderr.contains(&format!("cannot read /dev/zero: {limit}")),
        "{stderr}"
    );
    assert_eq!(status, Some(2), "{stderr}");
}

#[test]
fn keep_going_recovers_alike_in_files_and_piped_input() {
    // Errors whose item continues on later lines, in a definition, at the end of a
    // line, and before a `def` that ends the failed item.
    let program = "extern printd(x);\n\
                   printd(1) + ) 2\n\
                   printd(2);\n\
                   printd(3);\n\
                   def f(x)\n  x + )\n  1;\n\
                   f(4);\n\
                   4 +\n) 5\ndef g(x) x * 2;\n\
                   g(3);\n\
                   (1 + 2;\n\
                   6;\n";
    let f = ks_file(program);
    let from_file = toy()
        .args(["--keep-going", "--echo"])
        .arg(f.path())
        .output()
        .expect("runs");
    let piped = toy().write_stdin(program).output().expect("runs");
    let file_stdout = String::from_utf8_lossy(&from_file.stdout);
    let file_stderr = String::from_utf8_lossy(&from_file.stderr)
        .replace(&f.path().display().to_string(), "<stdin>");
    assert_eq!(file_stdout, String::from_utf8_lossy(&piped.stdout));
    assert_eq!(file_stderr, String::from_utf8_lossy(&piped.stderr));
    assert_eq!(from_file.status.code(), Some(1));
    assert_eq!(piped.status.code(), Some(1));
    // What both do: skip each failed item to its `;` (or the next `def`).
    assert_eq!(
        file_stdout,
        "3.000000\nEvaluated to 0.000000\nEvaluated to 6.000000\nEvaluated to 6.000000\n"
    );
}

#[test]
fn piped_input_gets_each_items_output_before_the_next_item_is_sent() {
    // A program driving toy through pipes waits for one answer before it sends more:
    // output is flushed whenever toy waits for input, on every engine.
    for engine in ["interp", "eager", "lazy", "remote"] {
        let mut toy = Piped::start(&["--engine", engine, "--echo"]);
        toy.send("extern printd(x); def f(x) printd(x) + x;\n");
        toy.send("f(2);\n");
        let wait = std::time::Duration::from_secs(60);
        assert_eq!(toy.line(wait), "2.000000", "{engine}");
        assert_eq!(toy.line(wait), "Evaluated to 2.000000", "{engine}");
        toy.send("f(5);\n");
        assert_eq!(toy.line(wait), "5.000000", "{engine}");
        assert_eq!(toy.line(wait), "Evaluated to 5.000000", "{engine}");
        assert_eq!(toy.finish(), 0, "{engine}");
    }
}
