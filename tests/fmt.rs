//! `toy fmt`: every program of the repository formats, formats again to the same
//! text, and runs to the same output as before; files are rewritten in place only
//! when they parse, atomically; `--check` and standard input.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::corpus::every_program;
use common::{outcome, programs, toy};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// `toy fmt` with `args` and `stdin`: (status, stdout, stderr).
fn fmt(args: &[&str], stdin: &str) -> (i32, String, String) {
    outcome(toy().arg("fmt").args(args).write_stdin(stdin))
}

/// `text` through `toy fmt`, which must succeed.
fn formatted(text: &str, what: &str) -> String {
    let (status, out, err) = fmt(&[], text);
    assert_eq!(status, 0, "{what}: {err}");
    out
}

/// Runs `text` with the interpreter: (status, stdout).
fn run(text: &str) -> (i32, String) {
    let file = common::ks_file(text);
    let (status, stdout, _) = outcome(toy().arg("--engine=interp").arg(file.path()));
    (status, stdout)
}

/// The benchmark programs run long at their size: both versions run at size 0
/// (where each still prints something).
fn small(text: &str) -> String {
    text.lines()
        .map(|line| match line.starts_with("def size() ") {
            true => "def size() 0;".to_string(),
            false => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_program_formats_idempotently_and_runs_the_same() {
    let mut changed = 0;
    for path in every_program() {
        let what = path.display().to_string();
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("readable")).into_owned();
        let out = formatted(&text, &what);
        assert_eq!(formatted(&out, &what), out, "{what}: not idempotent");
        let (status, listed, _) = fmt(&["--check"], &out);
        assert_eq!((status, listed.as_str()), (0, ""), "{what}: --check");
        changed += usize::from(out != text);
        let (before, after) = (run(&small(&text)), run(&small(&out)));
        assert_eq!(
            before, after,
            "{what}: runs differently once formatted:\n{out}"
        );
    }
    // The repository's programs are not all laid out canonically already.
    assert!(changed >= 10, "only {changed} programs changed");
}

#[test]
fn generated_programs_format_and_run_the_same() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[21; 32]),
    );
    for _ in 0..25 {
        let prog = programs::prog()
            .new_tree(&mut runner)
            .expect("a program")
            .current();
        let text = programs::source(&prog);
        let out = toy::fmt::format(&text).unwrap_or_else(|e| panic!("{e}:\n{text}"));
        assert_eq!(
            toy::fmt::format(&out).expect("formats"),
            out,
            "not idempotent"
        );
        assert_eq!(
            run(&text),
            run(&out),
            "runs differently once formatted:\n{text}\n{out}"
        );
    }
}

/// A program with a comment wherever one can stand.
const COMMENTED: &str = "\
# header


# second block
def # after def
  binary # after binary
  | # after the operator
  5 # after the precedence
  ( # after (
  a # first parameter
  b # second parameter
  ) # after the parameters
  if # after if
  a # condition
  then # after then
  1 # then branch
  else # after else
  b # else branch
  ; # after ;
extern # after extern
  printd(x) # prototype
def f(x) g( # open call
  x, # first argument
  # a line of its own in the arguments
  x # last argument
  ) + # after +
  # a line of its own before an operand
  1
def g(a b) a | b
for i = 0, # after the comma
  i < 3 in var a = # after =
  1, b in # after in
  printd(a | f(i)) # end of the loop
# end of the file";

/// The comments of `text`, in order.
fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| line.find('#').map(|at| line[at..].trim_end()))
        .collect()
}

#[test]
fn comments_in_odd_places_survive_and_the_program_stays_the_same() {
    let out = formatted(COMMENTED, "COMMENTED");
    assert_eq!(comments(&out), comments(COMMENTED), "in:\n{out}");
    assert_eq!(formatted(&out, "its output"), out, "not idempotent:\n{out}");
    // Same resolved program, same output.
    let ast = |text: &str| {
        let file = common::ks_file(text);
        outcome(toy().arg("--emit=ast").arg(file.path()))
    };
    let (status, before, err) = ast(COMMENTED);
    assert_eq!(status, 0, "{err}");
    assert_eq!(ast(&out).1, before);
    let (status, stdout) = run(&out);
    assert_eq!((status, stdout), run(COMMENTED));
    assert_eq!(run(COMMENTED).1, "1.000000\n1.000000\n1.000000\n1.000000\n");
}

/// A directory with the file `name` holding `text`.
fn dir_with(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn files_are_rewritten_in_place_keeping_their_mode_and_links() {
    let (dir, path) = dir_with("prog.ks", "def f(x)   x*2\nf(1)");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let link = dir.path().join("link.ks");
    std::os::unix::fs::symlink("prog.ks", &link).expect("symlink");
    let (status, stdout, stderr) = outcome(toy().arg("fmt").arg(&link));
    assert_eq!((status, stdout.as_str(), stderr.as_str()), (0, "", ""));
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "def f(x) x * 2;\nf(1);\n"
    );
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    // No temporary file is left behind.
    assert_eq!(entries(dir.path()), ["link.ks", "prog.ks"]);
    // Formatting a formatted file changes nothing.
    let before = std::fs::metadata(&path)
        .expect("metadata")
        .modified()
        .expect("mtime");
    assert_eq!(outcome(toy().arg("fmt").arg(&path)).0, 0);
    let after = std::fs::metadata(&path)
        .expect("metadata")
        .modified()
        .expect("mtime");
    assert_eq!(before, after, "an unchanged file was written");
}

#[test]
fn a_file_that_does_not_parse_is_reported_at_its_position_and_left_untouched() {
    let bad = "def f(x) x + 1;\ndef g(x y) (x + ;\n";
    let (dir, path) = dir_with("bad.ks", bad);
    let good = dir.path().join("good.ks");
    std::fs::write(&good, "1+2").expect("write");
    let (status, _, stderr) = outcome(toy().arg("fmt").arg(&path).arg(&good));
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("bad.ks:2:17"), "no position in:\n{stderr}");
    assert!(stderr.contains("not formatted"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), bad);
    // The other file is formatted all the same.
    assert_eq!(std::fs::read_to_string(&good).expect("read"), "1 + 2;\n");
    assert_eq!(entries(dir.path()), ["bad.ks", "good.ks"]);
    // Invalid UTF-8 is a syntax error too, never a lossy rewrite.
    let (dir, path) = dir_with("latin1.ks", "");
    std::fs::write(&path, b"1 + \xe9;\n").expect("write");
    let (status, _, stderr) = outcome(toy().arg("fmt").arg(&path));
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(std::fs::read(&path).expect("read"), b"1 + \xe9;\n");
    drop(dir);
}

#[test]
fn check_lists_the_files_that_would_change_and_writes_nothing() {
    let (dir, messy) = dir_with("messy.ks", "1+2");
    let tidy = dir.path().join("tidy.ks");
    std::fs::write(&tidy, "1 + 2;\n").expect("write");
    let (status, stdout, stderr) = outcome(toy().args(["fmt", "--check"]).arg(&messy).arg(&tidy));
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(stdout, format!("{}\n", messy.display()));
    assert_eq!(std::fs::read_to_string(&messy).expect("read"), "1+2");
    let (status, stdout, _) = outcome(toy().args(["fmt", "--check"]).arg(&tidy));
    assert_eq!((status, stdout.as_str()), (0, ""));
    // On standard input: only the status.
    assert_eq!(fmt(&["--check", "-"], "1+2").0, 1);
    assert_eq!(fmt(&["--check"], "1 + 2;\n").0, 0);
}

#[test]
fn standard_input_goes_to_standard_output() {
    assert_eq!(
        fmt(&[], "def f(x)x"),
        (0, "def f(x) x;\n".into(), String::new())
    );
    assert_eq!(
        fmt(&["-"], "f(1,2)"),
        (0, "f(1, 2);\n".into(), String::new())
    );
    let (status, stdout, stderr) = fmt(&[], "def (x) 1");
    assert_eq!((status, stdout.as_str()), (1, ""));
    assert!(stderr.contains("<stdin>:1:5"), "{stderr}");
}

#[test]
fn unreadable_files_and_bad_options_are_usage_errors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (status, _, stderr) = outcome(toy().arg("fmt").arg(dir.path().join("missing.ks")));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("missing.ks"), "{stderr}");
    assert_eq!(fmt(&["--bogus"], "").0, 2);
    let (status, stdout, _) = fmt(&["--help"], "");
    assert_eq!(status, 0);
    assert!(stdout.contains("--check"), "{stdout}");
}

#[test]
fn only_regular_files_are_replaced() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let fifo = dir.path().join("pipe.ks");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        // Opening blocks until toy opens the other end.
        std::thread::spawn(move || std::fs::write(fifo, "1+2"))
    };
    let (status, _, stderr) = outcome(toy().arg("fmt").arg(&fifo));
    writer.join().expect("the writer").expect("written");
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .expect("still there")
            .file_type()
            .is_fifo()
    );
    assert_eq!(entries(dir.path()), ["pipe.ks"]);
}
