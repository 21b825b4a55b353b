// ANCHOR: head
//! The host's functions that JIT'd code may call: `extern "C"`, so that compiled
//! code can call them with the platform's C calling convention.

use std::cell::RefCell;
use std::io::Write;

use crate::interp::format_f;
// ANCHOR_END: head

// ANCHOR: capture
thread_local! {
    /// Where the natives write: standard output, unless a test captures it (the
    /// JIT'd code runs on the thread that calls it, so a thread's capture sees it).
    static CAPTURE: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Writes `bytes` where the natives write. A failed write is dropped: a panic must
/// not unwind into JIT'd frames.
// ANCHOR: pub_write
pub fn write(bytes: &[u8]) {
    CAPTURE.with_borrow_mut(|capture| match capture {
        Some(buffer) => buffer.extend_from_slice(bytes),
        None => {
            let _ = std::io::stdout().write_all(bytes);
        }
    });
}
// ANCHOR_END: pub_write

/// Runs `f` with the natives' output captured; returns `f`'s result and the output.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<u8>) {
    CAPTURE.set(Some(Vec::new()));
    let result = f();
    (result, CAPTURE.take().unwrap_or_default())
}
// ANCHOR_END: capture

// ANCHOR: take_output
/// What the natives wrote since the last call, while `capture` is in effect.
pub fn take_output() -> Vec<u8> {
    CAPTURE.with_borrow_mut(|capture| capture.as_mut().map(std::mem::take).unwrap_or_default())
}
// ANCHOR_END: take_output

// ANCHOR: output
/// `putchard(c)`: writes the byte `c` to standard output, returns 0.
extern "C" fn putchard(c: f64) -> f64 {
    // ANCHOR: putchard_room
    // SAFETY: nothing is owned yet; the frames above are JIT'd code's.
    unsafe { crate::escape::ensure_room() };
    // ANCHOR_END: putchard_room
    write(&[c as i32 as u8]);
    0.0
}

/// `printd(x)`: writes `x` as C's `%f` and a newline, returns 0.
extern "C" fn printd(x: f64) -> f64 {
    // ANCHOR: printd_room
    // SAFETY: as in `putchard`: before `format!` makes a string to drop.
    unsafe { crate::escape::ensure_room() };
    // ANCHOR_END: printd_room
    write(format!("{}\n", format_f(x)).as_bytes());
    0.0
}
// ANCHOR_END: output

// ANCHOR: crash
/// `crash(x)`: a native with a bug, to crash on demand: it aborts the process, as a
/// failed assertion in C code would.
extern "C" fn crash(_: f64) -> f64 {
    std::process::abort()
}
// ANCHOR_END: crash

// ANCHOR: math
/// C-callable wrappers of Rust's `f64` methods, which call libm's functions.
macro_rules! unary {
    ($($name:ident = $method:ident),*) => {
        $(extern "C" fn $name(x: f64) -> f64 { x.$method() })*
    };
}
unary!(
    sin = sin,
    cos = cos,
    tan = tan,
    atan = atan,
    exp = exp,
    log = ln
);
unary!(sqrt = sqrt, fabs = abs, floor = floor);

extern "C" fn pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

extern "C" fn atan2(y: f64, x: f64) -> f64 {
    y.atan2(x)
}
// ANCHOR_END: math

// ANCHOR: table
/// A native's number of parameters and its address.
pub type Native = (usize, usize);

/// The native named `name`, if there is one: the same names as the interpreter's.
pub fn lookup(name: &str) -> Option<Native> {
    let unary = |f: extern "C" fn(f64) -> f64| Some((1, f as usize));
    let binary = |f: extern "C" fn(f64, f64) -> f64| Some((2, f as usize));
    match name {
        "putchard" => unary(putchard),
        "printd" => unary(printd),
        "sin" => unary(sin),
        "cos" => unary(cos),
        "tan" => unary(tan),
        "atan" => unary(atan),
        "exp" => unary(exp),
        "log" => unary(log),
        "sqrt" => unary(sqrt),
        "fabs" => unary(fabs),
        "floor" => unary(floor),
        "pow" => binary(pow),
        "atan2" => binary(atan2),
        // ANCHOR: crash_arm
        "crash" => unary(crash),
        // ANCHOR_END: crash_arm
        _ => None,
    }
}
// ANCHOR_END: table
