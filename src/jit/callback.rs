//! The compile callback and running code: what happens when JIT'd code reaches a
//! trampoline (compile the function now, install what the background finished, tier a
//! hot function up, or say why it cannot run), and how an evaluation enters the
//! executor.

use std::sync::Arc;

use crate::error::{Error, ProgramError};
use crate::frontend::source::Span;
use crate::jit::State;
use crate::jit::error::Error as JitError;
use crate::jit::globals::{Body, with_span};
use toy_executor::stubs::call_thunk;
use toy_shared::Abort;
use toy_shared::Addr;
use toy_shared::executor::{Executor, Loader};

impl State {
    // ANCHOR: resolve
    /// The compile callback: the code global `id` runs, compiled now if it has not
    /// been, or why it cannot run. A failure leaves the function uncompiled, so a
    /// later call tries again.
    fn resolve(&mut self, loader: &mut dyn Loader, id: u32, span: Span) -> Result<Addr, Error> {
        // The id comes from the executor, which may lie.
        let Some(global) = self.globals.lookup(id) else {
            return Err(Error::jit(JitError::UnknownId(id), span));
        };
        let function = match &global.body {
            Body::Undefined => {
                let name = global.name.to_string();
                return Err(ProgramError::UnknownFunction { name, span }.into());
            }
            Body::Extern { target, .. } => {
                return target.clone().map_err(|e| with_span(e, span).into());
            }
            Body::Defined { function, .. } => Arc::clone(function),
        };
        if let Some(err) = self.globals.check_calls(&function) {
            return Err(err.into());
        }
        // Code already there when the trampoline is entered: a poll from counted code
        // (it is hot), or a slot reset because a callee changed.
        let had_code = self.globals.code(id);
        self.install_finished(loader);
        let code = match (self.globals.code(id), had_code) {
            (Some(code), Some(_)) => {
                if code.tier == 0 && !self.globals.get(id).tier_up && self.policy.counting() {
                    self.tier_up(loader, id, Arc::clone(&function));
                }
                self.globals.code(id).unwrap_or(code)
            }
            _ => {
                if let Some(flag) = self.globals.get(id).queued.clone() {
                    // Queued but not started: compile its batch here, now.
                    match self.workers.as_ref().and_then(|w| w.take(&flag)) {
                        Some(job) => self.compile_job(loader, job),
                        None => self.await_code(loader, id),
                    }
                }
                let code = match self.globals.code(id) {
                    Some(code) => code,
                    None => {
                        let tier = match self.policy.starts_at_tier1(id, &function) {
                            true => 1,
                            false => self.policy.first_tier(),
                        };
                        let name = &function.proto.name;
                        let (code, inlined) = self.build(loader, &function, name, tier)?;
                        self.blocks.adopt(code.block);
                        if let Body::Defined { code: slot, .. } = &mut self.globals.get_mut(id).body
                        {
                            *slot = Some(code);
                        }
                        self.record_embeds(id, &inlined);
                        code
                    }
                };
                self.speculate_from(loader, id);
                code
            }
        };
        let span = function.proto.span;
        self.globals
            .stubs
            .point(loader, id, code.entry)
            .map_err(|e| Error::jit(e, span))?;
        Ok(code.entry)
    }
    // ANCHOR_END: resolve

    /// Runs the `double(*)(void)` at `addr`, compiling on demand: its value, or why it
    /// stopped (the executor's own failures included).
    pub(super) fn run(
        &mut self,
        executor: &mut dyn Executor,
        addr: Addr,
        span: Span,
    ) -> Result<f64, Error> {
        let mut failure = None;
        let result = executor.run(
            addr,
            &mut |loader, id| match self.resolve(loader, id, span) {
                Ok(addr) => Some(addr),
                Err(err) => {
                    failure = Some(err);
                    None
                }
            },
        );
        match result.map_err(|e| Error::jit(e, span))? {
            Ok(value) => Ok(value),
            Err(abort) => Err(self.abort_error(abort, failure, span)),
        }
    }

    /// The error to report for an aborted evaluation.
    fn abort_error(&self, abort: Abort, failure: Option<Error>, span: Span) -> Error {
        match abort {
            Abort::Unresolved(id) => failure.unwrap_or_else(|| {
                let name = self
                    .globals
                    .lookup(id)
                    .map_or("?".into(), |g| g.name.to_string());
                ProgramError::UnknownFunction { name, span }.into()
            }),
            Abort::Interrupted => ProgramError::Interrupted { span }.into(),
            // Reported at the top-level expression, as every engine does: which
            // function's frame met the guard page depends on frame sizes.
            Abort::StackOverflow { .. } => ProgramError::StackOverflow { span }.into(),
        }
    }

    /// Calls the compiled function `name` with `args` through its stub, from a thunk:
    /// for interpreted top-level expressions.
    pub(super) fn call_compiled(
        &mut self,
        executor: &mut dyn Executor,
        name: &str,
        args: &[f64],
        span: Span,
    ) -> Result<f64, Error> {
        let loader = executor.loader();
        let stub = self
            .globals
            .stub(loader, name)
            .map_err(|e| Error::jit(e, span))?;
        let too_many = || Error::jit(JitError::TooManyArguments(args.len()), span);
        let code = call_thunk(stub, args).ok_or_else(too_many)?;
        let len = code.len() as u64;
        let thunk = loader
            .reserve(len, 16)
            .and_then(|thunk| {
                loader.write(thunk, &code)?;
                loader.finalize(thunk, len)?;
                Ok(thunk)
            })
            .map_err(|e| Error::jit(e, span))?;
        let result = self.run(executor, thunk, span);
        executor
            .loader()
            .release(thunk)
            .map_err(|e| Error::jit(e, span))?;
        result
    }
}
