//! The interactive REPL (rustyline): the read loop. `repl/helper.rs` is the line
//! editor's side (completion, hints, highlighting), `repl/actions.rs` what commands
//! do; the commands themselves are parsed by the library (`toy::commands`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustyline::error::ReadlineError;
use rustyline::{
    Cmd, ColorMode, CompletionType, ConditionalEventHandler, Config, Editor, Event, EventContext,
    EventHandler, KeyCode, KeyEvent, Modifiers, RepeatCount,
};
use toy::commands;
use toy::runtime;

use super::run::Driver;
use super::{Args, Status, diag, input};

mod actions;
mod helper;

use actions::{Flow, Repl, say};
use helper::{INDENT, Known, ReplHelper, unfinished};

const PROMPT: &str = "toy> ";

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

/// Ctrl-D on an empty continuation line abandons the unfinished item, as Ctrl-C
/// does, and keeps the session (CPython's REPL ends the item there too, without
/// ending the session; IPython ignores it). Elsewhere it keeps rustyline's meaning:
/// end of input on an empty line, else delete a character.
struct AbandonItem;

impl ConditionalEventHandler for AbandonItem {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        let line = ctx.line();
        let last = line.rsplit('\n').next().unwrap_or(line);
        let continuing = line.contains('\n') && last.trim().is_empty();
        (continuing && ctx.pos() == line.len()).then_some(Cmd::Interrupt)
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

/// The banner's description of the engine.
fn engine_name(args: &Args) -> &'static str {
    match args.engine_kind(true) {
        super::EngineKind::Remote => "remote: code runs in a separate executor process",
        super::EngineKind::Lazy => "lazy JIT",
        super::EngineKind::Eager => "eager JIT",
        super::EngineKind::Interp => "interpreter",
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
        .completion_type(CompletionType::List)
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
    let known = Arc::new(Mutex::new(Known::default()));
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    editor.set_helper(Some(ReplHelper::new(Arc::clone(&known), color)));
    editor.bind_sequence(
        KeyEvent::from('\r'),
        EventHandler::Conditional(Box::new(ContinueLine)),
    );
    editor.bind_sequence(
        KeyEvent(KeyCode::Char('D'), Modifiers::CTRL),
        EventHandler::Conditional(Box::new(AbandonItem)),
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
    let mut repl = Repl::new(driver, source, args);
    say(&format!(
        "toy {} — Kaleidoscope REPL ({}). Type :help for help, Ctrl-D to quit.",
        env!("CARGO_PKG_VERSION"),
        engine_name(args)
    ));
    loop {
        runtime::flush();
        if repl.driver.output_failed || super::run::report_write_error() {
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
        match commands::parse(&entry) {
            Some(Ok(command)) => {
                if repl.command(command) == Flow::Quit {
                    break;
                }
            }
            Some(Err(err)) => diag::plain(&err.to_string()),
            None => match commands::bare_word_hint(&entry) {
                Some(hint) => say(hint),
                // The session sees what was typed: without the indents that stand
                // for continuation prompts, so that columns match.
                None => repl.run_text(&entry.replace(&format!("\n{INDENT}"), "\n")),
            },
        }
        let session = &repl.driver.session;
        let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
        known.names = session
            .function_names()
            .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(str::to_string)
            .collect();
        known.operators = session.operators().clone();
    }
    runtime::flush();
    Status::Ok
}
