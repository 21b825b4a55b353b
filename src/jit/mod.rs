//! The JIT (BuildingAJIT chapters 1–4): functions compiled by LLVM, linked by our own
//! linker into executor memory, and called through indirect stubs.
//!
//! Every global name (function, operator or `extern`) owns an *indirect stub*
//! `jmp *slot(%rip)` whose address never changes; all calls go through stubs, so a
//! function may call one defined later, and redefinition only re-points a slot. Until
//! a name has code that can run, its slot points at its *trampoline*, which enters
//! the executor's resolver with the name's id; the resolver calls `State::resolve`
//! (through the executor's run loop), which compiles the function on the spot
//! ([`Strategy::Lazy`]) or reports why it cannot run (a missing or mismatched callee:
//! the same moment at which the reference interpreter reports it).
//!
//! Here: the globals and the compile callback. `build` compiles and links (at tier 0
//! or 1, or from the `cache`); `tiers` queues tier-ups and speculative compiles for
//! the threads of `background` and installs what they finish.

mod background;
mod build;
pub mod cache;
pub mod linker;
mod stubs;
mod tiers;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::codegen::{COUNTER, Compiler, DebugSource, OptLevel, Output, TRAMPOLINE, Timings};
use crate::engine::{Engine, Stats};
use crate::epc::remote::{Remote, Transport};
use crate::error::Error;
use crate::frontend::ast::{ANON_NAME, Function, Name, Prototype};
use crate::frontend::source::{SourceId, SourceLines, Span};
use crate::frontend::{tail, unparse};
use crate::interp::Interpreter;
pub use background::stop_all as stop_background;
use background::{BATCH, Compilers, Finished, Job, Workers, tier_symbol};
use cache::{Cache, CacheError, Key};
use inkwell::targets::TargetMachine;
use std::sync::atomic::AtomicBool;
use stubs::Stubs;
use toy_executor::local::InProcess;
use toy_executor::runtime::{CALL_COUNTERS_LEN, CALL_COUNTERS_SYMBOL};
use toy_executor::stubs::{THUNK_MAX_ARGS, call_thunk};
use toy_shared::executor::{Executor, Loader};
use toy_shared::{Abort, Addr, ExecError};

/// Receives the `--trace-jit` lines (the CLI prints them).
pub type Trace = Box<dyn FnMut(&str)>;

/// When functions are compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// As soon as they are defined (BuildingAJIT chapters 1–2).
    Eager,
    /// On their first call, from their trampoline (chapter 4).
    Lazy,
}

/// Which code the lazy JIT makes of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tier {
    /// Tier 0 only: mem2reg and fast instruction selection.
    Zero,
    /// Tier 1 only: the full pipeline of the optimization level.
    One,
    /// Tier 0 first; functions that become hot are recompiled at tier 1 in the
    /// background and swapped in.
    #[default]
    Auto,
}

/// A function's code in executor memory.
#[derive(Clone, Copy)]
struct Code {
    entry: Addr,
    /// The function's own bytes from `entry` (a batch's block holds several).
    len: u64,
    block: Addr,
    size: u64,
    /// 0: baseline (counting calls when tiering), 1: fully optimized.
    tier: u8,
}

/// Where an object came from, for the trace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Compiled on the JIT's thread when first needed.
    Demand,
    /// Compiled ahead of its first call by a background thread (or stolen by ours).
    Speculation,
    /// Recompiled at tier 1 because it is hot.
    TierUp,
    /// Read from the code cache.
    Cache,
}

/// What a global name currently is.
enum Body {
    /// Called somewhere, never defined.
    Undefined,
    /// A `def`: its AST (for arity, callees and compiling) and its code, once compiled.
    Defined {
        function: Arc<Function>,
        code: Option<Code>,
    },
    /// An `extern`, resolved (`target`) or not.
    Extern {
        proto: Arc<Prototype>,
        target: Result<Addr, Error>,
    },
}

struct Global {
    name: Name,
    body: Body,
    /// Globals whose bodies call this one: they are checked again when it changes.
    callers: HashSet<u32>,
    /// Bumped whenever the code it has or will have goes stale (redefinition, a
    /// callee changing kind): background results for older generations are dropped.
    generation: u64,
    /// A first compile queued for the background, by its claim flag.
    queued: Option<Arc<AtomicBool>>,
    /// Whether a tier-1 recompile was requested for the current generation.
    tier_up: bool,
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
    /// The tier-0 compilers of this thread, made on first use.
    baseline: Compilers,
    /// Which tiers the lazy JIT uses.
    tier: Tier,
    /// Whether callees of compiled functions are compiled ahead, in the background.
    speculate: bool,
    /// The background compile threads, started when first needed.
    workers: Option<Workers>,
    /// The executor's call counters (tier-0 code counts its calls there).
    counters: Option<Addr>,
    /// Blocks replaced while code could still be running them: released when the
    /// evaluation ends.
    retired: Vec<Addr>,
    /// Functions recompiled at tier 1 and swapped in.
    tier_ups: u64,
    /// How many globals' code lies in each block of function code (a batch is one
    /// block): released with its last.
    blocks: HashMap<Addr, u32>,
    /// Compiled objects on disk, when on.
    cache: Option<Cache>,
    strategy: Strategy,
    /// Where `--trace-jit` lines go, if anywhere.
    trace: Option<Trace>,
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
    debug: Option<HashMap<SourceId, Arc<SourceLines>>>,
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
            let _ = writeln!(file, "{:x} {:x} {name}", code.entry, code.len);
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
        let mut jit = Jit {
            executor,
            state: State {
                compiler: None,
                opt,
                baseline: Compilers::new(opt, true),
                tier: Tier::Auto,
                speculate: false,
                workers: None,
                counters: None,
                retired: Vec::new(),
                tier_ups: 0,
                blocks: HashMap::new(),
                cache: None,
                strategy,
                trace: None,
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
        };
        jit.state.baseline = Compilers::new(jit.state.tier1_opt(), true);
        jit
    }

    /// Chooses the tiers (lazy JIT only; the eager JIT compiles at the optimization
    /// level) and whether to compile callees ahead in the background.
    pub fn set_tiering(&mut self, tier: Tier, speculate: bool) {
        self.state.tier = tier;
        self.state.speculate = speculate;
        self.state.baseline = Compilers::new(self.state.tier1_opt(), tier == Tier::Auto);
    }

    /// Hands `trace` a line (`[jit] compiled NAME in ...`) for every function
    /// compiled, loaded or tiered up; the library itself never prints.
    pub fn set_trace(&mut self, trace: Option<Trace>) {
        self.state.trace = trace;
    }

    /// Keeps compiled objects in `dir` (bounded to `limit` bytes) and reuses them; a
    /// directory that cannot be trusted leaves the cache off (the error says why).
    pub fn set_cache(&mut self, dir: Option<PathBuf>, limit: u64) -> Result<(), CacheError> {
        self.state.cache = None;
        let Some(dir) = dir else { return Ok(()) };
        let options = format!("{:?}", self.state.opt);
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
        self.state.cache = Some(Cache::open(dir, limit, Box::new(context))?);
        Ok(())
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
            generation: 0,
            queued: None,
            tier_up: false,
        });
        self.index.insert(name, id);
        Ok(id)
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
        self.counters = None;
        // That memory is gone with the old executor.
        self.retired.clear();
        self.blocks.clear();
        let mut externs = Vec::new();
        for (id, global) in self.globals.iter_mut().enumerate() {
            global.generation += 1;
            global.queued = None;
            global.tier_up = false;
            match &mut global.body {
                Body::Defined { code, .. } => *code = None,
                Body::Extern { proto, .. } => externs.push((id, Arc::clone(proto))),
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
        let global = &mut self.globals[id as usize];
        global.generation += 1;
        global.queued = None;
        global.tier_up = false;
        let old = std::mem::replace(&mut global.body, body);
        if let Body::Defined {
            code: Some(code), ..
        } = old
        {
            self.drop_block(loader, code.block)?;
        }
        Ok(())
    }

    // ANCHOR: resolve
    /// The compile callback: the code global `id` runs, compiled now if it has not
    /// been, or why it cannot run. A failure leaves the function uncompiled, so a
    /// later call tries again.
    fn resolve(&mut self, loader: &mut dyn Loader, id: u32, span: Span) -> Result<Addr, Error> {
        // The id comes from the executor, which may lie.
        let Some(global) = self.globals.get(id as usize) else {
            return Err(jit_error(ExecError::UnknownId(id), span));
        };
        let function = match &global.body {
            Body::Undefined => {
                return Err(Error::UnknownFunction {
                    name: global.name.to_string(),
                    span,
                });
            }
            Body::Extern { target, .. } => return target.clone().map_err(|e| with_span(e, span)),
            Body::Defined { function, .. } => Arc::clone(function),
        };
        if let Some(err) = self.check_calls(&function) {
            return Err(err);
        }
        // Code already there when the trampoline is entered: a poll from counted code
        // (it is hot), or a slot reset because a callee changed.
        let had_code = self.current_code(id);
        self.install_finished(loader);
        let global = &mut self.globals[id as usize];
        let code = match (&global.body, had_code) {
            (
                Body::Defined {
                    code: Some(code), ..
                },
                Some(_),
            ) => {
                let code = *code;
                if code.tier == 0 && !global.tier_up && self.counting() {
                    self.tier_up(loader, id, Arc::clone(&function));
                }
                self.current_code(id).unwrap_or(code)
            }
            _ => {
                if let Some(flag) = global.queued.clone() {
                    // Queued but not started: compile its batch here, now.
                    match self.workers.as_ref().and_then(|w| w.take(&flag)) {
                        Some(job) => self.compile_job(loader, job),
                        None => self.await_code(loader, id),
                    }
                }
                let code = match self.current_code(id) {
                    Some(code) => code,
                    None => {
                        let tier = match self.starts_at_tier1(id, &function) {
                            true => 1,
                            false => self.first_tier(),
                        };
                        let code = self.build(loader, &function, &function.proto.name, tier)?;
                        self.adopt(code.block);
                        if let Body::Defined { code: slot, .. } =
                            &mut self.globals[id as usize].body
                        {
                            *slot = Some(code);
                        }
                        code
                    }
                };
                self.speculate_from(loader, id);
                code
            }
        };
        let span = function.proto.span;
        self.stubs
            .point(loader, id, code.entry)
            .map_err(|e| jit_error(e, span))?;
        Ok(code.entry)
    }

    /// The code global `id` has now, if any.
    fn current_code(&self, id: u32) -> Option<Code> {
        match &self.globals[id as usize].body {
            Body::Defined { code, .. } => *code,
            _ => None,
        }
    }

    // ANCHOR_END: resolve

    /// Calls the compiled function `name` with `args` through its stub, from a thunk:
    /// for interpreted top-level expressions.
    fn call_compiled(
        &mut self,
        executor: &mut dyn Executor,
        name: &str,
        args: &[f64],
        span: Span,
    ) -> Result<f64, Error> {
        let loader = executor.loader();
        let id = self.global(loader, name).map_err(|e| jit_error(e, span))?;
        let stub = self
            .stubs
            .create(loader, id)
            .map_err(|e| jit_error(e, span))?;
        let code = call_thunk(stub, args).ok_or_else(|| jit_error("too many arguments", span))?;
        let len = code.len() as u64;
        let thunk = loader
            .reserve(len, 16)
            .and_then(|thunk| {
                loader.write(thunk, &code)?;
                loader.finalize(thunk, len)?;
                Ok(thunk)
            })
            .map_err(|e| jit_error(e, span))?;
        let result = self.run(executor, thunk, span);
        executor
            .loader()
            .release(thunk)
            .map_err(|e| jit_error(e, span))?;
        result
    }

    /// Runs the `double(*)(void)` at `addr`, compiling on demand: its value, or why it
    /// stopped (the executor's own failures included).
    fn run(&mut self, executor: &mut dyn Executor, addr: Addr, span: Span) -> Result<f64, Error> {
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
        match result.map_err(|e| jit_error(e, span))? {
            Ok(value) => Ok(value),
            Err(abort) => Err(self.abort_error(abort, failure, span)),
        }
    }

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
            // Reported at the top-level expression, as every engine does: which
            // function's frame met the guard page depends on frame sizes.
            Abort::StackOverflow { .. } => Error::StackOverflow { span },
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

/// The largest number of arguments any call in `function` passes.
fn max_arity(function: &Function) -> usize {
    let mut max = 0;
    function
        .body
        .for_each_call(&mut |_, arity, _| max = max.max(arity));
    max
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
    fn define_now(&mut self, function: Arc<Function>) -> Result<(), Error> {
        let span = function.proto.span;
        let name = function.proto.name.clone();
        let state = &mut self.state;
        let loader = self.executor.loader();
        let code = match state.strategy {
            Strategy::Eager => Some(state.build(loader, &function, &name, 1)?),
            Strategy::Lazy => None,
        };
        if let Some(code) = code {
            state.adopt(code.block);
        }
        let id = state
            .global(loader, &name)
            .map_err(|e| jit_error(e, span))?;
        let body = Body::Defined {
            function: Arc::clone(&function),
            code,
        };
        state
            .replace(loader, id, body)
            .and_then(|()| state.record_callers(loader, id, &function))
            .and_then(|()| state.changed(loader, id))
            .map_err(|e| jit_error(e, span))
    }

    fn declare_now(&mut self, proto: Arc<Prototype>) -> Result<(), Error> {
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

    fn evaluate_now(&mut self, expr: Arc<Function>) -> Result<f64, Error> {
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
        // One without loops but with calls is interpreted too, each call going to the
        // compiled code through a thunk and the callee's stub (not under `-g`, where
        // a debugger should see the expression's own frame).
        if state.strategy == Strategy::Lazy
            && state.debug.is_none()
            && !expr.body.has_loop()
            && max_arity(&expr) <= THUNK_MAX_ARGS
        {
            state.interpreted += 1;
            state.install_finished(executor.loader());
            let mut call = |name: &str, args: &[f64], span: Span| {
                state.call_compiled(&mut **executor, name, args, span)
            };
            let result = Interpreter::new().evaluate_calling(&expr, &mut call);
            let loader = executor.loader();
            state
                .release_retired(loader)
                .map_err(|e| jit_error(e, span))?;
            return result;
        }
        state.install_finished(executor.loader());
        // A one-shot expression cannot tier up: one with a loop gets tier 1 at once.
        let tier = match expr.body.has_loop() {
            true => 1,
            false => state.first_tier(),
        };
        let code = state.build(executor.loader(), &expr, ANON_NAME, tier)?;
        let result = state.run(&mut **executor, code.entry, span);
        // A top-level expression's memory goes as soon as it has run, with the code
        // tier-ups replaced meanwhile.
        let loader = executor.loader();
        loader
            .release(code.block)
            .and_then(|()| state.release_retired(loader))
            .map_err(|e| jit_error(e, span))?;
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

    fn source_lines(&mut self, id: SourceId, lines: Arc<SourceLines>) {
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
            tier_ups: state.tier_ups,
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
