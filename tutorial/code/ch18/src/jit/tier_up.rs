// ANCHOR: head
//! The JIT's side of the two tiers: a first compile at tier 0 that counts its
//! calls, and, when a function's poll brings the JIT back, a second one at tier 1.

use super::{Jit, JitError};
use crate::executor::ExecError;
use crate::linker::Linked;
use crate::{natives, stubs, tiers};
// ANCHOR_END: head

// ANCHOR: tier0
impl<'ctx> Jit<'ctx> {
    /// Compiles function `name` at tier 0 and links it: `mem2reg`, then LLVM's
    /// `-O0` code generator. The code calls even itself through its stub, and
    /// counts its calls if this JIT has a tier 1.
    /// The pending module is cloned: it stays as the generator made it, for tier 1.
    pub(super) fn tier0(&self, name: &str) -> Result<Linked, JitError> {
        let module = self.pending[name].clone();
        tiers::baseline(&module, &self.baseline).map_err(JitError::Passes)?;
        let function = tiers::rename(&module, name);
        if self.machine.is_some() {
            let counted = tiers::count_calls(&module, function, name);
            counted.map_err(|err| JitError::Engine(err.to_string()))?;
        }
        let mut linked = self.link(&module, &self.baseline)?;
        // Known by its name, like other code; importing only the functions it calls.
        let code = linked.symbols.remove(&(tiers::TIER0.to_owned() + name));
        linked
            .symbols
            .insert(name.to_string(), code.expect("it defines it"));
        linked.imports.retain(|import| !import.starts_with("toy."));
        Ok(linked)
    }
    // ANCHOR_END: tier0

    // ANCHOR: is_hot
    /// Whether a resolve of `name` is its tier-0 code's poll: it has code, and that
    /// code counts its calls. (The other way back to the trampoline, a callee whose
    /// parameters changed, sends a tier-0 function to tier 1 a little early.)
    pub(super) fn is_hot(&self, name: &str) -> bool {
        let compiled = self.functions.contains_key(name);
        compiled && self.machine.is_some() && !self.tier1.contains(name)
    }
    // ANCHOR_END: is_hot

    // ANCHOR: tier_up
    /// Compiles function `id` again at tier 1, from its pending module, and points
    /// its stub at the new code: the same store a redefinition makes. The tier-0
    /// code called us (its poll) and is still on the stack, maybe many times over:
    /// its block is released when the expression ends, not now.
    pub(super) fn tier_up(&mut self, id: usize, name: &str) -> Result<usize, JitError> {
        let module = self.pending[name].clone();
        self.optimize(&module)?;
        let linked = self.link(&module, &self.target)?;
        let address = linked.symbols[name];
        self.executor.set_slot(id, Some(address))?;
        if let Some(old) = self.functions.insert(name.to_string(), linked) {
            self.retired.push(old.block);
        }
        self.tier1.insert(name.to_string());
        if self.trace {
            natives::write(format!("[lazy] compiled {name} at tier 1\n").as_bytes());
        }
        Ok(address)
    }
    // ANCHOR_END: tier_up

    // ANCHOR: release_retired
    /// Releases the tier-0 code replaced during a run that has ended: nothing of it
    /// is on the stack any more. After a crash, the blocks died with the executor.
    pub(super) fn release_retired(
        &mut self,
        outcome: &Result<f64, ExecError>,
    ) -> Result<(), JitError> {
        let retired = std::mem::take(&mut self.retired);
        if !matches!(outcome, Err(ExecError::Crashed(_))) {
            for block in retired {
                self.executor.release(block)?;
            }
        }
        Ok(())
    }
    // ANCHOR_END: release_retired

    // ANCHOR: tier_symbol
    /// The address of a symbol of tier-0 code: `toy.counter.f`, `f`'s counter in
    /// the executor; `toy.trampoline.f`, `f`'s trampoline.
    pub(super) fn tier_symbol(&self, symbol: &str) -> Option<usize> {
        if let Some(name) = symbol.strip_prefix(tiers::COUNTER) {
            let counters = self.executor.native(tiers::COUNTERS)?;
            return Some(counters + 4 * self.ids.get(name)?);
        }
        let name = symbol.strip_prefix(tiers::TRAMPOLINE)?;
        Some(self.executor.stub(*self.ids.get(name)?) + stubs::TRAMPOLINE)
    }
}
// ANCHOR_END: tier_symbol

// ANCHOR: tests
// ANCHOR: test_head
#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use inkwell::context::Context;

    use super::*;
    use crate::ast::Item;
    use crate::executor::{Executor, Local};
    use crate::interp::Interpreter;
    use crate::lexer::lex;
    use crate::parser::parse;

    // ANCHOR_END: test_head
    // ANCHOR: test_helpers
    /// Each expression's value (`None` for the other items), and what the natives
    /// and the trace wrote.
    fn traced(text: &str) -> (Vec<Option<f64>>, String) {
        let context = Context::create();
        let mut jit = Jit::new(&context, true).unwrap();
        jit.set_trace(true);
        let items = parse(text, &lex(text)).into_iter();
        let items = items.map(|item| item.expect("the tests' programs parse"));
        let (values, output) = natives::capture(|| {
            let run = |item: Item| jit.item(&item).expect("the tests' programs run");
            items.map(run).collect()
        });
        (values, String::from_utf8(output).unwrap())
    }

    /// The lines of the trace alone.
    fn compiles(output: &str) -> Vec<&str> {
        let lines = output.lines();
        lines.filter(|line| line.starts_with("[lazy]")).collect()
    }
    // ANCHOR_END: test_helpers

    // ANCHOR: test_threshold
    #[test]
    fn the_poll_comes_at_the_1024th_call() {
        let text = "def f(x) x + 1; for i = 1, i < 1023 in f(i); f(0); f(0)";
        let (values, output) = traced(text);
        assert_eq!(values[2..], [Some(1.0), Some(1.0)]);
        assert_eq!(
            compiles(&output),
            ["[lazy] compiled f at tier 0", "[lazy] compiled f at tier 1"]
        );
        // The 1023 calls of the loop, then `f(0)`, the 1024th, tiers up.
        let (_, output) = traced("def f(x) x + 1; for i = 1, i < 1023 in f(i)");
        assert_eq!(compiles(&output), ["[lazy] compiled f at tier 0"]);
    }
    // ANCHOR_END: test_threshold

    // ANCHOR: test_oracle
    /// Programs whose functions tier up in the middle of a loop or of a recursion,
    /// and print on both sides of it.
    const HOT: &[&str] = &[
        "def fib(n) if n < 3 then 1 else fib(n-1) + fib(n-2); fib(20); fib(21)",
        "extern printd(x); def f(i) if i < 1020 then i * 0.5 else printd(i); for i = 1, i < 1030 in f(i)",
        "def sq(x) x * x; def sum(n) var s in (for i = 1, i < n in s = s + sq(i)) * 0 + s; sum(3000)",
        "def down(n) if n < 1 then 0 else 1 + down(n - 1); down(5000); down(5000)",
        "def eight(a b c d e f g h) a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h;
         def ten(a b c d e f g h i j) eight(a, b, c, d, e, f, g, h) + 9*i + 10*j;
         for k = 1, k < 2000 in ten(k, 2, 3, 4, 5, 6, 7, 8, 9, k); ten(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)",
    ];

    #[test]
    fn tier_1_agrees_with_tier_0_and_the_interpreter() {
        for text in HOT {
            let mut interpreter = Interpreter::new(Vec::new());
            let mut expected = Vec::new();
            for item in parse(text, &lex(text)) {
                expected.push(match item.unwrap() {
                    Item::Def(proto, body) => interpreter.define(proto, body).map(|()| None),
                    Item::Extern(proto) => interpreter.declare(&proto).map(|()| None),
                    Item::Expr(expr) => interpreter.evaluate(&expr).map(Some),
                });
            }
            let expected: Vec<_> = expected.into_iter().map(Result::unwrap).collect();
            let printed = String::from_utf8(interpreter.into_output()).unwrap();
            let (values, output) = traced(text);
            assert_eq!(values, expected, "{text}");
            let program: Vec<_> = output
                .lines()
                .filter(|l| !l.starts_with("[lazy]"))
                .collect();
            assert_eq!(program, printed.lines().collect::<Vec<_>>(), "{text}");
            assert!(output.contains("at tier 1\n"), "{text} tiers up: {output}");
        }
    }
    // ANCHOR_END: test_oracle

    // ANCHOR: test_redefinition
    #[test]
    fn a_redefinition_starts_again_at_tier_0() {
        let context = Context::create();
        let mut jit = Jit::new(&context, true).unwrap();
        let local = Rc::new(Local::new().unwrap());
        jit.set_executor(local.clone());
        let text = "def f(x) x + 1; for i = 1, i < 2000 in f(i); f(1);
                    def f(x) x + 2; f(1); for i = 1, i < 2000 in f(i); f(1)";
        let mut items = parse(text, &lex(text)).into_iter().map(Result::unwrap);
        let mut item = || jit_item(&mut jit, items.next().unwrap());
        item();
        item();
        assert_eq!(item(), Some(2.0));
        // Tier 1: its code no longer counts, and the tier-0 code is released.
        let f = jit.ids["f"];
        let calls = local.counters().get(f);
        assert_eq!(calls, 1024);
        assert!(jit.tier1.contains("f") && jit.retired.is_empty());
        assert_eq!(local.target(f), jit.functions["f"].symbols["f"]);
        // The new `f`: back to the trampoline, then tier 0, counting again.
        jit_item(&mut jit, items.next().unwrap());
        assert_eq!(local.target(f), local.stub(f) + stubs::TRAMPOLINE);
        assert!(!jit.tier1.contains("f"));
        assert_eq!(jit_item(&mut jit, items.next().unwrap()), Some(3.0));
        assert_eq!(local.counters().get(f), calls + 1);
        jit_item(&mut jit, items.next().unwrap());
        assert!(jit.tier1.contains("f"));
        assert_eq!(jit_item(&mut jit, items.next().unwrap()), Some(3.0));
    }

    /// One item through `jit`: an expression's value.
    fn jit_item(jit: &mut Jit<'_>, item: Item) -> Option<f64> {
        jit.item(&item).unwrap()
    }
    // ANCHOR_END: test_redefinition

    // ANCHOR: test_no_opt
    #[test]
    fn without_passes_there_is_one_tier_and_no_counting() {
        let context = Context::create();
        let mut jit = Jit::new(&context, false).unwrap();
        let local = Rc::new(Local::new().unwrap());
        jit.set_executor(local.clone());
        let text = "def f(x) x + 1; for i = 1, i < 3000 in f(i)";
        for item in parse(text, &lex(text)) {
            jit.item(&item.unwrap()).unwrap();
        }
        assert_eq!(local.counters().get(jit.ids["f"]), 0);
        assert!(jit.tier1.is_empty());
    }
}
// ANCHOR_END: test_no_opt
// ANCHOR_END: tests
