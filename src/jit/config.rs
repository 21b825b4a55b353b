//! How a JIT is set up: one [`JitConfig`], checked once by [`crate::jit::Jit::new`].

use std::path::PathBuf;

use crate::codegen::OptLevel;
use crate::jit::error::ConfigError;

/// When functions are compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// As soon as they are defined (BuildingAJIT chapters 1–2).
    Eager,
    /// On their first call, from their trampoline (chapter 4).
    #[default]
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

/// Where compiled objects are kept between runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// The cache's directory (created 0700 if missing; refused if others can write it).
    pub dir: PathBuf,
    /// The most bytes it may hold (older entries are evicted).
    pub limit: u64,
}

/// Everything a JIT is told once, when it is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JitConfig {
    /// When functions are compiled.
    pub strategy: Strategy,
    /// How hard tier 1 (and the eager JIT) optimizes.
    pub opt: OptLevel,
    /// Which tiers the lazy JIT uses.
    pub tier: Tier,
    /// Whether callees of compiled functions are compiled ahead, in the background.
    pub speculate: bool,
    /// Whether to emit DWARF and register each object with the debugger interface
    /// (GDB's JIT interface) of the executor's process.
    pub debug: bool,
    /// Whether to write `/tmp/perf-PID.map` lines for each compiled function.
    pub perf_map: bool,
    /// The code cache, if on.
    pub cache: Option<CacheConfig>,
}

impl Default for JitConfig {
    /// The lazy, tiered JIT at the tutorial's passes, not speculating (the CLI turns
    /// speculation on when there is a second core).
    fn default() -> Self {
        JitConfig {
            strategy: Strategy::Lazy,
            opt: OptLevel::default(),
            tier: Tier::Auto,
            speculate: false,
            debug: false,
            perf_map: false,
            cache: None,
        }
    }
}

impl JitConfig {
    /// The default configuration with `strategy` and `opt`.
    pub fn new(strategy: Strategy, opt: OptLevel) -> Self {
        JitConfig {
            strategy,
            opt,
            ..JitConfig::default()
        }
    }

    /// Rejects settings that contradict each other.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.strategy == Strategy::Eager {
            if self.tier != Tier::Auto {
                return Err(ConfigError::NeedsLazy("a fixed tier"));
            }
            if self.speculate {
                return Err(ConfigError::NeedsLazy("speculation"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{JitConfig, Strategy, Tier};
    use crate::codegen::OptLevel;
    use crate::jit::error::ConfigError;

    #[test]
    fn tiers_and_speculation_need_the_lazy_jit() {
        let eager = JitConfig::new(Strategy::Eager, OptLevel::O2);
        assert_eq!(eager.check(), Ok(()));
        let fixed = JitConfig {
            tier: Tier::Zero,
            ..eager.clone()
        };
        assert_eq!(fixed.check(), Err(ConfigError::NeedsLazy("a fixed tier")));
        let speculating = JitConfig {
            speculate: true,
            ..eager
        };
        assert_eq!(
            speculating.check(),
            Err(ConfigError::NeedsLazy("speculation"))
        );
        let lazy = JitConfig {
            tier: Tier::One,
            speculate: true,
            ..JitConfig::new(Strategy::Lazy, OptLevel::O2)
        };
        assert_eq!(lazy.check(), Ok(()));
    }
}
