//! The REPL's commands through the library (`toy::commands`, `Session::undo`,
//! `reset`, `definitions`), on every engine: what a notebook kernel reuses too.

use std::ops::ControlFlow;
use std::path::PathBuf;

use toy::codegen::OptLevel;
use toy::commands;
use toy::engine::Engine;
use toy::epc::remote::{Remote, Transport};
use toy::interp::Interpreter;
use toy::jit::{Jit, JitConfig, Strategy, Tier};
use toy::session::{Outcome, Session, UndoError};

const ENGINES: [&str; 4] = ["interp", "eager", "lazy", "remote"];

/// A fresh engine; the JITs compile at tier 1 with `-O2`, so that callers inline
/// their callees' bodies (which `:undo` must then invalidate).
fn engine(name: &str) -> Box<dyn Engine> {
    let jit = |strategy, executor: Box<dyn toy_shared::executor::Executor>| {
        let mut config = JitConfig::new(strategy, OptLevel::O2);
        if strategy == Strategy::Lazy {
            config.tier = Tier::One;
        }
        Box::new(Jit::new(config, executor).expect("JIT")) as Box<dyn Engine>
    };
    match name {
        "interp" => Box::new(Interpreter::new()),
        "eager" => jit(
            Strategy::Eager,
            Box::new(toy_executor::local::InProcess::new().expect("executor")),
        ),
        "lazy" => jit(
            Strategy::Lazy,
            Box::new(toy_executor::local::InProcess::new().expect("executor")),
        ),
        "remote" => {
            let binary = PathBuf::from(env!("CARGO_BIN_EXE_toy-executor"));
            let remote = Remote::new(Transport::Spawn(binary)).expect("executor process");
            jit(Strategy::Lazy, Box::new(remote))
        }
        other => panic!("no engine {other}"),
    }
}

/// Runs `text` in the session: each item's value, or its error's message.
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

/// The value of the one expression in `text`.
fn value(session: &mut Session, text: &str) -> Result<f64, String> {
    let mut results = run(session, text);
    assert_eq!(results.len(), 1, "{text}: {results:?}");
    results.pop().unwrap().map(|v| v.expect("a value"))
}

#[test]
fn undo_brings_back_the_previous_body_and_callers_see_it() {
    for name in ENGINES {
        let mut session = Session::new(Some(engine(name)));
        // f first: it may call a function defined after it.
        run(&mut session, "def f(x) g(x) * 10; def g(x) x + 1;");
        assert_eq!(value(&mut session, "f(1);"), Ok(20.0), "{name}");
        run(&mut session, "def g(x) x + 2;");
        // f is compiled (and may have inlined the old g): it must see the new one.
        assert_eq!(value(&mut session, "f(1);"), Ok(30.0), "{name}");

        let undone = session.undo().expect("undo");
        assert_eq!(&*undone.name, "g");
        assert!(undone.restored.is_some());
        assert_eq!(value(&mut session, "f(1);"), Ok(20.0), "{name}: old g back");

        // The first definition of g undone: g is gone, for f too.
        let undone = session.undo().expect("undo");
        assert!(undone.restored.is_none());
        let err = value(&mut session, "f(1);").expect_err("g is gone");
        assert!(err.contains("unknown function `g`"), "{name}: {err}");
        // Defining it again works as a first definition.
        run(&mut session, "def g(x) x + 5;");
        assert_eq!(value(&mut session, "f(1);"), Ok(60.0), "{name}");
    }
}

#[test]
fn undo_restores_an_operators_precedence_and_body() {
    for name in ENGINES {
        let mut session = Session::new(Some(engine(name)));
        run(&mut session, "def binary| 5 (a b) a + b;");
        assert_eq!(value(&mut session, "1 | 2 * 3;"), Ok(7.0), "{name}");
        run(&mut session, "def binary| 50 (a b) a * b;");
        assert_eq!(value(&mut session, "1 | 2 * 3;"), Ok(6.0), "{name}");
        session.undo().expect("undo");
        assert_eq!(value(&mut session, "1 | 2 * 3;"), Ok(7.0), "{name}");
        session.undo().expect("undo");
        let err = value(&mut session, "1 | 2;").expect_err("no operator");
        assert!(err.contains("unknown binary operator `|`"), "{name}: {err}");
        assert!(matches!(session.undo(), Err(UndoError::Nothing)));
    }
}

#[test]
fn undo_of_an_extern_and_reset() {
    for name in ENGINES {
        let mut session = Session::new(Some(engine(name)));
        run(&mut session, "extern sin(x); def s(x) sin(x);");
        assert_eq!(value(&mut session, "s(0);"), Ok(0.0), "{name}");
        session.undo().expect("undo s");
        session.undo().expect("undo sin");
        let err = value(&mut session, "sin(0);").expect_err("no extern");
        assert!(err.contains("unknown function `sin`"), "{name}: {err}");

        run(&mut session, "def f(x) x; def binary% 7 (a b) a - b;");
        session.reset(Some(engine(name)));
        assert!(session.definitions().is_empty());
        assert!(commands::list(&mut session).is_empty());
        let err = value(&mut session, "f(1);").expect_err("forgotten");
        assert!(err.contains("unknown function `f`"), "{name}: {err}");
        let err = value(&mut session, "1 % 2;").expect_err("forgotten");
        assert!(err.contains("unknown binary operator"), "{name}: {err}");
        // The session goes on.
        run(&mut session, "def f(x) x * 4;");
        assert_eq!(value(&mut session, "f(2);"), Ok(8.0), "{name}");
    }
}

#[test]
fn list_and_save_show_the_current_definitions_in_order() {
    for name in ENGINES {
        let mut session = Session::new(Some(engine(name)));
        run(
            &mut session,
            "def a(x) x; extern cos(x); def binary| 5 (p q) p + q; def b(x y) x | y; \
             def a(x) x + 100;",
        );
        assert_eq!(value(&mut session, "b(1, 2);"), Ok(3.0), "{name}");
        let listed: Vec<String> = commands::list(&mut session)
            .iter()
            .map(ToString::to_string)
            .collect();
        // Definition order, a's latest definition last; each name once.
        let heads: Vec<&str> = listed
            .iter()
            .map(|line| line.split("  ").next().unwrap())
            .collect();
        assert_eq!(
            heads,
            [
                "extern cos(x)",
                "def binary| 5 (p q)",
                "def b(x y)",
                "def a(x)"
            ],
            "{name}"
        );
        assert!(listed[1].contains("precedence 5"), "{listed:?}");
        assert!(listed[2].contains("2 parameters"), "{listed:?}");
        match name {
            "interp" => assert!(listed[2].contains("interpreted"), "{listed:?}"),
            // The eager JIT compiles every definition; the lazy ones only what ran.
            "eager" => assert!(listed[3].contains("compiled at tier 1"), "{listed:?}"),
            _ => {
                assert!(
                    listed[2].contains("compiled at tier 1"),
                    "{name}: {listed:?}"
                );
                assert!(listed[3].contains("not compiled yet"), "{name}: {listed:?}");
            }
        }

        // The saved program defines the same functions.
        let saved = commands::save_text(&session);
        let mut fresh = Session::new(Some(Box::new(Interpreter::new())));
        let results = run(&mut fresh, &saved);
        assert!(results.iter().all(Result::is_ok), "{saved}\n{results:?}");
        assert_eq!(value(&mut fresh, "b(1, 2) + a(1);"), Ok(104.0), "{saved}");
    }
}

#[test]
fn save_never_overwrites_without_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("session.ks");
    let mut session = Session::new(Some(Box::new(Interpreter::new())));
    run(&mut session, "def a(x) x * 2;");
    assert_eq!(commands::save(&session, &path, false).expect("saved"), 1);
    std::fs::write(&path, "precious\n").expect("write");
    let err = commands::save(&session, &path, false).expect_err("exists");
    assert!(err.to_string().contains(":save!"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
    commands::save(&session, &path, true).expect("forced");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("def a(x) (x * 2);")
    );
    // A directory that does not exist: an error, nothing written.
    let missing = dir.path().join("no/such/dir.ks");
    assert!(commands::save(&session, &missing, false).is_err());
    assert!(commands::save(&session, &missing, true).is_err());
}

#[test]
fn stats_agree_with_each_other_and_with_list() {
    // Speculation compiles callees in batches (one block for several functions) on a
    // background thread; :stats must count what is installed, each block once.
    let mut config = JitConfig::new(Strategy::Lazy, OptLevel::Tutorial);
    config.speculate = true;
    let jit = Jit::in_process(config).expect("JIT");
    let mut session = Session::new(Some(Box::new(jit)));
    let program =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mandel.ks"))
            .expect("mandel.ks");
    let results = run(&mut session, &program);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let stats = session.engine().and_then(|e| e.stats()).expect("stats");
    let listed = commands::list(&mut session);
    let compiled = listed.iter().filter(|l| l.tier.is_some()).count();
    let functions = listed.iter().filter(|l| !l.is_extern).count();
    assert_eq!((stats.functions, stats.compiled), (functions, compiled));
    assert!(stats.compiled <= stats.functions, "{stats:?}");
    assert!(stats.code_bytes <= stats.memory_in_use, "{stats:?}");
}
