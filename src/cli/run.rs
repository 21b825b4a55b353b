//! Running files and piped standard input.

use std::ops::ControlFlow;
use std::sync::Arc;

use toy::Error;
use toy::codegen::{Compiler, Output, Request};
use toy::commands::{PrintMode, did_you_mean, format_value};
use toy::frontend::ast::{Function, Item};
use toy::frontend::lexer::{Token, lex, lex_error};
use toy::frontend::print;
use toy::frontend::source::{SourceId, SourceMap, line_starts};
use toy::runtime;
use toy::session::{Outcome, Progress, Session};

use super::setup::SetupError;
use super::{Args, Emit, Status, diag, input};

/// A session plus what to do with its outcomes.
pub struct Driver {
    /// The program's state.
    pub session: Session,
    /// For `--emit=ir|asm|obj`.
    emit: Option<Emitter>,
    echo: bool,
    /// Report errors and go on, instead of stopping at the first.
    pub keep_going: bool,
    /// Errors reported so far.
    pub errors: usize,
    /// Program output could not be written (reported; nothing more should run).
    pub output_failed: bool,
    /// How echoed values print.
    pub print: PrintMode,
    /// Add "did you mean" to diagnostics of unknown names (the REPL).
    pub hints: bool,
}

impl Driver {
    /// A driver for `args`, echoing top-level values when `echo`.
    pub fn new(
        args: &Args,
        echo: bool,
        keep_going: bool,
        interactive: bool,
    ) -> Result<Self, SetupError> {
        let (engine, emit) = match args.emit {
            None => (Some(args.engine(interactive)?), None),
            Some(Emit::Ast | Emit::Tokens) => (None, None),
            Some(kind) => {
                let compiler = Compiler::host(args.opt_level())?;
                let emitter = Emitter {
                    kind,
                    compiler,
                    defs: Vec::new(),
                };
                (None, Some(emitter))
            }
        };
        Ok(Driver {
            session: Session::new(engine),
            emit,
            echo,
            keep_going,
            errors: 0,
            output_failed: false,
            print: args.print_mode(interactive),
            hints: interactive,
        })
    }

    /// Runs the items of `source` from `start`; see [`Session::run`].
    pub fn run(&mut self, source: SourceId, start: usize, eof: bool) -> Progress {
        let (echo, keep_going) = (self.echo, self.keep_going);
        let errors = &mut self.errors;
        let output_failed = &mut self.output_failed;
        let emit = &mut self.emit;
        let print = self.print;
        // The names known so far, for "did you mean" (the session is busy running).
        let mut names: Option<Vec<String>> = self
            .hints
            .then(|| self.session.function_names().map(str::to_string).collect());
        let mut on = |sources: &SourceMap, result: Result<Outcome, Error>| {
            let result = match (result, emit.as_mut()) {
                (Ok(Outcome::Resolved(item)), Some(emitter)) => {
                    emitter.item(&item).map(|()| Outcome::Emitted)
                }
                (result, _) => result,
            };
            match result {
                Ok(Outcome::Evaluated(value)) if echo => {
                    runtime::write(
                        format!("Evaluated to {}\n", format_value(value, print)).as_bytes(),
                    );
                }
                Ok(Outcome::Defined(name) | Outcome::Declared(name)) => {
                    if let Some(names) = &mut names {
                        names.push(name.to_string());
                    }
                }
                Ok(Outcome::Resolved(item)) => {
                    runtime::write(format!("{}\n", print::item(&item)).as_bytes());
                }
                Ok(_) => {}
                Err(err) => {
                    let help = names
                        .as_ref()
                        .and_then(|names| did_you_mean(sources, names.iter().cloned(), &err))
                        .map(|name| format!("did you mean `{name}`?"));
                    diag::report_with_help(sources, &err, help);
                    *errors += 1;
                    if !keep_going {
                        return ControlFlow::Break(());
                    }
                }
            }
            // Output is lost from here on: running more would only hide that.
            if report_write_error() {
                *errors += 1;
                *output_failed = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        };
        self.session.run(source, start, eof, &mut on)
    }

    /// The exit status so far.
    pub fn status(&self) -> Status {
        if self.errors == 0 {
            Status::Ok
        } else {
            Status::ProgramError
        }
    }
}

/// Reports a failed write of program output, if there was one since the last call.
pub fn report_write_error() -> bool {
    match runtime::take_write_error() {
        Some(err) => {
            diag::plain(&format!("cannot write program output: {err}"));
            true
        }
        None => false,
    }
}

/// `--emit=ir|asm|obj`: compiles items instead of running them.
struct Emitter {
    kind: Emit,
    compiler: Compiler,
    /// Definitions for the object file, the last of each name.
    defs: Vec<Arc<Function>>,
}

impl Emitter {
    /// `ir` and `asm` print each function; `obj` collects definitions.
    fn item(&mut self, item: &Item) -> Result<(), Error> {
        let function = match item {
            Item::Def(f) => {
                self.defs.retain(|d| d.proto.name != f.proto.name);
                self.defs.push(Arc::clone(f));
                f
            }
            Item::Expr(f) => f,
            Item::Extern(_) => return Ok(()),
        };
        let output = match self.kind {
            Emit::Ir => Output::Ir,
            Emit::Asm => Output::Asm,
            _ => return Ok(()),
        };
        let text = self
            .compiler
            .emit(Request::function(function, None).output(output))
            .map_err(|source| {
                let name = function.proto.name.to_string();
                Error::jit(
                    toy::jit::Error::Compile { name, source },
                    function.proto.span,
                )
            })?;
        runtime::write(&text);
        Ok(())
    }
}

/// Writes the object file of `--emit=obj`.
fn write_object(driver: &mut Driver, path: Option<&std::path::Path>) -> Status {
    let Some(emitter) = driver.emit.as_ref().filter(|e| e.kind == Emit::Obj) else {
        return driver.status();
    };
    let Some(path) = path else {
        diag::plain("--emit=obj needs an output file: -o FILE");
        return Status::UsageError;
    };
    let functions: Vec<&Function> = emitter.defs.iter().map(|f| &**f).collect();
    let object = match emitter.compiler.emit(Request::library(&functions)) {
        Ok(object) => object,
        Err(err) => {
            diag::plain(&err.to_string());
            return Status::ProgramError;
        }
    };
    if let Err(err) = std::fs::write(path, object) {
        diag::plain(&format!("cannot write {}: {err}", path.display()));
        return Status::ProgramError;
    }
    driver.status()
}

/// Text from bytes; invalid UTF-8 becomes U+FFFD, which the lexer reports.
pub fn decode(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}

/// `toy FILE...`
pub fn files(args: &Args) -> Status {
    let mut texts = Vec::new();
    for path in &args.files {
        match input::read_file(path) {
            Ok(bytes) => texts.push((path.display().to_string(), decode(bytes))),
            Err(err) => {
                diag::plain(&err.to_string());
                return Status::UsageError;
            }
        }
    }
    // The process exits right after: freeing every definition one by one would cost
    // more than running them, so the driver is never dropped.
    let mut driver = match Driver::new(args, args.echo(false), args.keep_going, false) {
        Ok(driver) => std::mem::ManuallyDrop::new(driver),
        Err(err) => {
            diag::plain(&err.to_string());
            return Status::ProgramError;
        }
    };
    for (name, text) in texts {
        let source = driver.session.sources_mut().add(name, text);
        if args.emit == Some(Emit::Tokens) {
            emit_tokens(&mut driver, source);
            continue;
        }
        if driver.run(source, 0, true) == Progress::Stopped {
            return driver.status();
        }
    }
    write_object(&mut driver, args.output.as_deref())
}

/// `toy < FILE`: reads line by line and runs each item as soon as it is complete.
pub fn stdin(args: &Args) -> Status {
    // Never dropped, as in `files`.
    let mut driver = match Driver::new(args, args.echo(true), true, false) {
        Ok(driver) => std::mem::ManuallyDrop::new(driver),
        Err(err) => {
            diag::plain(&err.to_string());
            return Status::ProgramError;
        }
    };
    let source = driver.session.sources_mut().add("<stdin>", "");
    const NAME: &str = "standard input";
    if args.emit == Some(Emit::Tokens) {
        let bytes = match input::read_all(std::io::stdin().lock(), NAME) {
            Ok(bytes) => bytes,
            Err(err) => {
                diag::plain(&err.to_string());
                return Status::UsageError;
            }
        };
        driver.session.sources_mut().append(source, &decode(bytes));
        emit_tokens(&mut driver, source);
        return driver.status();
    }
    // Output is flushed whenever reading would wait for more input, so that a program
    // that pipes items in one at a time (a test, an editor) sees each one's output.
    let stdin = std::io::BufReader::new(input::FlushBeforeRead::new(std::io::stdin().lock()));
    let mut input = input::BoundedLines::new(stdin, NAME);
    let mut pos = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let eof = match input.next_into(&mut line) {
            Ok(more) => !more,
            Err(err) => {
                diag::plain(&err.to_string());
                return Status::UsageError;
            }
        };
        if !eof {
            driver
                .session
                .sources_mut()
                .append(source, &decode(std::mem::take(&mut line)));
        }
        match driver.run(source, pos, eof) {
            Progress::Pending(at) => pos = at,
            Progress::Done | Progress::Stopped => {
                pos = driver.session.sources().get(source).text.len();
            }
        }
        if driver.output_failed {
            return driver.status();
        }
        if eof {
            return write_object(&mut driver, args.output.as_deref());
        }
    }
}

/// `--emit=tokens`: one line per token, `LINE:COL KIND TEXT`.
fn emit_tokens(driver: &mut Driver, source: SourceId) {
    let sources = driver.session.sources();
    let text = &sources.get(source).text;
    // Line and column advance with the tokens (a look-up per token would be O(n²)).
    let (mut at, mut line, mut line_start) = (0, 1, 0);
    for (token, span) in lex(text, source, 0) {
        if let Token::Error(err) = token {
            diag::report(sources, &lex_error(err, text, span).into());
            driver.errors += 1;
            continue;
        }
        for start in line_starts(&text[at..span.start]) {
            line += 1;
            line_start = at + start;
        }
        at = span.start;
        let col = text[line_start..span.start].chars().count() + 1;
        runtime::write(
            format!("{line}:{col}\t{}\t{}\n", token.kind(), &text[span.range()]).as_bytes(),
        );
    }
}
