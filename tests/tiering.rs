//! Tiered compilation and speculation, seen from outside through `--trace-jit`: hot
//! functions are recompiled at tier 1 and swapped in, callees are compiled ahead in
//! batches, nothing is compiled twice at one tier, and results never change.

mod common;

use std::time::{Duration, Instant};

use common::piped::Piped;
use common::run;

/// fib(32): ~3.5 million calls, far more than a tier-up needs (one poll every 1024
/// calls requests it; a later poll installs it).
const FIB: &str = "def fib(x) if x < 3 then 1 else fib(x-1) + fib(x-2);\nfib(32);\n";

/// A chain of `n` functions, each calling the one before, and a call of the last.
fn chain(n: usize) -> String {
    let mut text = String::from("def f0(x) x + 0;\n");
    for i in 1..n {
        text.push_str(&format!("def f{i}(x) f{}(x) + 1;\n", i - 1));
    }
    text.push_str(&format!("f{}(1);\n", n - 1));
    text
}

/// The trace lines of stderr that start with `prefix`, by the name that follows it.
fn traced<'a>(stderr: &'a str, prefix: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(|rest| rest.split([' ', ':']).next().unwrap_or(""))
        .collect()
}

/// Runs `FIB` through a pipe with `args`, then calls `fib(32)` again until the trace
/// shows the background tier-up installed (when it lands depends on the machine's
/// load: a condition with a deadline, not a hope that one run is long enough), and
/// once more at tier 1. Returns the echoed value line and stderr.
fn until_tiered_up(args: &[&str]) -> (String, String) {
    let mut toy = Piped::start(args);
    toy.send(FIB);
    let wait = Duration::from_secs(120);
    let value = toy.line(wait);
    assert_eq!(value, "Evaluated to 2178309.000000", "{}", toy.stderr());
    let deadline = Instant::now() + wait;
    while !toy.stderr().contains("recompiled at tier 1") {
        assert!(Instant::now() < deadline, "no tier-up:\n{}", toy.stderr());
        toy.send("fib(32);\n");
        assert_eq!(toy.line(wait), value, "{}", toy.stderr());
    }
    toy.send("fib(32);\n");
    assert_eq!(toy.line(wait), value, "at tier 1: {}", toy.stderr());
    let stderr = toy.stderr();
    assert_eq!(toy.finish(), 0, "{stderr}");
    (value, stderr)
}

#[test]
fn a_hot_function_tiers_up_in_the_background_with_the_same_result() {
    let (auto, stderr) = until_tiered_up(&["--echo", "--trace-jit"]);
    assert!(stderr.contains("[jit] compiled fib in "), "{stderr}");
    assert!(stderr.contains("at tier 0"), "{stderr}");
    assert_eq!(traced(&stderr, "[jit] tier-up "), ["fib"], "{stderr}");
    assert!(stderr.contains("in the background"), "{stderr}");
    let auto = format!("{auto}\n");
    // Each tier alone computes the same double.
    for tier in ["--tier=0", "--tier=1"] {
        let (status, out, stderr) = run(&["--echo", "--trace-jit", tier], FIB);
        assert_eq!(
            (status, out.as_str()),
            (0, auto.as_str()),
            "{tier}: {stderr}"
        );
        assert!(!stderr.contains("tier-up"), "{tier}: {stderr}");
        let at = format!("at tier {}", &tier[7..]);
        assert!(stderr.contains(&at), "{tier}: {stderr}");
    }
}

#[test]
fn the_remote_executor_tiers_up_too() {
    let (_, stderr) = until_tiered_up(&["--engine=remote", "--echo", "--trace-jit"]);
    assert_eq!(traced(&stderr, "[jit] tier-up "), ["fib"], "{stderr}");
}

#[test]
fn a_redefinition_is_never_undone_by_a_late_tier_up() {
    // fib becomes hot and its tier-up is requested; then fib is redefined. Whatever
    // the background still finishes for the old fib must not come back.
    let program =
        format!("{FIB}def fib(x) x * 1000;\nfib(32);\nfor i = 0, i < 3000 in fib(i);\nfib(32);\n");
    let (status, out, stderr) = run(&["--echo"], &program);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        out,
        "Evaluated to 2178309.000000\nEvaluated to 32000.000000\n\
         Evaluated to 0.000000\nEvaluated to 32000.000000\n"
    );
}

/// Runs `toy` with `args` and `stdin`, on one CPU if `one_cpu`.
fn run_on(one_cpu: bool, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_toy"));
    command.env("TOY_CACHE", "off").args(args);
    if one_cpu {
        // SAFETY: runs in the forked child before exec; sched_setaffinity is a plain
        // system call on a CPU set built in the closure.
        unsafe {
            command.pre_exec(|| {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut set);
                match libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            });
        }
    }
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("toy runs");
    let mut input = child.stdin.take().expect("stdin");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = input.write_all(text.as_bytes());
    });
    let output = child.wait_with_output().expect("toy ends");
    writer.join().expect("the writer ends");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn callees_are_compiled_ahead_in_batches_each_once() {
    // Asked for, speculation happens on one CPU as on several.
    for one_cpu in [false, true] {
        let program = chain(300);
        let args = ["--echo", "--trace-jit", "--speculate"];
        let (status, out, stderr) = run_on(one_cpu, &args, &program);
        assert_eq!(status, 0, "{stderr}");
        assert_eq!(out, "Evaluated to 300.000000\n");
        let mut compiled = traced(&stderr, "[jit] compiled ");
        assert_eq!(compiled.len(), 300, "{stderr}");
        compiled.sort();
        compiled.dedup();
        assert_eq!(compiled.len(), 300, "each function compiled once: {stderr}");
        let ahead = stderr.matches("ahead of its first call").count();
        assert_eq!(
            ahead, 299,
            "all but the first called one (one CPU: {one_cpu}): {stderr}"
        );
        assert!(stderr.contains("in a batch)"), "{stderr}");

        // Without speculation, each is compiled at its first call.
        let args = ["--echo", "--trace-jit", "--speculate=off"];
        let (status, out, stderr) = run_on(one_cpu, &args, &program);
        assert_eq!((status, out.as_str()), (0, "Evaluated to 300.000000\n"));
        assert!(!stderr.contains("ahead"), "{stderr}");
        assert_eq!(traced(&stderr, "[jit] compiled ").len(), 300);
    }
}

#[test]
fn speculation_never_changes_errors_or_their_moment() {
    // g calls a function that does not exist: compiling g ahead is fine, calling it
    // reports the error, at the call, exactly as without speculation.
    let program = "def g(x) missing(x);\ndef f(x) if x < 1 then 0 else g(x);\n\
                   f(0);\nf(1);\nf(0);\n";
    let expected = run(&["--echo", "--keep-going", "--speculate=off"], program);
    let speculated = run(&["--echo", "--keep-going", "--speculate"], program);
    assert_eq!(speculated, expected);
    assert_eq!(expected.1, "Evaluated to 0.000000\nEvaluated to 0.000000\n");
    assert!(expected.2.contains("missing"), "{}", expected.2);
}

#[test]
fn a_warm_cache_serves_batches_without_compiling() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("chain.ks");
    std::fs::write(&file, chain(200)).expect("write");
    let cache = dir.path().join("cache");
    let toy = || {
        common::toy()
            .arg("--cache")
            .arg(&cache)
            .args(["--echo", "--trace-jit", "--speculate"])
            .arg(&file)
            .output()
            .expect("toy runs")
    };
    let cold = toy();
    let cold_err = String::from_utf8_lossy(&cold.stderr);
    assert!(cold.status.success(), "{cold_err}");
    assert!(cold_err.contains("in a batch)"), "{cold_err}");
    let warm = toy();
    let warm_err = String::from_utf8_lossy(&warm.stderr);
    assert_eq!(warm.stdout, cold.stdout);
    assert_eq!(
        String::from_utf8_lossy(&warm.stdout),
        "Evaluated to 200.000000\n"
    );
    assert!(
        traced(&warm_err, "[jit] compiled ").is_empty(),
        "{warm_err}"
    );
    let mut loaded = traced(&warm_err, "[jit] loaded ");
    loaded.sort();
    loaded.dedup();
    assert_eq!(loaded.len(), 200, "{warm_err}");
}

#[test]
fn functions_past_the_call_counters_start_at_tier_1_even_when_speculated() {
    // Globals past the 2^20 call counters have none: compiled ahead by speculation,
    // they once got tier-0 code counting calls past the end of the counter array.
    let counters = toy::runtime::CALL_COUNTERS_LEN;
    let mut program = String::with_capacity(20 * counters);
    for i in 0..counters + 2 {
        program.push_str(&format!("def f{i}(x) x + {i};\n"));
    }
    let (last, before) = (counters + 1, counters);
    program.push_str(&format!("def top(x) f{last}(x) + f{before}(x);\ntop(1);\n"));
    let (status, out, stderr) = run_on(false, &["--echo", "--trace-jit", "--speculate"], &program);
    assert_eq!(status, 0, "{stderr}");
    let expected = 2.0 + (last + before) as f64;
    assert_eq!(out, format!("Evaluated to {expected:.6}\n"));
    // Each is compiled at tier 1, or (`top` starts at tier 1 too) inlined into `top`.
    let inlined = stderr
        .lines()
        .find(|l| l.starts_with("[jit] top at tier 1 may inline "))
        .unwrap_or_default();
    for name in [format!("f{last}"), format!("f{before}")] {
        let compiled: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with(&format!("[jit] compiled {name} ")))
            .collect();
        assert!(
            compiled.iter().all(|line| line.contains("at tier 1")),
            "{compiled:?}"
        );
        let listed = inlined.split([' ', ',']).any(|word| word == name);
        assert!(
            !compiled.is_empty() || listed,
            "{name} has no code: {stderr}"
        );
    }
}
