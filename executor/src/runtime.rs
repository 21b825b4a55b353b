//! The runtime that Kaleidoscope programs call: `putchard`, `printd`, C math functions;
//! the program's standard output is `output.rs`'s ([`write()`], [`flush`], re-exported).

use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::OnceLock;
use std::sync::atomic::AtomicU32;

pub use crate::output::{Sink, flush, line_buffered, set_sink, take_write_error, write};

/// Formats a number as C's `printf("%f")` does (`inf`, `-0.000000`), except that every
/// NaN is `nan`: its sign bit depends on whether LLVM folded it at compile time
/// (positive) or the CPU computed it (negative), which no program should see.
pub fn format_f(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    let mut buf = [0u8; 400];
    // SAFETY: the format string is a valid C string taking exactly one double, and
    // snprintf never writes more than `buf.len()` bytes (including the NUL).
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut c_char,
            buf.len(),
            c"%f".as_ptr(),
            x,
        )
    };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

// ANCHOR: runtime
/// `putchard(c)`: writes the byte `c` to stdout and returns 0.
pub extern "C" fn putchard(c: f64) -> f64 {
    crate::entry::poll_interrupt();
    // C's `(char)c` for in-range values; out-of-range values saturate, then wrap.
    crate::output::write_byte((c as i32) as u8);
    0.0
}

/// `printd(x)`: prints `x` as `"%f\n"` and returns 0.
pub extern "C" fn printd(x: f64) -> f64 {
    crate::entry::poll_interrupt();
    let mut text = format_f(x);
    text.push('\n');
    write(text.as_bytes());
    0.0
}
// ANCHOR_END: runtime

/// Most parameters an external function may have.
pub const MAX_EXTERN_ARGS: usize = 8;

/// A resolved external function: a C function of doubles returning a double.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternFn {
    addr: usize,
    /// Its number of parameters, from [`EXTERNS`].
    pub arity: usize,
}

/// The functions the runtime itself provides.
pub fn builtins() -> [(&'static str, usize, usize); 2] {
    [
        (
            "putchard",
            putchard as extern "C" fn(f64) -> f64 as usize,
            1,
        ),
        ("printd", printd as extern "C" fn(f64) -> f64 as usize, 1),
    ]
}

// ANCHOR: externs
/// Every function an `extern` may name, with its number of parameters: the runtime's
/// and C math functions that take only doubles and return a double. Anything else
/// (data such as `signgam`, functions taking ints or pointers such as `ldexp`, `frexp`,
/// `jn`, or touching the floating-point environment) would be called with the wrong
/// signature, so it is not reachable through `extern`.
pub const EXTERNS: &[(&str, usize)] = &[
    ("putchard", 1),
    ("printd", 1),
    // Trigonometric and hyperbolic.
    ("sin", 1),
    ("cos", 1),
    ("tan", 1),
    ("asin", 1),
    ("acos", 1),
    ("atan", 1),
    ("atan2", 2),
    ("sinh", 1),
    ("cosh", 1),
    ("tanh", 1),
    ("asinh", 1),
    ("acosh", 1),
    ("atanh", 1),
    // Exponentials, logarithms and powers.
    ("exp", 1),
    ("exp2", 1),
    ("expm1", 1),
    ("log", 1),
    ("log2", 1),
    ("log10", 1),
    ("log1p", 1),
    ("pow", 2),
    ("sqrt", 1),
    ("cbrt", 1),
    ("hypot", 2),
    // Rounding, remainders and the like.
    ("fabs", 1),
    ("floor", 1),
    ("ceil", 1),
    ("round", 1),
    ("trunc", 1),
    ("rint", 1),
    ("nearbyint", 1),
    ("fmod", 2),
    ("remainder", 2),
    // Not `copysign`: `copysign(1, x)` would show the sign bit of a NaN, which depends
    // on whether LLVM folded it (positive) or the CPU computed it (negative).
    ("fdim", 2),
    ("fmin", 2),
    ("fmax", 2),
    ("fma", 3),
    ("nextafter", 2),
    // Special functions (`lgamma` also stores the sign in `signgam`: harmless).
    ("erf", 1),
    ("erfc", 1),
    ("tgamma", 1),
    ("lgamma", 1),
    ("j0", 1),
    ("j1", 1),
    ("y0", 1),
    ("y1", 1),
];
// ANCHOR_END: externs

/// The number of parameters of `name` if an `extern` may name it (see [`EXTERNS`]).
pub fn extern_arity(name: &str) -> Option<usize> {
    EXTERNS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, arity)| arity)
}

/// Looks up an external function: one of [`EXTERNS`], a runtime function or a
/// function of the C math library. Nothing else is reachable (`exit`, `system`,
/// `signgam`, `frexp`, ...).
pub fn lookup(name: &str) -> Option<ExternFn> {
    let arity = extern_arity(name)?;
    let addr = match builtins().into_iter().find(|(n, _, _)| *n == name) {
        Some((_, addr, _)) => addr,
        None => libm_symbol(name)?,
    };
    Some(ExternFn { addr, arity })
}

/// The symbol naming `CALL_COUNTERS` for the JIT.
pub const CALL_COUNTERS_SYMBOL: &str = "toy_call_counters";
/// Globals (by id) that can have a call counter.
pub const CALL_COUNTERS_LEN: usize = 1 << 20;
/// One call counter per global id, incremented by the JIT's tier-0 code (only ever
/// from the thread running JIT'd code; the pages are untouched until used).
static CALL_COUNTERS: [AtomicU32; CALL_COUNTERS_LEN] =
    [const { AtomicU32::new(0) }; CALL_COUNTERS_LEN];

/// Looks up any symbol of the process or the C math library, for calls that LLVM
/// introduces itself (`memset`, `sincos`, ...): the call counters and runtime
/// functions first.
pub fn lookup_symbol(name: &str) -> Option<u64> {
    if name == CALL_COUNTERS_SYMBOL {
        return Some(CALL_COUNTERS.as_ptr() as u64);
    }
    if let Some((_, addr, _)) = builtins().into_iter().find(|(n, _, _)| *n == name) {
        return Some(addr as u64);
    }
    let cname = CString::new(name).ok()?;
    // SAFETY: dlsym on the global scope with a valid C string.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, cname.as_ptr()) };
    if !sym.is_null() {
        return Some(sym as u64);
    }
    libm_handle().and_then(|handle| {
        // SAFETY: a valid handle from dlopen and a valid C string.
        let sym = unsafe { libc::dlsym(handle as *mut c_void, cname.as_ptr()) };
        (!sym.is_null()).then_some(sym as u64)
    })
}

fn libm_handle() -> Option<usize> {
    static LIBM: OnceLock<usize> = OnceLock::new();
    let handle = *LIBM.get_or_init(|| {
        // SAFETY: dlopen with a valid C string; libm has no initializers with effects.
        unsafe { libc::dlopen(c"libm.so.6".as_ptr(), libc::RTLD_NOW) as usize }
    });
    (handle != 0).then_some(handle)
}

fn libm_symbol(name: &str) -> Option<usize> {
    let handle = libm_handle()?;
    let cname = CString::new(name).ok()?;
    // SAFETY: a valid handle from dlopen and a valid C string.
    let sym = unsafe { libc::dlsym(handle as *mut c_void, cname.as_ptr()) };
    if sym.is_null() {
        return None;
    }
    // dlsym also searches libm's dependencies (libc): keep only libm's own symbols.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: `sym` is an address returned by dlsym and `info` is a valid out-pointer.
    if unsafe { libc::dladdr(sym, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr succeeded, so dli_fname points to a NUL-terminated path.
    let file = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy();
    let base = file.rsplit('/').next().unwrap_or(&file);
    base.starts_with("libm.").then_some(sym as usize)
}

impl ExternFn {
    /// The function's address.
    pub fn addr(&self) -> u64 {
        self.addr as u64
    }

    /// Calls the function. `args.len()` must be its arity (at most
    /// [`MAX_EXTERN_ARGS`]); otherwise this returns `None`.
    pub fn call(&self, args: &[f64]) -> Option<f64> {
        if self.arity != args.len() {
            return None;
        }
        type F0 = extern "C" fn() -> f64;
        type F1 = extern "C" fn(f64) -> f64;
        type F2 = extern "C" fn(f64, f64) -> f64;
        type F3 = extern "C" fn(f64, f64, f64) -> f64;
        type F4 = extern "C" fn(f64, f64, f64, f64) -> f64;
        type F5 = extern "C" fn(f64, f64, f64, f64, f64) -> f64;
        type F6 = extern "C" fn(f64, f64, f64, f64, f64, f64) -> f64;
        type F7 = extern "C" fn(f64, f64, f64, f64, f64, f64, f64) -> f64;
        type F8 = extern "C" fn(f64, f64, f64, f64, f64, f64, f64, f64) -> f64;
        let p = self.addr as *const ();
        // SAFETY: `addr` is a runtime function or a libm function of [`EXTERNS`] found
        // by dlsym: each takes exactly `arity` doubles (checked equal to `args.len()`
        // above) and returns a double.
        let result = unsafe {
            match *args {
                [] => std::mem::transmute::<*const (), F0>(p)(),
                [a] => std::mem::transmute::<*const (), F1>(p)(a),
                [a, b] => std::mem::transmute::<*const (), F2>(p)(a, b),
                [a, b, c] => std::mem::transmute::<*const (), F3>(p)(a, b, c),
                [a, b, c, d] => std::mem::transmute::<*const (), F4>(p)(a, b, c, d),
                [a, b, c, d, e] => std::mem::transmute::<*const (), F5>(p)(a, b, c, d, e),
                [a, b, c, d, e, f] => std::mem::transmute::<*const (), F6>(p)(a, b, c, d, e, f),
                [a, b, c, d, e, f, g] => {
                    std::mem::transmute::<*const (), F7>(p)(a, b, c, d, e, f, g)
                }
                [a, b, c, d, e, f, g, h] => {
                    std::mem::transmute::<*const (), F8>(p)(a, b, c, d, e, f, g, h)
                }
                _ => return None,
            }
        };
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_f_matches_c() {
        assert_eq!(format_f(1.0), "1.000000");
        assert_eq!(format_f(-0.0), "-0.000000");
        assert_eq!(format_f(1.0 / 3.0), "0.333333");
        assert_eq!(format_f(f64::INFINITY), "inf");
        assert_eq!(format_f(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_f(1e20), "100000000000000000000.000000");
        assert_eq!(format_f(f64::NAN), "nan");
        assert_eq!(format_f(-f64::NAN), "nan");
        assert_eq!(format_f(f64::MAX).len(), 316);
    }

    #[test]
    fn libm_functions_resolve_and_libc_ones_do_not() {
        let sin = lookup("sin").expect("sin resolves");
        assert_eq!(sin.arity, 1);
        assert_eq!(sin.call(&[0.0]), Some(0.0));
        assert_eq!(sin.call(&[0.0, 1.0]), None);
        let pow = lookup("pow").expect("pow resolves");
        assert_eq!(pow.call(&[2.0, 10.0]), Some(1024.0));
        assert!(lookup("exit").is_none());
        assert!(lookup("system").is_none());
        assert!(lookup("nosuchfunction").is_none());
        assert!(lookup("bad\0name").is_none());
    }

    #[test]
    fn runtime_functions_resolve_first() {
        let printd = lookup("printd").expect("printd resolves");
        assert_eq!(printd.arity, 1);
    }

    #[test]
    fn every_table_function_resolves_with_its_arity() {
        for &(name, arity) in EXTERNS {
            let f = lookup(name).unwrap_or_else(|| panic!("{name} does not resolve"));
            assert_eq!(f.arity, arity, "{name}");
            assert!(arity <= MAX_EXTERN_ARGS, "{name}");
        }
        let fma = lookup("fma").expect("fma resolves");
        assert_eq!(fma.call(&[2.0, 3.0, 4.0]), Some(10.0));
    }

    #[test]
    fn data_and_functions_of_other_types_do_not_resolve() {
        for name in [
            "signgam",
            "frexp",
            "modf",
            "sincos",
            "remquo",
            "fegetenv",
            "feholdexcept",
            "feupdateenv",
            "feenableexcept",
            "jn",
            "yn",
            "ldexp",
            "scalbn",
            "lgamma_r",
            "nan",
        ] {
            assert!(lookup(name).is_none(), "{name} resolves");
            assert_eq!(extern_arity(name), None, "{name}");
        }
    }
}
