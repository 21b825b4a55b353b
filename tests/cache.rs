//! The code cache: a warm run compiles nothing and prints the same; anything that
//! changes an object misses; broken entries are never used; processes can share it.

mod common;
#[path = "cache/untrusted.rs"]
mod untrusted;

use std::path::Path;
use std::process::{Command, Output};

const PROGRAM: &str = "extern printd(x);\n\
def fib(x) if x < 3 then 1 else fib(x-1) + fib(x-2);\n\
def run(n) printd(fib(n));\n\
for i = 1, i < 1 in run(15);\n";

fn toy(cache: &Path, args: &[&str], file: &Path) -> Output {
    common::toy()
        .arg("--cache")
        .arg(cache)
        .arg("--trace-jit")
        .args(args)
        .arg(file)
        .output()
        .expect("toy runs")
}

/// The names compiled and loaded, from the trace.
fn trace(out: &Output) -> (Vec<String>, Vec<String>) {
    let (mut compiled, mut loaded) = (Vec::new(), Vec::new());
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        if let Some(rest) = line.strip_prefix("[jit] compiled ") {
            compiled.push(rest.split(' ').next().unwrap_or("").to_string());
        } else if let Some(rest) = line.strip_prefix("[jit] loaded ") {
            loaded.push(rest.split(' ').next().unwrap_or("").to_string());
        }
    }
    compiled.sort();
    loaded.sort();
    (compiled, loaded)
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_warm_run_compiles_nothing_and_prints_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let file = dir.path().join("prog.ks");
    std::fs::write(&file, PROGRAM).expect("write");

    let cold = toy(&cache, &[], &file);
    assert!(cold.status.success());
    assert_eq!(String::from_utf8_lossy(&cold.stdout), "610.000000\n");
    assert_eq!(trace(&cold), (names(&["fib", "run"]), vec![]));

    let warm = toy(&cache, &[], &file);
    assert_eq!(warm.stdout, cold.stdout);
    assert_eq!(warm.status.code(), cold.status.code());
    assert_eq!(trace(&warm), (vec![], names(&["fib", "run"])));

    // The remote executor links the same cached objects.
    let remote = toy(&cache, &["--engine=remote"], &file);
    assert_eq!(remote.stdout, cold.stdout);
    assert_eq!(trace(&remote), (vec![], names(&["fib", "run"])));

    // Another optimization level is another object.
    let o2 = toy(&cache, &["-O2"], &file);
    assert_eq!(o2.stdout, cold.stdout);
    assert_eq!(trace(&o2), (names(&["fib", "run"]), vec![]));

    // A changed body misses; its caller only depends on its signature.
    std::fs::write(&file, PROGRAM.replace("x < 3", "x < 2")).expect("write");
    let changed = toy(&cache, &[], &file);
    assert_eq!(String::from_utf8_lossy(&changed.stdout), "987.000000\n");
    assert_eq!(trace(&changed), (names(&["fib"]), names(&["run"])));

    // `-g` objects carry source positions: never cached.
    let debug = toy(&cache, &["-g"], &file);
    assert_eq!(trace(&debug), (names(&["fib", "run"]), vec![]));
}

#[test]
fn a_caller_cached_while_its_callee_was_an_extern_calls_a_def_that_replaces_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let file = dir.path().join("prog.ks");
    // The same `f` calls libm's sin in one program and a def in the other. Its object
    // is the same (every call goes through the callee's stub, and no callee is ever
    // folded as a C library function), so the second run loads it from the cache.
    std::fs::write(&file, "extern sin(x);\ndef f() sin(1);\nf();\n").expect("write");
    let first = toy(&cache, &["--echo"], &file);
    assert!(String::from_utf8_lossy(&first.stdout).contains("0.841471"));
    std::fs::write(&file, "def sin(x) 42;\ndef f() sin(1);\nf();\n").expect("write");
    let second = toy(&cache, &["--echo"], &file);
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        "Evaluated to 42.000000\n"
    );
    assert_eq!(trace(&second), (names(&["sin"]), names(&["f"])));
}

#[test]
fn broken_entries_are_ignored_and_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let file = dir.path().join("prog.ks");
    std::fs::write(&file, PROGRAM).expect("write");
    let cold = toy(&cache, &[], &file);
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .expect("cache dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    // (A top-level expression without a loop would be interpreted, not compiled.)
    assert_eq!(entries.len(), 3, "fib, run and the top-level loop");
    // Truncate one, flip a byte of the code in another, swap the third for garbage.
    let bytes = std::fs::read(&entries[0]).expect("read");
    std::fs::write(&entries[0], &bytes[..bytes.len() / 2]).expect("write");
    let mut bytes = std::fs::read(&entries[1]).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&entries[1], &bytes).expect("write");
    std::fs::write(&entries[2], b"\x7fELF not really").expect("write");

    let rerun = toy(&cache, &[], &file);
    assert_eq!(rerun.stdout, cold.stdout);
    assert!(rerun.status.success());
    assert_eq!(trace(&rerun), (names(&["fib", "run"]), vec![]));
    // A file without the cache's header is not the cache's: left as it is (and its
    // function compiled on every run); the cache's own broken entries are replaced.
    assert_eq!(
        std::fs::read(&entries[2]).expect("kept"),
        b"\x7fELF not really"
    );
    let warm = toy(&cache, &[], &file);
    assert_eq!(warm.stdout, cold.stdout);
    let (compiled, loaded) = trace(&warm);
    assert!(compiled.len() <= 1, "only the foreign file's: {compiled:?}");
    let mut all = [compiled, loaded].concat();
    all.sort();
    assert_eq!(all, names(&["fib", "run"]));
    for entry in &entries[..2] {
        assert!(
            std::fs::read(entry)
                .expect("entry")
                .starts_with(b"toycache")
        );
    }
}

#[test]
fn processes_can_share_a_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let file = dir.path().join("chain.ks");
    let mut text = String::from("extern printd(x);\ndef f0(x) x;\n");
    for i in 1..60 {
        text.push_str(&format!("def f{i}(x) f{}(x) + 1;\n", i - 1));
    }
    text.push_str("printd(f59(1));\n");
    std::fs::write(&file, text).expect("write");
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_toy"))
                .arg("--cache")
                .arg(&cache)
                .arg(&file)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("toy runs")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("toy ends");
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "60.000000\n");
    }
    let warm = toy(&cache, &[], &file);
    assert_eq!(String::from_utf8_lossy(&warm.stdout), "60.000000\n");
    let (compiled, loaded) = trace(&warm);
    assert!(compiled.is_empty(), "{compiled:?}");
    assert_eq!(loaded.len(), 60);
    // No temporary files left behind.
    for entry in std::fs::read_dir(&cache).expect("cache dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "{name:?}");
    }
}

#[test]
fn cache_stats_and_clear() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let file = dir.path().join("prog.ks");
    std::fs::write(&file, PROGRAM).expect("write");
    toy(&cache, &[], &file);
    let run = |action: &str| {
        Command::new(env!("CARGO_BIN_EXE_toy"))
            .args(["cache", action, "--cache"])
            .arg(&cache)
            .output()
            .expect("toy cache runs")
    };
    let stats = run("stats");
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(stats.status.success());
    assert!(text.contains("entries: 3"), "{text}");
    let clear = run("clear");
    assert!(String::from_utf8_lossy(&clear.stdout).contains("removed 3 entries"));
    let stats = run("stats");
    assert!(String::from_utf8_lossy(&stats.stdout).contains("entries: 0"));
    let bad = Command::new(env!("CARGO_BIN_EXE_toy"))
        .args(["cache", "frobnicate"])
        .output()
        .expect("toy cache runs");
    assert_eq!(bad.status.code(), Some(2));
}

/// A `toy` process on `cache` and `file`, without the hermetic `TOY_CACHE=off`.
fn command(cache: &Path, args: &[&str], file: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_toy"));
    command
        .env_remove("TOY_CACHE")
        .arg("--cache")
        .arg(cache)
        .arg("--trace-jit")
        .args(args)
        .arg(file);
    command
}

/// Runs `command` to its end, failing if that takes longer than a generous bound (a
/// FIFO opened for reading would block it forever), with its address space bounded
/// (reading `/dev/zero` to its end would otherwise take the machine's memory).
fn bounded(command: &mut Command) -> Output {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let limit = libc::rlimit {
        rlim_cur: 8 << 30,
        rlim_max: 8 << 30,
    };
    // SAFETY: runs in the forked child before exec; setrlimit is async-signal-safe
    // and `limit` is a plain value copied into the closure.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("toy runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("toy did not finish within 60 s");
        }
        // Polling interval of the deadline check, not a wait for a condition.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `toy cache ACTION --cache DIR`, bounded like [`bounded`].
fn cache_command(cache: &Path, action: &str) -> Output {
    bounded(
        Command::new(env!("CARGO_BIN_EXE_toy"))
            .args(["cache", action, "--cache"])
            .arg(cache),
    )
}

/// The entries in `cache` (whatever their kind), by name.
fn listing(cache: &Path) -> Vec<std::path::PathBuf> {
    let mut all: Vec<_> = std::fs::read_dir(cache)
        .expect("cache dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    all.sort();
    all
}

/// A cache directory warmed by one run of [`PROGRAM`], and the program's file.
fn warmed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cache = dir.join("cache");
    let file = dir.join("prog.ks");
    std::fs::write(&file, PROGRAM).expect("write");
    let cold = bounded(&mut command(&cache, &[], &file));
    assert_eq!(String::from_utf8_lossy(&cold.stdout), "610.000000\n");
    assert_eq!(listing(&cache).len(), 3, "fib, run and the top-level loop");
    (cache, file)
}

/// The tiers of every function the trace shows compiled or loaded.
fn tiers(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|line| line.starts_with("[jit] compiled ") || line.starts_with("[jit] loaded "))
        .map(|line| match line.split_once(" at tier ") {
            Some((_, rest)) => rest[..1].to_string(),
            None => format!("no tier in {line:?}"),
        })
        .collect()
}

#[test]
fn a_tier_asked_for_is_the_tier_run_whatever_the_cache_holds() {
    for (warm, asked, tier) in [("--tier=1", "--tier=0", "0"), ("--tier=0", "--tier=1", "1")] {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = dir.path().join("cache");
        let file = dir.path().join("prog.ks");
        std::fs::write(&file, PROGRAM).expect("write");
        let first = toy(&cache, &[warm], &file);
        assert_eq!(String::from_utf8_lossy(&first.stdout), "610.000000\n");
        for _ in 0..2 {
            // Cold for this tier, then warm.
            let run = toy(&cache, &[asked], &file);
            assert_eq!(run.stdout, first.stdout);
            let tiers = tiers(&run);
            assert_eq!(tiers, vec![tier; 2], "{warm} then {asked}: {tiers:?}");
        }
        let (compiled, loaded) = trace(&toy(&cache, &[asked], &file));
        assert_eq!((compiled, loaded), (vec![], names(&["fib", "run"])));
    }
}

#[test]
fn entries_swapped_between_keys_are_not_used() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cache, file) = warmed(dir.path());
    let entries = listing(&cache);
    let (a, b) = (
        std::fs::read(&entries[0]).expect("read"),
        std::fs::read(&entries[1]).expect("read"),
    );
    std::fs::write(&entries[0], &b).expect("write");
    std::fs::write(&entries[1], &a).expect("write");
    let run = bounded(&mut command(&cache, &[], &file));
    assert!(run.status.success());
    assert_eq!(String::from_utf8_lossy(&run.stdout), "610.000000\n");
    let (compiled, loaded) = trace(&run);
    assert!(!compiled.is_empty(), "a swapped entry is compiled again");
    let mut all = [compiled, loaded].concat();
    all.sort();
    assert_eq!(all, names(&["fib", "run"]));
}
