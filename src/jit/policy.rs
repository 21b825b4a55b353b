//! The tiering policy: at which tier a function is first compiled, what tier 1
//! optimizes with, and whether tier-0 code counts its calls. Pure functions of the
//! configuration (and of a function's shape), so that every part of the JIT that
//! compiles, caches or queues agrees.

use crate::codegen::OptLevel;
use crate::frontend::ast::Function;
use crate::jit::config::{JitConfig, Strategy, Tier};
use toy_executor::runtime::CALL_COUNTERS_LEN;

/// The tiering decisions of one JIT.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    strategy: Strategy,
    opt: OptLevel,
    tier: Tier,
    speculate: bool,
    debug: bool,
}

impl Policy {
    /// The policy of a (checked) configuration.
    pub fn new(config: &JitConfig) -> Self {
        Policy {
            strategy: config.strategy,
            opt: config.opt,
            tier: config.tier,
            speculate: config.speculate,
            debug: config.debug,
        }
    }

    /// When functions are compiled.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The tier of a function's first compile (`-g`, `-O0` and the eager JIT have
    /// one tier: the optimization level's).
    pub fn first_tier(&self) -> u8 {
        let single = self.strategy == Strategy::Eager
            || self.debug
            || self.opt == OptLevel::O0
            || self.tier == Tier::One;
        u8::from(single)
    }

    /// The optimization of tier 1: the `-O` level, except that in tiered mode the
    /// default (the tutorial's passes) becomes `default<O2>` — tier 1 runs off the
    /// critical path, so the fuller pipeline costs no latency.
    pub fn tier1_opt(&self) -> OptLevel {
        let tiered = self.strategy == Strategy::Lazy && self.tier == Tier::Auto;
        match self.opt {
            OptLevel::Tutorial if tiered && !self.debug => OptLevel::O2,
            opt => opt,
        }
    }

    /// Whether tier-1 code inlines its callees' current bodies: when the tier-1
    /// pipeline has an inliner (`-O1` and up, as tiered mode's default `-O2`), and not
    /// under `-g` (a debugger should see every frame).
    pub fn inlines(&self) -> bool {
        matches!(self.tier1_opt(), OptLevel::O1 | OptLevel::O2 | OptLevel::O3) && !self.debug
    }

    /// Whether tier-0 code counts its calls, so that hot functions tier up.
    pub fn counting(&self) -> bool {
        self.first_tier() == 0 && self.tier == Tier::Auto
    }

    /// Whether speculation was asked for (it also decides whether one core gets a
    /// background thread).
    pub fn speculate(&self) -> bool {
        self.speculate
    }

    /// Whether callees are compiled ahead of their first call.
    pub fn speculates(&self) -> bool {
        self.speculate && self.first_tier() == 0
    }

    /// Whether global `id` is compiled at tier 1 from its first call even in tiered
    /// mode: without on-stack replacement, a loop's activation (a `for`, or a self
    /// tail call) could never tier up, and ids past the call counters have none.
    pub fn starts_at_tier1(&self, id: u32, function: &Function) -> bool {
        id as usize >= CALL_COUNTERS_LEN || (self.tier == Tier::Auto && function.loops())
    }

    /// The tiers to look for in the cache, highest first, for a compile that would
    /// be at `tier`: `--tier=N` runs tier N only, whatever is cached (a loop, or a
    /// global past the call counters, asks for tier 1 because it could never tier
    /// up: that matters only when tiering).
    pub fn cached_tiers(&self, tier: u8) -> std::ops::RangeInclusive<u8> {
        match self.tier {
            Tier::Auto => tier..=1,
            Tier::Zero | Tier::One => self.first_tier()..=self.first_tier(),
        }
    }

    /// The tier as the cache key states it: the tiering mode as well as the tier, so
    /// that what `--tier=N` runs never depends on what another mode left in the cache.
    pub fn cache_tag(&self, tier: u8, counted: bool) -> String {
        let mode = format!("{:?}", self.tier);
        match tier {
            0 if counted => format!("{mode}: tier 0, counted"),
            0 => format!("{mode}: tier 0"),
            _ => format!("{mode}: tier 1, {:?}", self.tier1_opt()),
        }
    }
}
