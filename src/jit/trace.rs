//! What the JIT tells the outside about new code: `--trace-jit` lines (handed to a
//! callback: the library never prints) and perf map lines for profilers.

use std::time::Duration;

use crate::codegen::Timings;
use crate::jit::globals::Code;

/// Receives the `--trace-jit` lines (the CLI prints them).
pub type Trace = Box<dyn FnMut(&str)>;

/// Where an object came from, for the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled on the JIT's thread when first needed.
    Demand,
    /// Compiled ahead of its first call by a background thread (or stolen by ours).
    Speculation,
    /// Recompiled at tier 1 because it is hot.
    TierUp,
    /// Read from the code cache.
    Cache,
}

/// What an object being linked is: its tier, how it was made, and what making it cost.
#[derive(Clone, Copy, Debug)]
pub struct Provenance {
    /// 0 (baseline) or 1 (optimized).
    pub tier: u8,
    /// Where it came from.
    pub origin: Origin,
    /// Time spent making it (zero for a cache hit but the link, filled in when linked).
    pub timings: Timings,
}

impl Provenance {
    /// An object read from the code cache at `tier`.
    pub fn cached(tier: u8) -> Self {
        Provenance {
            tier,
            origin: Origin::Cache,
            timings: Timings::default(),
        }
    }
}

/// The trace callback and the perf map, each if asked for.
pub struct Tracer {
    trace: Option<Trace>,
    perf_map: Option<PerfMap>,
    /// The process running the code (its perf map is `/tmp/perf-PID.map`).
    pid: u32,
}

impl Tracer {
    /// Writes perf map lines if `perf_map`, for the code of process `pid`.
    pub fn new(perf_map: bool, pid: u32) -> Self {
        Tracer {
            trace: None,
            perf_map: perf_map.then_some(PerfMap { pid: 0, file: None }),
            pid,
        }
    }

    /// Hands each trace line to `trace`, or to nobody.
    pub fn set_trace(&mut self, trace: Option<Trace>) {
        self.trace = trace;
    }

    /// The code now runs in process `pid` (a fresh executor).
    pub fn set_pid(&mut self, pid: u32) {
        self.pid = pid;
    }

    /// Hands `line` to the trace, if on.
    pub fn line(&mut self, line: &str) {
        if let Some(trace) = &mut self.trace {
            trace(line);
        }
    }

    /// Reports new code for `name`.
    pub fn code(
        &mut self,
        name: &str,
        code: Code,
        timings: &Timings,
        origin: Origin,
        batch: usize,
    ) {
        if let Some(trace) = &mut self.trace {
            trace(&trace_line(name, code.tier, timings, origin, batch));
        }
        if let Some(map) = &mut self.perf_map {
            map.record(self.pid, code, name);
        }
    }
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The `--trace-jit` line of a function's new code.
fn trace_line(symbol: &str, tier: u8, timings: &Timings, origin: Origin, batch: usize) -> String {
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
