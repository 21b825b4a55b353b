//! The [`Engine`] operations of the JIT: a `def` (compiled now by the eager JIT, on its
//! first call by the lazy one), an `extern` (looked up in the executor), a top-level
//! expression (interpreted when that is cheaper than compiling it, else compiled, run
//! and released) — and what happens when the executor dies under any of them.

use std::sync::Arc;

use crate::codegen::Timings;
use crate::engine::{Engine, PhaseTimes, Stats};
use crate::error::Error;
use crate::frontend::ast::{ANON_NAME, Function, Prototype};
use crate::frontend::source::{SourceId, SourceLines, Span};
use crate::interp::Interpreter;
use crate::jit::error::{Error as JitError, Recovery};
use crate::jit::globals::{Body, extern_target};
use crate::jit::{Jit, State, Strategy};
use toy_executor::stubs::THUNK_MAX_ARGS;
use toy_shared::ExecError;
use toy_shared::executor::Loader;

impl State {
    /// Gives global `id` a new body, releasing its old code at once: items arrive only
    /// between evaluations, so that code cannot be running.
    fn replace_body(
        &mut self,
        loader: &mut dyn Loader,
        id: u32,
        body: Body,
    ) -> Result<(), ExecError> {
        if let Body::Defined {
            code: Some(old), ..
        } = self.globals.replace(id, body)
        {
            self.blocks.drop_user(loader, old.block)?;
        }
        Ok(())
    }
}

impl Jit {
    /// An error of an engine operation, or, if the executor died meanwhile, the report
    /// of that after replacing it with a fresh one that knows every definition.
    fn checked<T>(&mut self, result: Result<T, Error>, span: Span) -> Result<T, Error> {
        let Err(err) = result else { return result };
        let Some(how) = self.executor.terminated() else {
            return Err(err);
        };
        let after = match self.executor.restart() {
            Ok(true) => {
                // The fresh executor is another process, with its own perf map.
                self.state.tracer.set_pid(self.executor.pid());
                self.state.counters = None;
                // That memory is gone with the old executor.
                self.state.blocks.clear();
                match self.state.globals.reload(self.executor.loader()) {
                    Ok(()) => Recovery::Restarted,
                    Err(e) => Recovery::ReloadFailed(e),
                }
            }
            Ok(false) => Recovery::CannotRestart,
            Err(e) => Recovery::RestartFailed(e),
        };
        Err(Error::jit(JitError::ExecutorDied { how, after }, span))
    }

    fn define_now(&mut self, function: Arc<Function>) -> Result<(), Error> {
        let span = function.proto.span;
        let name = function.proto.name.clone();
        let state = &mut self.state;
        let loader = self.executor.loader();
        let built = match state.policy.strategy() {
            Strategy::Eager => Some(state.build(loader, &function, &name, 1)?),
            Strategy::Lazy => None,
        };
        let code = built.as_ref().map(|(code, _)| *code);
        if let Some(code) = code {
            state.blocks.adopt(code.block);
        }
        let fail = |e| Error::jit(e, span);
        let id = state.globals.intern(loader, &name).map_err(fail)?;
        let body = Body::Defined {
            function: Arc::clone(&function),
            code,
        };
        state.replace_body(loader, id, body).map_err(fail)?;
        if let Some((_, inlined)) = &built {
            state.record_embeds(id, inlined);
        }
        state
            .globals
            .record_callers(loader, id, &function)
            .and_then(|()| state.globals.changed(loader, id))
            .and_then(|()| state.invalidate_dependents(loader, id))
            .map_err(fail)
    }

    fn declare_now(&mut self, proto: Arc<Prototype>) -> Result<(), Error> {
        let span = proto.span;
        let fail = |e| Error::jit(e, span);
        let state = &mut self.state;
        let loader = self.executor.loader();
        let found = loader
            .lookup_externs(&[&proto.name])
            .map_err(fail)?
            .pop()
            .flatten();
        let target = extern_target(&proto, found);
        let id = state.globals.intern(loader, &proto.name).map_err(fail)?;
        let body = Body::Extern { proto, target };
        state.replace_body(loader, id, body).map_err(fail)?;
        state
            .globals
            .changed(loader, id)
            .and_then(|()| state.invalidate_dependents(loader, id))
            .map_err(fail)
    }

    /// Makes `name` undefined again: its code goes, its stub goes back to the
    /// trampoline, callers are checked again and code that inlined it is dropped.
    fn remove_now(&mut self, name: &str, span: Span) -> Result<(), Error> {
        let state = &mut self.state;
        let Some(id) = state.globals.id(name) else {
            return Ok(());
        };
        let loader = self.executor.loader();
        state
            .replace_body(loader, id, Body::Undefined)
            .and_then(|()| state.globals.changed(loader, id))
            .and_then(|()| state.invalidate_dependents(loader, id))
            .map_err(|e| Error::jit(e, span))
    }

    fn evaluate_now(&mut self, expr: Arc<Function>) -> Result<f64, Error> {
        let span = expr.proto.span;
        let Jit {
            executor, state, ..
        } = self;
        if let Some(err) = state.globals.check_calls(&expr) {
            return Err(err.into());
        }
        let lazy = state.policy.strategy() == Strategy::Lazy;
        // A one-shot expression without loops or calls costs less to interpret than
        // to compile (~1 ms); the interpreter computes the same doubles, bit for bit.
        // The eager JIT compiles everything, as the reference for compiled code.
        if lazy && expr.body.is_straight_line() {
            state.counts.interpreted += 1;
            return Interpreter::new().evaluate(expr);
        }
        // One without loops but with calls is interpreted too, each call going to the
        // compiled code through a thunk and the callee's stub (not under `-g`, where
        // a debugger should see the expression's own frame).
        let max_arity = expr.body.calls().map(|call| call.arity).max().unwrap_or(0);
        if lazy && state.debug.is_none() && !expr.body.has_loop() && max_arity <= THUNK_MAX_ARGS {
            state.counts.interpreted += 1;
            state.install_finished(executor.loader());
            let mut call = |name: &str, args: &[f64], span: Span| {
                state.call_compiled(&mut **executor, name, args, span)
            };
            let result = Interpreter::new().evaluate_calling(&expr, &mut call);
            let loader = executor.loader();
            state
                .blocks
                .release_retired(loader)
                .map_err(|e| Error::jit(e, span))?;
            return result;
        }
        state.install_finished(executor.loader());
        // A one-shot expression cannot tier up: one with a loop gets tier 1 at once.
        let tier = match expr.body.has_loop() {
            true => 1,
            false => state.policy.first_tier(),
        };
        let (code, _) = state.build(executor.loader(), &expr, ANON_NAME, tier)?;
        let result = state.run(&mut **executor, code.entry, span);
        // A top-level expression's memory goes as soon as it has run, with the code
        // tier-ups replaced meanwhile.
        let loader = executor.loader();
        loader
            .release(code.block)
            .and_then(|()| state.blocks.release_retired(loader))
            .map_err(|e| Error::jit(e, span))?;
        result
    }
}

impl Engine for Jit {
    fn define(&mut self, function: Arc<Function>) -> Result<(), Error> {
        let span = function.proto.span;
        let result = self.define_now(function);
        self.checked(result, span)
    }

    fn declare(&mut self, proto: Arc<Prototype>) -> Result<(), Error> {
        let span = proto.span;
        let result = self.declare_now(proto);
        self.checked(result, span)
    }

    fn evaluate(&mut self, expr: Arc<Function>) -> Result<f64, Error> {
        let span = expr.proto.span;
        let result = self.evaluate_now(expr);
        self.checked(result, span)
    }

    fn remove(&mut self, name: &str, span: Span) -> Result<(), Error> {
        let result = self.remove_now(name, span);
        self.checked(result, span)
    }

    fn tier(&mut self, name: &str) -> Option<u8> {
        self.state.install_finished(self.executor.loader());
        let id = self.state.globals.id(name)?;
        self.state.globals.code(id).map(|code| code.tier)
    }

    fn source_lines(&mut self, id: SourceId, lines: Arc<SourceLines>) {
        if let Some(sources) = &mut self.state.debug {
            sources.insert(id, lines);
        }
    }

    fn wants_lines(&self) -> bool {
        self.state.debug.is_some()
    }

    fn stats(&mut self) -> Option<Stats> {
        // Code the background finished counts once it is installed: install it now,
        // so that the counts agree with each other and with `:list`.
        self.state.install_finished(self.executor.loader());
        let state = &self.state;
        let counts = &state.counts;
        let mut stats = Stats {
            functions: 0,
            compiled: 0,
            externs: 0,
            timings: phases(&counts.functions),
            expressions: phases(&counts.expressions),
            interpreted: counts.interpreted,
            tier_ups: counts.tier_ups,
            invalidations: counts.invalidations,
            code_bytes: 0,
            stub_bytes: state.globals.stubs.memory(),
            memory_in_use: 0,
        };
        // A batch's members share one block: count each block once, so that the
        // code never seems larger than the memory in use.
        let mut blocks = foldhash::HashSet::default();
        for global in state.globals.iter() {
            match &global.body {
                Body::Undefined => {}
                Body::Defined { code, .. } => {
                    stats.functions += 1;
                    if let Some(code) = code {
                        stats.compiled += 1;
                        if blocks.insert(code.block) {
                            stats.code_bytes += code.size;
                        }
                    }
                }
                Body::Extern { .. } => stats.externs += 1,
            }
        }
        stats.memory_in_use = self.executor.loader().memory_in_use().unwrap_or(0);
        Some(stats)
    }
}

/// Codegen's phase times, as the engine interface reports them.
fn phases(timings: &Timings) -> PhaseTimes {
    PhaseTimes {
        irgen: timings.irgen,
        optimize: timings.optimize,
        codegen: timings.codegen,
        link: timings.link,
        count: timings.count,
    }
}
