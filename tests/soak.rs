//! Soak test: 100 000 top-level evaluations in one process keep memory flat.
//! Slow (about a minute and a half in release), so it is not part of `cargo test`:
//! `cargo test --release --test soak -- --ignored --nocapture`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "slow: 100 000 evaluations; run with --ignored (see the file's comment)"]
fn a_hundred_thousand_evaluations_keep_memory_flat() {
    const N: usize = 100_000;
    for engine in ["--engine=lazy", "--engine=remote"] {
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
                stdin
                    .write_all(format!("f({i}) + 1;\n").as_bytes())
                    .expect("write");
            }
        });
        let pid = toy.id();
        let mut lines = BufReader::new(toy.stdout.take().expect("stdout")).lines();
        let mut start = 0;
        let mut end = 0;
        for i in 0..N {
            let line = lines.next().expect("a line").expect("utf-8");
            assert_eq!(line, format!("Evaluated to {}.000000", 2 * i + 1));
            if i == 1000 {
                start = rss_kb(pid);
            }
            if i == N - 1 {
                end = rss_kb(pid);
            }
        }
        writer.join().expect("writer");
        assert!(toy.wait().expect("exits").success());
        println!("{engine}: RSS after 1 000 evaluations {start} kB, after {N} {end} kB");
        assert!(
            end < start + 16 * 1024,
            "{engine}: memory grew from {start} kB to {end} kB"
        );
    }
}
