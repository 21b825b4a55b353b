//! Command-line interface: arguments, then files, piped input or the REPL.

mod diag;
mod repl;
mod run;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use toy::engine::Engine;
use toy::interp::Interpreter;

/// Kaleidoscope, the language of LLVM's tutorials: a REPL and a script runner.
#[derive(Parser, Debug)]
#[command(name = "toy", version, about, long_about = None)]
#[command(after_help = "\
With no FILE, toy reads standard input: an interactive REPL on a terminal, otherwise \
a non-interactive REPL that echoes each top-level expression as \"Evaluated to %f\".

Exit status: 0 on success, 1 if the program had an error, 2 on usage errors.")]
pub struct Args {
    /// Kaleidoscope files to run, in order (no echo; stop at the first error)
    pub files: Vec<PathBuf>,

    /// Print "Evaluated to %f" for every top-level expression
    #[arg(long, overrides_with = "no_echo")]
    pub echo: bool,

    /// Do not print the values of top-level expressions
    #[arg(long, overrides_with = "echo")]
    pub no_echo: bool,

    /// With files: report errors and go on with the next item
    #[arg(long)]
    pub keep_going: bool,

    /// How to run the program
    #[arg(long, value_enum, default_value_t = EngineKind::Interp)]
    pub engine: EngineKind,

    /// Print the token stream or the AST instead of running
    #[arg(long, value_enum, value_name = "WHAT")]
    pub emit: Option<Emit>,
}

/// The execution engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    /// The tree-walking reference interpreter
    Interp,
}

/// What `--emit` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// One token per line: position, kind, text
    Tokens,
    /// One S-expression per item, with operators resolved
    Ast,
}

impl Args {
    /// Whether top-level values are echoed, `default` unless overridden.
    pub fn echo(&self, default: bool) -> bool {
        if self.echo {
            true
        } else if self.no_echo {
            false
        } else {
            default
        }
    }

    /// A fresh engine of the selected kind.
    pub fn engine(&self) -> Box<dyn Engine> {
        match self.engine {
            EngineKind::Interp => Box::new(Interpreter::new()),
        }
    }
}

/// Runs the command; the exit code follows the table in `--help`.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let status = if !args.files.is_empty() {
        run::files(&args)
    } else if std::io::stdin().is_terminal() && args.emit.is_none() {
        repl::run(&args)
    } else {
        run::stdin(&args)
    };
    toy::runtime::flush();
    ExitCode::from(status as u8)
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// No error.
    Ok = 0,
    /// The program had at least one error.
    ProgramError = 1,
    /// Bad arguments or unreadable input.
    UsageError = 2,
}
