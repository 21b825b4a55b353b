//! The REPL's `:stats`, `:ir NAME` and `:asm NAME`.

use std::time::Duration;

use toy::codegen::{Compiler, OptLevel, Output, Request};
use toy::engine::PhaseTimes;
use toy::session::Session;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn phases(label: &str, t: &PhaseTimes) -> String {
    let total = t.irgen + t.optimize + t.codegen + t.link;
    // Compiles, not functions: a tier-up or a recompile after invalidation counts
    // again (the first line counts functions).
    format!(
        "{label}: {} compiles in {:.3} ms = IR gen {:.3} + optimize {:.3} + codegen {:.3} + link {:.3} ms",
        t.count,
        ms(total),
        ms(t.irgen),
        ms(t.optimize),
        ms(t.codegen),
        ms(t.link),
    )
}

/// `:stats`: functions defined vs compiled, compile time by phase, JIT memory.
pub fn stats(session: &mut Session) -> String {
    let defined = session
        .function_names()
        .filter(|name| session.function(name).is_some())
        .count();
    let Some(stats) = session.engine().and_then(|engine| engine.stats()) else {
        return format!("{defined} functions defined; this engine compiles nothing");
    };
    [
        format!(
            "functions: {} defined, {} compiled; {} externs",
            stats.functions, stats.compiled, stats.externs
        ),
        phases("functions", &stats.timings),
        phases("top-level expressions", &stats.expressions),
        format!(
            "top-level expressions interpreted (no loops; calls run compiled code): {}",
            stats.interpreted
        ),
        format!("hot functions recompiled at tier 1: {}", stats.tier_ups),
        format!(
            "compiled functions dropped because a body they inlined changed: {}",
            stats.invalidations
        ),
        format!(
            "JIT memory: {} bytes in use ({} of function code, {} of stubs)",
            stats.memory_in_use, stats.code_bytes, stats.stub_bytes
        ),
    ]
    .join("\n")
}

/// Why `:ir NAME` / `:asm NAME` shows nothing.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// The name is an `extern`.
    #[error("`{0}` is an extern: it has no code of ours")]
    Extern(String),
    /// No such function.
    #[error("no function `{0}` is defined")]
    Undefined(String),
    /// LLVM failed.
    #[error(transparent)]
    Codegen(#[from] toy::codegen::CodegenError),
}

/// `:ir NAME` / `:asm NAME`: the function's code as the JIT compiles it.
pub fn show(
    session: &Session,
    compiler: &mut Option<Compiler>,
    opt: OptLevel,
    name: &str,
    output: Output,
) -> Result<String, ShowError> {
    let Some(function) = session.function(name) else {
        let name = name.to_string();
        return Err(match session.is_extern(&name) {
            true => ShowError::Extern(name),
            false => ShowError::Undefined(name),
        });
    };
    let compiler = match compiler.take() {
        Some(made) => compiler.insert(made),
        None => compiler.insert(Compiler::host(opt)?),
    };
    let bytes = compiler.emit(Request::function(function, None).output(output))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
