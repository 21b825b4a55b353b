//! The REPL's `:stats`, `:ir NAME` and `:asm NAME`.

use std::time::Duration;

use toy::codegen::{Compiler, OptLevel, Output, Request, Timings};
use toy::session::Session;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn phases(label: &str, t: &Timings) -> String {
    let total = t.irgen + t.optimize + t.codegen + t.link;
    format!(
        "{label}: {} compiled in {:.3} ms = IR gen {:.3} + optimize {:.3} + codegen {:.3} + link {:.3} ms",
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
            "JIT memory: {} bytes in use ({} of function code, {} of stubs)",
            stats.memory_in_use, stats.code_bytes, stats.stub_bytes
        ),
    ]
    .join("\n")
}

/// `:ir NAME` / `:asm NAME`: the function's code as the JIT compiles it.
pub fn show(
    session: &Session,
    compiler: &mut Option<Compiler>,
    opt: OptLevel,
    name: &str,
    output: Output,
) -> Result<String, String> {
    let Some(function) = session.function(name) else {
        return Err(if session.is_extern(name) {
            format!("`{name}` is an extern: it has no code of ours")
        } else {
            format!("no function `{name}` is defined")
        });
    };
    if compiler.is_none() {
        *compiler = Some(Compiler::host(opt).map_err(|e| e.to_string())?);
    }
    let Some(compiler) = compiler else {
        return Err("no compiler".into());
    };
    let bytes = compiler
        .emit(Request::function(function, None).output(output))
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
