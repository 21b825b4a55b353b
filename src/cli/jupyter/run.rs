//! Running a cell: its leading commands (the REPL's, through `magic`), then its code,
//! in the kernel's one session; a failure becomes the content of an `error` message.

use std::ops::ControlFlow;
use std::time::Instant;

use serde_json::{Value, json};
use toy::codegen::Output;
use toy::commands::{self, Command};
use toy::frontend::source::SourceMap;
use toy::runtime;
use toy::session::{Outcome, Session};

use super::cells::Cells;
use super::magic;
use crate::cli::{diag, input, inspect};

/// Why a cell failed: the content of an `error` message.
pub(super) struct Failure {
    pub(super) ename: &'static str,
    pub(super) evalue: String,
    pub(super) traceback: Vec<String>,
}

impl Failure {
    /// A diagnostic with its source line and marker, as the REPL shows it.
    pub(super) fn diagnostic(sources: &SourceMap, err: &toy::Error, color: bool) -> Self {
        let mut text = Vec::new();
        diag::render(sources, err, None, color, &mut text);
        Failure {
            ename: if err.is_interrupt() {
                "Interrupted"
            } else {
                "Error"
            },
            evalue: err.to_string(),
            traceback: String::from_utf8_lossy(&text)
                .lines()
                .map(str::to_string)
                .collect(),
        }
    }

    /// An error without a source position (a command's).
    pub(super) fn plain(message: String) -> Self {
        Failure {
            ename: "Error",
            traceback: vec![format!("Error: {message}")],
            evalue: message,
        }
    }

    pub(super) fn content(&self) -> Value {
        json!({ "ename": self.ename, "evalue": self.evalue, "traceback": self.traceback })
    }
}

impl Cells {
    /// A cell's commands, then its code; the value of its last item if that is an
    /// expression (or, in a cell of commands only, the last command's value: `:time`'s).
    pub(super) fn run_cell(&mut self, cell: &str, count: u64) -> Result<Option<f64>, Failure> {
        let (commands, code) = magic::split(cell);
        let mut value = None;
        for command in commands {
            value = self.command(command, cell, count)?;
        }
        if code.trim().is_empty() {
            return Ok(value);
        }
        self.run_source(format!("In[{count}]"), code, 0)
    }

    /// Runs a source in the session from byte `start` on, stopping at its first error.
    fn run_source(
        &mut self,
        name: String,
        text: String,
        start: usize,
    ) -> Result<Option<f64>, Failure> {
        let source = self.session.sources_mut().add(name, text);
        let color = self.color;
        let mut value = None;
        let mut failure = None;
        self.session
            .run(source, start, true, &mut |sources, result| {
                match result {
                    Ok(Outcome::Evaluated(x)) => value = Some(x),
                    Ok(_) => value = None,
                    Err(err) => {
                        // Output written before the error comes before it.
                        runtime::flush();
                        failure = Some(Failure::diagnostic(sources, &err, color));
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(())
            });
        match failure {
            Some(failure) => Err(failure),
            None => Ok(value),
        }
    }

    /// One command line, starting at byte `at` of `cell`; what it shows goes to the
    /// cell's output. The value of the code it ran, for `:time`.
    fn command(
        &mut self,
        (at, line): (usize, &str),
        cell: &str,
        count: u64,
    ) -> Result<Option<f64>, Failure> {
        let say = |text: &str| runtime::write(format!("{}\n", text.trim_end()).as_bytes());
        match magic::parse(line).map_err(|err| Failure::plain(err.to_string()))? {
            Command::Help => say(magic::HELP),
            Command::List => {
                let listed = commands::list(&mut self.session);
                if listed.is_empty() {
                    say("no definitions yet");
                }
                for line in listed {
                    say(&line.to_string());
                }
            }
            Command::Time(text) => {
                let start = magic::argument_offset(line, &text).map(|offset| at + offset);
                return self.time(&text, cell, start, count);
            }
            Command::Stats => say(&inspect::stats(&mut self.session)),
            Command::Ir(name) => say(&self.show(&name, Output::Ir)?),
            Command::Asm(name) => say(&self.show(&name, Output::Asm)?),
            Command::Load(path) => {
                let bytes =
                    input::read_file(&path).map_err(|err| Failure::plain(err.to_string()))?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                self.run_source(path.display().to_string(), text, 0)?;
            }
            // `magic::parse` gives only the commands above.
            other => return Err(Failure::plain(format!("{other:?} cannot run in a cell"))),
        }
        Ok(None)
    }

    /// `:time EXPR`: runs it, then shows the engine's compile time and the rest, as
    /// the REPL does; with the value of its last item if that is an expression.
    /// `start` is where `text` is in `cell`: the source is the cell up to its end, run
    /// from there, so that diagnostics point into the cell's `:time` line.
    fn time(
        &mut self,
        text: &str,
        cell: &str,
        start: Option<usize>,
        count: u64,
    ) -> Result<Option<f64>, Failure> {
        let stats = |session: &mut Session| session.engine().and_then(|e| e.stats());
        let before = stats(&mut self.session);
        let started = Instant::now();
        let at = start.filter(|&at| cell.get(at..at + text.len()) == Some(text));
        let (source, start) = match at {
            Some(at) => (cell[..at + text.len()].to_string(), at),
            None => (text.to_string(), 0),
        };
        let value = self.run_source(format!("In[{count}]"), source, start)?;
        let wall = started.elapsed();
        let compile = commands::compile_time(before, stats(&mut self.session));
        runtime::write(format!("{}\n", commands::time_text(compile, wall)).as_bytes());
        Ok(value)
    }

    /// `:ir NAME` / `:asm NAME`: the function's code as the JIT compiles it.
    fn show(&mut self, name: &str, output: Output) -> Result<String, Failure> {
        inspect::show(&self.session, &mut self.compiler, self.opt, name, output)
            .map_err(|err| Failure::plain(err.to_string()))
    }
}
