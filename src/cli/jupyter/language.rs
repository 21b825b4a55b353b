//! What the kernel says about Kaleidoscope: `kernel_info_reply`, completions,
//! and whether a cell is complete.

use serde_json::{Value, json};
use toy::frontend::lexer::KEYWORDS;
use toy::frontend::parser::is_incomplete;

use super::magic::{COMMANDS, split};
use super::wire::PROTOCOL_VERSION;

/// The content of a `kernel_info_reply`.
pub fn kernel_info() -> Value {
    json!({
        "status": "ok",
        "protocol_version": PROTOCOL_VERSION,
        "implementation": "toy",
        "implementation_version": env!("CARGO_PKG_VERSION"),
        "language_info": {
            "name": "kaleidoscope",
            "version": env!("CARGO_PKG_VERSION"),
            "mimetype": "text/x-kaleidoscope",
            "file_extension": ".ks",
            // Pygments has no Kaleidoscope lexer: plain text, without a warning.
            "pygments_lexer": "text",
        },
        "banner": format!(
            "toy {} — Kaleidoscope, the language of LLVM's tutorial. Type :help in a cell \
             for the commands.",
            env!("CARGO_PKG_VERSION")
        ),
        "help_links": [
            { "text": "LLVM's Kaleidoscope tutorial", "url": "https://llvm.org/docs/tutorial/" }
        ],
    })
}

/// The content of an `is_complete_reply`: the parser decides on the code after the
/// cell's command lines (each command is one line).
pub fn is_complete(cell: &str) -> Value {
    let (_, code) = split(cell);
    if is_incomplete(&code) {
        json!({ "status": "incomplete", "indent": "" })
    } else {
        json!({ "status": "complete" })
    }
}

/// The content of a `complete_reply` for `code` with the cursor at `cursor` (in
/// Unicode code points, as protocol 5.2 and later count): keywords, `names` and, at
/// the start of a line, commands.
pub fn complete<'a>(code: &str, cursor: usize, names: impl Iterator<Item = &'a str>) -> Value {
    let end = code
        .char_indices()
        .nth(cursor)
        .map_or(code.len(), |(at, _)| at);
    let before = &code[..end];
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .map_or(0, |i| i + 1);
    let word = &before[start..];
    let line_start = before[..start].rfind('\n').map_or(0, |i| i + 1);
    let at_line_start = before[line_start..start].trim().is_empty();
    let mut matches: Vec<String> = if word.is_empty() {
        Vec::new()
    } else {
        KEYWORDS
            .iter()
            .copied()
            .chain(COMMANDS.iter().copied().filter(|_| at_line_start))
            .chain(names)
            .filter(|candidate| candidate.starts_with(word))
            .map(str::to_string)
            .collect()
    };
    matches.sort();
    matches.dedup();
    let cursor_start = code[..start].chars().count();
    json!({
        "status": "ok",
        "matches": matches,
        "cursor_start": cursor_start,
        "cursor_end": cursor_start + word.chars().count(),
        "metadata": {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_offers_keywords_names_and_commands_at_the_cursor() {
        let names = ["fib", "fibonacci", "sq"];
        let reply = complete("def f(x) fi", 11, names.iter().copied());
        assert_eq!(reply["matches"], json!(["fib", "fibonacci"]));
        assert_eq!(reply["cursor_start"], 9);
        assert_eq!(reply["cursor_end"], 11);
        // The cursor counts code points, not bytes.
        let reply = complete("# é\nsq", 6, names.iter().copied());
        assert_eq!(reply["matches"], json!(["sq"]));
        assert_eq!(reply["cursor_start"], 4);
        let reply = complete(":a", 2, names.iter().copied());
        assert_eq!(reply["matches"], json!([":asm"]));
        let reply = complete("1 + :a", 6, names.iter().copied());
        assert_eq!(reply["matches"], json!([]));
        let reply = complete("ex", 2, std::iter::empty());
        assert_eq!(reply["matches"], json!(["extern"]));
    }

    #[test]
    fn the_parser_decides_whether_a_cell_is_complete() {
        assert_eq!(is_complete("def f(x)")["status"], "incomplete");
        assert_eq!(is_complete("def f(x) x;")["status"], "complete");
        assert_eq!(is_complete(":ir f")["status"], "complete");
        assert_eq!(is_complete(":ir f\ndef g(x)")["status"], "incomplete");
        assert_eq!(is_complete(":ir f\ndef g(x) x")["status"], "complete");
    }
}
