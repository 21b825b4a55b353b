//! `cargo bench`: start-up, laziness, per-function compile phases, stub overhead and
//! run time, as a table, with the targets alongside.
//!
//! Not a test: it reports figures (medians of several runs) and checks nothing.
//! `TOY_BENCH_QUICK=1` runs fewer repetitions and smaller sizes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use toy::codegen::{OptLevel, Timings};
use toy::engine::Engine;
use toy::frontend::ast::Item;
use toy::interp::Interpreter;
use toy::jit::{Jit, JitConfig, Strategy, Tier};
use toy::session::{Outcome, Session};

/// Counts live heap bytes, to report what a definition costs in memory.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Counting is off while timing (an atomic add per allocation would distort it).
static COUNTING: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: same layout contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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

fn jit(strategy: Strategy, opt: OptLevel) -> Jit {
    Jit::in_process(JitConfig::new(strategy, opt)).expect("JIT")
}

fn row(label: &str, value: String, note: &str) {
    println!("{label:<56} {value:>12}  {note}");
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
    println!("{:<56} {:>12}", "benchmark", "median");

    for (label, args, input) in [
        ("process start to exit, empty input", &[][..], ""),
        ("process start to first result `1;` (lazy)", &[][..], "1;\n"),
        (
            "process start to first result `1;` (interp)",
            &["--engine=interp"][..],
            "1;\n",
        ),
    ] {
        let t = median((0..reps).map(|_| process(args, input)).collect());
        row(label, ms(t), "");
    }

    definitions(quick);
    first_calls(quick);
    stub_overhead(quick);
    fib(quick);
    remote(quick);
}

/// The remote executor (over pipes) against the in-process one, in the same run.
fn remote(quick: bool) {
    use toy::epc::remote::{Remote, Transport};
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_toy-executor"));
    let remote = || {
        let executor = Remote::new(Transport::Spawn(binary.clone())).expect("executor");
        let config = JitConfig::new(Strategy::Lazy, OptLevel::Tutorial);
        Jit::new(config, Box::new(executor)).expect("JIT")
    };
    let local = || jit(Strategy::Lazy, OptLevel::Tutorial);

    // A run of code already loaded: `xorps xmm0, xmm0; ret`.
    let reps = if quick { 200 } else { 2000 };
    let run_rtt = |mut jit: Jit| {
        let loader = jit.executor().loader();
        let at = loader.reserve(16, 16).expect("reserve");
        loader.write(at, &[0x0f, 0x57, 0xc0, 0xc3]).expect("write");
        loader.finalize(at, 16).expect("finalize");
        median(
            (0..reps)
                .map(|_| {
                    let start = Instant::now();
                    let result = jit.executor().run(at, &mut |_, _| None).expect("runs");
                    assert_eq!(result, Ok(0.0));
                    start.elapsed()
                })
                .collect(),
        )
    };
    let (local_run, remote_run) = (run_rtt(local()), run_rtt(remote()));
    row(
        "run loaded code, remote (pipes)",
        us(remote_run),
        &format!(
            "in-process {}: round trip {} (target <= 100 µs)",
            us(local_run),
            us(remote_run - local_run)
        ),
    );

    // An empty top-level expression: compile, load, run, release.
    let evals = if quick { 30 } else { 200 };
    let empty = |mut jit: Jit| {
        median(
            (0..evals)
                .map(|_| {
                    let item = items("0;").pop().expect("item");
                    let start = Instant::now();
                    feed(&mut jit, item);
                    start.elapsed()
                })
                .collect(),
        )
    };
    let (local_empty, remote_empty) = (empty(local()), empty(remote()));
    row(
        "empty top-level expression `0;`, remote",
        us(remote_empty),
        &format!(
            "in-process {}: +{} for the protocol",
            us(local_empty),
            us(remote_empty.saturating_sub(local_empty))
        ),
    );

    // First calls: each evaluation `fI(1);` compiles fI in the executor's resolver.
    let n = if quick { 30 } else { 200 };
    let defs: String = (0..n)
        .map(|i| format!("def f{i}(x) x * {i} + 1;\n"))
        .collect();
    let first_calls = |mut jit: Jit| {
        for item in items(&defs) {
            feed(&mut jit, item);
        }
        median(
            (0..n)
                .map(|i| {
                    let call = items(&format!("{defs}f{i}(1);")).pop().expect("call");
                    let start = Instant::now();
                    feed(&mut jit, call);
                    start.elapsed()
                })
                .collect(),
        )
    };
    let (local_first, remote_first) = (first_calls(local()), first_calls(remote()));
    row(
        "first call of a small function, remote (whole `fI(1);`)",
        us(remote_first),
        &format!(
            "in-process {}: {:.2}x (target <= 1.3x)",
            us(local_first),
            remote_first.as_secs_f64() / local_first.as_secs_f64()
        ),
    );

    // fib(30) runs natively in the executor.
    let calls = if quick { 3 } else { 7 };
    let fib = |mut jit: Jit| {
        let program = format!(
            "def fib(x) if x < 3 then 1 else fib(x-1) + fib(x-2);\n{}",
            "fib(30);\n".repeat(calls + 1)
        );
        let mut items = items(&program).into_iter();
        feed(&mut jit, items.next().expect("def"));
        feed(&mut jit, items.next().expect("warm-up"));
        median(
            items
                .map(|call| {
                    let start = Instant::now();
                    assert_eq!(feed(&mut jit, call), 832040.0);
                    start.elapsed()
                })
                .collect(),
        )
    };
    let (local_fib, remote_fib) = (fib(local()), fib(remote()));
    row(
        "fib(30), remote",
        ms(remote_fib),
        &format!(
            "in-process {}: {:.2}x (target about 1.0x)",
            ms(local_fib),
            remote_fib.as_secs_f64() / local_fib.as_secs_f64()
        ),
    );
}

/// N definitions and one call, through a whole session (parse, resolve, define):
/// lazy against eager, and the cost of one uncompiled definition.
fn definitions(quick: bool) {
    let n = if quick { 1000 } else { 10_000 };
    let program: String = (0..n)
        .map(|i| format!("def f{i}(x) x * {i} + 1;\n"))
        .collect();
    // Returns (total, the definitions alone, stats, heap growth of the definitions).
    let run = |strategy, count: bool| {
        let mut session = Session::new(Some(Box::new(jit(strategy, OptLevel::Tutorial))));
        let mut value = None;
        let mut on = |_: &_, result| {
            if let Ok(Outcome::Evaluated(v)) = result {
                value = Some(v);
            }
            std::ops::ControlFlow::Continue(())
        };
        COUNTING.store(count, Ordering::Relaxed);
        let heap = LIVE.load(Ordering::Relaxed);
        let start = Instant::now();
        let defs = session.sources_mut().add("bench", &program);
        session.run(defs, 0, true, &mut on);
        let defined = start.elapsed();
        let heap = LIVE.load(Ordering::Relaxed) - heap;
        COUNTING.store(false, Ordering::Relaxed);
        let call = session.sources_mut().add("call", "f7(2);\n");
        session.run(call, 0, true, &mut on);
        let total = start.elapsed();
        assert_eq!(value, Some(15.0));
        let stats = session.engine().and_then(|e| e.stats()).expect("stats");
        (total, defined, stats, heap)
    };
    let lazy_reps = if quick { 3 } else { 7 };
    let mut lazy: Vec<_> = (0..lazy_reps).map(|_| run(Strategy::Lazy, false)).collect();
    lazy.sort_by_key(|r| r.0);
    let (lazy_t, defined, stats, _) = lazy.swap_remove(lazy.len() / 2);
    let (_, _, _, heap) = run(Strategy::Lazy, true);
    // The front end alone: a session without an engine (lex, parse, resolve).
    let mut samples = Vec::new();
    for _ in 0..lazy_reps {
        let mut session = Session::new(None);
        let source = session.sources_mut().add("bench", &program);
        let start = Instant::now();
        session.run(source, 0, true, &mut |_, _| {
            std::ops::ControlFlow::Continue(())
        });
        samples.push(start.elapsed());
    }
    let front_end = median(samples);

    // The engine alone: define pre-resolved items.
    let items = items(&program);
    let mut samples = Vec::new();
    for _ in 0..lazy_reps {
        let mut jit = jit(Strategy::Lazy, OptLevel::Tutorial);
        let start = Instant::now();
        for item in items.iter().take(n as usize) {
            let Item::Def(f) = item else { continue };
            jit.define(std::sync::Arc::clone(f)).expect("defines");
        }
        samples.push(start.elapsed());
    }
    let engine_only = median(samples);
    let (eager_t, _, _, _) = run(Strategy::Eager, false);
    row(
        &format!("{n} definitions + one call, eager"),
        ms(eager_t),
        "",
    );
    row(
        &format!("{n} definitions + one call, lazy"),
        ms(lazy_t),
        &format!(
            "{:.0}x faster than eager (target >= 20x); {} of {} compiled",
            eager_t.as_secs_f64() / lazy_t.as_secs_f64(),
            stats.compiled,
            stats.functions
        ),
    );
    row(
        "  the call (first use of LLVM, compiles f7 and the call)",
        ms(lazy_t - defined),
        "",
    );
    row(
        "  per definition (lex + parse + resolve + define)",
        us(defined / n),
        "target <= 2 µs",
    );

    row(
        "  per definition, front end only (lex, parse, resolve)",
        us(front_end / n),
        "",
    );
    row("  per definition, JIT engine only", us(engine_only / n), "");
    row(
        "  executable memory per uncompiled function",
        format!("{:.1} B", stats.stub_bytes as f64 / stats.functions as f64),
        "stub + trampoline; target <= 64 B",
    );
    row(
        "  heap per definition (source, AST, tables)",
        format!("{:.0} B", heap as f64 / f64::from(n)),
        "",
    );
}

/// The first call of a small function: the lazy compile's phases, per function.
fn first_calls(quick: bool) {
    let n = if quick { 50 } else { 300 };
    let defs: String = (0..n)
        .map(|i| format!("def f{i}(x) x * {i} + 1;\n"))
        .collect();
    for opt in [OptLevel::Tutorial, OptLevel::O0] {
        let mut jit = jit(Strategy::Lazy, opt);
        for item in items(&defs) {
            feed(&mut jit, item);
        }
        let mut totals = Vec::new();
        let mut phases = Timings::default();
        for i in 0..n {
            let call = items(&format!("{defs}f{i}(1);")).pop().expect("call");
            let before = jit.stats().expect("stats").timings;
            feed(&mut jit, call);
            let after = jit.stats().expect("stats").timings;
            assert_eq!(after.count, before.count + 1, "one compile per first call");
            let d = |a: Duration, b: Duration| a - b;
            let one = Timings {
                irgen: d(after.irgen, before.irgen),
                optimize: d(after.optimize, before.optimize),
                codegen: d(after.codegen, before.codegen),
                link: d(after.link, before.link),
                count: 1,
            };
            totals.push(one.irgen + one.optimize + one.codegen + one.link);
            phases.irgen += one.irgen;
            phases.optimize += one.optimize;
            phases.codegen += one.codegen;
            phases.link += one.link;
        }
        let target = match opt {
            OptLevel::O0 => "target <= 0.4 ms",
            _ => "target <= 1.0 ms",
        };
        row(
            &format!("first call of a small function ({opt:?}): compile"),
            us(median(totals)),
            target,
        );
        let per = |d: Duration| us(d / n);
        row(
            "  mean IR gen / optimize / codegen / link",
            String::new(),
            &format!(
                "{} / {} / {} / {}",
                per(phases.irgen),
                per(phases.optimize),
                per(phases.codegen),
                per(phases.link)
            ),
        );
    }
}

/// A hot loop calling a JIT'd function through its stub, and calling its code directly.
fn stub_overhead(quick: bool) {
    let calls: u32 = if quick { 20_000_000 } else { 200_000_000 };
    // Tier 1 only: tier-0 code counts its calls and, every `POLL_CALLS`, enters the
    // resolver to ask for a tier-up, which this bare run loop declines.
    let config = JitConfig {
        tier: Tier::One,
        ..JitConfig::new(Strategy::Lazy, OptLevel::Tutorial)
    };
    let mut jit = Jit::in_process(config).expect("JIT");
    for item in items("def id(x) x; id(1);") {
        feed(&mut jit, item);
    }
    let (stub, code) = jit.addresses("id").expect("id exists");
    let code = code.expect("compiled by its first call");
    // push rbx; mov ebx, calls; L: xorps xmm0, xmm0; call TARGET; dec ebx; jnz L;
    // pop rbx; ret
    let driver = |jit: &mut Jit, target: u64| {
        let loader = jit.executor().loader();
        let at = loader.reserve(32, 16).expect("reserve");
        let mut bytes = vec![0x53, 0xbb];
        bytes.extend_from_slice(&calls.to_le_bytes());
        bytes.extend_from_slice(&[0x0f, 0x57, 0xc0, 0xe8]);
        let rel = target.wrapping_sub(at + 14) as i64;
        let rel = i32::try_from(rel).expect("within the JIT region");
        bytes.extend_from_slice(&rel.to_le_bytes());
        bytes.extend_from_slice(&[0xff, 0xcb, 0x75, 0xf4, 0x5b, 0xc3]);
        loader.write(at, &bytes).expect("write");
        loader.finalize(at, 32).expect("finalize");
        at
    };
    let through_stub = driver(&mut jit, stub);
    let direct = driver(&mut jit, code);
    let mut time = |addr| {
        let start = Instant::now();
        let result = jit.executor().run(addr, &mut |_, _| None).expect("runs");
        assert_eq!(result, Ok(0.0));
        start.elapsed().as_secs_f64() * 1e9 / f64::from(calls)
    };
    let reps = if quick { 3 } else { 7 };
    let mut stub_ns = f64::MAX;
    let mut direct_ns = f64::MAX;
    for _ in 0..reps {
        stub_ns = stub_ns.min(time(through_stub));
        direct_ns = direct_ns.min(time(direct));
    }
    row(
        "call through a stub, hot loop (best run)",
        format!("{stub_ns:.3} ns"),
        &format!(
            "direct call {direct_ns:.3} ns: {:+.3} ns apart (target <= 1 ns)",
            stub_ns - direct_ns
        ),
    );
}

/// fib(30): each timed run includes compiling the one-call top-level expression
/// (see the `1;` figure); the lazy JIT compiles fib in a warm-up call first.
fn fib(quick: bool) {
    let calls = if quick { 3 } else { 7 };
    let program = format!(
        "def fib(x) if x < 3 then 1 else fib(x-1) + fib(x-2);\n{}",
        "fib(30);\n".repeat(calls + 1)
    );
    let mut engines: Vec<(&str, Box<dyn Engine>)> = vec![
        (
            "lazy, tutorial passes",
            Box::new(jit(Strategy::Lazy, OptLevel::Tutorial)),
        ),
        (
            "eager, tutorial passes",
            Box::new(jit(Strategy::Eager, OptLevel::Tutorial)),
        ),
        ("lazy, -O0", Box::new(jit(Strategy::Lazy, OptLevel::O0))),
        ("lazy, -O2", Box::new(jit(Strategy::Lazy, OptLevel::O2))),
        ("interp", Box::new(Interpreter::new())),
    ];
    let mut baseline = None;
    for (label, engine) in &mut engines {
        let mut calls = items(&program).into_iter();
        feed(&mut **engine, calls.next().expect("the definition"));
        feed(&mut **engine, calls.next().expect("the warm-up call"));
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
        row(
            &format!("fib(30), {label}"),
            ms(t),
            &format!(
                "{:.2}x the first; `1;` takes {}",
                t.as_secs_f64() / base.as_secs_f64(),
                us(round_trip)
            ),
        );
    }
}
