//! The JIT through its library interface: memory reuse, redefinition, and lazy
//! compile failures (provoked by an executor that runs out of memory).

use std::cell::Cell;
use std::ops::ControlFlow;
use std::rc::Rc;

use toy::codegen::OptLevel;
use toy::engine::Engine;
use toy::frontend::ast::Item;
use toy::jit::{Jit, JitConfig, Strategy, Tier};
use toy::session::{Outcome, Session};
use toy_executor::local::InProcess;
use toy_shared::executor::{Executor, Loader, Resolve};
use toy_shared::{Abort, Addr, ExecError, ExternSymbol};

/// The resolved items of `text`.
fn items(text: &str) -> Vec<Item> {
    Session::resolve_program(text).expect("a valid program")
}

fn feed(jit: &mut Jit, item: Item) -> Option<f64> {
    match item {
        Item::Def(f) => jit.define(f).map(|()| None),
        Item::Extern(p) => jit.declare(p).map(|()| None),
        Item::Expr(f) => jit.evaluate(f).map(Some),
    }
    .expect("runs")
}

const STRATEGIES: [Strategy; 2] = [Strategy::Eager, Strategy::Lazy];

#[test]
fn top_level_expressions_give_their_memory_back() {
    for strategy in STRATEGIES {
        let mut config = JitConfig::new(strategy, OptLevel::Tutorial);
        if strategy == Strategy::Lazy {
            // One tier: a tier-up replaces f's code once (see tiering.rs for that).
            config.tier = Tier::Zero;
        }
        let mut jit = Jit::in_process(config).expect("JIT");
        // Resolved together with f's definition, which is fed once, first.
        let exprs: String = (0..2000).map(|i| format!("f({i}) + 1;\n")).collect();
        let program = format!("def f(x) x * 2;\n{exprs}");
        let mut baseline = None;
        let mut evaluated = 0;
        let mut items = items(&program).into_iter();
        feed(&mut jit, items.next().expect("def"));
        for (i, item) in items.enumerate() {
            assert_eq!(feed(&mut jit, item), Some(2.0 * i as f64 + 1.0));
            let used = jit.memory_in_use().expect("memory");
            // After the first evaluation (which compiles f lazily), memory in use
            // never changes.
            assert_eq!(*baseline.get_or_insert(used), used, "after {i} evaluations");
            evaluated += 1;
        }
        assert_eq!(evaluated, 2000);
    }
}

#[test]
fn redefinition_releases_the_old_code() {
    for strategy in STRATEGIES {
        let mut jit = Jit::in_process(JitConfig::new(strategy, OptLevel::Tutorial)).expect("JIT");
        for item in items("def f(x) x * 3; def g(x) f(x) + 1; g(1);") {
            feed(&mut jit, item);
        }
        let mut used = None;
        for i in 3..200 {
            for item in items(&format!("def f(x) x * {i}; f(1);")) {
                feed(&mut jit, item);
            }
            let now = jit.memory_in_use().expect("memory");
            assert_eq!(*used.get_or_insert(now), now, "after redefinition {i}");
        }
        // g, compiled once at the start, calls the newest f through f's stub.
        let value = items("def g(x) 0; g(2);")
            .into_iter()
            .skip(1)
            .map(|item| feed(&mut jit, item))
            .next()
            .flatten();
        assert_eq!(value, Some(2.0 * 199.0 + 1.0));
        let stats = jit.stats().expect("stats");
        assert_eq!((stats.functions, stats.compiled), (2, 2));
    }
}

#[test]
fn lazy_definitions_compile_nothing_until_called() {
    let mut jit = Jit::in_process(JitConfig::new(Strategy::Lazy, OptLevel::Tutorial)).expect("JIT");
    let defs: String = (0..500)
        .map(|i| format!("def f{i}(x) x + {i};\n"))
        .collect();
    for item in items(&defs) {
        feed(&mut jit, item);
    }
    let stats = jit.stats().expect("stats");
    assert_eq!((stats.functions, stats.compiled), (500, 0));
    assert_eq!(stats.timings.count, 0, "no LLVM work for definitions");
    // 32 bytes of stub and trampoline per function, in shared chunks.
    assert!(stats.stub_bytes <= 500 * 33 + 2064, "{}", stats.stub_bytes);
    assert_eq!(stats.memory_in_use, stats.stub_bytes);
    let (stub, code) = jit.addresses("f7").expect("f7 exists");
    assert_eq!(code, None);
    for item in items(&format!("{defs}f7(1) + f9(1);"))
        .into_iter()
        .skip(500)
    {
        assert_eq!(feed(&mut jit, item), Some(18.0));
    }
    let stats = jit.stats().expect("stats");
    assert_eq!((stats.functions, stats.compiled), (500, 2));
    let (same_stub, code) = jit.addresses("f7").expect("f7 exists");
    assert_eq!(same_stub, stub, "a function's address never changes");
    assert!(code.is_some());
}

/// An in-process executor whose memory runs out on demand while code runs, that
/// is, while a lazy compile is loading its code.
struct Starving {
    inner: InProcess,
    starve: Rc<Cell<bool>>,
}

struct StarvingLoader<'a> {
    inner: &'a mut dyn Loader,
    starve: bool,
}

impl Loader for StarvingLoader<'_> {
    fn reserve(&mut self, size: u64, align: u64) -> Result<Addr, ExecError> {
        if self.starve {
            return Err(ExecError::OutOfMemory(size));
        }
        self.inner.reserve(size, align)
    }
    fn write(&mut self, addr: Addr, bytes: &[u8]) -> Result<(), ExecError> {
        self.inner.write(addr, bytes)
    }
    fn finalize(&mut self, addr: Addr, size: u64) -> Result<(), ExecError> {
        self.inner.finalize(addr, size)
    }
    fn release(&mut self, addr: Addr) -> Result<(), ExecError> {
        self.inner.release(addr)
    }
    fn set_slot(&mut self, slot: Addr, target: Addr) -> Result<(), ExecError> {
        self.inner.set_slot(slot, target)
    }
    fn lookup_externs(&mut self, names: &[&str]) -> Result<Vec<Option<ExternSymbol>>, ExecError> {
        self.inner.lookup_externs(names)
    }
    fn lookup_symbols(&mut self, names: &[&str]) -> Result<Vec<Option<Addr>>, ExecError> {
        self.inner.lookup_symbols(names)
    }
    fn create_stubs(&mut self, first: u32) -> Result<Addr, ExecError> {
        self.inner.create_stubs(first)
    }
    fn memory_in_use(&mut self) -> Result<u64, ExecError> {
        self.inner.memory_in_use()
    }
    fn register_debug(&mut self, addr: Addr, object: Vec<u8>) -> Result<(), ExecError> {
        self.inner.register_debug(addr, object)
    }
}

impl Executor for Starving {
    fn loader(&mut self) -> &mut dyn Loader {
        self.inner.loader()
    }
    fn run(
        &mut self,
        addr: Addr,
        resolve: &mut Resolve<'_>,
    ) -> Result<Result<f64, Abort>, ExecError> {
        let starve = self.starve.get();
        self.inner.run(addr, &mut |loader, id| {
            resolve(
                &mut StarvingLoader {
                    inner: loader,
                    starve,
                },
                id,
            )
        })
    }
}

/// Runs `text` in `session`: each outcome's value or error message.
fn run(session: &mut Session, text: &str) -> Vec<Result<Option<f64>, String>> {
    let source = session.sources_mut().add("test", text);
    let mut results = Vec::new();
    session.run(source, 0, true, &mut |_, result| {
        results.push(match result {
            Ok(Outcome::Evaluated(value)) => Ok(Some(value)),
            Ok(_) => Ok(None),
            Err(err) => Err(err.to_string()),
        });
        ControlFlow::Continue(())
    });
    results
}

#[test]
fn a_failed_lazy_compile_abandons_the_evaluation_and_is_retried() {
    let starve = Rc::new(Cell::new(false));
    let executor = Starving {
        inner: InProcess::new().expect("executor"),
        starve: Rc::clone(&starve),
    };
    let config = JitConfig::new(Strategy::Lazy, OptLevel::Tutorial);
    let jit = Jit::new(config, Box::new(executor)).expect("JIT");
    let mut session = Session::new(Some(Box::new(jit)));
    assert_eq!(
        run(
            &mut session,
            "def double(x) x * 2; def quad(x) double(double(x));"
        ),
        [Ok(None), Ok(None)]
    );

    starve.set(true);
    let results = run(&mut session, "extern putchard(c); putchard(65) + quad(1);");
    assert_eq!(results[0], Ok(None));
    let Err(message) = &results[1] else {
        panic!("the first call of quad must fail: {results:?}");
    };
    assert!(message.contains("out of JIT memory"), "{message}");
    assert!(message.contains("`quad`"), "names the function: {message}");
    let stats = session.engine().and_then(|e| e.stats()).expect("stats");
    assert_eq!(stats.compiled, 0, "nothing half-compiled stays behind");

    // More input works, and the next call compiles quad and double after all.
    starve.set(false);
    assert_eq!(
        run(&mut session, "1 + 1; quad(3);"),
        [Ok(Some(2.0)), Ok(Some(12.0))]
    );
    let stats = session.engine().and_then(|e| e.stats()).expect("stats");
    assert_eq!((stats.functions, stats.compiled), (2, 2));
    assert_eq!(stats.timings.count, 2, "each compiled exactly once");
}
