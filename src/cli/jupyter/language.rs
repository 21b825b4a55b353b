//! What the kernel says about Kaleidoscope: `kernel_info_reply`, completions,
//! whether a cell is complete, and how a value is shown.

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

/// A value as a notebook shows it: the shortest text that reads back as the same
/// double, in exponent form below 1e-4 and from 1e16 on (`1e-07`, `1e+30`, `0.1`,
/// `6765`); NaN is `nan` whatever its sign bit, as everywhere in toy.
pub fn value_text(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if x == 0.0 || (-4..16).contains(&exponent) {
        format!("{x}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_and_stay_short() {
        for (x, text) in [
            (6765.0, "6765"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e-7, "1e-07"),
            (1e30, "1e+30"),
            (1.5e300, "1.5e+300"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e15, "1000000000000000"),
            (1e16, "1e+16"),
            (0.0001, "0.0001"),
            (f64::INFINITY, "inf"),
            (-f64::NAN, "nan"),
        ] {
            assert_eq!(value_text(x), text);
            if x.is_finite() {
                assert_eq!(value_text(x).parse::<f64>().ok(), Some(x), "{text}");
            }
        }
    }

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
