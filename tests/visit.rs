//! The AST visitor: children in evaluation order, the iterative walk, calls, callees
//! and the loop queries built on it.

use std::sync::Arc;

use toy::frontend::ast::{Expr, ExprKind, Function, Item, Name};
use toy::frontend::tail::{self_call, tail_positions};
use toy::session::Session;

/// The functions (definitions and top-level expressions) of `text`, in order.
fn functions(text: &str) -> Vec<Arc<Function>> {
    let items = Session::resolve_program(text).expect("the program resolves");
    items
        .into_iter()
        .filter_map(|item| match item {
            Item::Def(f) | Item::Expr(f) => Some(f),
            Item::Extern(_) => None,
        })
        .collect()
}

fn last(text: &str) -> Arc<Function> {
    functions(text).pop().expect("a function")
}

/// The number literals of `expr` in the order `walk` visits them.
fn numbers(expr: &Expr) -> Vec<f64> {
    expr.walk()
        .filter_map(|e| match e.kind {
            ExprKind::Number(n) => Some(n),
            _ => None,
        })
        .collect()
}

#[test]
fn visitor_walks_every_kind_in_evaluation_order() {
    // Each literal is numbered in the order the language evaluates it.
    let f = last(
        "def binary| 5 (a b) a; def unary!(v) v; def g(a b c) a;
         def f(x)
           (x = 1) + !2 + (3 | 4) + g(5, 6, 7) + (if 8 then 9 else 10)
           + (for i = 11, 14, 13 in 12) + (for j = 15, 17 in 16)
           + (var a = 18, b, c = 19 in 20);",
    );
    let expected: Vec<f64> = (1..=20).map(f64::from).collect();
    assert_eq!(numbers(&f.body), expected);
    // Built-in `+` chains left-associatively: the outermost node comes first.
    assert!(matches!(f.body.kind, ExprKind::Binary { .. }));
    assert_eq!(f.body.walk().next(), Some(&f.body));
}

#[test]
fn visitor_children_run_from_both_ends() {
    let f = last(
        "def g(a b c) a; def unary-(v) 0 - v;
         def f(x) g(1, 2, 3) + (if 1 then 2 else 3) + (for i = 1, 4, 3 in 2)
           + (for i = 1, 3 in 2) + (var a = 1, b, c = 2, d in 3) + (var e in 1) + -x;",
    );
    for expr in f.body.walk() {
        let forward: Vec<&Expr> = expr.children().collect();
        let mut backward: Vec<&Expr> = expr.children().rev().collect();
        backward.reverse();
        assert_eq!(forward, backward, "children of {:?}", expr.kind);
        // Taken alternately from the front and the back, each child comes once.
        let mut children = expr.children();
        let (mut front, mut back) = (Vec::new(), Vec::new());
        while let Some(c) = children.next() {
            front.push(c);
            match children.next_back() {
                Some(c) => back.push(c),
                None => break,
            }
        }
        back.reverse();
        front.extend(back);
        assert_eq!(front, forward, "children of {:?}", expr.kind);
    }
    let var = f
        .body
        .walk()
        .find(|e| matches!(&e.kind, ExprKind::Var { bindings, .. } if bindings.len() == 4))
        .expect("the var");
    // Bindings without an initializer have no child.
    assert_eq!(numbers_of(var.children()), [1.0, 2.0, 3.0]);
    let plain_for = f
        .body
        .walk()
        .find(|e| matches!(&e.kind, ExprKind::For { step: None, .. }))
        .expect("the for without a step");
    assert_eq!(numbers_of(plain_for.children()), [1.0, 2.0, 3.0]);
}

fn numbers_of<'e>(exprs: impl Iterator<Item = &'e Expr>) -> Vec<f64> {
    exprs
        .map(|e| match e.kind {
            ExprKind::Number(n) => n,
            _ => f64::NAN,
        })
        .collect()
}

#[test]
fn visitor_walk_needs_no_stack_for_deep_trees() {
    // Resolving and dropping a tree recurse, so they get a large stack; the walk runs
    // on a thread with 64 KiB, far too little for recursion 10,000 levels deep.
    let big = std::thread::Builder::new().stack_size(1 << 30);
    let worker = big.spawn(|| {
        let f = last(&format!("def unary-(v) 0 - v; {}1", "-".repeat(10_000)));
        let count = std::thread::scope(|scope| {
            let small = std::thread::Builder::new().stack_size(64 * 1024);
            let walker = small.spawn_scoped(scope, || {
                let count = f.body.walk().count();
                let calls = f.body.calls().count();
                let straight = f.body.is_straight_line();
                (count, calls, straight, f.body.has_loop(), f.loops())
            });
            walker.expect("thread starts").join().expect("no overflow")
        });
        assert_eq!(count, (10_001, 10_000, false, false, false));
    });
    worker.expect("thread starts").join().expect("no panic");
}

#[test]
fn visitor_lists_calls_and_callees() {
    let text = "def binary| 5 (a b) a; def unary!(v) v;
                def f(x) g(x) + g(x, !1) * (x | f(x)) + g(x) + 1 < 2;";
    let f = last(text);
    let calls: Vec<(String, usize)> = f
        .body
        .calls()
        .map(|c| (c.callee.as_str().to_string(), c.arity))
        .collect();
    let named = |n: &str, a| (n.to_string(), a);
    assert_eq!(
        calls,
        [
            named("g", 1),
            named("g", 2),
            named("unary!", 1),
            named("binary|", 2),
            named("f", 1),
            named("g", 1)
        ]
    );
    // Each call's span covers the call.
    let source = "g(x, !1)";
    let call = f.body.calls().nth(1).expect("the second call");
    let start = text.find(source).expect("in the text");
    assert_eq!(call.span.range(), start..start + source.len());
    // Sorted, distinct per name and arity, operators and the function itself included.
    let callees: Vec<(Name, usize)> = f.callees().into_iter().collect();
    let names: Vec<(&str, usize)> = callees.iter().map(|(n, a)| (&**n, *a)).collect();
    assert_eq!(
        names,
        [("binary|", 2), ("f", 1), ("g", 1), ("g", 2), ("unary!", 1)]
    );
    assert!(last("1 + 2 < 3 * 4").callees().is_empty());
}

#[test]
fn visitor_loop_and_straight_line_queries() {
    let fs = functions(
        "def binary% 5 (a b) if a < 1 then b else (a - 1) % b;
         def l(i) var j = i in if i < 3 then 1 else l(j + 1);
         def m(i) 1 + m(i);
         def n() for i = 1, 0 in 0;
         def o(i) i * 2 + 1;
         def p(i) l(i);
         l(1);",
    );
    let [op, l, m, n, o, p, top] = &fs[..] else {
        panic!("seven functions")
    };
    let loops: Vec<bool> = fs.iter().map(|f| f.loops()).collect();
    assert_eq!(loops, [true, true, false, true, false, false, false]);
    let has_loop: Vec<bool> = fs.iter().map(|f| f.body.has_loop()).collect();
    assert_eq!(has_loop, [false, false, false, true, false, false, false]);
    let straight: Vec<bool> = fs.iter().map(|f| f.body.is_straight_line()).collect();
    assert_eq!(straight, [false, false, false, false, true, false, false]);
    // The self calls in tail position and their arguments.
    let self_calls = |f: &Function| {
        tail_positions(&f.body)
            .filter_map(|e| self_call(f, e))
            .map(|args| args.len())
            .collect::<Vec<_>>()
    };
    assert_eq!(self_calls(op), [2]);
    assert_eq!(self_calls(l), [1]);
    assert!(self_calls(m).is_empty());
    // `m` calls itself, but not in tail position.
    assert!(m.body.walk().any(|e| self_call(m, e).is_some()));
    assert!(self_calls(n).is_empty() && self_calls(o).is_empty());
    assert!(self_calls(p).is_empty() && self_calls(top).is_empty());
    // Tail positions: the body, both branches of an `if`, a `var`'s body.
    let kinds: Vec<&str> = tail_positions(&l.body)
        .map(|e| match e.kind {
            ExprKind::Var { .. } => "var",
            ExprKind::If { .. } => "if",
            ExprKind::Number(_) => "number",
            ExprKind::Call { .. } => "call",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["var", "if", "number", "call"]);
}
