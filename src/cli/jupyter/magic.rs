//! The REPL's commands as cell magics: lines at the top of a cell that start with `:`.
//! They are parsed by the REPL's own parser (`toy::commands::parse`: one grammar of
//! commands); this module says which of them a notebook runs.
//!
//! To make another of the REPL's commands a cell magic: accept it in [`parse`], list
//! it in [`COMMANDS`] and [`HELP`], and run it in `run.rs` (`Cells::command`) with
//! the library function the REPL uses (`toy::commands`), so both show the same.

use toy::commands::{self, Command, CommandError};

/// The commands a cell may start with (for completion and `:help`).
pub const COMMANDS: [&str; 7] = [":help", ":list", ":time", ":ir", ":asm", ":stats", ":load"];

/// What `:help` shows in a notebook.
pub const HELP: &str = "\
A cell holds Kaleidoscope definitions and expressions, run in order in one session;
the value of a cell's last expression is its result. Lines at the top of a cell that
start with `:` are commands:

  :help          this text
  :list          definitions and externs: arity, operator precedence, compiled tier
  :time EXPR     run EXPR and show compile and run time separately (its value is
                 the cell's result when no code follows)
  :ir NAME       the optimized LLVM IR of a function (as the JIT compiles it)
  :asm NAME      its assembly
  :stats         functions defined and compiled, compile time by phase, JIT memory
  :load FILE     run a file in this session

Interrupt the kernel to stop a running cell; definitions stay. A crash of the code
(it runs in a separate executor process) ends only that cell: a fresh executor is
started with every definition.";

/// Why a command line cannot run in a cell.
#[derive(Debug, thiserror::Error)]
pub enum MagicError {
    /// Not a command, or a command used wrongly (the REPL's parser says why).
    #[error(transparent)]
    Parse(#[from] CommandError),
    /// A REPL command that a notebook does not run.
    #[error(":{0} works in the terminal REPL only; a cell may start with {list}", list = COMMANDS.join(", "))]
    ReplOnly(&'static str),
}

/// Parses one command line (starting with `:`) into one of the commands a cell runs.
pub fn parse(line: &str) -> Result<Command, MagicError> {
    let command = match commands::parse(line) {
        Some(parsed) => parsed?,
        // `split` gives only lines that start with `:`; anything else is no command.
        None => {
            return Err(CommandError::Unknown {
                name: line.trim().to_string(),
                suggestion: None,
            }
            .into());
        }
    };
    let repl_only = match command {
        Command::Help
        | Command::List
        | Command::Time(_)
        | Command::Ir(_)
        | Command::Asm(_)
        | Command::Stats
        | Command::Load(_) => return Ok(command),
        // The kernel's life belongs to the notebook; editing happens in the cell.
        Command::Quit => "quit",
        Command::Edit(_) => "edit",
        Command::Undo => "undo",
        Command::Reset => "reset",
        Command::Save { .. } => "save",
        Command::SetPrint(_) => "set",
    };
    Err(MagicError::ReplOnly(repl_only))
}

/// Where `arg`, a command's argument as the parser gives it, starts in `line`, the
/// command line as written (the parser trims it, so it ends the trimmed line).
pub fn argument_offset(line: &str, arg: &str) -> Option<usize> {
    line.trim_end()
        .strip_suffix(arg)
        .map(str::len)
        .filter(|_| !arg.is_empty())
}

/// Splits a cell into its leading command lines, each with its byte offset in the
/// cell, and the code after them; the code keeps an empty line for each line before
/// it, so that diagnostics count lines as the cell does.
pub fn split(cell: &str) -> (Vec<(usize, &str)>, String) {
    let mut commands = Vec::new();
    let mut rest = cell;
    let mut skipped = 0;
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        let trimmed = line.trim();
        if trimmed.starts_with(':') {
            let at = cell.len() - rest.len() + (line.len() - line.trim_start().len());
            commands.push((at, trimmed));
        } else if !trimmed.is_empty() {
            break;
        }
        skipped += 1;
        rest = after;
    }
    let code = if rest.is_empty() {
        String::new()
    } else {
        "\n".repeat(skipped) + rest
    };
    (commands, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_runs_the_notebook_commands_of_the_repl_grammar() {
        assert_eq!(parse(":ir fib").ok(), Some(Command::Ir("fib".into())));
        assert_eq!(parse("  :asm  sq ").ok(), Some(Command::Asm("sq".into())));
        assert_eq!(parse(":help").ok(), Some(Command::Help));
        assert_eq!(parse(":list").ok(), Some(Command::List));
        assert_eq!(
            parse(":time fib(20)").ok(),
            Some(Command::Time("fib(20)".into()))
        );
        assert!(matches!(
            parse(":time "),
            Err(MagicError::Parse(CommandError::Missing {
                command: "time",
                ..
            }))
        ));
        assert!(matches!(
            parse(":ir"),
            Err(MagicError::Parse(CommandError::Missing {
                command: "ir",
                ..
            }))
        ));
        let unknown = parse(":nope x").expect_err("unknown");
        assert_eq!(unknown.to_string(), "unknown command :nope (try :help)");
        // The REPL's suggestions come along.
        let misspelt = parse(":lsit").expect_err("unknown");
        assert_eq!(
            misspelt.to_string(),
            "unknown command :lsit; did you mean :list?"
        );
        // Every command a cell lists parses, alone or with an argument.
        for command in COMMANDS {
            assert!(
                parse(command).is_ok() || parse(&format!("{command} x")).is_ok(),
                "{command}"
            );
        }
        for (line, name) in [(":undo", "undo"), (":edit f", "edit"), (":quit", "quit")] {
            assert!(
                matches!(parse(line), Err(MagicError::ReplOnly(n)) if n == name),
                "{line}"
            );
        }
        assert!(
            parse(":reset")
                .expect_err("REPL only")
                .to_string()
                .contains(":time")
        );
    }

    #[test]
    fn an_argument_is_found_in_its_line() {
        assert_eq!(argument_offset(":time  fib(3) ", "fib(3)"), Some(7));
        assert_eq!(argument_offset(":time x", "y"), None);
        assert_eq!(argument_offset(":list", ""), None);
    }

    #[test]
    fn leading_command_lines_are_split_from_the_code() {
        let (commands, code) = split(":ir f\n\n  :asm f\ndef g(x) x;\n:x");
        assert_eq!(commands, vec![(0, ":ir f"), (9, ":asm f")]);
        assert_eq!(code, "\n\n\ndef g(x) x;\n:x");
        assert_eq!(split("1 + 2"), (vec![], "1 + 2".to_string()));
        assert_eq!(split(":stats"), (vec![(0, ":stats")], String::new()));
        assert_eq!(split(":stats\n"), (vec![(0, ":stats")], String::new()));
        assert_eq!(split("\n  \n"), (vec![], String::new()));
    }
}
