//! `toy lsp`: the language server on standard input and output.

use super::{Status, diag};

/// Runs `toy lsp [--stdio]` (editors' generic clients add `--stdio`; it is the only
/// transport).
pub fn main(mut args: impl Iterator<Item = String>) -> Status {
    if let Some(arg) = args.find(|arg| arg != "--stdio") {
        if arg == "-h" || arg == "--help" {
            println!(
                "Usage: toy lsp [--stdio]\n\nA Kaleidoscope language server on standard input and output."
            );
            return Status::Ok;
        }
        diag::plain(&format!(
            "unexpected argument `{arg}` (usage: toy lsp [--stdio])"
        ));
        return Status::UsageError;
    }
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    match toy::lsp::serve(stdin, stdout) {
        Ok(toy::lsp::Ending::Clean) => Status::Ok,
        // LSP: `exit` without `shutdown` (or no `exit` at all) ends with status 1.
        Ok(toy::lsp::Ending::Abrupt) => Status::ProgramError,
        Err(err) => {
            diag::plain(&err.to_string());
            Status::ProgramError
        }
    }
}
