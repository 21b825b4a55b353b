//! The interactive REPL (rustyline).

use std::borrow::Cow;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{
    Cmd, ColorMode, ConditionalEventHandler, Config, Context, Editor, Event, EventContext,
    EventHandler, Helper, Hinter, KeyEvent, RepeatCount,
};
use toy::codegen::Output;
use toy::frontend::parser::is_incomplete;
use toy::runtime;

use super::run::Driver;
use super::{Args, Status, diag, input, inspect};

const PROMPT: &str = "toy> ";
/// Inserted after a newline in an unfinished item; shown as [`CONTINUATION`] (same width).
const INDENT: &str = "     ";
const CONTINUATION: &str = "...> ";

const KEYWORDS: [&str; 10] = [
    "def", "extern", "if", "then", "else", "for", "in", "binary", "unary", "var",
];
const COMMANDS: [&str; 6] = [":help", ":quit", ":load", ":stats", ":ir", ":asm"];

const HELP: &str = "\
Type Kaleidoscope definitions and expressions; `;` or Enter ends an item, and an
unfinished item continues on the next line (prompt `...>`).

  def name(a b) body        define a function
  def binary| 5 (a b) body  define a binary operator with precedence 5 (1..100)
  def unary! (a) body       define a prefix operator
  extern sin(x)             declare a C math function (also: putchard, printd)
  1 + 2 * 3                 evaluate an expression

Commands:
  :help          this text
  :load FILE     run a file in this session
  :stats         functions defined and compiled, compile time by phase, JIT memory
  :ir NAME       the optimized LLVM IR of a function (as the JIT compiles it)
  :asm NAME      its assembly
  :quit          leave (or Ctrl-D)

Ctrl-C abandons the current input, or interrupts a running evaluation.";

/// Completion of keywords, commands and defined functions; validation by the parser.
#[derive(Hinter, Helper)]
struct ReplHelper {
    names: Arc<Mutex<Vec<String>>>,
    /// Whether the continuation prompt may be dimmed (off with `NO_COLOR`).
    color: bool,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
            .map_or(0, |i| i + 1);
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let mut candidates: Vec<Pair> = KEYWORDS
            .iter()
            .chain(COMMANDS.iter().filter(|_| start == 0))
            .map(|s| s.to_string())
            .chain(names.iter().cloned())
            .filter(|candidate| candidate.starts_with(word))
            .map(|candidate| Pair {
                display: candidate.clone(),
                replacement: candidate,
            })
            .collect();
        candidates.sort_by(|a, b| a.display.cmp(&b.display));
        candidates.dedup_by(|a, b| a.display == b.display);
        Ok((start, candidates))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        if unfinished(ctx.input()) {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        let marker = format!("\n{INDENT}");
        if !line.contains(&marker) {
            return Cow::Borrowed(line);
        }
        // Draw the continuation prompt over the indentation that Enter inserted: the
        // same width, so rustyline's cursor arithmetic stays right.
        let prompt = if self.color {
            format!("\n\x1b[2m{CONTINUATION}\x1b[0m")
        } else {
            format!("\n{CONTINUATION}")
        };
        Cow::Owned(line.replace(&marker, &prompt))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        true
    }
}

/// Whether the REPL should ask for another line: an item the parser finds incomplete
/// (commands are always one line).
fn unfinished(input: &str) -> bool {
    !input.trim_start().starts_with(':') && is_incomplete(input)
}

/// Enter at the end of an unfinished item starts a continuation line.
struct ContinueLine;

impl ConditionalEventHandler for ContinueLine {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        let line = ctx.line();
        if ctx.pos() == line.len() && unfinished(line) {
            Some(Cmd::Insert(1, format!("\n{INDENT}")))
        } else {
            None
        }
    }
}

fn history_path() -> Option<PathBuf> {
    let dir = dirs::state_dir()?.join("toy");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

/// `path` if it is fit to be the history file; otherwise a warning, and no history.
fn usable_history(path: Option<PathBuf>) -> Option<PathBuf> {
    let path = path?;
    match input::check_history(&path) {
        Ok(()) => Some(path),
        Err(err) => {
            diag::plain(&format!("warning: {err}; running without history"));
            None
        }
    }
}

/// Runs the interactive REPL until `:quit` or Ctrl-D.
pub fn run(args: &Args) -> Status {
    // Ctrl-C during an evaluation stops it and returns to the prompt; at the prompt the
    // terminal is in raw mode and rustyline sees Ctrl-C as a key instead.
    if let Err(err) = toy_executor::handle_interrupts() {
        diag::plain(&format!("cannot handle Ctrl-C: {err}"));
    }
    // The highlighter draws the continuation prompt, so it must run even where colours
    // are off; it then draws no colour itself.
    let config = Config::builder()
        .color_mode(ColorMode::Forced)
        .auto_add_history(false)
        .history_ignore_dups(true)
        .and_then(|b| Ok(b.max_history_size(1000)?.build()));
    let editor = config.and_then(Editor::with_config);
    let mut editor: Editor<ReplHelper, _> = match editor {
        Ok(editor) => editor,
        Err(err) => {
            diag::plain(&format!("cannot start the REPL: {err}"));
            return Status::UsageError;
        }
    };
    let names = Arc::new(Mutex::new(Vec::new()));
    editor.set_helper(Some(ReplHelper {
        names: Arc::clone(&names),
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }));
    editor.bind_sequence(
        KeyEvent::from('\r'),
        EventHandler::Conditional(Box::new(ContinueLine)),
    );
    let mut history = usable_history(history_path());
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    let mut driver = match Driver::new(args, args.echo(true), true, true) {
        Ok(driver) => driver,
        Err(err) => {
            diag::plain(&err.to_string());
            return Status::ProgramError;
        }
    };
    let source = driver.session.sources_mut().add("<repl>", "");
    let mut compiler = None;
    let engine = match args.engine_kind(true) {
        super::EngineKind::Remote => "remote: code runs in a separate executor process",
        super::EngineKind::Lazy => "lazy JIT",
        super::EngineKind::Eager => "eager JIT",
        super::EngineKind::Interp => "interpreter",
    };
    say(&format!(
        "toy {} — Kaleidoscope REPL ({engine}). Type :help for help, Ctrl-D to quit.",
        env!("CARGO_PKG_VERSION")
    ));
    loop {
        runtime::flush();
        if driver.output_failed || super::run::report_write_error() {
            return Status::ProgramError;
        }
        let entry = match editor.readline(PROMPT) {
            Ok(entry) => entry,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(err) => {
                diag::plain(&format!("cannot read input: {err}"));
                break;
            }
        };
        if entry.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(entry.as_str());
        history = usable_history(history);
        if let Some(path) = &history {
            // Appended under a lock, so that REPLs sharing the file keep each other's
            // entries (saving would overwrite them).
            let _ = editor.append_history(path);
        }
        let trimmed = entry.trim();
        if let Some(command) = trimmed.strip_prefix(':') {
            let (name, arg) = command
                .split_once(char::is_whitespace)
                .unwrap_or((command, ""));
            match name {
                "q" | "quit" => break,
                "h" | "help" => say(HELP),
                "load" if !arg.trim().is_empty() => load(&mut driver, arg.trim()),
                "load" => diag::plain(":load needs a file name"),
                "stats" => say(&inspect::stats(&mut driver.session)),
                "ir" | "asm" if arg.trim().is_empty() => {
                    diag::plain(&format!(":{name} needs a function name"));
                }
                "ir" | "asm" => {
                    let output = if name == "ir" {
                        Output::Ir
                    } else {
                        Output::Asm
                    };
                    let opt = args.opt_level();
                    match inspect::show(&driver.session, &mut compiler, opt, arg.trim(), output) {
                        Ok(text) => runtime::write(text.as_bytes()),
                        Err(err) => diag::plain(&err.to_string()),
                    }
                }
                other => diag::plain(&format!("unknown command :{other} (try :help)")),
            }
        } else {
            let start = driver
                .session
                .sources_mut()
                .append(source, &format!("{entry}\n"));
            toy_executor::take_interrupt();
            driver.run(source, start, true);
        }
        let mut list = names.lock().unwrap_or_else(|e| e.into_inner());
        *list = driver
            .session
            .function_names()
            .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(str::to_string)
            .collect();
    }
    runtime::flush();
    Status::Ok
}

/// Writes a line to stdout like program output, so that a failed write is noticed.
fn say(text: &str) {
    runtime::write(format!("{text}\n").as_bytes());
}

/// `:load FILE`: runs a file in the session, stopping at its first error.
fn load(driver: &mut Driver, path: &str) {
    let text = match input::read_file(std::path::Path::new(path)) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => {
            diag::plain(&err.to_string());
            return;
        }
    };
    let source = driver.session.sources_mut().add(path, text);
    toy_executor::take_interrupt();
    driver.keep_going = false;
    driver.run(source, 0, true);
    driver.keep_going = true;
}
