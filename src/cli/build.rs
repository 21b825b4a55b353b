//! `toy build`: a Kaleidoscope file as a native executable or an object file.

use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use toy::aot::{self, Program};
use toy::codegen::{DebugSource, OptLevel};
use toy::frontend::source::Span;
use toy::session::{Outcome, Session};

use super::{Status, diag};

/// Compiles a Kaleidoscope file ahead of time.
#[derive(Parser, Debug)]
#[command(
    name = "toy build",
    about = "Compiles a Kaleidoscope file ahead of time: a native executable or an object file",
    long_about = None
)]
#[command(after_help = "\
The executable runs the file's top-level expressions in order, as `toy FILE` does
(output from printd and putchard, no echo). It is linked with the system C compiler
driver (`cc`, or $CC). The object file exports every function with the C calling
convention: double f(double, ...).")]
struct BuildArgs {
    /// The Kaleidoscope file
    file: PathBuf,

    /// Output file
    #[arg(short = 'o', value_name = "FILE")]
    output: PathBuf,

    /// What to produce
    #[arg(long, value_enum, default_value_t = Kind::Exe)]
    emit: Kind,

    /// Optimization: 0-3 select LLVM's default<On> pipelines; without -O, the
    /// tutorial's passes
    #[arg(short = 'O', value_name = "LEVEL", value_parser = clap::value_parser!(u8).range(0..=3))]
    opt: Option<u8>,

    /// CPU to compile for (generic x86-64 by default, so the output runs elsewhere;
    /// `native` for this machine's)
    #[arg(long, default_value = "x86-64")]
    cpu: String,

    /// Target triple (an x86-64 one; the host's by default)
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,

    /// Emit DWARF debug information (source lines, functions, parameters, `var`s);
    /// without -O, also compile without optimizations so lines stay accurate
    #[arg(short = 'g')]
    debug: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// A native executable
    Exe,
    /// An ELF object file
    Obj,
}

/// Runs `toy build` with the arguments after `build`.
pub fn main(args: impl Iterator<Item = String>) -> Status {
    let args = match super::subcommand::<BuildArgs>("toy build", args) {
        Ok(args) => args,
        Err(status) => return status,
    };
    let text = match std::fs::read(&args.file) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => {
            diag::plain(&format!("cannot read {}: {err}", args.file.display()));
            return Status::UsageError;
        }
    };
    let mut session = Session::new(None);
    let source = session
        .sources_mut()
        .add(args.file.display().to_string(), text);
    let mut items = Vec::new();
    let mut errors = 0;
    session.run(source, 0, true, &mut |sources, result| {
        match result {
            Ok(Outcome::Resolved(item)) => items.push(item),
            Ok(_) => {}
            Err(err) => {
                diag::report(sources, &err);
                errors += 1;
            }
        }
        ControlFlow::Continue(())
    });
    if errors > 0 {
        return Status::ProgramError;
    }
    let opt = OptLevel::from_flag(args.opt, args.debug);
    let compiler = match aot::compiler(args.target.as_deref(), &args.cpu, opt) {
        Ok(compiler) => compiler,
        Err(err) => {
            diag::plain(&err.to_string());
            return Status::UsageError;
        }
    };
    let program = Program::new(&items);
    let sources = session.sources();
    let position = |span: Span| {
        let (line, column) = sources.line_col(source, span.start);
        (line as u32, column as u32)
    };
    let absolute = std::fs::canonicalize(&args.file).unwrap_or_else(|_| args.file.clone());
    let debug_source = DebugSource {
        file: absolute
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        directory: absolute
            .parent()
            .map_or_else(String::new, |d| d.display().to_string()),
        position: &position,
    };
    let debug = args.debug.then_some(&debug_source);
    let result = match args.emit {
        Kind::Exe => program.link(&compiler, &args.output, debug),
        Kind::Obj => program.write_exports(&compiler, &args.output),
    };
    match result {
        Ok(()) => Status::Ok,
        Err(err) => {
            diag::plain(&err.to_string());
            Status::ProgramError
        }
    }
}
