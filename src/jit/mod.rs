//! The JIT (BuildingAJIT chapters 1–4): functions compiled by LLVM, linked by our own
//! linker into executor memory, and called through indirect stubs.
//!
//! Every global name (function, operator or `extern`) owns an *indirect stub*
//! `jmp *slot(%rip)` whose address never changes; all calls go through stubs, so a
//! function may call one defined later, and redefinition only re-points a slot. Until
//! a name has code that can run, its slot points at its *trampoline*, which enters
//! the executor's resolver with the name's id; the resolver calls the compile callback
//! (through the executor's run loop), which compiles the function on the spot
//! ([`Strategy::Lazy`]) or reports why it cannot run (a missing or mismatched callee:
//! the same moment at which the reference interpreter reports it).
//!
//! One concept per module: [`config`] (what the JIT is told), `policy` (which tier
//! when), `globals` (names, ids, bodies, stubs), `blocks` (code memory and when it may
//! go), `build` (compile or load, then link, on this thread), `callback` (the compile
//! callback and running code), `inlining` (the callees' bodies tier 1 copies in, and
//! dropping code that copied a body that changed), `tiers` and `speculation` (work for
//! the background threads of `background`, and installing what they finish), `trace`
//! (trace lines,
//! perf map), [`cache`] (objects on disk), [`linker`] (objects into executor memory),
//! `items` (the [`Engine`](crate::engine::Engine) operations), [`error`].

mod background;
mod blocks;
mod build;
pub mod cache;
mod callback;
pub mod config;
pub mod error;
mod globals;
mod inlining;
mod items;
pub mod linker;
mod policy;
mod speculation;
mod stubs;
mod tiers;
mod trace;

use foldhash::HashMap;
use std::sync::Arc;

use crate::codegen::Timings;
use crate::epc::InProcess;
use crate::frontend::source::{SourceId, SourceLines};
use background::{Compilers, Workers};
use blocks::Blocks;
use cache::Cache;
use globals::Globals;
use policy::Policy;
use toy_shared::executor::Executor;
use toy_shared::{Addr, ExecError};
use trace::Tracer;

pub use background::stop_all as stop_background;
pub use cache::CacheError;
pub use config::{CacheConfig, JitConfig, Strategy, Tier};
pub use error::{ConfigError, Error, Recovery};
pub use trace::Trace;

/// The JIT engine.
pub struct Jit {
    executor: Box<dyn Executor>,
    state: State,
    /// Why the cache asked for is off, until someone asks.
    cache_refusal: Option<CacheError>,
}

/// Everything but the executor, so that the compile callback can borrow both while
/// code runs. Each field is one part of the JIT (see the module list above).
struct State {
    policy: Policy,
    globals: Globals,
    blocks: Blocks,
    /// The compilers of this thread, made on first use: a run served from the cache
    /// never starts LLVM's code generator.
    compilers: Compilers,
    /// The background compile threads, started when first needed.
    workers: Option<Workers>,
    /// The executor's call counters (tier-0 code counts its calls there).
    counters: Option<Addr>,
    /// Compiled objects on disk, when on.
    cache: Option<Cache>,
    tracer: Tracer,
    counts: Counts,
    /// With `-g`: the lines of each source, to emit DWARF and register each object
    /// with the debugger interface.
    debug: Option<HashMap<SourceId, Arc<SourceLines>>>,
}

/// What the JIT has done, for `:stats`.
#[derive(Default)]
struct Counts {
    /// Time spent compiling functions, by phase (top-level expressions excluded).
    functions: Timings,
    /// Time spent compiling top-level expressions.
    expressions: Timings,
    /// Top-level expressions interpreted instead of compiled.
    interpreted: u64,
    /// Functions recompiled at tier 1 and swapped in.
    tier_ups: u64,
    /// Codes dropped because a body they inlined changed.
    invalidations: u64,
}

impl Jit {
    /// A JIT set up as `config` says, running its code in `executor`. A cache
    /// directory that cannot be trusted is not an error: the JIT runs without a cache
    /// and [`Jit::take_cache_refusal`] says why.
    pub fn new(config: JitConfig, executor: Box<dyn Executor>) -> Result<Self, Error> {
        config.check()?;
        let policy = Policy::new(&config);
        let (cache, cache_refusal) = match &config.cache {
            None => (None, None),
            Some(cache) => match Cache::open_host(cache, &format!("{:?}", config.opt)) {
                Ok(cache) => (Some(cache), None),
                Err(refusal) => (None, Some(refusal)),
            },
        };
        let pid = executor.pid();
        Ok(Jit {
            executor,
            state: State {
                policy,
                globals: Globals::default(),
                blocks: Blocks::new(),
                compilers: Compilers::new(policy.tier1_opt(), policy.counting()),
                workers: None,
                counters: None,
                cache,
                tracer: Tracer::new(config.perf_map, pid),
                counts: Counts::default(),
                debug: config.debug.then(HashMap::default),
            },
            cache_refusal,
        })
    }

    /// A JIT set up as `config` says, running its code in this process.
    pub fn in_process(config: JitConfig) -> Result<Self, Error> {
        Jit::new(config, Box::new(InProcess::new()?))
    }

    /// Why the cache that the configuration asked for is off (once).
    pub fn take_cache_refusal(&mut self) -> Option<CacheError> {
        self.cache_refusal.take()
    }

    /// Hands `trace` a line (`[jit] compiled NAME in ...`) for every function
    /// compiled, loaded or tiered up; the library itself never prints.
    pub fn set_trace(&mut self, trace: Option<Trace>) {
        self.state.tracer.set_trace(trace);
    }

    /// Bytes of executor memory in use (code, data, stubs).
    pub fn memory_in_use(&mut self) -> Result<u64, ExecError> {
        self.executor.loader().memory_in_use()
    }

    /// The executor (for tools and benchmarks that load code of their own).
    pub fn executor(&mut self) -> &mut dyn Executor {
        &mut *self.executor
    }

    /// The stub of `name` and its code, if compiled.
    pub fn addresses(&mut self, name: &str) -> Option<(Addr, Option<Addr>)> {
        let id = self.state.globals.id(name)?;
        let stub = self
            .state
            .globals
            .stubs
            .create(self.executor.loader(), id)
            .ok()?;
        Some((stub, self.state.globals.code(id).map(|c| c.entry)))
    }
}
