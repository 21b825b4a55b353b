//! The REPL's commands as cell magics: lines at the top of a cell that start with `:`.
//!
//! To add one of the REPL's commands: a variant of [`Command`], its name in
//! [`COMMANDS`], [`HELP`] and [`parse`], and its run in `cells.rs` (`Cells::command`)
//! with the library function the REPL uses (`toy::commands`), so both show the same.

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

/// A command line of a cell.
#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// `:help`
    Help,
    /// `:list`
    List,
    /// `:time EXPR`
    Time(&'a str),
    /// `:ir NAME`
    Ir(&'a str),
    /// `:asm NAME`
    Asm(&'a str),
    /// `:stats`
    Stats,
    /// `:load FILE`
    Load(&'a str),
}

/// Why a command line cannot run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Not a command toy knows.
    #[error("unknown command :{0} (try :help)")]
    Unknown(String),
    /// A command that needs an argument got none.
    #[error(":{0} needs {1}")]
    MissingArgument(&'static str, &'static str),
}

/// Parses one command line (starting with `:`).
pub fn parse(line: &str) -> Result<Command<'_>, CommandError> {
    let line = line.trim().trim_start_matches(':');
    let (name, arg) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let arg = arg.trim();
    let needs = |name, what| {
        if arg.is_empty() {
            Err(CommandError::MissingArgument(name, what))
        } else {
            Ok(arg)
        }
    };
    Ok(match name {
        "help" | "h" => Command::Help,
        "list" => Command::List,
        "time" => Command::Time(needs("time", "an expression")?),
        "ir" => Command::Ir(needs("ir", "a function name")?),
        "asm" => Command::Asm(needs("asm", "a function name")?),
        "stats" => Command::Stats,
        "load" => Command::Load(needs("load", "a file name")?),
        other => return Err(CommandError::Unknown(other.to_string())),
    })
}

/// Splits a cell into its leading command lines and the code after them; the code
/// keeps an empty line for each line before it, so that diagnostics count lines as
/// the cell does.
pub fn split(cell: &str) -> (Vec<&str>, String) {
    let mut commands = Vec::new();
    let mut rest = cell;
    let mut skipped = 0;
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        let trimmed = line.trim();
        if trimmed.starts_with(':') {
            commands.push(trimmed);
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
    fn commands_parse_with_their_arguments() {
        assert_eq!(parse(":ir fib").ok(), Some(Command::Ir("fib")));
        assert_eq!(parse("  :asm  sq ").ok(), Some(Command::Asm("sq")));
        assert_eq!(parse(":help").ok(), Some(Command::Help));
        assert_eq!(parse(":list").ok(), Some(Command::List));
        assert_eq!(parse(":time fib(20)").ok(), Some(Command::Time("fib(20)")));
        assert!(matches!(
            parse(":time "),
            Err(CommandError::MissingArgument("time", _))
        ));
        assert!(matches!(
            parse(":ir"),
            Err(CommandError::MissingArgument("ir", _))
        ));
        assert!(matches!(parse(":nope x"), Err(CommandError::Unknown(n)) if n == "nope"));
        for command in COMMANDS {
            assert!(!matches!(
                parse(&format!("{command} x")),
                Err(CommandError::Unknown(_))
            ));
        }
    }

    #[test]
    fn leading_command_lines_are_split_from_the_code() {
        let (commands, code) = split(":ir f\n\n:asm f\ndef g(x) x;\n:x");
        assert_eq!(commands, vec![":ir f", ":asm f"]);
        assert_eq!(code, "\n\n\ndef g(x) x;\n:x");
        assert_eq!(split("1 + 2"), (vec![], "1 + 2".to_string()));
        assert_eq!(split(":stats"), (vec![":stats"], String::new()));
        assert_eq!(split(":stats\n"), (vec![":stats"], String::new()));
        assert_eq!(split("\n  \n"), (vec![], String::new()));
    }
}
