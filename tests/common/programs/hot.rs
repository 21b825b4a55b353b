//! The hot mode: after a generated program's definitions, a hot phase calls some of
//! its functions thousands of times (enough for tiered mode to tier them up, and up to
//! the function `hot` that calls them, so tier-1 code inlines their current bodies),
//! then rounds of redefinitions (same arity, another arity, an operator), each
//! followed by the same hot phase again. Results go through `printd` along the way, so
//! a stale inlined body shows in the output.
//!
//! The base program keeps the generator's guarantees (termination, no division,
//! bounded recursion); the hot phase adds one loop of a constant trip count.

use proptest::prelude::*;

use super::source::{Defined, definitions};
use super::{BINARY, E, Prog, Scope, UNARY, expr, prog, strip_calls};

/// A change between two hot phases. Indices pick among what exists, by modulo.
#[derive(Clone, Debug)]
pub enum Change {
    /// Function `fI` gets a new body, same arity.
    Body(u8, E),
    /// Function `fI` gets a new body with another arity: calls written for the old
    /// one then fail as they do in the interpreter.
    Arity(u8, u8, E),
    /// A user operator gets a new body (same precedence); a function if there is none.
    Operator(u8, E),
}

/// A program recipe for the hot mode.
#[derive(Clone, Debug)]
pub struct HotProg {
    /// The definitions (its top-level expressions and redefinitions are not printed).
    pub prog: Prog,
    /// What `hot(k)` adds up: calls of generated functions, arguments over `k`.
    pub calls: Vec<(u8, Vec<E>)>,
    /// Whether the loop is the body of a function `phase(n)` (else a top-level `for`).
    pub in_function: bool,
    /// How many times each phase calls `hot`.
    pub trips: u16,
    /// Rounds of changes, each followed by the hot phase.
    pub rounds: Vec<Vec<Change>>,
}

/// Every this many iterations a phase prints the current result.
const STRIDE: u16 = 397;

/// Hot-mode program recipes; `trips` is the range of calls per phase.
pub fn hot_prog(trips: std::ops::Range<u16>) -> impl Strategy<Value = HotProg> {
    let change = prop_oneof![
        5 => (any::<u8>(), expr()).prop_map(|(f, e)| Change::Body(f, e)),
        1 => (any::<u8>(), any::<u8>(), expr()).prop_map(|(f, a, e)| Change::Arity(f, a, e)),
        2 => (any::<u8>(), expr()).prop_map(|(o, e)| Change::Operator(o, e)),
    ];
    (
        prog(),
        prop::collection::vec((any::<u8>(), prop::collection::vec(expr(), 0..4)), 1..3),
        any::<bool>(),
        trips,
        prop::collection::vec(prop::collection::vec(change, 1..4), 1..4),
    )
        .prop_map(|(prog, calls, in_function, trips, rounds)| HotProg {
            prog,
            calls,
            in_function,
            trips,
            rounds,
        })
}

/// The hot-mode program's source text.
pub fn hot_source(hot: &HotProg) -> String {
    let mut d = definitions(&hot.prog, false);
    d.out.push_str(&format!(
        "def watch(k r) if fmod(k, {STRIDE}) < 1 then printd(r) else r;\n"
    ));
    // `hot` is parsed once, against the arities of now: after an arity change its
    // call fails, as the interpreter's does.
    let scope = Scope {
        vars: vec![("k".into(), true)],
        ..d.top_scope()
    };
    d.out.push_str("def hot(k) ");
    for (i, (f, args)) in hot.calls.iter().enumerate() {
        if i > 0 {
            d.out.push_str(" + ");
        }
        d.p.expr(&E::Call(*f, args.clone()), &scope, &mut d.out);
    }
    d.out.push_str(";\n");
    let trips = hot.trips;
    let phase = match hot.in_function {
        true => {
            d.out.push_str(
                "def phase(n) var s = 0 in \
                 (for k = 0, k < n in s = s + watch(k, hot(k))) + printd(s);\n",
            );
            format!("phase({trips});\n")
        }
        false => format!(
            "var s = 0 in (for k = 0, k < {trips} in s = s + watch(k, hot(k))) + printd(s);\n"
        ),
    };
    d.out.push_str(&phase);
    for round in &hot.rounds {
        for change in round {
            apply(&mut d, &hot.prog, change);
        }
        d.out.push_str(&phase);
    }
    d.out
}

/// Prints one change.
fn apply(d: &mut Defined, prog: &Prog, change: &Change) {
    let funcs = d.names.len();
    match change {
        Change::Body(f, body) => d.define(usize::from(*f) % funcs, body, false),
        Change::Arity(f, delta, body) => {
            let i = usize::from(*f) % funcs;
            let arity = &mut d.names[i].1;
            *arity = (*arity + 1 + delta % 10) % 11;
            d.define(i, body, false);
        }
        Change::Operator(o, body) => {
            // User binary operators follow the four built-in ones.
            let ops: Vec<char> = d.binary[4..].iter().chain(&d.unary).copied().collect();
            let Some(&op) = ops.get(usize::from(*o) % ops.len().max(1)) else {
                return d.define(usize::from(*o) % funcs, body, false);
            };
            let builtin = Scope {
                vars: Vec::new(),
                callees: Vec::new(),
                binary: d.binary[..4].to_vec(),
                unary: Vec::new(),
                loops: 0,
            };
            let (head, vars) = match BINARY.contains(&op) {
                true => {
                    // Its precedence stays: items already parsed keep their shape.
                    let prec = prog
                        .binary
                        .iter()
                        .rev()
                        .find(|(w, _, _)| BINARY[usize::from(*w) % BINARY.len()] == op)
                        .map(|(_, p, _)| *p)
                        .expect("a defined operator has a precedence");
                    (format!("def binary{op} {prec} (a b) "), vec!["a", "b"])
                }
                false => {
                    debug_assert!(UNARY.contains(&op));
                    (format!("def unary{op}(v) "), vec!["v"])
                }
            };
            let scope = Scope {
                vars: vars.into_iter().map(|v| (v.to_string(), true)).collect(),
                ..builtin
            };
            d.out.push_str(&head);
            d.p.expr(&strip_calls(body), &scope, &mut d.out);
            d.out.push_str(";\n");
        }
    }
}
