//! What each REPL command does, on top of the library's `toy::commands`; the only
//! place that prints their results.

use std::path::Path;
use std::time::Instant;

use toy::codegen::{Compiler, Output};
use toy::commands::{self, Command, PrintMode};
use toy::frontend::ast::Item;
use toy::frontend::source::SourceId;
use toy::frontend::unparse;
use toy::runtime;
use toy::session::Undone;

use crate::cli::run::Driver;
use crate::cli::{Args, diag, input, inspect};

/// The REPL's state besides the editor.
pub struct Repl<'a> {
    /// The session and how its outcomes are shown.
    pub driver: Driver,
    /// The source that typed entries are appended to.
    pub source: SourceId,
    /// For `:ir` and `:asm`, made on first use.
    compiler: Option<Compiler>,
    args: &'a Args,
}

/// Whether the REPL goes on after a command.
#[derive(PartialEq, Eq)]
pub enum Flow {
    /// Read the next entry.
    Continue,
    /// Leave.
    Quit,
}

/// Writes a line to stdout like program output, so that a failed write is noticed.
pub fn say(text: &str) {
    runtime::write(format!("{text}\n").as_bytes());
}

impl<'a> Repl<'a> {
    /// A REPL on `driver`, typed entries going to `source`.
    pub fn new(driver: Driver, source: SourceId, args: &'a Args) -> Self {
        Repl {
            driver,
            source,
            compiler: None,
            args,
        }
    }

    /// Runs typed text (continuation indents already removed) in the session.
    pub fn run_text(&mut self, text: &str) {
        let start = self
            .driver
            .session
            .sources_mut()
            .append(self.source, &format!("{text}\n"));
        toy_executor::take_interrupt();
        self.driver.run(self.source, start, true);
    }

    /// Carries out `command`.
    pub fn command(&mut self, command: Command) -> Flow {
        match command {
            Command::Quit => return Flow::Quit,
            Command::Help => say(&commands::help()),
            Command::Load(path) => self.load(&path),
            Command::Stats => say(&inspect::stats(&mut self.driver.session)),
            Command::Ir(name) => self.show(&name, Output::Ir),
            Command::Asm(name) => self.show(&name, Output::Asm),
            Command::List => self.list(),
            Command::Undo => self.undo(),
            Command::Reset => self.reset(),
            Command::Save { path, force } => {
                match commands::save(&self.driver.session, &path, force) {
                    Ok(n) => say(&format!("saved {n} definition(s) to {}", path.display())),
                    Err(err) => diag::plain(&err.to_string()),
                }
            }
            Command::Edit(name) => self.edit(&name),
            Command::Time(text) => self.time(&text),
            Command::SetPrint(mode) => {
                self.driver.print = mode;
                say(match mode {
                    PrintMode::Shortest => "values print in the shortest form that reads back",
                    PrintMode::Fixed => "values print as %f",
                });
            }
        }
        Flow::Continue
    }

    fn show(&mut self, name: &str, output: Output) {
        let opt = self.args.opt_level();
        let session = &self.driver.session;
        match inspect::show(session, &mut self.compiler, opt, name, output) {
            Ok(text) => runtime::write(text.as_bytes()),
            Err(err) => diag::plain(&err.to_string()),
        }
    }

    /// `:load FILE`: runs a file in the session, stopping at its first error.
    fn load(&mut self, path: &Path) {
        let text = match input::read_file(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) => {
                diag::plain(&err.to_string());
                return;
            }
        };
        self.run_source(path.display().to_string(), text);
    }

    /// Runs a whole text as its own source, stopping at its first error.
    fn run_source(&mut self, name: String, text: String) {
        let source = self.driver.session.sources_mut().add(name, text);
        toy_executor::take_interrupt();
        self.driver.keep_going = false;
        self.driver.run(source, 0, true);
        self.driver.keep_going = true;
    }

    fn list(&mut self) {
        let listed = commands::list(&mut self.driver.session);
        if listed.is_empty() {
            say("no definitions yet");
        }
        for line in listed {
            say(&line.to_string());
        }
    }

    fn undo(&mut self) {
        match self.driver.session.undo() {
            Ok(Undone {
                name,
                restored: Some(_),
            }) => say(&format!(
                "undid the last definition of `{name}`; its previous one is back"
            )),
            Ok(Undone { name, .. }) => say(&format!("undid `{name}`: it is no longer defined")),
            Err(err) => diag::plain(&err.to_string()),
        }
    }

    fn reset(&mut self) {
        match self.args.engine(true) {
            Ok(engine) => {
                self.driver.session.reset(Some(engine));
                say("session reset: no definitions, built-in operators only");
            }
            Err(err) => diag::plain(&format!("cannot reset: {err}")),
        }
    }

    /// `:edit NAME`: the definition in `$VISUAL`/`$EDITOR` (else `vi`), read back
    /// and run when the editor exits successfully.
    fn edit(&mut self, name: &str) {
        let Some(text) = self.definition_text(name) else {
            diag::plain(&match self.driver.session.is_extern(name) {
                true => format!("`{name}` is an extern: it has no body to edit"),
                false => format!("no function `{name}` is defined"),
            });
            return;
        };
        let file = tempfile::Builder::new()
            .prefix("toy-edit-")
            .suffix(".ks")
            .tempfile();
        let mut file = match file {
            Ok(file) => file,
            Err(err) => {
                diag::plain(&format!("cannot make a file to edit: {err}"));
                return;
            }
        };
        if let Err(err) = std::io::Write::write_all(&mut file, text.as_bytes()) {
            diag::plain(&format!("cannot write {}: {err}", file.path().display()));
            return;
        }
        let set = |key| {
            std::env::var(key)
                .ok()
                .filter(|e: &String| !e.trim().is_empty())
        };
        let editor = set("VISUAL")
            .or_else(|| set("EDITOR"))
            .unwrap_or_else(|| "vi".into());
        runtime::flush();
        // Through the shell, so that EDITOR may carry arguments (`code --wait`).
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(file.path())
            .status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => {
                diag::plain(&format!(
                    "the editor failed ({status}); `{name}` is unchanged"
                ));
                return;
            }
            Err(err) => {
                diag::plain(&format!("cannot run the editor `{editor}`: {err}"));
                return;
            }
        }
        let edited = match input::read_file(file.path()) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) => {
                diag::plain(&err.to_string());
                return;
            }
        };
        if edited == text {
            say(&format!("`{name}` is unchanged"));
            return;
        }
        self.run_source(format!("<edit {name}>"), edited);
    }

    /// A definition's text: as typed when it can be cut from its source, else printed
    /// from the AST.
    fn definition_text(&self, name: &str) -> Option<String> {
        let session = &self.driver.session;
        let function = session.function(name)?;
        let text = &session.sources().get(function.proto.span.source).text;
        let typed = typed_item(text, function.proto.span.start, function.body.span.end);
        Some(match typed {
            Some(typed) => format!("def {typed};\n"),
            None => format!(
                "{}\n",
                unparse::item(&Item::Def(std::sync::Arc::clone(function)))
            ),
        })
    }

    /// `:time TEXT`: runs the text, then shows the time spent compiling (the engine's
    /// compile phases) and the rest (running, interpreting).
    fn time(&mut self, text: &str) {
        let before = self.driver.session.engine().and_then(|e| e.stats());
        let errors = self.driver.errors;
        let started = Instant::now();
        self.run_text(text);
        let wall = started.elapsed();
        let after = self.driver.session.engine().and_then(|e| e.stats());
        if self.driver.errors != errors {
            return;
        }
        say(&commands::time_text(
            commands::compile_time(before, after),
            wall,
        ));
    }
}

/// The text of a `def` from its prototype (at `start`) to the end of its body (at
/// `end`), with the closing parentheses that the body's span leaves out; `None` if
/// they are not there.
fn typed_item(text: &str, start: usize, end: usize) -> Option<&str> {
    let item = text.get(start..end)?;
    let open = item.matches('(').count();
    let mut missing = open.checked_sub(item.matches(')').count())?;
    let base = end;
    let mut end = end;
    for (at, c) in text[base..].char_indices() {
        if missing == 0 {
            break;
        }
        match c {
            ')' => {
                missing -= 1;
                end = base + at + 1;
            }
            c if c.is_whitespace() => {}
            _ => return None,
        }
    }
    (missing == 0).then(|| &text[start..end])
}

#[cfg(test)]
mod tests {
    use super::typed_item;

    #[test]
    fn a_definition_is_cut_with_its_closing_parentheses() {
        let text = "def f(x) (x + (1))  ;";
        // The body's span may stop inside the parentheses around it.
        let start = 4;
        let end = text.find("(1)").unwrap() + 2;
        assert_eq!(typed_item(text, start, end), Some("f(x) (x + (1))"));
        assert_eq!(typed_item("def g(x) x", 4, 10), Some("g(x) x"));
        assert_eq!(typed_item("def g(x) (x y", 4, 11), None);
    }
}
