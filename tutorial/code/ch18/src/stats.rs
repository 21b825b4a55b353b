// ANCHOR: head
//! `--stats`: what the JIT did, counted, and how long each phase of its compiles
//! took, printed on stderr when the program ends.

use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, Instant};
// ANCHOR_END: head

// ANCHOR: phase
/// The four phases from an item to code that can run, in the order they happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The generator: an item's tree becomes a module of LLVM IR.
    Irgen,
    /// The tutorial's optimization passes over the module.
    Passes,
    /// LLVM's backend: the module becomes the bytes of an ELF object.
    Codegen,
    /// Our linker: the object is loaded into the executor's memory.
    Link,
}

/// Each phase with the name `--stats` prints for it.
const PHASES: [(Phase, &str); 4] = [
    (Phase::Irgen, "IR generation"),
    (Phase::Passes, "passes"),
    (Phase::Codegen, "code generation"),
    (Phase::Link, "linking"),
];

/// The size of a page on x86-64 Linux: a mapping takes whole pages.
pub const PAGE: usize = 4096;
// ANCHOR_END: phase

// ANCHOR: stats
/// What the JIT counted and timed since it was made.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// `def`s accepted, redefinitions included.
    pub definitions: usize,
    /// Functions compiled, each on its first call.
    pub compiled: usize,
    /// Top-level expressions compiled and run.
    pub expressions: usize,
    /// Stubs taken: one per function name ever defined.
    pub stubs: usize,
    /// Blocks of executable memory in use: how many, the bytes the linker asked
    /// for, and the bytes mapped (whole pages).
    pub code: (usize, usize, usize),
    /// How many times each phase ran, in the order of `PHASES`.
    runs: [usize; 4],
    /// The time spent in each phase, in the order of `PHASES`.
    times: [Duration; 4],
}
// ANCHOR_END: stats

// ANCHOR: add
impl Stats {
    /// Counts one run of `phase`, which began at `start` and ends now.
    pub fn add(&mut self, phase: Phase, start: Instant) {
        let i = PHASES.iter().position(|(p, _)| *p == phase).unwrap_or(0);
        self.runs[i] += 1;
        self.times[i] += start.elapsed();
    }

    /// How many times `phase` ran.
    #[cfg(test)]
    pub fn runs(&self, phase: Phase) -> usize {
        let i = PHASES.iter().position(|(p, _)| *p == phase).unwrap_or(0);
        self.runs[i]
    }
}
// ANCHOR_END: add

// ANCHOR: global
thread_local! {
    /// This thread's figures: the JIT compiles on the thread that runs the program.
    static STATS: RefCell<Stats> = RefCell::new(Stats::default());
}

/// Changes this thread's figures: `stats::count(|stats| stats.compiled += 1)`.
pub fn count(f: impl FnOnce(&mut Stats)) {
    STATS.with_borrow_mut(f);
}

/// Counts one run of `phase`, which began at `start` and ends now.
pub fn time(phase: Phase, start: Instant) {
    STATS.with_borrow_mut(|stats| stats.add(phase, start));
}

/// A copy of this thread's figures.
pub fn snapshot() -> Stats {
    STATS.with_borrow(Stats::clone)
}
// ANCHOR_END: global

// ANCHOR: display
/// One line a figure, `[stats] WHAT: COUNT`, and for each phase the time after `in`:
/// `sed 's/ in .*//'` keeps what does not change from run to run.
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[stats] definitions: {}", self.definitions)?;
        writeln!(f, "[stats] functions compiled: {}", self.compiled)?;
        writeln!(f, "[stats] expressions compiled: {}", self.expressions)?;
        writeln!(f, "[stats] stubs: {}", self.stubs)?;
        let (blocks, used, mapped) = self.code;
        let memory = format!("{blocks} block(s), {used} bytes used of {mapped} mapped");
        writeln!(f, "[stats] executable memory: {memory}")?;
        let total: Duration = self.times.iter().sum();
        for (i, (_, name)) in PHASES.iter().enumerate() {
            let (runs, time) = (self.runs[i], self.times[i]);
            let share = match total.is_zero() {
                true => 0.0,
                false => 100.0 * time.as_secs_f64() / total.as_secs_f64(),
            };
            let ms = time.as_secs_f64() * 1e3;
            writeln!(f, "[stats] {name}: {runs} in {ms:.3} ms ({share:.0}%)")?;
        }
        Ok(())
    }
}
// ANCHOR_END: display

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_counted_and_timed_apart() {
        let mut stats = Stats::default();
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        stats.add(Phase::Codegen, start);
        stats.add(Phase::Link, Instant::now());
        assert_eq!(stats.runs(Phase::Codegen), 1);
        assert_eq!(stats.runs(Phase::Link), 1);
        assert_eq!(stats.runs(Phase::Irgen), 0);
        assert!(stats.times[2] >= Duration::from_millis(2));
        assert!(stats.times[3] < stats.times[2]);
    }

    // ANCHOR: test_lazy
    #[test]
    fn a_thousand_definitions_and_one_call_compile_one_function() {
        let text = format!("{}f7(1);", crate::bench::definitions(1000));
        let context = inkwell::context::Context::create();
        let mut jit = crate::jit::Jit::new(&context, true).unwrap();
        let items = crate::parser::parse(&text, &crate::lexer::lex(&text));
        for item in items {
            jit.item(&item.unwrap()).unwrap();
        }
        let stats = jit.stats();
        assert_eq!((stats.definitions, stats.stubs), (1000, 1000));
        assert_eq!((stats.compiled, stats.expressions), (1, 1));
        // Only `f7` and the expression have IR, and only they reach the backend.
        assert_eq!(stats.runs(Phase::Irgen), 2);
        assert_eq!(stats.runs(Phase::Codegen), 2);
        assert_eq!(stats.runs(Phase::Link), 2);
        assert_eq!(stats.code.0, 1);
    }
    // ANCHOR_END: test_lazy

    #[test]
    fn the_report_has_one_line_a_figure() {
        let stats = Stats {
            definitions: 3,
            code: (1, 48, 4096),
            ..Stats::default()
        };
        let text = stats.to_string();
        assert!(text.contains("[stats] definitions: 3\n"), "{text}");
        let memory = "executable memory: 1 block(s), 48 bytes used of 4096 mapped\n";
        assert!(text.contains(memory), "{text}");
        assert!(text.contains("[stats] code generation: 0 in 0.000 ms (0%)\n"));
        assert_eq!(text.lines().count(), 9);
    }
}
// ANCHOR_END: tests
