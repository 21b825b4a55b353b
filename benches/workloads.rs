//! Whole-process workloads, timed from outside: `cargo bench --bench workloads`.
//!
//! Each workload runs the release `toy` binary on a generated program and reports the
//! median wall time of several runs, next to the configuration it is compared with
//! in the same run. `TOY_BENCH_QUICK=1` runs each once. The code cache is off except
//! where a workload is about it (its own directory, cleared first). A second table
//! times the suite of `benches/suite/` against its C twins (see `suite/mod.rs`).

mod suite;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn toy() -> &'static str {
    env!("CARGO_BIN_EXE_toy")
}

fn runs() -> usize {
    if std::env::var_os("TOY_BENCH_QUICK").is_some() {
        1
    } else {
        5
    }
}

/// Median wall time of `toy ARGS FILE` (output discarded), after `before` each time.
fn time(args: &[&str], file: &Path, before: &mut dyn FnMut()) -> Duration {
    time_n(runs(), args, file, before)
}

/// Median of `n` runs.
fn time_n(n: usize, args: &[&str], file: &Path, before: &mut dyn FnMut()) -> Duration {
    median(n, &mut || {
        before();
        let start = Instant::now();
        let status = Command::new(toy())
            .args(args)
            .arg(file)
            .env("TOY_CACHE", "off")
            .stdout(Stdio::null())
            .status()
            .expect("toy runs");
        let elapsed = start.elapsed();
        assert!(status.success(), "toy {args:?} {} failed", file.display());
        elapsed
    })
}

/// The median of `n` measurements.
fn median(n: usize, measure: &mut dyn FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..n).map(|_| measure()).collect();
    times.sort();
    times[times.len() / 2]
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn row(workload: &str, config: &str, value: Duration, note: &str) {
    println!(
        "| {workload:<34} | {config:<30} | {:>11} | {note}",
        ms(value)
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let none = &mut || {};
    println!(
        "| {:<34} | {:<30} | {:>11} | note",
        "workload", "configuration", "median"
    );
    println!("|{:-<36}|{:-<32}|{:-<13}|------", "", "", "");

    // Start-up to exit, empty input.
    let empty = write(dir, "empty.ks", "");
    let startup = time(&[], &empty, none);
    row(
        "start-up, empty input",
        "default",
        startup,
        "target <= 8 ms",
    );

    // 10 000 definitions and one call.
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!("def f{i}(x) x + {i};\n"));
    }
    text.push_str("f9999(1);\n");
    let defs = write(dir, "defs.ks", &text);
    let lazy = time(&[], &defs, none);
    row("10 000 definitions + one call", "default (lazy)", lazy, "");

    // The 2000-function chain, all called.
    let mut text = String::from("def f0(x) x + 0;\n");
    for i in 1..2000 {
        text.push_str(&format!("def f{i}(x) f{}(x) + 1;\n", i - 1));
    }
    text.push_str("f1999(1);\n");
    let chain = write(dir, "chain.ks", &text);
    let default = time(&[], &chain, none);
    let tier1 = time(&["--tier=1"], &chain, none);
    let tier0 = time(&["--tier=0", "--speculate=off"], &chain, none);
    let o0 = time(&["-O0"], &chain, none);
    row(
        "2000-function chain",
        "--tier=1 (pre-tiering default)",
        tier1,
        "C++ reference ~3.2 s",
    );
    row(
        "2000-function chain",
        "-O0",
        o0,
        &format!("{:.2}x faster than --tier=1", ratio(tier1, o0)),
    );
    row(
        "2000-function chain",
        "--tier=0 --speculate=off",
        tier0,
        &format!("{:.2}x faster than --tier=1", ratio(tier1, tier0)),
    );
    row(
        "2000-function chain",
        "default (tiers + speculation)",
        default,
        &format!(
            "{:.2}x faster than --tier=1 (target >= 4x, <= 0.4 s)",
            ratio(tier1, default)
        ),
    );

    // The chain as a script run twice: cold cache, then warm.
    let cache = dir.join("cache");
    let cache_arg = cache.to_str().expect("utf-8 path");
    let cold = time(&["--cache", cache_arg], &chain, &mut || {
        let _ = std::fs::remove_dir_all(&cache);
    });
    let warm = time(&["--cache", cache_arg], &chain, none);
    row(
        "2000-function chain, cold cache",
        "--cache DIR (cleared)",
        cold,
        "",
    );
    row(
        "2000-function chain, warm cache",
        "--cache DIR",
        warm,
        &format!("{:.1}x faster than cold (target >= 5x)", ratio(cold, warm)),
    );

    // fib(35).
    let fib = write(
        dir,
        "fib.ks",
        "def fib(x) if x < 3 then 1 else fib(x-1) + fib(x-2);\nfib(35);\n",
    );
    let fib_default = tiers_against_eager("fib(35)", &fib, "C++ reference ~51 ms");

    // A large Mandelbrot: the example's functions over the same region on a 16x
    // finer grid, 1248 x 640 points (`mandel` always plots 78 x 40 steps).
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mandel.ks"))
            .expect("examples/mandel.ks");
    let big = example.replace(
        "mandel(-2.3, -1.3, 0.05, 0.07);",
        "mandelhelp(-2.3, -2.3 + 0.003125 * 1248, 0.003125, -1.3, -1.3 + 0.004375 * 640, 0.004375);",
    );
    assert_ne!(big, example, "the example's last line changed");
    let mandel = write(dir, "mandel.ks", &big);
    let mandel_default = tiers_against_eager("Mandelbrot 1248x640", &mandel, "");

    // The same two programs in C, compiled by clang -O2, if there is a clang (the
    // project never needs one).
    match clang() {
        Some(clang) => {
            for (name, c, toy_time) in [
                ("fib(35)", FIB_C, fib_default),
                ("Mandelbrot 1248x640", MANDEL_C, mandel_default),
            ] {
                let source = write(dir, "prog.c", c);
                let exe = dir.join("prog");
                let status = Command::new(&clang)
                    .args(["-O2", "-o"])
                    .arg(&exe)
                    .arg(&source)
                    .status()
                    .expect("clang runs");
                assert!(status.success(), "clang failed on {name}");
                let native = time_exe(&exe);
                row(
                    name,
                    "C, clang -O2 (whole process)",
                    native,
                    &format!("toy default / this = {:.2}", ratio(toy_time, native)),
                );
            }
        }
        None => println!("(no clang on PATH: the comparison with clang -O2 is skipped)"),
    }

    // 10 000 small top-level expressions.
    let exprs = write(dir, "exprs.ks", &"1+2*3;\n".repeat(10_000));
    let exprs_default = time(&[], &exprs, none);
    let exprs_interp = time(&["--engine=interp"], &exprs, none);
    // Compiling each takes seconds: one run.
    let exprs_eager = time_n(1, &["--engine=eager"], &exprs, none);
    row("10 000 top-level expressions", "default", exprs_default, "");
    row(
        "10 000 top-level expressions",
        "eager (compiles each), 1 run",
        exprs_eager,
        &format!(
            "{:.0}x slower than default (target >= 20x)",
            ratio(exprs_eager, exprs_default)
        ),
    );
    row(
        "10 000 top-level expressions",
        "interp",
        exprs_interp,
        &format!("default / this = {:.1}", ratio(exprs_default, exprs_interp)),
    );

    suite::run(dir);
}

/// fib(35) in C, as the Kaleidoscope program computes it.
const FIB_C: &str = r#"#include <stdio.h>
static double fib(double x) { return x < 3 ? 1 : fib(x - 1) + fib(x - 2); }
int main(void) { printf("%f\n", fib(35)); return 0; }
"#;

/// examples/mandel.ks on the 1248 x 640 grid in C, with Kaleidoscope's loops (the end
/// condition is tested after the body, on the value before the step).
const MANDEL_C: &str = r#"#include <stdio.h>
static double converger(double real, double imag, double iters, double creal, double cimag) {
  if (iters > 255 || real * real + imag * imag > 4) return iters;
  return converger(real * real - imag * imag + creal, 2 * real * imag + cimag, iters + 1, creal, cimag);
}
static void density(double d) { putchar(d > 8 ? ' ' : d > 4 ? '.' : d > 2 ? '+' : '*'); }
int main(void) {
  double xmin = -2.3, ymin = -1.3, xstep = 0.003125, ystep = 0.004375;
  double xmax = xmin + xstep * 1248, ymax = ymin + ystep * 640;
  for (double y = ymin;;) {
    for (double x = xmin;;) {
      density(converger(x, y, 0, x, y));
      int go = x < xmax; x += xstep; if (!go) break;
    }
    putchar('\n');
    int go = y < ymax; y += ystep; if (!go) break;
  }
  return 0;
}
"#;

/// Times `file` at tier 0 only, by default (tiered) and compiled eagerly at `-O2`,
/// prints the three rows; the default's time.
fn tiers_against_eager(workload: &str, file: &Path, note: &str) -> Duration {
    let none = &mut || {};
    let default = time(&[], file, none);
    let o2 = time(&["--engine=eager", "-O2"], file, none);
    let tier0 = time(&["--tier=0"], file, none);
    row(workload, "--tier=0 (no tier-up)", tier0, "");
    row(workload, "default", default, note);
    row(
        workload,
        "eager -O2",
        o2,
        &format!("default / this = {:.2}", ratio(default, o2)),
    );
    default
}

/// A clang on PATH, if any.
fn clang() -> Option<PathBuf> {
    ["clang", "clang-14"].into_iter().find_map(|name| {
        Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .ok()
            .filter(|s| s.success())
            .map(|_| PathBuf::from(name))
    })
}

/// Median wall time of running `exe` (output discarded).
fn time_exe(exe: &Path) -> Duration {
    median(runs(), &mut || {
        let start = Instant::now();
        let status = Command::new(exe)
            .stdout(Stdio::null())
            .status()
            .expect("runs");
        assert!(status.success());
        start.elapsed()
    })
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
