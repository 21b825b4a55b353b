//! Background compilation: threads, each with its own LLVM compilers (and so its own
//! contexts), that turn shared, immutable ASTs into objects. The JIT queues two kinds
//! of work — speculative first compiles of functions about to be called, and tier-1
//! recompiles of hot functions — and links the objects itself, on its own thread,
//! whenever it next gets control (a compile callback, a poll from counted code, the
//! start or end of an evaluation). A job is *claimed* by whoever compiles it, a worker
//! or the JIT's thread, so no function is ever compiled twice at one tier.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::codegen::{CodegenError, Compiler, OptLevel, Request, Timings};
use crate::frontend::ast::{ANON_NAME, Function};

use crate::jit::cache::Key;
use crate::jit::inlining::Inlining;

/// Functions compiled ahead per module.
pub const BATCH: usize = 32;

/// One function of a job.
pub struct Member {
    /// The global it is for.
    pub id: u32,
    /// The global's generation when queued: a result for an older one is dropped.
    pub generation: u64,
    /// The function (compiled under its own name).
    pub function: Arc<Function>,
    /// Where its object goes in the code cache, if on.
    pub key: Option<Key>,
    /// The bodies it may inline (tier 1), and what its code then depends on.
    pub inlining: Inlining,
}

/// A compile to do: one module of one or more functions (first compiles are batched:
/// LLVM's code generator costs ~0.25 ms per module to set up, more than a small
/// function takes to compile).
pub struct Job {
    /// The functions, each under its own name.
    pub members: Vec<Member>,
    /// The tier to compile at (0: baseline, counted; 1: the full pipeline).
    pub tier: u8,
    /// Where its object goes in the code cache: the member's key, or the batch's.
    pub key: Option<Key>,
    claimed: Arc<AtomicBool>,
}

impl Job {
    /// A job, not yet claimed.
    pub fn new(members: Vec<Member>, tier: u8, key: Option<Key>) -> Self {
        Job {
            members,
            tier,
            key,
            claimed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The flag saying whether someone compiles it (to claim it from elsewhere).
    pub fn claim_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.claimed)
    }
}

/// The symbol a function is defined under at `tier`. At tier 0 it differs from the
/// name every call uses, so that even calls between functions of one batch go through
/// stubs (and a redefinition reaches them); tier-1 code calls itself directly.
pub fn tier_symbol(name: &str, tier: u8) -> String {
    match tier {
        0 if name != ANON_NAME => format!("{TIER0}{name}"),
        _ => name.to_string(),
    }
}

/// Prefix of tier-0 definitions' symbols.
const TIER0: &str = "toy.tier0.";

/// Claims a job through its flag: `true` for exactly one caller.
fn claim(flag: &AtomicBool) -> bool {
    !flag.swap(true, Ordering::AcqRel)
}

/// A finished compile.
pub struct Finished {
    /// The job it did.
    pub job: Job,
    /// The object, or why LLVM failed.
    pub object: Result<Vec<u8>, CodegenError>,
    /// Time spent in each phase.
    pub timings: Timings,
}

/// The compilers of one thread, made on first use.
pub struct Compilers {
    opt: OptLevel,
    counting: bool,
    baseline: Option<Compiler>,
    full: Option<Compiler>,
    /// Tier 0 without counting, for top-level expressions (they run once).
    expressions: Option<Compiler>,
}

impl Compilers {
    /// Compilers for tier 0 (counting calls if `counting`) and tier 1 at `opt`.
    pub fn new(opt: OptLevel, counting: bool) -> Self {
        Compilers {
            opt,
            counting,
            baseline: None,
            full: None,
            expressions: None,
        }
    }

    /// Compiles a job's functions at its tier, into one object.
    pub fn compile(&mut self, job: &Job, timings: &mut Timings) -> Result<Vec<u8>, CodegenError> {
        let compiler = self.for_tier(job.tier)?;
        let functions = job
            .members
            .iter()
            .map(|m| (&*m.function, tier_symbol(&m.function.proto.name, job.tier)))
            .collect::<Vec<_>>();
        let functions: Vec<(&Function, &str)> =
            functions.iter().map(|(f, s)| (*f, s.as_str())).collect();
        let bodies: Vec<&Function> = job
            .members
            .iter()
            .flat_map(|m| m.inlining.bodies.iter().map(|b| &**b))
            .collect();
        compiler.emit(Request::named(&functions).inlining(&bodies).timed(timings))
    }

    /// The tier-0 compiler for top-level expressions (never counting).
    pub fn for_expressions(&mut self) -> Result<&Compiler, CodegenError> {
        made(&mut self.expressions, || Compiler::host(OptLevel::Baseline))
    }

    /// The compiler of `tier`, made now if needed.
    pub fn for_tier(&mut self, tier: u8) -> Result<&Compiler, CodegenError> {
        let (slot, opt, counting) = match tier {
            0 => (&mut self.baseline, OptLevel::Baseline, self.counting),
            _ => (&mut self.full, self.opt, false),
        };
        made(slot, || {
            let compiler = Compiler::host(opt)?;
            Ok(if counting {
                compiler.counting()
            } else {
                compiler
            })
        })
    }
}

/// The compiler in `slot`, made by `make` if there is none yet.
fn made(
    slot: &mut Option<Compiler>,
    make: impl FnOnce() -> Result<Compiler, CodegenError>,
) -> Result<&Compiler, CodegenError> {
    let compiler = match slot.take() {
        Some(compiler) => compiler,
        None => make()?,
    };
    Ok(slot.insert(compiler))
}

struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
    closed: AtomicBool,
    /// Jobs a worker has taken and not yet sent back (changed under the lock when
    /// taken; after the result is sent when done).
    busy: AtomicUsize,
}

impl Queue {
    fn jobs(&self) -> MutexGuard<'_, VecDeque<Job>> {
        // A worker that panicked left the queue consistent (it only pops).
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every pool's queue, to stop them all before the process exits.
static POOLS: Mutex<Vec<Arc<Queue>>> = Mutex::new(Vec::new());
/// Worker threads still running, and a signal when one ends.
static LIVE: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// Stops every background compile thread, waiting for compiles in progress: LLVM's
/// static destructors run at exit and must not pull memory from under a compile (the
/// JIT itself is deliberately never dropped when a run ends).
pub fn stop_all() {
    let pools = std::mem::take(&mut *POOLS.lock().unwrap_or_else(PoisonError::into_inner));
    for queue in pools {
        queue.closed.store(true, Ordering::Release);
        queue.jobs().clear();
        queue.ready.notify_all();
    }
    let (count, ended) = &LIVE;
    let mut live = count.lock().unwrap_or_else(PoisonError::into_inner);
    while *live > 0 {
        live = ended.wait(live).unwrap_or_else(PoisonError::into_inner);
    }
}

/// Counts a worker as live until dropped.
struct Alive;

impl Alive {
    fn new() -> Self {
        *LIVE.0.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Alive
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        let (count, ended) = &LIVE;
        *count.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        ended.notify_all();
    }
}

/// The background compile threads.
pub struct Workers {
    queue: Arc<Queue>,
    results: Receiver<Finished>,
    threads: Vec<JoinHandle<()>>,
}

/// Stack of a compiling thread: code generation recurses over the tree, which the
/// front end bounds at `MAX_NESTING` levels (a few KiB each in a debug build).
const COMPILE_STACK: usize = 256 << 20;

impl Workers {
    /// `count` threads compiling tier 1 at `opt` (tier 0 counting calls if `counting`).
    pub fn new(count: usize, opt: OptLevel, counting: bool) -> Self {
        let queue = Arc::new(Queue {
            jobs: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            closed: AtomicBool::new(false),
            busy: AtomicUsize::new(0),
        });
        let (send, results) = channel();
        POOLS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&queue));
        let threads = (0..count)
            .filter_map(|i| {
                let queue = Arc::clone(&queue);
                let send = send.clone();
                let alive = Alive::new();
                std::thread::Builder::new()
                    .name(format!("toy-compile-{i}"))
                    .stack_size(COMPILE_STACK)
                    .spawn(move || {
                        let _alive = alive;
                        work(&queue, &send, Compilers::new(opt, counting));
                    })
                    .ok()
            })
            .collect();
        Workers {
            queue,
            results,
            threads,
        }
    }

    /// Whether any thread is running (none could be started, or none asked for).
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// Queues a job: tier-1 recompiles go first (hot code is where time goes), first
    /// compiles in the order given.
    pub fn submit(&self, job: Job) {
        let mut jobs = self.queue.jobs();
        if job.tier == 1 {
            jobs.push_front(job);
        } else {
            jobs.push_back(job);
        }
        drop(jobs);
        self.queue.ready.notify_one();
    }

    /// The next queued job nobody has claimed, claimed for the caller.
    pub fn steal(&self) -> Option<Job> {
        let mut jobs = self.queue.jobs();
        while let Some(job) = jobs.pop_front() {
            if claim(&job.claimed) {
                return Some(job);
            }
        }
        None
    }

    /// The queued job whose claim flag is `flag`, claimed for the caller, unless
    /// someone has claimed it already.
    pub fn take(&self, flag: &Arc<AtomicBool>) -> Option<Job> {
        let mut jobs = self.queue.jobs();
        let at = jobs
            .iter()
            .position(|job| Arc::ptr_eq(&job.claimed, flag))?;
        if !claim(flag) {
            return None;
        }
        jobs.remove(at)
    }

    /// Whether a worker is compiling something now.
    pub fn busy(&self) -> bool {
        let _jobs = self.queue.jobs();
        self.queue.busy.load(Ordering::Acquire) > 0
    }

    /// A finished compile, if one is waiting.
    pub fn try_finished(&self) -> Option<Finished> {
        self.results.try_recv().ok()
    }

    /// The next finished compile, waiting for it (`None` if no thread is left).
    pub fn wait_finished(&self) -> Option<Finished> {
        self.results.recv().ok()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.queue.closed.store(true, Ordering::Release);
        self.queue.jobs().clear();
        self.queue.ready.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// A worker: takes jobs until the queue closes, skipping those claimed elsewhere.
fn work(queue: &Queue, results: &Sender<Finished>, mut compilers: Compilers) {
    loop {
        let job = {
            let mut jobs = queue.jobs();
            loop {
                if queue.closed.load(Ordering::Acquire) {
                    return;
                }
                match jobs.pop_front() {
                    Some(job) if claim(&job.claimed) => {
                        queue.busy.fetch_add(1, Ordering::AcqRel);
                        break job;
                    }
                    Some(_) => {}
                    None => {
                        jobs = queue
                            .ready
                            .wait(jobs)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                }
            }
        };
        let mut timings = Timings::default();
        let object = compilers.compile(&job, &mut timings);
        let sent = results.send(Finished {
            job,
            object,
            timings,
        });
        queue.busy.fetch_sub(1, Ordering::AcqRel);
        if sent.is_err() {
            return;
        }
    }
}
