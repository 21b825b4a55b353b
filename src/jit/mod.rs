//! The eager JIT (BuildingAJIT chapters 1–2): every `def` is compiled and linked at
//! once; top-level expressions are compiled, run and released.
//!
//! Every global name (function, operator or `extern`) owns an *indirect stub*
//! `jmp *slot(%rip)` whose address never changes; all calls go through stubs, so a
//! function may call one defined later, and redefinition only re-points a slot. A
//! name that cannot run yet (undefined, or calling something missing) has its slot
//! pointed at its *trap*, which abandons the evaluation with that name's error: the
//! same moment at which the reference interpreter reports it.

pub mod linker;
mod stubs;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::codegen::{Compiler, OptLevel, Output, Timings};
use crate::engine::Engine;
use crate::error::Error;
use crate::executor::{Abort, Addr, ExecError, Executor, InProcess};
use crate::frontend::ast::{ANON_NAME, Function, Name, Prototype};
use crate::frontend::source::Span;
use stubs::Stubs;

/// What a global name currently is.
enum Body {
    /// Called somewhere, never defined.
    Undefined,
    /// A compiled `def`: its AST (for arity and callees) and where its code lives.
    Defined {
        function: Rc<Function>,
        code: Addr,
        block: Addr,
        size: u64,
    },
    /// An `extern`, resolved (`target`) or not.
    Extern {
        proto: Rc<Prototype>,
        target: Result<Addr, Error>,
    },
}

struct Global {
    name: Name,
    stub: Addr,
    body: Body,
    /// Why the body cannot run now (it calls something missing), if so.
    blocked: Option<Error>,
    /// Names whose bodies call this one: they are checked again when it changes.
    callers: HashSet<Name>,
}

/// The eager JIT engine.
pub struct EagerJit {
    compiler: Compiler,
    executor: Box<dyn Executor>,
    stubs: Stubs,
    globals: Vec<Global>,
    index: HashMap<Name, usize>,
    /// Time spent compiling, by phase.
    pub timings: Timings,
}

fn jit_error(err: impl std::fmt::Display, span: Span) -> Error {
    Error::Jit {
        message: err.to_string(),
        span,
    }
}

impl EagerJit {
    /// An eager JIT running code in this process.
    pub fn new(opt: OptLevel) -> Result<Self, String> {
        let compiler = Compiler::host(opt).map_err(|e| e.to_string())?;
        let executor = InProcess::new().map_err(|e| e.to_string())?;
        Ok(Self::with(compiler, Box::new(executor)))
    }

    /// An eager JIT with the given compiler and executor.
    pub fn with(compiler: Compiler, executor: Box<dyn Executor>) -> Self {
        EagerJit {
            compiler,
            stubs: Stubs::default(),
            executor,
            globals: Vec::new(),
            index: HashMap::new(),
            timings: Timings::default(),
        }
    }

    /// Bytes of executor memory in use (code, data, stubs).
    pub fn memory_in_use(&self) -> u64 {
        self.executor.memory_in_use()
    }

    /// The global `name`, created (undefined, slot on its trap) if new.
    fn global(&mut self, name: &str) -> Result<usize, ExecError> {
        if let Some(&i) = self.index.get(name) {
            return Ok(i);
        }
        let i = self.globals.len();
        let stub = self.stubs.create(&mut *self.executor, i as u32)?;
        let name: Name = name.into();
        self.globals.push(Global {
            name: name.clone(),
            stub,
            body: Body::Undefined,
            blocked: None,
            callers: HashSet::new(),
        });
        self.index.insert(name, i);
        Ok(i)
    }

    /// Compiles and links `function` under `symbol`; returns (entry, block, size).
    fn build(&mut self, function: &Function, symbol: &str) -> Result<(Addr, Addr, u64), Error> {
        let span = function.proto.span;
        let library = |name: &str| {
            self.index
                .get(name)
                .is_some_and(|&i| matches!(self.globals[i].body, Body::Extern { .. }))
        };
        let object = self
            .compiler
            .compile(
                function,
                Some(symbol),
                Output::Object,
                &library,
                &mut self.timings,
            )
            .map_err(|e| jit_error(e, span))?;
        let mut callees = HashSet::new();
        function.body.for_each_call(&mut |name, _, _| {
            callees.insert(name.to_string());
        });
        // Every name the program calls resolves to its stub; anything else is a call
        // LLVM introduced (memset, sincos, ...) and resolves in the executor.
        let mut stub_of = HashMap::new();
        for name in &callees {
            let i = self.global(name).map_err(|e| jit_error(e, span))?;
            stub_of.insert(name.clone(), self.globals[i].stub);
        }
        let mut resolve = |name: &str| stub_of.get(name).copied();
        let start = std::time::Instant::now();
        let linked = linker::link(&object, &mut *self.executor, &mut resolve)
            .map_err(|e| jit_error(e, span))?;
        self.timings.link += start.elapsed();
        let entry = *linked
            .symbols
            .get(symbol)
            .ok_or_else(|| jit_error(format!("object lacks `{symbol}`"), span))?;
        Ok((entry, linked.block, linked.size))
    }

    /// Why `body` cannot run now, if it calls something missing or mismatched.
    fn check_calls(&self, function: &Function) -> Option<Error> {
        let mut error = None;
        function.body.for_each_call(&mut |name, arity, span| {
            if error.is_some() {
                return;
            }
            let global = self.index.get(name).map(|&i| &self.globals[i]);
            error = match global.map(|g| &g.body) {
                None | Some(Body::Undefined) => Some(Error::UnknownFunction {
                    name: name.to_string(),
                    span,
                }),
                Some(Body::Defined { function, .. }) if function.proto.arity() != arity => {
                    Some(Error::WrongArity {
                        name: name.to_string(),
                        expected: function.proto.arity(),
                        found: arity,
                        span,
                    })
                }
                Some(Body::Extern { proto, .. }) if proto.arity() != arity => {
                    Some(Error::WrongArity {
                        name: name.to_string(),
                        expected: proto.arity(),
                        found: arity,
                        span,
                    })
                }
                Some(Body::Extern {
                    target: Err(err), ..
                }) => Some(with_span(err.clone(), span)),
                Some(_) => None,
            };
        });
        error
    }

    /// Recomputes whether global `i` can run and points its slot accordingly.
    fn refresh(&mut self, i: usize) -> Result<(), ExecError> {
        let (blocked, target) = match &self.globals[i].body {
            Body::Undefined => (None, None),
            Body::Defined { function, code, .. } => {
                let function = Rc::clone(function);
                match self.check_calls(&function) {
                    Some(err) => (Some(err), None),
                    None => (None, Some(*code)),
                }
            }
            Body::Extern { target, .. } => (None, target.as_ref().ok().copied()),
        };
        let global = &mut self.globals[i];
        global.blocked = blocked;
        match target {
            Some(code) => self.stubs.point(&mut *self.executor, global.stub, code),
            None => self.stubs.trap(&mut *self.executor, global.stub),
        }
    }

    /// After `name` changed: re-check it and every function that calls it.
    fn changed(&mut self, i: usize) -> Result<(), ExecError> {
        self.refresh(i)?;
        let callers: Vec<Name> = self.globals[i].callers.iter().cloned().collect();
        for caller in callers {
            if let Some(&c) = self.index.get(&caller) {
                self.refresh(c)?;
            }
        }
        Ok(())
    }

    fn record_callers(&mut self, function: &Function) -> Result<(), ExecError> {
        let mut names = Vec::new();
        function
            .body
            .for_each_call(&mut |name, _, _| names.push(name.to_string()));
        for name in names {
            let i = self.global(&name)?;
            self.globals[i].callers.insert(function.proto.name.clone());
        }
        Ok(())
    }

    /// The error to report for an aborted evaluation.
    fn abort_error(&self, abort: Abort, span: Span) -> Error {
        match abort {
            Abort::Trap(id) => {
                let global = self.globals.get(id as usize);
                match global.and_then(|g| g.blocked.clone()) {
                    Some(err) => err,
                    None => Error::UnknownFunction {
                        name: global.map_or("?".into(), |g| g.name.to_string()),
                        span,
                    },
                }
            }
            Abort::Interrupted => Error::Interrupted { span },
            Abort::StackOverflow { pc } => {
                // Blame the function whose code overflowed, if it is one of ours.
                let span = self
                    .globals
                    .iter()
                    .find_map(|g| match &g.body {
                        Body::Defined {
                            function,
                            block,
                            size,
                            ..
                        } if (*block..block + size).contains(&pc) => Some(function.proto.span),
                        _ => None,
                    })
                    .unwrap_or(span);
                Error::StackOverflow { span }
            }
        }
    }
}

fn with_span(err: Error, span: Span) -> Error {
    match err {
        Error::UnresolvedExtern { name, .. } => Error::UnresolvedExtern { name, span },
        Error::WrongArity {
            name,
            expected,
            found,
            ..
        } => Error::WrongArity {
            name,
            expected,
            found,
            span,
        },
        other => other,
    }
}

impl Engine for EagerJit {
    fn define(&mut self, function: Rc<Function>) -> Result<(), Error> {
        let span = function.proto.span;
        let name = function.proto.name.clone();
        let (code, block, size) = self.build(&function, &name)?;
        let i = self.global(&name).map_err(|e| jit_error(e, span))?;
        if let Body::Defined { block: old, .. } = self.globals[i].body {
            // Nothing runs between items, so the old code can go at once.
            self.executor.release(old).map_err(|e| jit_error(e, span))?;
        }
        self.globals[i].body = Body::Defined {
            function: Rc::clone(&function),
            code,
            block,
            size,
        };
        self.record_callers(&function)
            .map_err(|e| jit_error(e, span))?;
        self.changed(i).map_err(|e| jit_error(e, span))
    }

    fn declare(&mut self, proto: Rc<Prototype>) -> Result<(), Error> {
        let span = proto.span;
        let found = self
            .executor
            .lookup_externs(&[&proto.name])
            .map_err(|e| jit_error(e, span))?
            .pop()
            .flatten();
        let target = match found {
            None => Err(Error::UnresolvedExtern {
                name: proto.name.to_string(),
                span,
            }),
            Some((_, Some(arity))) if arity != proto.arity() => Err(Error::WrongArity {
                name: proto.name.to_string(),
                expected: arity,
                found: proto.arity(),
                span,
            }),
            Some((addr, _)) => Ok(addr),
        };
        let i = self.global(&proto.name).map_err(|e| jit_error(e, span))?;
        if let Body::Defined { block, .. } = self.globals[i].body {
            self.executor
                .release(block)
                .map_err(|e| jit_error(e, span))?;
        }
        self.globals[i].body = Body::Extern { proto, target };
        self.changed(i).map_err(|e| jit_error(e, span))
    }

    fn evaluate(&mut self, expr: Rc<Function>) -> Result<f64, Error> {
        let span = expr.proto.span;
        if let Some(err) = self.check_calls(&expr) {
            return Err(err);
        }
        let (entry, block, _) = self.build(&expr, ANON_NAME)?;
        let result = self.executor.run(entry);
        // A top-level expression's memory goes as soon as it has run.
        self.executor
            .release(block)
            .map_err(|e| jit_error(e, span))?;
        match result.map_err(|e| jit_error(e, span))? {
            Ok(value) => Ok(value),
            Err(abort) => Err(self.abort_error(abort, span)),
        }
    }
}
