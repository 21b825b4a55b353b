//! The REPL's commands (`:list`, `:undo`, `:save FILE`, ...) as data: parsing a
//! command line, and what each command does to a session, for any front end (the
//! terminal REPL, a notebook kernel). Nothing here prints or exits.

use std::path::PathBuf;

mod listing;
mod suggest;
mod values;

pub use listing::{Listed, SaveError, compile_time, list, save, save_text, time_text};
pub use suggest::{bare_word_hint, did_you_mean, nearest};
pub use values::{PrintMode, format_value};

/// One command, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `:help`
    Help,
    /// `:quit`
    Quit,
    /// `:load FILE`
    Load(PathBuf),
    /// `:save FILE` (`force` for `:save!`, which may overwrite).
    Save {
        /// Where to write.
        path: PathBuf,
        /// Overwrite an existing file.
        force: bool,
    },
    /// `:list`
    List,
    /// `:undo`
    Undo,
    /// `:reset`
    Reset,
    /// `:edit NAME`
    Edit(String),
    /// `:time EXPR` (any items, timed together).
    Time(String),
    /// `:stats`
    Stats,
    /// `:ir NAME`
    Ir(String),
    /// `:asm NAME`
    Asm(String),
    /// `:set print shortest|fixed`
    SetPrint(PrintMode),
}

/// The commands, their arguments and what they do, in the order `:help` lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    (":help", "this text"),
    (
        ":list",
        "definitions and externs: arity, operator precedence, compiled tier",
    ),
    (
        ":undo",
        "take back the last def or extern (the previous body comes back)",
    ),
    (":reset", "forget every definition and operator"),
    (
        ":edit NAME",
        "edit a definition in $EDITOR; it is read back when the editor exits",
    ),
    (
        ":save FILE",
        "write the definitions as a runnable .ks file (:save! FILE overwrites)",
    ),
    (":load FILE", "run a file in this session"),
    (
        ":time EXPR",
        "run EXPR and show compile and run time separately",
    ),
    (
        ":set print shortest|fixed",
        "how values print: shortest round-trip form, or %f",
    ),
    (
        ":stats",
        "functions defined and compiled, compile time by phase, JIT memory",
    ),
    (
        ":ir NAME",
        "the optimized LLVM IR of a function (as the JIT compiles it)",
    ),
    (":asm NAME", "its assembly"),
    (":quit", "leave (or Ctrl-D)"),
];

/// The command names, for completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .map(|(usage, _)| usage.split(' ').next().unwrap_or(usage))
        .chain([":save!"])
}

/// Why a command line is not a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// No such command.
    #[error("unknown command :{name}{}", match .suggestion {
        Some(s) => format!("; did you mean {s}?"),
        None => " (try :help)".into(),
    })]
    Unknown {
        /// What was typed after `:`.
        name: String,
        /// The nearest command.
        suggestion: Option<String>,
    },
    /// A command without its argument.
    #[error(":{command} needs {what}")]
    Missing {
        /// The command.
        command: &'static str,
        /// What it needs.
        what: &'static str,
    },
    /// A command given an argument it takes none of.
    #[error(":{command} takes no argument")]
    Extra {
        /// The command.
        command: &'static str,
    },
    /// `:set` with something it cannot set.
    #[error("cannot set `{0}`: try `:set print shortest` or `:set print fixed`")]
    BadSetting(String),
}

/// The command on `line`, or `None` if the line is not a command (does not start
/// with `:`).
pub fn parse(line: &str) -> Option<Result<Command, CommandError>> {
    let command = line.trim().strip_prefix(':')?;
    let (name, arg) = command
        .split_once(char::is_whitespace)
        .unwrap_or((command, ""));
    let arg = arg.trim();
    let needs = |command: &'static str, what: &'static str, make: fn(String) -> Command| {
        if arg.is_empty() {
            Err(CommandError::Missing { command, what })
        } else {
            Ok(make(arg.to_string()))
        }
    };
    let alone = |command: &'static str, made: Command| {
        if arg.is_empty() {
            Ok(made)
        } else {
            Err(CommandError::Extra { command })
        }
    };
    Some(match name {
        "h" | "help" | "?" => Ok(Command::Help),
        "q" | "quit" => Ok(Command::Quit),
        "list" => alone("list", Command::List),
        "undo" => alone("undo", Command::Undo),
        "reset" => alone("reset", Command::Reset),
        "stats" => alone("stats", Command::Stats),
        "load" => needs("load", "a file name", |a| Command::Load(a.into())),
        "save" => needs("save", "a file name", |a| Command::Save {
            path: a.into(),
            force: false,
        }),
        "save!" => needs("save!", "a file name", |a| Command::Save {
            path: a.into(),
            force: true,
        }),
        "edit" => needs("edit", "a function name", Command::Edit),
        "time" => needs("time", "an expression", Command::Time),
        "ir" => needs("ir", "a function name", Command::Ir),
        "asm" => needs("asm", "a function name", Command::Asm),
        "set" => match arg.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["print", mode] => mode
                .parse()
                .map(Command::SetPrint)
                .map_err(|_| CommandError::BadSetting(arg.to_string())),
            _ => Err(CommandError::BadSetting(arg.to_string())),
        },
        other => Err(CommandError::Unknown {
            name: other.to_string(),
            suggestion: nearest(&format!(":{other}"), names().map(str::to_string)),
        }),
    })
}

/// The text of `:help`.
pub fn help() -> String {
    let width = COMMANDS
        .iter()
        .map(|(usage, _)| usage.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from(
        "Type Kaleidoscope definitions and expressions; `;` or Enter ends an item, and an\n\
         unfinished item continues on the next line (prompt `...>`).\n\n\
         \x20 def name(a b) body        define a function\n\
         \x20 def binary| 5 (a b) body  define a binary operator with precedence 5 (1..100)\n\
         \x20 def unary! (a) body       define a prefix operator\n\
         \x20 extern sin(x)             declare a C math function (also: putchard, printd)\n\
         \x20 1 + 2 * 3                 evaluate an expression\n\nCommands:\n",
    );
    for (usage, what) in COMMANDS {
        text.push_str(&format!("  {usage:width$}  {what}\n"));
    }
    text.push_str(
        "\nTab completes names and (after :load, :save) files. Ctrl-C abandons the current\n\
         input or interrupts a running evaluation; Ctrl-D on an empty continuation line\n\
         abandons the unfinished item, on an empty prompt it leaves.",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_their_arguments() {
        assert_eq!(parse("1 + 2"), None);
        assert_eq!(parse(" :list "), Some(Ok(Command::List)));
        assert_eq!(
            parse(":save! out.ks"),
            Some(Ok(Command::Save {
                path: "out.ks".into(),
                force: true
            }))
        );
        assert_eq!(
            parse(":save out.ks"),
            Some(Ok(Command::Save {
                path: "out.ks".into(),
                force: false
            }))
        );
        assert_eq!(
            parse(":time fib(3)"),
            Some(Ok(Command::Time("fib(3)".into())))
        );
        assert_eq!(
            parse(":set print fixed"),
            Some(Ok(Command::SetPrint(PrintMode::Fixed)))
        );
        assert!(matches!(
            parse(":set colour on"),
            Some(Err(CommandError::BadSetting(_)))
        ));
        assert_eq!(
            parse(":edit"),
            Some(Err(CommandError::Missing {
                command: "edit",
                what: "a function name"
            }))
        );
        assert_eq!(
            parse(":undo 2"),
            Some(Err(CommandError::Extra { command: "undo" }))
        );
        assert_eq!(
            parse(":lsit"),
            Some(Err(CommandError::Unknown {
                name: "lsit".into(),
                suggestion: Some(":list".into())
            }))
        );
    }

    #[test]
    fn help_lists_every_command() {
        let help = help();
        for name in names().filter(|n| *n != ":save!") {
            assert!(help.contains(name), "{name} missing from :help");
        }
    }
}
