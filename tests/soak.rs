//! Soak test: tens of thousands of compiled top-level evaluations in one session keep
//! the memory of every process involved flat: `toy`, and with the remote engine the
//! executor too. Each expression has a `for` loop, so it is compiled (not
//! interpreted), run, and its code released. Slow (minutes in release), so it is not
//! part of `cargo test`: `cargo test --release --test soak -- --ignored --nocapture`.

mod common;

use common::procs::executor_of;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Compiled evaluations per engine.
const N: usize = 30_000;
/// Growth allowed between the first measurement and the last.
const SLACK_KB: u64 = 16 * 1024;

/// Resident memory of `pid` in kB; panics when it cannot be read, so that the test
/// cannot pass without measuring.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS for {pid}:\n{status}"))
}

/// The processes whose memory is measured, by name.
fn processes(toy: u32, remote: bool) -> Vec<(&'static str, u32)> {
    let mut list = vec![("toy", toy)];
    if remote {
        list.push(("executor", executor_of(toy, None)));
    }
    list
}

#[test]
#[ignore = "slow: tens of thousands of compiled evaluations; run with --ignored"]
fn compiled_top_level_evaluations_keep_memory_flat() {
    for engine in ["--engine=lazy", "--engine=remote"] {
        let started = Instant::now();
        let mut toy = Command::new(env!("CARGO_BIN_EXE_toy"))
            .env("TOY_CACHE", "off")
            .args([engine, "--echo"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("toy starts");
        let mut stdin = toy.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || {
            stdin.write_all(b"def f(x) x * 2;\n").expect("write");
            for i in 0..N {
                // The loop makes it compiled code; its value is f(i) + 1.
                let line = format!("var s = 0 in (for j = 0, j < 1 in s = f({i}) + 1) + s;\n");
                stdin.write_all(line.as_bytes()).expect("write");
            }
        });
        let pid = toy.id();
        let measured = processes(pid, engine == "--engine=remote");
        let mut lines = BufReader::new(toy.stdout.take().expect("stdout")).lines();
        let mut start = Vec::new();
        let mut end = Vec::new();
        for i in 0..N {
            let line = lines.next().expect("a line").expect("utf-8");
            assert_eq!(line, format!("Evaluated to {}.000000", 2 * i + 1));
            if i == 1000 {
                start = measured.iter().map(|&(_, p)| rss_kb(p)).collect();
            }
            if i == N - 1 {
                end = measured.iter().map(|&(_, p)| rss_kb(p)).collect();
            }
        }
        writer.join().expect("writer");
        assert!(toy.wait().expect("exits").success());
        let took = started.elapsed().as_secs_f64();
        for (((name, _), start), end) in measured.iter().zip(&start).zip(&end) {
            println!(
                "{engine}: {name} RSS after 1 000 compiled evaluations {start} kB, \
                 after {N} {end} kB ({took:.0} s)"
            );
            assert!(
                *end < start + SLACK_KB,
                "{engine}: {name}'s memory grew from {start} kB to {end} kB"
            );
        }
    }
}
