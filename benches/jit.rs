//! `cargo bench`: start-up, per-function compile phases and run time, as a table.
//!
//! Not a test: it reports figures (medians of several runs) and checks nothing.
//! `TOY_BENCH_QUICK=1` runs fewer repetitions.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use toy::codegen::{OptLevel, Timings};
use toy::engine::Engine;
use toy::frontend::ast::Item;
use toy::interp::Interpreter;
use toy::jit::EagerJit;
use toy::session::Session;

fn items(text: &str) -> Vec<Item> {
    Session::resolve_program(text).expect("a valid program")
}

fn feed(engine: &mut dyn Engine, item: Item) -> f64 {
    match item {
        Item::Def(f) => engine.define(f).map(|()| 0.0),
        Item::Extern(p) => engine.declare(p).map(|()| 0.0),
        Item::Expr(f) => engine.evaluate(f),
    }
    .expect("benchmark program runs")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Wall time of `toy` with `input` on stdin, to exit.
fn process(args: &[&str], input: &str) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_toy"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("toy starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let status = child.wait().expect("toy exits");
    assert!(status.success());
    start.elapsed()
}

fn main() {
    let quick = std::env::var_os("TOY_BENCH_QUICK").is_some();
    let reps = if quick { 3 } else { 15 };
    println!("{:<52} {:>14}", "benchmark", "median");

    for (label, args, input) in [
        (
            "process start to exit, empty input (eager)",
            &["--engine=eager"][..],
            "",
        ),
        (
            "process start to first result `1;` (eager)",
            &["--engine=eager"][..],
            "1;\n",
        ),
        (
            "process start to first result `1;` (interp)",
            &["--engine=interp"][..],
            "1;\n",
        ),
    ] {
        let t = median((0..reps).map(|_| process(args, input)).collect());
        println!("{label:<52} {:>14}", ms(t));
    }

    // Per compiled small function, by phase.
    let n = if quick { 50 } else { 500 };
    for opt in [OptLevel::Tutorial, OptLevel::O0] {
        let mut jit = EagerJit::new(opt).expect("JIT");
        let defs: String = (0..n)
            .map(|i| format!("def f{i}(x) x * {i} + 1;\n"))
            .collect();
        jit.timings = Timings::default();
        for item in items(&defs) {
            feed(&mut jit, item);
        }
        let t = jit.timings;
        let per = |d: Duration| d / t.count.max(1);
        println!(
            "{:<52} {:>14}",
            format!("compile small function ({opt:?}): total"),
            us(per(t.irgen + t.optimize + t.codegen + t.link))
        );
        for (phase, d) in [
            ("IR gen", t.irgen),
            ("optimize", t.optimize),
            ("codegen", t.codegen),
            ("link", t.link),
        ] {
            println!("{:<52} {:>14}", format!("  {phase}"), us(per(d)));
        }
    }

    // fib(30): the definition is compiled before timing; each timed run includes
    // compiling the one-call top-level expression (see the `1;` row for that cost).
    let calls = if quick { 3 } else { 7 };
    let program = format!(
        "def fib(x) if x < 3 then 1 else fib(x-1) + fib(x-2);\n{}",
        "fib(30);\n".repeat(calls)
    );
    let mut engines: Vec<(&str, Box<dyn Engine>)> = vec![
        (
            "eager, tutorial passes",
            Box::new(EagerJit::new(OptLevel::Tutorial).expect("JIT")),
        ),
        (
            "eager, -O0",
            Box::new(EagerJit::new(OptLevel::O0).expect("JIT")),
        ),
        (
            "eager, -O2",
            Box::new(EagerJit::new(OptLevel::O2).expect("JIT")),
        ),
        ("interp", Box::new(Interpreter::new())),
    ];
    let mut baseline = None;
    for (label, engine) in &mut engines {
        let mut calls = items(&program).into_iter();
        feed(&mut **engine, calls.next().expect("the definition"));
        let one = items("1;").pop().expect("item");
        let start = Instant::now();
        feed(&mut **engine, one);
        let round_trip = start.elapsed();
        let t = median(
            calls
                .map(|call| {
                    let start = Instant::now();
                    assert_eq!(feed(&mut **engine, call), 832040.0);
                    start.elapsed()
                })
                .collect(),
        );
        let base = *baseline.get_or_insert(t);
        println!(
            "{:<52} {:>14}  ({:.2}x the first row; `1;` takes {})",
            format!("fib(30), {label}"),
            ms(t),
            t.as_secs_f64() / base.as_secs_f64(),
            us(round_trip)
        );
    }
}
