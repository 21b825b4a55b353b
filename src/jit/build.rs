//! Compiling and linking: one function on the JIT's thread (on demand, from the cache
//! or at a tier), or a batch's object, each callee bound to its stub and each counted
//! function to its own call counter and trampoline; which blocks hold whose code.

use super::*;

impl State {
    /// The tier of a function's first compile (`-g`, `-O0` and the eager JIT have
    /// one tier: the optimization level's).
    pub(super) fn first_tier(&self) -> u8 {
        let single = self.strategy == Strategy::Eager
            || self.debug.is_some()
            || self.opt == OptLevel::O0
            || self.tier == Tier::One;
        u8::from(single)
    }

    /// The optimization of tier 1: the `-O` level, except that in tiered mode the
    /// default (the tutorial's passes) becomes `default<O2>` — tier 1 runs off the
    /// critical path, so the fuller pipeline costs no latency.
    pub(super) fn tier1_opt(&self) -> OptLevel {
        let tiered = self.strategy == Strategy::Lazy && self.tier == Tier::Auto;
        match self.opt {
            OptLevel::Tutorial if tiered && self.debug.is_none() => OptLevel::O2,
            opt => opt,
        }
    }

    /// Whether global `id` is compiled at tier 1 from its first call even in tiered
    /// mode: without on-stack replacement, a loop's activation (a `for`, or a self
    /// tail call) could never tier up, and ids past the call counters have none.
    pub(super) fn starts_at_tier1(&self, id: u32, function: &Function) -> bool {
        id as usize >= CALL_COUNTERS_LEN
            || (self.tier == Tier::Auto
                && (function.body.has_loop() || tail::loops_on_itself(function)))
    }

    /// Whether tier-0 code counts its calls, so that hot functions tier up.
    pub(super) fn counting(&self) -> bool {
        self.first_tier() == 0 && self.tier == Tier::Auto
    }

    /// The distinct callees (name, arity) of `function`.
    pub(super) fn deps(&self, function: &Function) -> BTreeSet<(String, usize)> {
        let mut calls = BTreeSet::new();
        function.body.for_each_call(&mut |name, arity, _| {
            calls.insert((name.to_string(), arity));
        });
        calls
    }

    /// Where the object of `function` as `symbol` at `tier` lives in the code cache
    /// (none without a cache; debug objects hold source positions: never cached).
    pub(super) fn key(
        &mut self,
        function: &Function,
        symbol: &str,
        calls: &BTreeSet<(String, usize)>,
        tier: u8,
    ) -> Option<Key> {
        if self.debug.is_some() {
            return None;
        }
        // The tiering mode (`Zero`, `One`, `Auto`) as well as the tier: what `--tier=N`
        // runs never depends on what another mode left in the cache.
        let mode = format!("{:?}", self.tier);
        let tier = match tier {
            0 if self.counting() && symbol != ANON_NAME => format!("{mode}: tier 0, counted"),
            0 => format!("{mode}: tier 0"),
            _ => format!("{mode}: tier 1, {:?}", self.tier1_opt()),
        };
        let signatures = callee_signatures(calls);
        let cache = self.cache.as_mut()?;
        Some(cache.key(&[
            symbol.as_bytes(),
            unparse::function(function).as_bytes(),
            signatures.as_bytes(),
            tier.as_bytes(),
        ]))
    }

    /// Compiles `function` as `symbol` at `tier` on this thread.
    pub(super) fn compile_here(
        &mut self,
        function: &Function,
        symbol: &str,
        tier: u8,
        timings: &mut Timings,
    ) -> Result<Vec<u8>, crate::codegen::CodegenError> {
        if tier == 0 {
            let compiler = match symbol {
                ANON_NAME => self.baseline.for_expressions()?,
                _ => self.baseline.for_tier(0)?,
            };
            return compiler.compile(function, Some(symbol), Output::Object, timings, None);
        }
        if self.compiler.is_none() {
            self.compiler = Some(Compiler::host(self.tier1_opt())?);
        }
        let Some(compiler) = &self.compiler else {
            return Err(crate::codegen::CodegenError::NoCompiler);
        };
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
        compiler.compile(
            function,
            Some(symbol),
            Output::Object,
            timings,
            source.as_ref(),
        )
    }

    /// Compiles (or loads from the cache) and links `function` as `name`, first at
    /// `tier` — or, when tiering, at tier 1 straight away if the cache has that.
    pub(super) fn build(
        &mut self,
        loader: &mut dyn Loader,
        function: &Arc<Function>,
        name: &str,
        tier: u8,
    ) -> Result<Code, Error> {
        let failed = |err: &dyn std::fmt::Display| compile_failed(function, name, err);
        let mut timings = Timings::default();
        let deps = self.deps(function);
        let mut cached = None;
        let mut key = None;
        // `--tier=N` runs tier N only, whatever is cached (a loop, or a global past the
        // call counters, asks for tier 1 because it could never tier up: that matters
        // only when tiering).
        let (tier, highest) = match self.tier {
            Tier::Auto => (tier, 1),
            Tier::Zero | Tier::One => (self.first_tier(), self.first_tier()),
        };
        for tier in (tier..=highest).rev() {
            let symbol = tier_symbol(name, tier);
            let Some(k) = self.key(function, &symbol, &deps, tier) else {
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
                    .compile_here(function, &symbol, tier, &mut timings)
                    .map_err(|e| failed(&e))?;
                if let (Some(cache), Some(key)) = (&mut self.cache, &key) {
                    cache.put(key, &object);
                }
                (object, tier, Origin::Demand)
            }
        };
        let symbol = tier_symbol(name, tier);
        let members = [(Arc::clone(function), symbol.clone())];
        let codes = self.link_members(loader, &object, &members, tier, timings, origin)?;
        codes[0].ok_or_else(|| failed(&format!("object lacks `{symbol}`")))
    }

    /// The executor's call counters, looked up once.
    pub(super) fn counters(&mut self, loader: &mut dyn Loader) -> Option<Addr> {
        if self.counters.is_none() {
            self.counters = loader
                .lookup_symbols(&[CALL_COUNTERS_SYMBOL])
                .ok()
                .and_then(|mut found| found.pop().flatten());
        }
        self.counters
    }

    /// Links an object holding `members` (each function with the symbol it is defined
    /// under) at `tier`: callees to their stubs, a counted member's counter and
    /// trampoline to its own. Returns each member's code, if the object has it; the
    /// block is released unless some code is kept ([`State::set_code`]).
    pub(super) fn link_members(
        &mut self,
        loader: &mut dyn Loader,
        object: &[u8],
        members: &[(Arc<Function>, String)],
        tier: u8,
        mut timings: Timings,
        origin: Origin,
    ) -> Result<Vec<Option<Code>>, Error> {
        let Some((first, first_symbol)) = members.first() else {
            return Ok(Vec::new());
        };
        // Errors name the function, not the symbol of its tier.
        let name = match first_symbol.as_str() {
            ANON_NAME => ANON_NAME,
            _ => &*first.proto.name,
        };
        let failed = |err: &dyn std::fmt::Display| compile_failed(first, name, err);
        // Every name the program calls resolves to its stub; anything else is a call
        // LLVM introduced (memset, sincos, ...) and resolves in the executor.
        let mut stub_of = HashMap::new();
        let counting = tier == 0 && first_symbol != ANON_NAME && self.counting();
        for (function, symbol) in members {
            let mut names = Vec::new();
            function
                .body
                .for_each_call(&mut |name, _, _| names.push(name.to_string()));
            for name in names {
                if let std::collections::hash_map::Entry::Vacant(entry) = stub_of.entry(name) {
                    let id = self.global(loader, entry.key()).map_err(|e| failed(&e))?;
                    let stub = self.stubs.create(loader, id).map_err(|e| failed(&e))?;
                    entry.insert(stub);
                }
            }
            if counting {
                let id = self
                    .global(loader, &function.proto.name)
                    .map_err(|e| failed(&e))?;
                if id as usize >= CALL_COUNTERS_LEN {
                    return Err(failed(&format!("global {id} has no call counter")));
                }
                let counters = self
                    .counters(loader)
                    .ok_or_else(|| failed(&"the executor has no call counters"))?;
                stub_of.insert(format!("{COUNTER}{symbol}"), counters + 4 * u64::from(id));
                stub_of.insert(format!("{TRAMPOLINE}{symbol}"), self.stubs.trampoline(id));
            }
        }
        let mut resolve = |name: &str| stub_of.get(name).copied();
        let start = Instant::now();
        let linked = linker::link(object, loader, &mut resolve, self.debug.is_some())
            .map_err(|e| failed(&e))?;
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
            loader.release(linked.block).map_err(|e| failed(&e))?;
            return Ok(codes);
        }
        if first_symbol == ANON_NAME {
            add(&mut self.expressions, &timings);
            return Ok(codes);
        }
        add(&mut self.timings, &timings);
        for ((function, _), code) in members.iter().zip(&codes) {
            let Some(code) = code else { continue };
            let name = &function.proto.name;
            if let Some(trace) = &mut self.trace {
                trace(&trace_line(name, tier, &timings, origin, members.len()));
            }
            if let Some(map) = &mut self.perf_map {
                map.record(self.pid, *code, name);
            }
        }
        Ok(codes)
    }

    /// Gives global `id` new code (its old code retires: it may be running) and
    /// points its stub at it if it can run.
    pub(super) fn set_code(&mut self, loader: &mut dyn Loader, id: u32, new: Code) {
        self.adopt(new.block);
        if let Body::Defined { code, .. } = &mut self.globals[id as usize].body
            && let Some(old) = code.replace(new)
        {
            self.retired.push(old.block);
        }
        let _ = self.refresh(loader, id);
    }

    /// Counts one more global whose code lies in `block`.
    pub(super) fn adopt(&mut self, block: Addr) {
        *self.blocks.entry(block).or_insert(0) += 1;
    }

    /// Drops one user of a block of function code, releasing it with its last.
    pub(super) fn drop_block(
        &mut self,
        loader: &mut dyn Loader,
        block: Addr,
    ) -> Result<(), ExecError> {
        match self.blocks.get_mut(&block) {
            Some(users) if *users > 1 => {
                *users -= 1;
                Ok(())
            }
            _ => {
                self.blocks.remove(&block);
                loader.release(block)
            }
        }
    }
}

/// The error of a failed compile of `function` as `symbol`.
pub(super) fn compile_failed(
    function: &Function,
    symbol: &str,
    err: &dyn std::fmt::Display,
) -> Error {
    let span = function.proto.span;
    match symbol {
        ANON_NAME => jit_error(err, span),
        _ => Error::CompileFailed {
            name: symbol.to_string(),
            message: err.to_string(),
            span,
        },
    }
}

/// The `--trace-jit` line of a function's new code.
pub(super) fn trace_line(
    symbol: &str,
    tier: u8,
    timings: &Timings,
    origin: Origin,
    batch: usize,
) -> String {
    let total = timings.irgen + timings.optimize + timings.codegen + timings.link;
    let phases = format!(
        "irgen {:.3}, optimize {:.3}, codegen {:.3}, link {:.3}",
        ms(timings.irgen),
        ms(timings.optimize),
        ms(timings.codegen),
        ms(timings.link),
    );
    match origin {
        Origin::Cache => format!(
            "[jit] loaded {symbol} from the code cache at tier {tier} (link {:.3} ms)",
            ms(timings.link)
        ),
        Origin::Demand => format!(
            "[jit] compiled {symbol} in {:.3} ms ({phases}) at tier {tier}",
            ms(total)
        ),
        Origin::Speculation => format!(
            "[jit] compiled {symbol} in {:.3} ms ({phases}) at tier {tier}, ahead of its first call{}",
            ms(total),
            match batch {
                1 => String::new(),
                n => format!(" (one of {n} in a batch)"),
            }
        ),
        Origin::TierUp => format!(
            "[jit] tier-up {symbol}: recompiled at tier 1 in {:.3} ms ({phases}) in the background",
            ms(total)
        ),
    }
}

/// Each call as `name/arity`: what an object depends on besides its own function
/// (the declarations LLVM sees).
pub(super) fn callee_signatures(calls: &BTreeSet<(String, usize)>) -> String {
    let signatures: Vec<String> = calls
        .iter()
        .map(|(name, arity)| format!("{name}/{arity}"))
        .collect();
    signatures.join("\n")
}

pub(super) fn add(total: &mut Timings, one: &Timings) {
    total.irgen += one.irgen;
    total.optimize += one.optimize;
    total.codegen += one.codegen;
    total.link += one.link;
    total.count += one.count;
}
