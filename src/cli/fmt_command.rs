//! `toy fmt`: formats Kaleidoscope files in place, checks them, or filters standard
//! input.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use toy::fmt::{FormatError, format_source};
use toy::frontend::source::SourceMap;

use super::{Status, diag, input, run};

/// Formats Kaleidoscope files canonically, keeping comments.
#[derive(Parser, Debug)]
#[command(
    name = "toy fmt",
    about = "Formats Kaleidoscope files canonically, keeping comments",
    long_about = None,
    after_help = "\
Each FILE is rewritten in place (through a temporary file in its directory, renamed \
over it); a file that does not parse is reported and left as it is. With no FILE, or \
`-`, standard input is formatted to standard output.

Exit status: 0 on success (with --check: nothing to change), 1 if a file does not \
parse (with --check: or would change), 2 on usage errors or unreadable files."
)]
struct FmtArgs {
    /// Write nothing; list the files that would change and exit 1 if there are any
    #[arg(long)]
    check: bool,

    /// Files to format (`-` for standard input)
    files: Vec<PathBuf>,
}

/// Runs `toy fmt ARGS`.
pub fn main(args: impl Iterator<Item = String>) -> Status {
    let args = match super::subcommand::<FmtArgs>("toy fmt", args) {
        Ok(args) => args,
        Err(status) => return status,
    };
    let stdin = Path::new("-");
    let files = if args.files.is_empty() {
        vec![stdin.to_path_buf()]
    } else {
        args.files
    };
    let mut sources = SourceMap::new();
    let mut status = Status::Ok;
    for path in &files {
        let result = if path == stdin {
            filter_stdin(&mut sources, args.check)
        } else {
            file(&mut sources, path, args.check)
        };
        // The worst outcome decides the exit status.
        match result {
            Status::Ok => {}
            Status::ProgramError if status == Status::Ok => status = Status::ProgramError,
            Status::ProgramError => {}
            Status::UsageError => status = Status::UsageError,
        }
    }
    status
}

/// Formats `text`, named `name`; reports why it cannot be formatted.
fn formatted(sources: &mut SourceMap, name: String, text: String) -> Option<(String, String)> {
    let id = sources.add(name.clone(), text);
    let text = &sources.get(id).text;
    match format_source(text, id) {
        Ok(out) => Some((text.clone(), out)),
        Err(FormatError::Syntax(err)) => {
            diag::report(sources, &toy::Error::Program(err));
            diag::plain(&format!("{name}: not formatted (it does not parse)"));
            None
        }
        Err(err @ FormatError::Unfaithful { .. }) => {
            let (line, col) = sources.line_col(id, err.span().start);
            diag::plain(&format!("{name}:{line}:{col}: {err}; left as it is"));
            None
        }
    }
}

/// `toy fmt -`: standard input to standard output (`--check`: only the status).
fn filter_stdin(sources: &mut SourceMap, check: bool) -> Status {
    let name = "<stdin>".to_string();
    let bytes = match input::read_all(std::io::stdin().lock(), "standard input") {
        Ok(bytes) => bytes,
        Err(err) => {
            diag::plain(&err.to_string());
            return Status::UsageError;
        }
    };
    let Some((text, out)) = formatted(sources, name.clone(), run::decode(bytes)) else {
        return Status::ProgramError;
    };
    if check {
        if text == out {
            return Status::Ok;
        }
        println!("{name}");
        return Status::ProgramError;
    }
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Status::Ok,
        Err(err) => {
            diag::plain(&format!("cannot write standard output: {err}"));
            Status::ProgramError
        }
    }
}

/// `toy fmt FILE`: rewrites it if its layout changes (`--check`: names it).
fn file(sources: &mut SourceMap, path: &Path, check: bool) -> Status {
    let name = path.display().to_string();
    // What the file was before reading, to notice a change made meanwhile.
    let stamp = stamp(path);
    let bytes = match input::read_file(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            diag::plain(&err.to_string());
            return Status::UsageError;
        }
    };
    let Some((text, out)) = formatted(sources, name.clone(), run::decode(bytes)) else {
        return Status::ProgramError;
    };
    if text == out {
        return Status::Ok;
    }
    if check {
        println!("{name}");
        return Status::ProgramError;
    }
    match replace(path, out.as_bytes(), stamp) {
        Ok(()) => Status::Ok,
        Err(err) => {
            diag::plain(&format!("cannot write {name}: {err}; it is left as it was"));
            Status::ProgramError
        }
    }
}

/// A regular file's length and modification time.
fn stamp(path: &Path) -> Option<(u64, std::time::SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Replaces the contents of `path` atomically: a temporary file in the same
/// directory, with the same permissions, renamed over it. A symbolic link is
/// followed, so that the link stays a link. Refused for anything but a regular file,
/// and for a file whose length or time changed since `before` (someone else wrote
/// it meanwhile).
fn replace(
    path: &Path,
    contents: &[u8],
    before: Option<(u64, std::time::SystemTime)>,
) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let meta = std::fs::metadata(&target)?;
    if !meta.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (format it with `toy fmt < FILE`)",
        ));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".toy-fmt-")
        .tempfile_in(dir)?;
    temp.write_all(contents)?;
    temp.as_file().set_permissions(meta.permissions())?;
    temp.as_file().sync_all()?;
    if stamp(&target) != before {
        return Err(std::io::Error::other("it changed while being formatted"));
    }
    // On failure the temporary file is removed when `temp` is dropped.
    temp.persist(&target).map_err(|err| err.error)?;
    Ok(())
}
