//! Command-line interface: arguments, then files, piped input or the REPL.

mod build;
mod cache_command;
mod diag;
mod fmt_command;
mod input;
mod inspect;
mod jupyter;
mod lsp;
mod repl;
mod run;
mod setup;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use setup::SetupError;
use toy::codegen::OptLevel;
use toy::commands::PrintMode;
use toy::engine::Engine;
use toy::epc::InProcess;
use toy::epc::remote::{Remote, Transport};
use toy::interp::Interpreter;
use toy::jit::cache::{self, Cache};
use toy::jit::{CacheConfig, Jit, JitConfig, Strategy, Tier};
use toy_shared::executor::Executor;

/// Kaleidoscope, the language of LLVM's tutorials: a REPL and a script runner.
#[derive(Parser, Debug)]
#[command(name = "toy", version, about, long_about = None)]
#[command(after_help = "\
With no FILE, toy reads standard input: an interactive REPL on a terminal, otherwise \
a non-interactive REPL that echoes each top-level expression as \"Evaluated to %f\".

`toy build FILE -o PROG` compiles a file ahead of time (see `toy build --help`).
`toy cache stats|clear [--cache DIR]` shows or empties the code cache.
`toy lsp` is a language server for editors, on standard input and output.
`toy jupyter install` registers the Kaleidoscope kernel with Jupyter (see `toy jupyter --help`).
`toy fmt [--check] [FILE...]` formats Kaleidoscope files (see `toy fmt --help`).

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

    /// How to run the program [default: remote in the interactive REPL, else lazy]
    #[arg(long, value_enum)]
    pub engine: Option<EngineKind>,

    /// Run code in a `toy-executor --listen` at HOST:PORT (token from
    /// TOY_EXECUTOR_TOKEN or --token-file)
    #[arg(long, value_name = "HOST:PORT")]
    pub connect: Option<String>,

    /// File holding the executor's token, for --connect
    #[arg(long, value_name = "FILE", requires = "connect")]
    pub token_file: Option<PathBuf>,

    /// Print a line to stderr for every function the JIT compiles (lazy and eager)
    #[arg(long)]
    pub trace_jit: bool,

    /// Write /tmp/perf-PID.map (address, size, name of every JIT'd function) for
    /// `perf report`; PID is the process running the code
    #[arg(long)]
    pub perf_map: bool,

    /// Keep compiled code in DIR and reuse it [default: $TOY_CACHE, else toy in the
    /// user's cache directory]
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache: Option<PathBuf>,

    /// Compile everything afresh and store nothing (also TOY_CACHE=off)
    #[arg(long)]
    pub no_cache: bool,

    /// Debug JIT'd code: emit DWARF for every compiled function and register it with
    /// GDB's JIT interface (`gdb --args toy -g prog.ks`); implies -O0 unless -O is given
    #[arg(short = 'g')]
    pub debug: bool,

    /// Optimization: 0-3 select LLVM's default<On> pipelines (0 also selects fast
    /// instruction selection); without -O, the tutorial's passes (-O0 with -g), except
    /// for the lazy JIT's tier-ups, which use default<O2>
    #[arg(short = 'O', value_name = "LEVEL", value_parser = clap::value_parser!(u8).range(0..=3))]
    pub opt: Option<u8>,

    /// Which code the lazy JIT makes: 0 = fast to compile only, 1 = optimized only,
    /// auto = tier 0 first, then hot functions recompiled at tier 1 in the background
    #[arg(long, value_enum, default_value = "auto")]
    pub tier: TierArg,

    /// Compile the callees of a compiled function ahead of their first call, on a
    /// background thread [default: on if there is a second core]
    #[arg(
        long,
        value_name = "on|off",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "on"
    )]
    pub speculate: Option<OnOff>,

    /// Print tokens, the AST, optimized IR or assembly instead of running, or write an
    /// object file (with -o)
    #[arg(long, value_enum, value_name = "WHAT")]
    pub emit: Option<Emit>,

    /// Output file for --emit=obj
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// How echoed values print: the shortest form that reads back to the same double
    /// (1e-07, 0.1) or the tutorial's %f [default: shortest in the interactive REPL,
    /// fixed for files and piped input]
    #[arg(long, value_name = "shortest|fixed", value_parser = parse_print)]
    pub print: Option<PrintMode>,
}

fn parse_print(text: &str) -> Result<PrintMode, String> {
    text.parse()
}

/// `--tier` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TierArg {
    /// Tier 0 only.
    #[value(name = "0")]
    Zero,
    /// Tier 1 only.
    #[value(name = "1")]
    One,
    /// Tier 0, then tier 1 for hot functions.
    Auto,
}

/// A switch's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// The execution engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    /// LLVM, compiling each function on its first call
    Lazy,
    /// The lazy JIT, its code running in a separate `toy-executor` process
    Remote,
    /// LLVM, compiling each definition as soon as it is read
    Eager,
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
    /// The optimized LLVM IR of each definition and expression
    Ir,
    /// The assembly of each definition and expression
    Asm,
    /// An object file with every definition (needs -o)
    Obj,
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

    /// How echoed values print: as asked, else shortest in the interactive REPL and
    /// the tutorial's `%f` elsewhere.
    pub fn print_mode(&self, interactive: bool) -> PrintMode {
        self.print.unwrap_or(match interactive {
            true => PrintMode::Shortest,
            false => PrintMode::Fixed,
        })
    }

    /// The optimization level.
    pub fn opt_level(&self) -> OptLevel {
        OptLevel::from_flag(self.opt, self.debug)
    }

    /// The engine to use: as selected, else remote for the interactive REPL (a crash
    /// of user code cannot take the session down there) and lazy otherwise.
    pub fn engine_kind(&self, interactive: bool) -> EngineKind {
        match (self.engine, &self.connect) {
            (Some(kind), _) => kind,
            (None, Some(_)) => EngineKind::Remote,
            (None, None) if interactive && Remote::default_binary().exists() => EngineKind::Remote,
            (None, None) => EngineKind::Lazy,
        }
    }

    /// The code cache's directory, if the cache is on.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache.clone().or_else(Cache::default_dir)
    }

    /// Rejects options that contradict each other.
    pub fn check(&self, interactive: bool) -> Result<(), SetupError> {
        let kind = self.engine_kind(interactive);
        if self.connect.is_some() && kind != EngineKind::Remote {
            return Err(SetupError::Usage("--connect needs the remote engine"));
        }
        if self.debug && kind == EngineKind::Interp {
            return Err(SetupError::Usage(
                "-g needs a compiling engine (lazy, eager or remote)",
            ));
        }
        Ok(())
    }

    /// A fresh engine of the selected kind (options already [`Args::check`]ed).
    pub fn engine(&self, interactive: bool) -> Result<Box<dyn Engine>, SetupError> {
        let kind = self.engine_kind(interactive);
        let strategy = match kind {
            EngineKind::Interp => return Ok(Box::new(Interpreter::new())),
            EngineKind::Eager => Strategy::Eager,
            EngineKind::Lazy | EngineKind::Remote => Strategy::Lazy,
        };
        let mut config = JitConfig::new(strategy, self.opt_level());
        if strategy == Strategy::Lazy {
            config.tier = match self.tier {
                TierArg::Zero => Tier::Zero,
                TierArg::One => Tier::One,
                TierArg::Auto => Tier::Auto,
            };
            let second_core = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
            config.speculate = self.speculate.map_or(second_core, |on| on == OnOff::On);
        }
        config.debug = self.debug;
        config.perf_map = self.perf_map;
        config.cache = self.cache_dir().map(|dir| CacheConfig {
            dir,
            limit: cache::DEFAULT_LIMIT,
        });
        let executor: Box<dyn Executor> = match kind {
            EngineKind::Remote => Box::new(Remote::new(self.transport()?)?),
            _ => Box::new(InProcess::new()?),
        };
        let mut jit = Jit::new(config, executor)?;
        if let Some(refused) = jit.take_cache_refusal() {
            diag::plain(&format!(
                "warning: {refused}: the cache is off for this run"
            ));
        }
        jit.set_trace(
            self.trace_jit
                .then(|| -> toy::jit::Trace { Box::new(|line: &str| eprintln!("{line}")) }),
        );
        Ok(Box::new(jit))
    }

    fn transport(&self) -> Result<Transport, SetupError> {
        let Some(addr) = &self.connect else {
            return Ok(Transport::Spawn(Remote::default_binary()));
        };
        let token = match (&self.token_file, std::env::var("TOY_EXECUTOR_TOKEN")) {
            (Some(path), _) => {
                let bytes = input::read_file(path).map_err(SetupError::TokenFile)?;
                String::from_utf8_lossy(&bytes).trim().to_string()
            }
            (None, Ok(token)) if !token.is_empty() => token,
            _ => {
                return Err(SetupError::Usage(
                    "--connect needs a token: TOY_EXECUTOR_TOKEN or --token-file",
                ));
            }
        };
        // The listener's own bounds: a token it would refuse is a usage error here.
        toy_executor::token::check(token.as_bytes())?;
        Ok(Transport::Tcp {
            addr: addr.clone(),
            token,
        })
    }
}

/// Runs the command; the exit code follows the table in `--help`.
pub fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1).peekable();
    if argv.peek().map(String::as_str) == Some("build") {
        argv.next();
        let status = build::main(argv);
        return ExitCode::from(status as u8);
    }
    if argv.peek().map(String::as_str) == Some("cache") {
        argv.next();
        let status = cache_command::main(argv);
        return ExitCode::from(status as u8);
    }
    if argv.peek().map(String::as_str) == Some("lsp") {
        argv.next();
        return ExitCode::from(lsp::main(argv) as u8);
    }
    if argv.peek().map(String::as_str) == Some("jupyter") {
        argv.next();
        let status = jupyter::main(argv);
        return ExitCode::from(status as u8);
    }
    if argv.peek().map(String::as_str) == Some("fmt") {
        argv.next();
        let status = fmt_command::main(argv);
        return ExitCode::from(status as u8);
    }
    let args = Args::parse();
    let interactive =
        args.files.is_empty() && std::io::stdin().is_terminal() && args.emit.is_none();
    if let Err(err) = args.check(interactive) {
        diag::plain(&err.to_string());
        return ExitCode::from(Status::UsageError as u8);
    }
    let mut status = if !args.files.is_empty() {
        run::files(&args)
    } else if interactive {
        repl::run(&args)
    } else {
        run::stdin(&args)
    };
    toy::runtime::flush();
    if run::report_write_error() && status == Status::Ok {
        status = Status::ProgramError;
    }
    toy::jit::stop_background();
    cache::flush();
    ExitCode::from(status as u8)
}

/// Parses the arguments of the subcommand `name` (after its name); on `--help` or a
/// usage error, prints clap's message and gives the status to exit with.
fn subcommand<T: Parser>(name: &str, args: impl Iterator<Item = String>) -> Result<T, Status> {
    T::try_parse_from(std::iter::once(name.to_string()).chain(args)).map_err(|err| {
        let _ = err.print();
        if err.use_stderr() {
            Status::UsageError
        } else {
            Status::Ok
        }
    })
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
