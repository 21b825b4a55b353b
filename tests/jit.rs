//! The eager JIT through its library interface.

use std::ops::ControlFlow;

use toy::codegen::OptLevel;
use toy::engine::Engine;
use toy::frontend::ast::Item;
use toy::jit::EagerJit;
use toy::session::{Outcome, Session};

/// The resolved items of `text`.
fn items(text: &str) -> Vec<Item> {
    let mut session = Session::new(None);
    let source = session.sources_mut().add("t", text);
    let mut out = Vec::new();
    session.run(source, 0, true, &mut |_, result| {
        if let Ok(Outcome::Resolved(item)) = result {
            out.push(item);
        }
        ControlFlow::Continue(())
    });
    out
}

fn feed(jit: &mut EagerJit, item: Item) -> Option<f64> {
    match item {
        Item::Def(f) => jit.define(f).map(|()| None),
        Item::Extern(p) => jit.declare(p).map(|()| None),
        Item::Expr(f) => jit.evaluate(f).map(Some),
    }
    .expect("runs")
}

#[test]
fn top_level_expressions_give_their_memory_back() {
    let mut jit = EagerJit::new(OptLevel::Tutorial).expect("JIT");
    for item in items("def f(x) x * 2;") {
        feed(&mut jit, item);
    }
    let exprs: String = (0..2000).map(|i| format!("f({i}) + 1;\n")).collect();
    let mut baseline = None;
    for (i, item) in items(&exprs).into_iter().enumerate() {
        assert_eq!(feed(&mut jit, item), Some(2.0 * i as f64 + 1.0));
        let used = jit.memory_in_use();
        // After the first evaluation, memory in use never changes.
        assert_eq!(*baseline.get_or_insert(used), used, "after {i} evaluations");
    }
}

#[test]
fn redefinition_releases_the_old_code() {
    let mut jit = EagerJit::new(OptLevel::Tutorial).expect("JIT");
    for item in items("def f(x) x * 3; def g(x) f(x) + 1;") {
        feed(&mut jit, item);
    }
    let used = jit.memory_in_use();
    for i in 3..200 {
        for item in items(&format!("def f(x) x * {i};")) {
            feed(&mut jit, item);
        }
        assert_eq!(jit.memory_in_use(), used, "after redefinition {i}");
    }
    // g, compiled once at the start, calls the newest f through f's stub.
    let value = items("def g(x) 0; g(2);")
        .into_iter()
        .skip(1)
        .map(|item| feed(&mut jit, item))
        .next()
        .flatten();
    assert_eq!(value, Some(2.0 * 199.0 + 1.0));
}
