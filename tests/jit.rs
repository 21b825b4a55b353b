//! The eager JIT through its library interface.

use toy::codegen::OptLevel;
use toy::engine::Engine;
use toy::frontend::ast::Item;
use toy::jit::EagerJit;
use toy::session::Session;

/// The resolved items of `text`.
fn items(text: &str) -> Vec<Item> {
    Session::resolve_program(text).expect("a valid program")
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
    // Resolved together with f's definition, which is fed once, above.
    let exprs: String = (0..2000).map(|i| format!("f({i}) + 1;\n")).collect();
    let program = format!("def f(x) x * 2;\n{exprs}");
    let mut baseline = None;
    let mut evaluated = 0;
    for (i, item) in items(&program).into_iter().skip(1).enumerate() {
        assert_eq!(feed(&mut jit, item), Some(2.0 * i as f64 + 1.0));
        let used = jit.memory_in_use();
        // After the first evaluation, memory in use never changes.
        assert_eq!(*baseline.get_or_insert(used), used, "after {i} evaluations");
        evaluated += 1;
    }
    assert_eq!(evaluated, 2000);
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
