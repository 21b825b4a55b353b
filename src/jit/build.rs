//! Compiling and linking on the JIT's thread: one function (on demand, from the cache
//! or at a tier), or a batch's object, each callee bound to its stub and each counted
//! function to its own call counter and trampoline.

use foldhash::{HashMap, HashMapExt};
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Instant;

use crate::codegen::{COUNTER, CodegenError, DebugSource, Request, TRAMPOLINE, Timings};
use crate::error::Error;
use crate::frontend::ast::{ANON_NAME, Function};
use crate::frontend::source::Span;
use crate::frontend::unparse;
use crate::jit::State;
use crate::jit::background::tier_symbol;
use crate::jit::cache::Key;
use crate::jit::error::Error as JitError;
use crate::jit::globals::{Body, Code};
use crate::jit::inlining::Inlining;
use crate::jit::linker::{self, LinkError};
use crate::jit::trace::{Origin, Provenance};
use toy_executor::runtime::{CALL_COUNTERS_LEN, CALL_COUNTERS_SYMBOL};
use toy_shared::Addr;
use toy_shared::executor::Loader;

impl State {
    /// Where the object of `function` as `symbol` at `tier`, with `inlining`'s bodies
    /// copied in, lives in the code cache (none without a cache; debug objects hold
    /// source positions: never cached).
    pub(super) fn key(
        &mut self,
        function: &Function,
        symbol: &str,
        tier: u8,
        inlining: &Inlining,
    ) -> Option<Key> {
        if self.debug.is_some() {
            return None;
        }
        let counted = self.policy.counting() && symbol != ANON_NAME;
        let tier = self.policy.cache_tag(tier, counted);
        // Each call as `name/arity`: what an object depends on besides its own
        // function (the declarations LLVM sees), in a stable order.
        let calls: Vec<String> = function
            .callees()
            .iter()
            .map(|(name, arity)| format!("{name}/{arity}"))
            .collect();
        // The bodies it may have inlined are part of what the object is made of.
        let bodies: Vec<String> = inlining
            .bodies
            .iter()
            .map(|body| unparse::function(body))
            .collect();
        let cache = self.cache.as_mut()?;
        Some(cache.key(&[
            symbol.as_bytes(),
            unparse::function(function).as_bytes(),
            calls.join("\n").as_bytes(),
            tier.as_bytes(),
            bodies.join("\n").as_bytes(),
        ]))
    }

    /// Compiles `function` as `symbol` at `tier` on this thread (copying `inlining`'s
    /// bodies in at tier 1).
    fn compile_here(
        &mut self,
        function: &Function,
        symbol: &str,
        tier: u8,
        inlining: &Inlining,
        timings: &mut Timings,
    ) -> Result<Vec<u8>, CodegenError> {
        if tier == 0 {
            let compiler = match symbol {
                ANON_NAME => self.compilers.for_expressions()?,
                _ => self.compilers.for_tier(0)?,
            };
            return compiler.emit(Request::function(function, Some(symbol)).timed(timings));
        }
        let lines = self
            .debug
            .as_ref()
            .and_then(|sources| sources.get(&function.proto.span.source));
        let position = |span: Span| lines.map_or((0, 0), |lines| lines.position(span.start));
        let source = lines.map(|lines| DebugSource {
            file: lines.file.clone(),
            directory: lines.directory.clone(),
            position: &position,
        });
        let bodies: Vec<&Function> = inlining.bodies.iter().map(|b| &**b).collect();
        let request = Request::function(function, Some(symbol)).inlining(&bodies);
        self.compilers
            .for_tier(1)?
            .emit(request.debug(source.as_ref()).timed(timings))
    }

    /// Compiles (or loads from the cache) and links `function` as `name`, first at
    /// `tier` — or, when tiering, at tier 1 straight away if the cache has that. Also
    /// returns what the code inlined (nothing below tier 1), for the caller to record
    /// once it installs the code.
    pub(super) fn build(
        &mut self,
        loader: &mut dyn Loader,
        function: &Arc<Function>,
        name: &str,
        tier: u8,
    ) -> Result<(Code, Inlining), Error> {
        let span = function.proto.span;
        let mut timings = Timings::default();
        let mut cached = None;
        let mut key = None;
        // A top-level expression inlines nothing (see `State::inlining`); the eager
        // JIT builds a function before defining it, so its global may not exist yet.
        let inlining = match name {
            ANON_NAME => Inlining::default(),
            _ => self.inlining(self.globals.id(name), function),
        };
        let none = Inlining::default();
        let at = |tier: u8| if tier == 0 { &none } else { &inlining };
        for tier in self.policy.cached_tiers(tier).rev() {
            let symbol = tier_symbol(name, tier);
            let Some(k) = self.key(function, &symbol, tier, at(tier)) else {
                break;
            };
            if let Some(object) = self.cache.as_mut().and_then(|cache| cache.get(&k)) {
                cached = Some((object, tier));
                break;
            }
            key = Some(k);
        }
        let (object, tier, origin) = match cached {
            Some((object, tier)) => (object, tier, Origin::Cache),
            None => {
                let symbol = tier_symbol(name, tier);
                let object = self
                    .compile_here(function, &symbol, tier, at(tier), &mut timings)
                    .map_err(|source| {
                        let name = name.to_string();
                        Error::jit(JitError::Compile { name, source }, span)
                    })?;
                if let (Some(cache), Some(key)) = (&mut self.cache, &key) {
                    cache.put(key, &object);
                }
                (object, tier, Origin::Demand)
            }
        };
        let symbol = tier_symbol(name, tier);
        let members = [(Arc::clone(function), symbol.clone())];
        let codes = self
            .link_members(
                loader,
                &object,
                &members,
                &at(tier).bodies,
                Provenance {
                    tier,
                    origin,
                    timings,
                },
            )
            .map_err(|source| Error::jit(source, span))?;
        let code = codes[0].ok_or_else(|| {
            let name = name.to_string();
            Error::jit(JitError::MissingSymbol { name, symbol }, span)
        })?;
        let inlined = match code.tier {
            0 => Inlining::default(),
            _ => inlining,
        };
        Ok((code, inlined))
    }

    /// The executor's call counters, looked up once.
    fn counters(&mut self, loader: &mut dyn Loader) -> Option<Addr> {
        if self.counters.is_none() {
            self.counters = loader
                .lookup_symbols(&[CALL_COUNTERS_SYMBOL])
                .ok()
                .and_then(|mut found| found.pop().flatten());
        }
        self.counters
    }

    /// Links an object holding `members` (each function with the symbol it is defined
    /// under) at its tier: callees to their stubs, a counted member's counter and
    /// trampoline to its own. Returns each member's code, if the object has it; the
    /// block is released unless some code is kept ([`State::set_code`]).
    pub(super) fn link_members(
        &mut self,
        loader: &mut dyn Loader,
        object: &[u8],
        members: &[(Arc<Function>, String)],
        inlined: &[Arc<Function>],
        made: Provenance,
    ) -> Result<Vec<Option<Code>>, JitError> {
        let Provenance {
            tier,
            origin,
            mut timings,
        } = made;
        let Some((first, first_symbol)) = members.first() else {
            return Ok(Vec::new());
        };
        // Errors name the function, not the symbol of its tier.
        let name = match first_symbol.as_str() {
            ANON_NAME => ANON_NAME,
            _ => &*first.proto.name,
        };
        let failed = |source: LinkError| JitError::Link {
            name: name.to_string(),
            source,
        };
        // Every name the program calls resolves to its stub; anything else is a call
        // LLVM introduced (memset, sincos, ...) and resolves in the executor.
        let mut stub_of = HashMap::new();
        let counting = tier == 0 && first_symbol != ANON_NAME && self.policy.counting();
        // The copies of inlined bodies call what they call through stubs too.
        for body in inlined {
            for (callee, _) in body.callees() {
                if let Entry::Vacant(entry) = stub_of.entry(callee.to_string()) {
                    let stub = self.globals.stub(loader, entry.key());
                    entry.insert(stub.map_err(|e| failed(e.into()))?);
                }
            }
        }
        for (function, symbol) in members {
            for (callee, _) in function.callees() {
                if let Entry::Vacant(entry) = stub_of.entry(callee.to_string()) {
                    let stub = self.globals.stub(loader, entry.key());
                    entry.insert(stub.map_err(|e| failed(e.into()))?);
                }
            }
            if counting {
                let name = &function.proto.name;
                let id = self
                    .globals
                    .intern(loader, name)
                    .map_err(|e| failed(e.into()))?;
                let counters = self.counters(loader);
                let (Some(counters), true) = (counters, (id as usize) < CALL_COUNTERS_LEN) else {
                    let name = name.to_string();
                    return Err(JitError::NoCallCounter { name });
                };
                stub_of.insert(format!("{COUNTER}{symbol}"), counters + 4 * u64::from(id));
                let trampoline = self.globals.stubs.trampoline(id);
                stub_of.insert(format!("{TRAMPOLINE}{symbol}"), trampoline);
            }
        }
        let mut resolve = |name: &str| stub_of.get(name).copied();
        let start = Instant::now();
        let linked =
            linker::link(object, loader, &mut resolve, self.debug.is_some()).map_err(failed)?;
        timings.link = start.elapsed();
        let codes: Vec<Option<Code>> = members
            .iter()
            .map(|(_, symbol)| {
                linked.symbols.get(symbol).map(|&entry| Code {
                    entry,
                    len: match linked.sizes.get(symbol) {
                        Some(&len) if len > 0 => len,
                        _ => linked.block + linked.size - entry,
                    },
                    block: linked.block,
                    size: linked.size,
                    tier,
                })
            })
            .collect();
        if codes.iter().all(Option::is_none) {
            loader.release(linked.block).map_err(|e| failed(e.into()))?;
            return Ok(codes);
        }
        if first_symbol == ANON_NAME {
            add(&mut self.counts.expressions, &timings);
            return Ok(codes);
        }
        add(&mut self.counts.functions, &timings);
        for ((function, _), code) in members.iter().zip(&codes) {
            if let Some(code) = code {
                let name = &function.proto.name;
                self.tracer
                    .code(name, *code, &timings, origin, members.len());
            }
        }
        Ok(codes)
    }

    /// Gives global `id` new code (its old code retires: it may be running) and
    /// points its stub at it if it can run.
    pub(super) fn set_code(&mut self, loader: &mut dyn Loader, id: u32, new: Code) {
        self.blocks.adopt(new.block);
        if let Body::Defined { code, .. } = &mut self.globals.get_mut(id).body
            && let Some(old) = code.replace(new)
        {
            self.blocks.retire(old.block);
        }
        let _ = self.globals.refresh(loader, id);
    }
}

/// Adds one compile's phases to a total.
fn add(total: &mut Timings, one: &Timings) {
    total.irgen += one.irgen;
    total.optimize += one.optimize;
    total.codegen += one.codegen;
    total.link += one.link;
    total.count += one.count;
}
