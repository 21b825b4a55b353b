//! The JIT (BuildingAJIT chapters 1–4): functions compiled by LLVM, linked by our own
//! linker into executor memory, and called through indirect stubs.
//!
//! Every global name (function, operator or `extern`) owns an *indirect stub*
//! `jmp *slot(%rip)` whose address never changes; all calls go through stubs, so a
//! function may call one defined later, and redefinition only re-points a slot. Until
//! a name has code that can run, its slot points at its *trampoline*, which enters
//! the executor's resolver with the name's id; the resolver calls [`Jit::resolve`]
//! (through the executor's run loop), which compiles the function on the spot
//! ([`Strategy::Lazy`]) or reports why it cannot run (a missing or mismatched callee:
//! the same moment at which the reference interpreter reports it).

pub mod cache;
pub mod linker;
mod stubs;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use crate::codegen::{Compiler, DebugSource, OptLevel, Output, Timings};
use crate::engine::{Engine, Stats};
use crate::error::Error;
use crate::executor::remote::{Remote, Transport};
use crate::executor::{Abort, Addr, ExecError, Executor, InProcess, Loader};
use crate::frontend::ast::{ANON_NAME, Function, Name, Prototype};
use crate::frontend::source::{SourceId, SourceLines, Span};
use crate::frontend::unparse;
use crate::interp::Interpreter;
use cache::Cache;
use inkwell::targets::TargetMachine;
use stubs::Stubs;

/// When functions are compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// As soon as they are defined (BuildingAJIT chapters 1–2).
    Eager,
    /// On their first call, from their trampoline (chapter 4).
    Lazy,
}

/// A function's code in executor memory.
#[derive(Clone, Copy)]
struct Code {
    entry: Addr,
    block: Addr,
    size: u64,
}

/// What a global name currently is.
enum Body {
    /// Called somewhere, never defined.
    Undefined,
    /// A `def`: its AST (for arity, callees and compiling) and its code, once compiled.
    Defined {
        function: Rc<Function>,
        code: Option<Code>,
    },
    /// An `extern`, resolved (`target`) or not.
    Extern {
        proto: Rc<Prototype>,
        target: Result<Addr, Error>,
    },
}

struct Global {
    name: Name,
    body: Body,
    /// Globals whose bodies call this one: they are checked again when it changes.
    callers: HashSet<u32>,
}

/// The JIT engine.
pub struct Jit {
    executor: Box<dyn Executor>,
    state: State,
}

/// Everything but the executor, so that resolving can borrow both while code runs.
struct State {
    /// Made on the first compile: a run served from the cache never starts LLVM's
    /// code generator.
    compiler: Option<Compiler>,
    opt: OptLevel,
    /// Compiled objects on disk, when on.
    cache: Option<Cache>,
    strategy: Strategy,
    trace: bool,
    stubs: Stubs,
    globals: Vec<Global>,
    index: HashMap<Name, u32>,
    /// Time spent compiling functions, by phase (top-level expressions excluded).
    timings: Timings,
    /// Time spent compiling top-level expressions.
    expressions: Timings,
    /// Top-level expressions interpreted instead of compiled.
    interpreted: u64,
    /// Where to write perf map lines, when asked.
    perf_map: Option<PerfMap>,
    /// With `-g`: the lines of each source, to emit DWARF and register each object
    /// with the debugger interface.
    debug: Option<HashMap<SourceId, Rc<SourceLines>>>,
    /// The process running the code.
    pid: u32,
}

/// `/tmp/perf-PID.map` of the process running the code.
struct PerfMap {
    pid: u32,
    file: Option<std::fs::File>,
}

impl PerfMap {
    /// Appends `address size name` for a function's code (best effort: a map that
    /// cannot be written must not stop the program).
    fn record(&mut self, pid: u32, code: Code, name: &str) {
        use std::io::Write;
        if self.file.is_none() || self.pid != pid {
            self.pid = pid;
            self.file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(format!("/tmp/perf-{pid}.map"))
                .ok();
        }
        if let Some(file) = &mut self.file {
            let size = code.size - (code.entry - code.block);
            let _ = writeln!(file, "{:x} {:x} {name}", code.entry, size);
        }
    }
}

fn jit_error(err: impl std::fmt::Display, span: Span) -> Error {
    Error::Jit {
        message: err.to_string(),
        span,
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl Jit {
    /// A JIT running code in this process.
    pub fn new(strategy: Strategy, opt: OptLevel) -> Result<Self, String> {
        let executor = InProcess::new().map_err(|e| e.to_string())?;
        Ok(Self::lazily(strategy, opt, Box::new(executor)))
    }

    /// A lazy JIT whose code runs in a `toy-executor` process.
    pub fn remote(transport: Transport, opt: OptLevel) -> Result<Self, String> {
        let executor = Remote::new(transport).map_err(|e| e.to_string())?;
        Ok(Self::lazily(Strategy::Lazy, opt, Box::new(executor)))
    }

    /// A JIT with the given compiler and executor.
    pub fn with(strategy: Strategy, compiler: Compiler, executor: Box<dyn Executor>) -> Self {
        let opt = compiler.opt();
        let mut jit = Self::lazily(strategy, opt, executor);
        jit.state.compiler = Some(compiler);
        jit
    }

    /// A JIT that makes a host compiler at `opt` when it first compiles.
    fn lazily(strategy: Strategy, opt: OptLevel, executor: Box<dyn Executor>) -> Self {
        let pid = executor.pid();
        Jit {
            executor,
            state: State {
                compiler: None,
                opt,
                cache: None,
                strategy,
                trace: false,
                stubs: Stubs::default(),
                globals: Vec::new(),
                index: HashMap::new(),
                timings: Timings::default(),
                expressions: Timings::default(),
                interpreted: 0,
                perf_map: None,
                debug: None,
                pid,
            },
        }
    }

    /// Prints `[jit] compiled NAME in ...` to stderr for every function compiled.
    pub fn set_trace(&mut self, trace: bool) {
        self.state.trace = trace;
    }

    /// Writes `/tmp/perf-PID.map` lines for every function compiled from now on.
    /// Keeps compiled objects in `dir` (bounded to `limit` bytes) and reuses them.
    pub fn set_cache(&mut self, dir: Option<PathBuf>, limit: u64) {
        let options = format!("{:?}", self.state.opt);
        self.state.cache = dir.map(|dir| {
            let context = move || {
                let triple = TargetMachine::get_default_triple();
                let cpu = TargetMachine::get_host_cpu_name();
                let features = TargetMachine::get_host_cpu_features();
                cache::context(
                    &triple.as_str().to_string_lossy(),
                    &cpu.to_string_lossy(),
                    &features.to_string_lossy(),
                    &options,
                )
            };
            Cache::new(dir, limit, Box::new(context))
        });
    }

    /// Emits DWARF for each function and registers its object with the executor's
    /// debugger interface (GDB's JIT interface), when `on`.
    pub fn set_debug(&mut self, on: bool) {
        self.state.debug = on.then(HashMap::new);
    }

    /// Writes `/tmp/perf-PID.map` lines for each compiled function, when `on`.
    pub fn set_perf_map(&mut self, on: bool) {
        self.state.perf_map = on.then_some(PerfMap { pid: 0, file: None });
    }

    /// Bytes of executor memory in use (code, data, stubs).
    pub fn memory_in_use(&mut self) -> Result<u64, ExecError> {
        self.executor.loader().memory_in_use()
    }

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
                self.state.pid = self.executor.pid();
                match self.state.reload(self.executor.loader()) {
                    Ok(()) => "started a fresh executor; all definitions are kept".to_string(),
                    Err(e) => format!("started a fresh executor, but reloading failed: {e}"),
                }
            }
            Ok(false) => "it cannot be restarted".to_string(),
            Err(e) => format!("cannot start a fresh one: {e}"),
        };
        Err(Error::ExecutorDied { how, after, span })
    }

    /// The executor (for tools and benchmarks that load code of their own).
    pub fn executor(&mut self) -> &mut dyn Executor {
        &mut *self.executor
    }

    /// The stub of `name` and its code, if compiled.
    pub fn addresses(&mut self, name: &str) -> Option<(Addr, Option<Addr>)> {
        let &id = self.state.index.get(name)?;
        let stub = self.state.stubs.create(self.executor.loader(), id).ok()?;
        let code = match &self.state.globals[id as usize].body {
            Body::Defined { code, .. } => code.map(|c| c.entry),
            _ => None,
        };
        Some((stub, code))
    }
}

impl State {
    /// The global `name`, created (undefined, slot on its trampoline) if new.
    fn global(&mut self, loader: &mut dyn Loader, name: &str) -> Result<u32, ExecError> {
        if let Some(&id) = self.index.get(name) {
            return Ok(id);
        }
        let id = u32::try_from(self.globals.len()).map_err(|_| ExecError::OutOfMemory(0))?;
        self.stubs.create(loader, id)?;
        let name: Name = name.into();
        self.globals.push(Global {
            name: name.clone(),
            body: Body::Undefined,
            callers: HashSet::new(),
        });
        self.index.insert(name, id);
        Ok(id)
    }

    /// Compiles and links `function` under `symbol`.
    fn build(
        &mut self,
        loader: &mut dyn Loader,
        function: &Function,
        symbol: &str,
    ) -> Result<Code, Error> {
        let span = function.proto.span;
        let failed = |err: &dyn std::fmt::Display| match symbol {
            ANON_NAME => jit_error(err, span),
            _ => Error::CompileFailed {
                name: symbol.to_string(),
                message: err.to_string(),
                span,
            },
        };
        let mut timings = Timings::default();
        // Each distinct callee and arity, sorted: the stubs the object links against,
        // and (with the kinds) what it depends on besides its own function.
        let mut calls = BTreeSet::new();
        function.body.for_each_call(&mut |name, arity, _| {
            calls.insert((name.to_string(), arity));
        });
        // The function itself is never a library function, even while it replaces an
        // `extern` of the same name.
        let library = |name: &str| {
            name != symbol
                && self
                    .index
                    .get(name)
                    .is_some_and(|&i| matches!(self.globals[i as usize].body, Body::Extern { .. }))
        };
        // Debug objects hold source positions: never cached.
        let key = match (&mut self.cache, &self.debug) {
            (Some(cache), None) => Some(cache.key(&[
                symbol.as_bytes(),
                unparse::function(function).as_bytes(),
                callee_signatures(&calls, &library).as_bytes(),
            ])),
            _ => None,
        };
        let cached = match (&mut self.cache, &key) {
            (Some(cache), Some(key)) => cache.get(key),
            _ => None,
        };
        let from_cache = cached.is_some();
        let object = match cached {
            Some(object) => object,
            None => {
                if self.compiler.is_none() {
                    self.compiler = Some(Compiler::host(self.opt).map_err(|e| failed(&e))?);
                }
                let Some(compiler) = &self.compiler else {
                    return Err(failed(&"no compiler"));
                };
                let lines = self
                    .debug
                    .as_ref()
                    .and_then(|sources| sources.get(&function.proto.span.source));
                let position =
                    |span: Span| lines.map_or((0, 0), |lines| lines.position(span.start));
                let source = lines.map(|lines| DebugSource {
                    file: lines.file.clone(),
                    directory: lines.directory.clone(),
                    position: &position,
                });
                let object = compiler
                    .compile(
                        function,
                        Some(symbol),
                        Output::Object,
                        &library,
                        &mut timings,
                        source.as_ref(),
                    )
                    .map_err(|e| failed(&e))?;
                if let (Some(cache), Some(key)) = (&mut self.cache, &key) {
                    cache.put(key, &object);
                }
                object
            }
        };
        // Every name the program calls resolves to its stub; anything else is a call
        // LLVM introduced (memset, sincos, ...) and resolves in the executor.
        let mut stub_of = HashMap::new();
        for (name, _) in calls {
            if stub_of.contains_key(&name) {
                continue;
            }
            let id = self.global(loader, &name).map_err(|e| failed(&e))?;
            let stub = self.stubs.create(loader, id).map_err(|e| failed(&e))?;
            stub_of.insert(name, stub);
        }
        let mut resolve = |name: &str| stub_of.get(name).copied();
        let start = Instant::now();
        let linked = linker::link(&object, loader, &mut resolve, self.debug.is_some())
            .map_err(|e| failed(&e))?;
        timings.link = start.elapsed();
        let Some(&entry) = linked.symbols.get(symbol) else {
            loader.release(linked.block).map_err(|e| failed(&e))?;
            return Err(failed(&format!("object lacks `{symbol}`")));
        };
        if symbol == ANON_NAME {
            add(&mut self.expressions, &timings);
        } else {
            add(&mut self.timings, &timings);
            if self.trace && from_cache {
                eprintln!(
                    "[jit] loaded {symbol} from the code cache (link {:.3} ms)",
                    ms(timings.link)
                );
            } else if self.trace {
                let total = timings.irgen + timings.optimize + timings.codegen + timings.link;
                eprintln!(
                    "[jit] compiled {symbol} in {:.3} ms (irgen {:.3}, optimize {:.3}, codegen {:.3}, link {:.3})",
                    ms(total),
                    ms(timings.irgen),
                    ms(timings.optimize),
                    ms(timings.codegen),
                    ms(timings.link),
                );
            }
        }
        let code = Code {
            entry,
            block: linked.block,
            size: linked.size,
        };
        if symbol != ANON_NAME
            && let Some(map) = &mut self.perf_map
        {
            map.record(self.pid, code, symbol);
        }
        Ok(code)
    }

    /// Why `function` cannot run now, if it calls something missing or mismatched.
    fn check_calls(&self, function: &Function) -> Option<Error> {
        let mut error = None;
        function.body.for_each_call(&mut |name, arity, span| {
            if error.is_some() {
                return;
            }
            let global = self.index.get(name).map(|&i| &self.globals[i as usize]);
            let expected = match global.map(|g| &g.body) {
                None | Some(Body::Undefined) => {
                    error = Some(Error::UnknownFunction {
                        name: name.to_string(),
                        span,
                    });
                    return;
                }
                Some(Body::Extern {
                    target: Err(err), ..
                }) => {
                    error = Some(with_span(err.clone(), span));
                    return;
                }
                Some(Body::Defined { function, .. }) => function.proto.arity(),
                Some(Body::Extern { proto, .. }) => proto.arity(),
            };
            if expected != arity {
                error = Some(Error::WrongArity {
                    name: name.to_string(),
                    expected,
                    found: arity,
                    span,
                });
            }
        });
        error
    }

    /// The code global `id` may run now: compiled, or an extern's, with every callee
    /// in place.
    fn runnable(&self, id: u32) -> Option<Addr> {
        match &self.globals[id as usize].body {
            Body::Undefined => None,
            Body::Defined { function, code } => {
                let code = (*code)?;
                self.check_calls(function).is_none().then_some(code.entry)
            }
            Body::Extern { target, .. } => target.as_ref().ok().copied(),
        }
    }

    /// Points the slot of `id` at its code if it can run, else at its trampoline.
    fn refresh(&mut self, loader: &mut dyn Loader, id: u32) -> Result<(), ExecError> {
        match self.runnable(id) {
            Some(code) => self.stubs.point(loader, id, code),
            None => self.stubs.reset(loader, id),
        }
    }

    /// After global `id` changed: re-check it and every function that calls it.
    fn changed(&mut self, loader: &mut dyn Loader, id: u32) -> Result<(), ExecError> {
        self.refresh(loader, id)?;
        let callers: Vec<u32> = self.globals[id as usize].callers.iter().copied().collect();
        for caller in callers {
            self.refresh(loader, caller)?;
        }
        Ok(())
    }

    fn record_callers(
        &mut self,
        loader: &mut dyn Loader,
        id: u32,
        function: &Function,
    ) -> Result<(), ExecError> {
        let mut names = Vec::new();
        function
            .body
            .for_each_call(&mut |name, _, _| names.push(name.to_string()));
        for name in names {
            let callee = self.global(loader, &name)?;
            self.globals[callee as usize].callers.insert(id);
        }
        Ok(())
    }

    /// Registers every global again in a fresh executor: stubs on their trampolines,
    /// no code (functions compile again on their next call), externs looked up anew.
    fn reload(&mut self, loader: &mut dyn Loader) -> Result<(), ExecError> {
        self.stubs.clear();
        let mut externs = Vec::new();
        for (id, global) in self.globals.iter_mut().enumerate() {
            match &mut global.body {
                Body::Defined { code, .. } => *code = None,
                Body::Extern { proto, .. } => externs.push((id, Rc::clone(proto))),
                Body::Undefined => {}
            }
        }
        let names: Vec<&str> = externs.iter().map(|(_, p)| &*p.name).collect();
        let found = loader.lookup_externs(&names)?;
        for ((id, proto), found) in externs.iter().zip(found) {
            let target = extern_target(proto, found);
            if let Body::Extern { target: t, .. } = &mut self.globals[*id].body {
                *t = target;
            }
        }
        let count = self.globals.len() as u32;
        if count > 0 {
            self.stubs.create(loader, count - 1)?;
        }
        for id in 0..count {
            self.refresh(loader, id)?;
        }
        Ok(())
    }

    /// Replaces the body of `id`, releasing code no evaluation can be running: items
    /// arrive only between evaluations.
    fn replace(&mut self, loader: &mut dyn Loader, id: u32, body: Body) -> Result<(), ExecError> {
        let is_extern = matches!(body, Body::Extern { .. });
        let old = std::mem::replace(&mut self.globals[id as usize].body, body);
        let was_extern = matches!(old, Body::Extern { .. });
        if let Body::Defined {
            code: Some(code), ..
        } = old
        {
            loader.release(code.block)?;
        }
        if was_extern != is_extern && !matches!(old, Body::Undefined) {
            self.recompile_callers(loader, id)?;
        }
        Ok(())
    }

    /// Callers were compiled believing `id` a C library function (which LLVM may fold,
    /// as in `sin(1)`), or believing it not one: their code is stale. Lazily, they
    /// compile again on their next call; eagerly, now.
    fn recompile_callers(&mut self, loader: &mut dyn Loader, id: u32) -> Result<(), ExecError> {
        let callers: Vec<u32> = self.globals[id as usize].callers.iter().copied().collect();
        for caller in callers {
            let Body::Defined { function, code } = &mut self.globals[caller as usize].body else {
                continue;
            };
            let Some(stale) = code.take() else { continue };
            let function = Rc::clone(function);
            loader.release(stale.block)?;
            self.stubs.reset(loader, caller)?;
            if self.strategy == Strategy::Eager {
                // A failure leaves the caller uncompiled: its next call compiles it
                // and reports the error then.
                if let Ok(code) = self.build(loader, &function, &function.proto.name)
                    && let Body::Defined { code: slot, .. } =
                        &mut self.globals[caller as usize].body
                {
                    *slot = Some(code);
                }
            }
        }
        Ok(())
    }

    // ANCHOR: resolve
    /// The compile callback: the code global `id` runs, compiled now if it has not
    /// been, or why it cannot run. A failure leaves the function uncompiled, so a
    /// later call tries again.
    fn resolve(&mut self, loader: &mut dyn Loader, id: u32, span: Span) -> Result<Addr, Error> {
        let global = &self.globals[id as usize];
        let function = match &global.body {
            Body::Undefined => {
                return Err(Error::UnknownFunction {
                    name: global.name.to_string(),
                    span,
                });
            }
            Body::Extern { target, .. } => return target.clone().map_err(|e| with_span(e, span)),
            Body::Defined { function, .. } => Rc::clone(function),
        };
        if let Some(err) = self.check_calls(&function) {
            return Err(err);
        }
        let code = match &self.globals[id as usize].body {
            Body::Defined {
                code: Some(code), ..
            } => *code,
            _ => {
                let code = self.build(loader, &function, &function.proto.name)?;
                if let Body::Defined { code: slot, .. } = &mut self.globals[id as usize].body {
                    *slot = Some(code);
                }
                code
            }
        };
        let span = function.proto.span;
        self.stubs
            .point(loader, id, code.entry)
            .map_err(|e| jit_error(e, span))?;
        Ok(code.entry)
    }

    // ANCHOR_END: resolve

    /// The error to report for an aborted evaluation.
    fn abort_error(&self, abort: Abort, failure: Option<Error>, span: Span) -> Error {
        match abort {
            Abort::Unresolved(id) => failure.unwrap_or_else(|| Error::UnknownFunction {
                name: self
                    .globals
                    .get(id as usize)
                    .map_or("?".into(), |g| g.name.to_string()),
                span,
            }),
            Abort::Interrupted => Error::Interrupted { span },
            Abort::StackOverflow { pc } => {
                // Blame the function whose code overflowed, if it is one of ours.
                let span = self
                    .globals
                    .iter()
                    .find_map(|g| match &g.body {
                        Body::Defined {
                            function,
                            code: Some(code),
                        } if (code.block..code.block + code.size).contains(&pc) => {
                            Some(function.proto.span)
                        }
                        _ => None,
                    })
                    .unwrap_or(span);
                Error::StackOverflow { span }
            }
        }
    }
}

/// What an `extern` resolves to, given what the executor found for its name.
fn extern_target(proto: &Prototype, found: Option<(Addr, Option<usize>)>) -> Result<Addr, Error> {
    match found {
        None => Err(Error::UnresolvedExtern {
            name: proto.name.to_string(),
            span: proto.span,
        }),
        Some((_, Some(arity))) if arity != proto.arity() => Err(Error::WrongArity {
            name: proto.name.to_string(),
            expected: arity,
            found: proto.arity(),
            span: proto.span,
        }),
        Some((addr, _)) => Ok(addr),
    }
}

/// Each call as `name/arity/kind`: what an object depends on besides its own
/// function (the declarations LLVM sees, and which callees are C library functions
/// it may fold).
fn callee_signatures(calls: &BTreeSet<(String, usize)>, library: &dyn Fn(&str) -> bool) -> String {
    let signatures: Vec<String> = calls
        .iter()
        .map(|(name, arity)| {
            let kind = if library(name) { "lib" } else { "def" };
            format!("{name}/{arity}/{kind}")
        })
        .collect();
    signatures.join("\n")
}

fn add(total: &mut Timings, one: &Timings) {
    total.irgen += one.irgen;
    total.optimize += one.optimize;
    total.codegen += one.codegen;
    total.link += one.link;
    total.count += one.count;
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

impl Jit {
    fn define_now(&mut self, function: Rc<Function>) -> Result<(), Error> {
        let span = function.proto.span;
        let name = function.proto.name.clone();
        let state = &mut self.state;
        let loader = self.executor.loader();
        let code = match state.strategy {
            Strategy::Eager => Some(state.build(loader, &function, &name)?),
            Strategy::Lazy => None,
        };
        let id = state
            .global(loader, &name)
            .map_err(|e| jit_error(e, span))?;
        let body = Body::Defined {
            function: Rc::clone(&function),
            code,
        };
        state
            .replace(loader, id, body)
            .and_then(|()| state.record_callers(loader, id, &function))
            .and_then(|()| state.changed(loader, id))
            .map_err(|e| jit_error(e, span))
    }

    fn declare_now(&mut self, proto: Rc<Prototype>) -> Result<(), Error> {
        let span = proto.span;
        let state = &mut self.state;
        let loader = self.executor.loader();
        let found = loader
            .lookup_externs(&[&proto.name])
            .map_err(|e| jit_error(e, span))?
            .pop()
            .flatten();
        let target = extern_target(&proto, found);
        let id = state
            .global(loader, &proto.name)
            .map_err(|e| jit_error(e, span))?;
        state
            .replace(loader, id, Body::Extern { proto, target })
            .and_then(|()| state.changed(loader, id))
            .map_err(|e| jit_error(e, span))
    }

    fn evaluate_now(&mut self, expr: Rc<Function>) -> Result<f64, Error> {
        let span = expr.proto.span;
        let Jit { executor, state } = self;
        if let Some(err) = state.check_calls(&expr) {
            return Err(err);
        }
        // A one-shot expression without loops or calls costs less to interpret than
        // to compile (~1 ms); the interpreter computes the same doubles, bit for bit.
        // The eager JIT compiles everything, as the reference for compiled code.
        if state.strategy == Strategy::Lazy && expr.body.is_straight_line() {
            state.interpreted += 1;
            return Interpreter::new().evaluate(expr);
        }
        let code = state.build(executor.loader(), &expr, ANON_NAME)?;
        let mut failure = None;
        let result = executor.run(code.entry, &mut |loader, id| match state
            .resolve(loader, id, span)
        {
            Ok(addr) => Some(addr),
            Err(err) => {
                failure = Some(err);
                None
            }
        });
        // A top-level expression's memory goes as soon as it has run.
        executor
            .loader()
            .release(code.block)
            .map_err(|e| jit_error(e, span))?;
        match result.map_err(|e| jit_error(e, span))? {
            Ok(value) => Ok(value),
            Err(abort) => Err(state.abort_error(abort, failure, span)),
        }
    }
}

impl Engine for Jit {
    fn define(&mut self, function: Rc<Function>) -> Result<(), Error> {
        let span = function.proto.span;
        let result = self.define_now(function);
        self.checked(result, span)
    }

    fn declare(&mut self, proto: Rc<Prototype>) -> Result<(), Error> {
        let span = proto.span;
        let result = self.declare_now(proto);
        self.checked(result, span)
    }

    fn evaluate(&mut self, expr: Rc<Function>) -> Result<f64, Error> {
        let span = expr.proto.span;
        let result = self.evaluate_now(expr);
        self.checked(result, span)
    }

    fn source_lines(&mut self, id: SourceId, lines: Rc<SourceLines>) {
        if let Some(sources) = &mut self.state.debug {
            sources.insert(id, lines);
        }
    }

    fn wants_lines(&self) -> bool {
        self.state.debug.is_some()
    }

    fn stats(&mut self) -> Option<Stats> {
        let state = &self.state;
        let mut stats = Stats {
            functions: 0,
            compiled: 0,
            externs: 0,
            timings: state.timings,
            expressions: state.expressions,
            interpreted: state.interpreted,
            code_bytes: 0,
            stub_bytes: state.stubs.memory(),
            memory_in_use: 0,
        };
        for global in &state.globals {
            match &global.body {
                Body::Undefined => {}
                Body::Defined { code, .. } => {
                    stats.functions += 1;
                    if let Some(code) = code {
                        stats.compiled += 1;
                        stats.code_bytes += code.size;
                    }
                }
                Body::Extern { .. } => stats.externs += 1,
            }
        }
        stats.memory_in_use = self.executor.loader().memory_in_use().unwrap_or(0);
        Some(stats)
    }
}
