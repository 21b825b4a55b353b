// ANCHOR: head
//! The book's command: reads a Kaleidoscope program and prints its top-level items.

mod items;
mod source;

use std::io::Read;
use std::process::ExitCode;
// ANCHOR_END: head

// ANCHOR: options
/// What the command line asks for.
#[derive(Debug, Default)]
struct Options {
    /// The program's file; standard input when `None`.
    file: Option<String>,
}

/// Reads the command line (without the program's name); `Err` is a usage error.
fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    for arg in args {
        match arg.as_str() {
            _ if arg.starts_with('-') => return Err(format!("unknown option `{arg}`")),
            _ if options.file.is_some() => return Err("more than one file".into()),
            _ => options.file = Some(arg),
        }
    }
    Ok(options)
}
// ANCHOR_END: options

// ANCHOR: read
/// The program text: the file's, or standard input's when there is no file.
fn read_program(file: Option<&str>) -> std::io::Result<String> {
    match file {
        Some(path) => std::fs::read_to_string(path),
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            Ok(text)
        }
    }
}
// ANCHOR_END: read

// ANCHOR: main
fn main() -> ExitCode {
    let bin = env!("CARGO_BIN_NAME");
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{bin}: {message}\nusage: {bin} [FILE]");
            return ExitCode::from(2);
        }
    };
    let text = match read_program(options.file.as_deref()) {
        Ok(text) => text,
        Err(err) => {
            let name = options.file.as_deref().unwrap_or("standard input");
            eprintln!("{bin}: cannot read {name}: {err}");
            return ExitCode::from(2);
        }
    };
    run(&text)
}
// ANCHOR_END: main

// ANCHOR: run
/// Prints the program's top-level items, one a line: `LINE:COL<tab>TEXT`.
fn run(text: &str) -> ExitCode {
    for item in items::split(text) {
        println!("{}:{}\t{}", item.line, item.col, item.text);
    }
    ExitCode::SUCCESS
}
// ANCHOR_END: run

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Options, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn one_file_or_none() {
        assert_eq!(args(&[]).unwrap().file, None);
        assert_eq!(args(&["a.ks"]).unwrap().file.as_deref(), Some("a.ks"));
        assert!(args(&["a.ks", "b.ks"]).is_err());
        assert!(args(&["--frobnicate"]).is_err());
    }
}
// ANCHOR_END: tests
