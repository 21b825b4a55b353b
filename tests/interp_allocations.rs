//! The interpreter's hot path does not allocate per expression or per call: its
//! stacks grow with the recursion depth, never with the number of calls made.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use toy::engine::Engine;
use toy::frontend::ast::Item;
use toy::interp::Interpreter;
use toy::session::Session;

/// Counts the allocations of the thread that asked for it (the test harness runs
/// other threads at the same time).
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: no panic while the thread's locals are being torn down.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards to the system allocator with the caller's arguments,
// so the caller's preconditions are the system allocator's; counting touches only
// const-initialised thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: `layout` is the caller's, valid for `alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` was allocated by `System` (every allocation here is) with
        // `layout`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The value of the last top-level expression of `program` and how many allocations
/// its evaluation made, after the definitions before it (and a warm-up run of the
/// same expression, so that first-call checks are not counted).
fn allocations(program: &str) -> (f64, usize) {
    let mut interp = Interpreter::new();
    let mut exprs = Vec::new();
    for item in Session::resolve_program(program).expect("the program resolves") {
        match item {
            Item::Def(f) => interp.define(f).expect("defined"),
            Item::Extern(p) => interp.declare(p).expect("declared"),
            Item::Expr(f) => exprs.push(f),
        }
    }
    let expr = exprs.pop().expect("a top-level expression");
    interp.evaluate(expr.clone()).expect("the warm-up runs");
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let value = interp.evaluate(expr);
    COUNTING.with(|c| c.set(false));
    (value.expect("it runs"), ALLOCATIONS.with(Cell::get))
}

const PROGRAM: &str = "
    def binary| 5 (a b) if a then 1 else b;
    def unary!(v) if v then 0 else 1;
    def id(x y) x;
    def fib(n) if n < 3 then id(1, !0 | 0) else fib(n - 1) + fib(n - 2);
    def loop(n) var s = 0 in (for i = 0, i < n in s = s + id(i, 0)) + s;
";

#[test]
fn interpreter_allocations_do_not_grow_with_the_number_of_calls() {
    let (small, few) = allocations(&format!("{PROGRAM} fib(10);"));
    let (large, many) = allocations(&format!("{PROGRAM} fib(20);"));
    assert_eq!((small, large), (55.0, 6765.0));
    // fib(20) makes about 100 times the calls of fib(10) and recurses 10 levels
    // deeper: only the stacks' growth (a few doublings) may cost more allocations.
    assert!(
        many <= few + 12,
        "fib(10): {few} allocations, fib(20): {many}"
    );
    let (short, few) = allocations(&format!("{PROGRAM} loop(10);"));
    let (long, many) = allocations(&format!("{PROGRAM} loop(10000);"));
    assert_eq!((short, long), (55.0, 50_005_000.0));
    assert!(
        many <= few,
        "10 iterations: {few} allocations, 10,000: {many}"
    );
}
