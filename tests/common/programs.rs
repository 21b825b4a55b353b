//! A generator of random valid Kaleidoscope programs that terminate, for differential
//! testing (see `tests/differential.rs`).
//!
//! Programs are generated as *recipes* (proptest values, so they shrink) and printed
//! as source. A recipe refers to variables, functions and operators by index; printing
//! maps each index onto what is in scope at that point, so every recipe prints a
//! valid program, and a shrunk recipe still does.
//!
//! Termination by construction: `for` loops run a constant 1–3 times over a variable
//! that nothing assigns, and nest at most two deep; function `fI` calls only `fJ` with
//! `J > I` (defined later: forward references), so calls form a DAG; operator bodies
//! use only their operands; the one recursive function (a self tail call) takes a
//! constant depth.
//!
//! Two flavors: [`source`] uses everything toy accepts (forward references,
//! redefinitions, C math functions whose results depend on the sign of zero);
//! [`tutorial_source`] stays within what LLVM's C++ chapter 7 runs the same way (no
//! forward references, no redefinitions, no `fmax`/`fmin`, which its optimizer
//! rewrites ignoring the sign of zero), for comparing against it.
//!
//! [`hot`] goes on from a program's definitions with hot phases and redefinitions
//! between them, for testing inlining (see `tests/differential/hot.rs`).

use proptest::prelude::*;

pub mod hot;
mod source;

/// Binary operators the generator may define (with random precedences).
const BINARY: [char; 6] = ['%', '&', '|', '^', '@', '$'];
/// Unary operators it may define.
const UNARY: [char; 2] = ['!', '~'];

/// An expression recipe.
#[derive(Clone, Debug)]
pub enum E {
    /// A literal: the value is `n / 4`.
    Num(u8),
    /// A variable in scope (or a literal if none).
    Var(u8),
    /// A built-in or user binary operator.
    Bin(u8, Box<E>, Box<E>),
    /// A user unary operator (or just the operand if none).
    Un(u8, Box<E>),
    /// A call of a function that may be called here.
    Call(u8, Vec<E>),
    /// `if`.
    If(Box<E>, Box<E>, Box<E>),
    /// `for v = 0, v < trips in body` (1 to 3 trips).
    For(u8, Box<E>),
    /// `var a = init, b = init in body`.
    Let(Vec<E>, Box<E>),
    /// Assignment to an assignable variable.
    Set(u8, Box<E>),
    /// `printd(e)`.
    Print(Box<E>),
    /// `putchard(65 + n % 26)`.
    Put(u8),
    /// A call of a C math function (see [`MATH`]).
    Math(u8, Vec<E>),
}

/// The C math functions programs call: name, arity, and whether LLVM's C++ chapter 7
/// computes it as toy does (it lets LLVM rewrite `fmax`/`fmin` ignoring zero's sign).
const MATH: [(&str, u8, bool); 6] = [
    ("sqrt", 1, true),
    ("fabs", 1, true),
    ("floor", 1, true),
    ("fmod", 2, true),
    ("fmax", 2, false),
    ("fmin", 2, false),
];

/// A function: arity and body.
#[derive(Clone, Debug)]
pub struct Func {
    /// 0 to 10 parameters.
    pub arity: u8,
    /// Its body.
    pub body: E,
}

/// A whole program recipe.
#[derive(Clone, Debug)]
pub struct Prog {
    /// User binary operators: (which, precedence, body over `a` and `b`).
    pub binary: Vec<(u8, u8, E)>,
    /// User unary operators: (which, body over `v`).
    pub unary: Vec<(u8, E)>,
    /// Functions `f0`, `f1`, ... in definition order.
    pub funcs: Vec<Func>,
    /// The bounded recursive function's step (its body besides the depth test).
    pub rec: Option<E>,
    /// Top-level expressions, run after all definitions.
    pub tops: Vec<E>,
    /// Redefinitions (function index, new body), then the top-level expressions again.
    pub redefs: Vec<(u8, E)>,
    /// How deep the recursive function goes.
    pub rec_depth: u16,
}

/// Expression recipes.
pub fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        4 => any::<u8>().prop_map(E::Num),
        4 => any::<u8>().prop_map(E::Var),
        1 => any::<u8>().prop_map(E::Put),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        let boxed = inner.clone().prop_map(Box::new);
        prop_oneof![
            6 => (any::<u8>(), boxed.clone(), boxed.clone()).prop_map(|(o, a, b)| E::Bin(o, a, b)),
            2 => (any::<u8>(), boxed.clone()).prop_map(|(o, a)| E::Un(o, a)),
            3 => (any::<u8>(), prop::collection::vec(inner.clone(), 0..11))
                .prop_map(|(f, args)| E::Call(f, args)),
            2 => (boxed.clone(), boxed.clone(), boxed.clone()).prop_map(|(c, t, e)| E::If(c, t, e)),
            2 => (any::<u8>(), boxed.clone()).prop_map(|(n, b)| E::For(n, b)),
            2 => (prop::collection::vec(inner.clone(), 1..3), boxed.clone())
                .prop_map(|(inits, body)| E::Let(inits, body)),
            2 => (any::<u8>(), boxed.clone()).prop_map(|(v, e)| E::Set(v, e)),
            1 => boxed.prop_map(E::Print),
            1 => (any::<u8>(), prop::collection::vec(inner.clone(), 1..3))
                .prop_map(|(f, args)| E::Math(f, args)),
        ]
    })
}

/// Program recipes.
pub fn prog() -> impl Strategy<Value = Prog> {
    (
        prop::collection::vec((any::<u8>(), 1u8..=100, expr()), 0..3),
        prop::collection::vec((any::<u8>(), expr()), 0..2),
        prop::collection::vec(
            (0u8..=10, expr()).prop_map(|(arity, body)| Func { arity, body }),
            1..6,
        ),
        prop::option::of(expr()),
        prop::collection::vec(expr(), 1..5),
        prop::collection::vec((any::<u8>(), expr()), 0..3),
        0u16..400,
    )
        .prop_map(
            |(binary, unary, funcs, rec, tops, redefs, rec_depth)| Prog {
                binary,
                unary,
                funcs,
                rec,
                tops,
                redefs,
                rec_depth,
            },
        )
}

/// What an expression may refer to where it is printed.
#[derive(Clone)]
struct Scope {
    /// Variables in scope, and whether each may be assigned.
    vars: Vec<(String, bool)>,
    /// Functions that may be called: (name, arity).
    callees: Vec<(String, u8)>,
    /// Binary operators usable here (built-in first).
    binary: Vec<char>,
    /// Unary operators usable here.
    unary: Vec<char>,
    /// Loops enclosing this point.
    loops: u8,
}

/// Prints programs, numbering the variables it introduces.
struct Printer {
    next_var: usize,
    /// The C math functions it may call.
    math: Vec<(&'static str, u8)>,
}

impl Printer {
    fn fresh(&mut self) -> String {
        self.next_var += 1;
        format!("v{}", self.next_var)
    }

    fn expr(&mut self, e: &E, scope: &Scope, out: &mut String) {
        match e {
            E::Num(n) => out.push_str(&format!("{}", f64::from(*n % 40) / 4.0)),
            E::Var(i) => match scope.vars.get(usize::from(*i) % scope.vars.len().max(1)) {
                Some((name, _)) if !scope.vars.is_empty() => out.push_str(name),
                _ => out.push_str(&format!("{}", f64::from(*i % 8))),
            },
            E::Put(n) => out.push_str(&format!("putchard({})", 65 + n % 26)),
            E::Bin(o, a, b) => {
                let op = scope.binary[usize::from(*o) % scope.binary.len()];
                out.push('(');
                self.expr(a, scope, out);
                out.push_str(&format!(" {op} "));
                self.expr(b, scope, out);
                out.push(')');
            }
            E::Un(o, a) => {
                if scope.unary.is_empty() {
                    self.expr(a, scope, out);
                } else {
                    let op = scope.unary[usize::from(*o) % scope.unary.len()];
                    out.push_str(&format!("{op}("));
                    self.expr(a, scope, out);
                    out.push(')');
                }
            }
            E::Call(f, args) => {
                let Some((name, arity)) = scope
                    .callees
                    .get(usize::from(*f) % scope.callees.len().max(1))
                    .filter(|_| !scope.callees.is_empty())
                else {
                    // Nothing to call here: the arguments' sum.
                    out.push('(');
                    for arg in args {
                        self.expr(arg, scope, out);
                        out.push_str(" + ");
                    }
                    out.push_str("0)");
                    return;
                };
                out.push_str(name);
                out.push('(');
                for i in 0..usize::from(*arity) {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    match args.get(i) {
                        Some(arg) => self.expr(arg, scope, out),
                        None => out.push_str(&format!("{}", i + 1)),
                    }
                }
                out.push(')');
            }
            E::If(c, t, e) => {
                out.push_str("(if ");
                self.expr(c, scope, out);
                out.push_str(" then ");
                self.expr(t, scope, out);
                out.push_str(" else ");
                self.expr(e, scope, out);
                out.push(')');
            }
            E::For(n, body) => {
                if scope.loops >= 2 {
                    return self.expr(body, scope, out);
                }
                let var = self.fresh();
                let trips = 1 + n % 3;
                out.push_str(&format!("(for {var} = 0, {var} < {trips} in "));
                let mut inner = scope.clone();
                inner.vars.push((var, false));
                inner.loops += 1;
                self.expr(body, &inner, out);
                out.push(')');
            }
            E::Let(inits, body) => {
                out.push_str("(var ");
                let mut inner = scope.clone();
                for (i, init) in inits.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let var = self.fresh();
                    out.push_str(&format!("{var} = "));
                    // Initializers see the variables bound before them.
                    self.expr(init, &inner, out);
                    inner.vars.push((var, true));
                }
                out.push_str(" in ");
                self.expr(body, &inner, out);
                out.push(')');
            }
            E::Set(v, e) => {
                let assignable: Vec<&String> = scope
                    .vars
                    .iter()
                    .filter(|(_, a)| *a)
                    .map(|(n, _)| n)
                    .collect();
                match assignable.get(usize::from(*v) % assignable.len().max(1)) {
                    Some(name) if !assignable.is_empty() => {
                        let name = (*name).clone();
                        out.push_str(&format!("({name} = "));
                        self.expr(e, scope, out);
                        out.push(')');
                    }
                    _ => self.expr(e, scope, out),
                }
            }
            E::Print(e) => {
                out.push_str("printd(");
                self.expr(e, scope, out);
                out.push(')');
            }
            E::Math(f, args) => {
                let (name, arity) = self.math[usize::from(*f) % self.math.len()];
                out.push_str(name);
                out.push('(');
                for i in 0..usize::from(arity) {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    match args.get(i) {
                        // Arguments of either sign: zeros and NaNs of either sign.
                        Some(arg) if i % 2 == 1 => {
                            out.push_str("(0 - ");
                            self.expr(arg, scope, out);
                            out.push(')');
                        }
                        Some(arg) => self.expr(arg, scope, out),
                        None => out.push('0'),
                    }
                }
                out.push(')');
            }
        }
    }
}

const PARAMS: [&str; 10] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];

/// The program's source text, using everything toy accepts.
pub fn source(prog: &Prog) -> String {
    source::print(prog, false)
}

/// The program's source text within what LLVM's C++ chapter 7 runs as toy does.
pub fn tutorial_source(prog: &Prog) -> String {
    source::print(prog, true)
}

/// The expression without calls (operator bodies must not call anything).
fn strip_calls(e: &E) -> E {
    let b = |e: &E| Box::new(strip_calls(e));
    match e {
        E::Call(_, args) => match args.first() {
            Some(arg) => strip_calls(arg),
            None => E::Num(1),
        },
        E::Print(e) => strip_calls(e),
        E::Math(_, args) => match args.first() {
            Some(arg) => strip_calls(arg),
            None => E::Num(1),
        },
        E::Put(n) => E::Num(*n),
        E::Num(_) | E::Var(_) => e.clone(),
        E::Bin(o, x, y) => E::Bin(*o % 4, b(x), b(y)),
        E::Un(_, x) => strip_calls(x),
        E::If(c, t, f) => E::If(b(c), b(t), b(f)),
        E::For(n, x) => E::For(*n, b(x)),
        E::Let(inits, body) => E::Let(inits.iter().map(strip_calls).collect(), b(body)),
        E::Set(v, x) => E::Set(*v, b(x)),
    }
}
