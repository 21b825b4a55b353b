// ANCHOR: head
//! `--bench`: times the JIT on programs of its own, each the median of several
//! runs after a warm-up, and prints one line per measurement.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use inkwell::context::Context;

use crate::ast::Item;
use crate::interp::Interpreter;
use crate::jit::Jit;
use crate::{lexer, parser};
// ANCHOR_END: head

// ANCHOR: median
/// Runs `f` `warmup` times untimed, then `runs` times timed, and returns the
/// median time of one run.
pub fn median(warmup: usize, runs: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..warmup {
        f();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}
// ANCHOR_END: median

// ANCHOR: items
/// The items of `text`, which must parse.
fn items(text: &str) -> Result<Vec<Item>, String> {
    let results = parser::parse(text, &lexer::lex(text)).into_iter();
    results
        .map(|item| item.map_err(|(err, _)| err.to_string()))
        .collect()
}

/// `def f0(x) x + 0;` to `def fN-1(x) x + N-1;`, the program of the laziness test.
pub fn definitions(n: usize) -> String {
    (0..n).map(|i| format!("def f{i}(x) x + {i};\n")).collect()
}

/// A JIT that has read `items`, in `context`.
fn jit_with<'ctx>(context: &'ctx Context, items: &[Item]) -> Result<Jit<'ctx>, String> {
    let mut jit = Jit::new(context, true).map_err(|err| err.to_string())?;
    for item in items {
        jit.item(item).map_err(|err| err.to_string())?;
    }
    Ok(jit)
}
// ANCHOR_END: items

// ANCHOR: laziness
/// 1000 definitions and one call, lazily (one function compiled) and with every
/// function compiled up front, as an eager JIT would.
fn laziness() -> Result<(), String> {
    let program = items(&definitions(1000))?;
    let call = items("f7(1);")?;
    let lazy = median(2, 11, || {
        let context = Context::create();
        let mut jit = jit_with(&context, &program).expect("the program compiles");
        black_box(jit.item(&call[0]).expect("f7(1) runs"));
    });
    report("1000 definitions, one call, lazy", lazy.as_secs_f64());
    let eager = median(1, 5, || {
        let context = Context::create();
        let mut jit = jit_with(&context, &program).expect("the program compiles");
        for id in 0..program.len() {
            jit.resolve(id).expect("each function compiles");
        }
        black_box(jit.item(&call[0]).expect("f7(1) runs"));
    });
    report(
        "1000 definitions, one call, all compiled",
        eager.as_secs_f64(),
    );
    Ok(())
}
// ANCHOR_END: laziness

// ANCHOR: calls
/// How many calls one timed run of a call benchmark makes.
const CALLS: u32 = 10_000_000;

/// One call through a function's stub, and one straight to its code.
fn calls() -> Result<(), String> {
    let context = Context::create();
    let mut jit = jit_with(&context, &items("def id(x) x;")?)?;
    let (stub, code) = jit.addresses("id").map_err(|err| err.to_string())?;
    for (what, address) in [("through the stub", stub), ("direct", code)] {
        // SAFETY: both addresses run `id`, compiled: a function of one double
        // that returns it, calling nothing, which lives as long as `jit`.
        let f: extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(address) };
        let time = median(2, 11, || {
            for i in 0..CALLS {
                black_box(f(black_box(f64::from(i))));
            }
        });
        let one = time.as_secs_f64() / f64::from(CALLS);
        report(&format!("a call of `id`, {what}"), one);
    }
    Ok(())
}
// ANCHOR_END: calls

// ANCHOR: fib
/// `fib(25)` in the interpreter, and in the JIT: the whole item (compiling the
/// expression, running it) and the compiled `fib` alone.
fn fib() -> Result<(), String> {
    const FIB: &str = "def fib(n) if n < 2 then n else fib(n - 1) + fib(n - 2);";
    let (program, call) = (items(FIB)?, items("fib(25);")?);
    let (Item::Def(proto, body), Item::Expr(expr)) = (&program[0], &call[0]) else {
        return Err("not a definition and an expression".into());
    };
    let mut interpreter = Interpreter::new(std::io::sink());
    let defined = interpreter.define(proto.clone(), body.clone());
    defined.map_err(|(err, _)| err.to_string())?;
    let time = median(1, 5, || {
        black_box(interpreter.evaluate(expr).expect("fib(25) runs"));
    });
    report("fib(25), interpreter", time.as_secs_f64());
    let context = Context::create();
    let mut jit = jit_with(&context, &program)?;
    let time = median(2, 11, || {
        black_box(jit.item(&call[0]).expect("fib(25) runs"));
    });
    report("fib(25), JIT, the item", time.as_secs_f64());
    let (_, code) = jit.addresses("fib").map_err(|err| err.to_string())?;
    // SAFETY: `fib` is compiled, and its calls of itself go through its stub,
    // which points at the same code now: no first call is left to resolve.
    let fib: extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(code) };
    let time = median(2, 11, || {
        black_box(fib(black_box(25.0)));
    });
    report("fib(25), JIT, the call alone", time.as_secs_f64());
    Ok(())
}
// ANCHOR_END: fib

// ANCHOR: run
/// Prints `[bench] WHAT: TIME`, `seconds` in the unit that suits it.
fn report(what: &str, seconds: f64) {
    let ns = seconds * 1e9;
    let time = match ns {
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{ns:.2} ns"),
    };
    println!("[bench] {what}: {time}");
}

/// Runs every benchmark, in this process.
pub fn run() -> ExitCode {
    for bench in [laziness, calls, fib] {
        if let Err(err) = bench() {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
// ANCHOR_END: run

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_run() {
        // Two warm-up runs, then five timed ones of 1 to 9 ms, in no order.
        let mut sleeps = [0u64, 0, 5, 1, 9, 3, 7].into_iter();
        let time = median(2, 5, || {
            std::thread::sleep(Duration::from_millis(sleeps.next().unwrap()));
        });
        assert_eq!(sleeps.next(), None, "every run ran");
        // A sleep is never shorter than asked (it may be longer on a busy machine):
        // the middle of the five is at least 5 ms.
        assert!(time >= Duration::from_millis(5), "{time:?}");
    }

    #[test]
    fn a_stub_and_the_code_compute_the_same() {
        let context = Context::create();
        let mut jit = jit_with(&context, &items("def id(x) x;").unwrap()).unwrap();
        let (stub, code) = jit.addresses("id").unwrap();
        assert_ne!(stub, code);
        for address in [stub, code] {
            // SAFETY: as in `calls`.
            let f: extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(address) };
            assert_eq!(f(2.5), 2.5);
        }
    }
}
// ANCHOR_END: tests
