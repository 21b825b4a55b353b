//! "Did you mean `fib`?": the nearest name to a misspelt one, and hints for words
//! that people type at other REPLs' prompts.

use crate::error::{Error, ProgramError};
use crate::frontend::lexer::{Token, lex};
use crate::frontend::source::SourceMap;
#[cfg(doc)]
use crate::session::Session;

/// The candidate nearest to `name` by edit distance (a transposition counts as one
/// edit), if one is near enough to be a likely misspelling; ties go to the first in
/// alphabetical order.
pub fn nearest(name: &str, candidates: impl IntoIterator<Item = String>) -> Option<String> {
    // None in names of one or two letters (every one is "near"), else one edit, up
    // to a third of the letters in longer names.
    let len = name.chars().count();
    let limit = if len < 3 { 0 } else { (len / 3).max(1) };
    candidates
        .into_iter()
        .filter(|candidate| candidate != name)
        .map(|candidate| (strsim::damerau_levenshtein(name, &candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

/// How far back [`did_you_mean`] looks for the names of the item that failed.
const WINDOW: usize = 4096;

/// The name the program probably meant where `err` reports an unknown one: a
/// defined function for an unknown function; for an unknown variable, a name of the
/// failed item (its parameters, `for` and `var` variables) or a function.
/// `names` are the functions defined or declared (see [`Session::function_names`]).
pub fn did_you_mean(
    sources: &SourceMap,
    names: impl IntoIterator<Item = String>,
    err: &Error,
) -> Option<String> {
    let (name, span, variable) = match err {
        Error::Program(ProgramError::UnknownFunction { name, span }) => (name, span, false),
        Error::Program(ProgramError::UnknownVariable { name, span }) => (name, span, true),
        _ => return None,
    };
    let mut candidates: Vec<String> = names
        .into_iter()
        .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    if variable {
        // The identifiers of the item, from its `def` on (within a bounded window:
        // a long source is not scanned from its start).
        let text = &sources.get(span.source).text;
        let mut start = span.start.saturating_sub(WINDOW);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        let tokens = lex(&text[..span.start], span.source, start);
        // After the last `def`, unless an item ended since (a top-level expression).
        let from = tokens
            .iter()
            .rposition(|(token, _)| matches!(token, Token::Def | Token::Extern | Token::Semi))
            .filter(|&at| !matches!(tokens[at].0, Token::Semi))
            .unwrap_or(tokens.len());
        candidates.extend(tokens[from..].iter().filter_map(|(token, _)| match token {
            Token::Ident(ident) => Some(ident.to_string()),
            _ => None,
        }));
    }
    nearest(name, candidates)
}

/// A hint for a bare word that means something at other REPLs' prompts (`quit`,
/// `exit`, `help`), typed alone as an item, instead of "unknown variable".
pub fn bare_word_hint(entry: &str) -> Option<&'static str> {
    let word = entry.trim().trim_end_matches(';').trim_end();
    match word {
        "quit" | "exit" | "q" | "bye" => Some("to leave, type :quit or press Ctrl-D"),
        "help" | "h" | "?" => Some("for help, type :help"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nearest_finds_misspellings_only() {
        let defined = names(&["fib", "fact", "radius", "area"]);
        assert_eq!(nearest("fibb", defined.clone()), Some("fib".into()));
        assert_eq!(nearest("raduis", defined.clone()), Some("radius".into()));
        assert_eq!(nearest("aera", defined.clone()), Some("area".into()));
        assert_eq!(nearest("zzz", defined.clone()), None);
        assert_eq!(nearest("fib", defined.clone()), None);
        assert_eq!(nearest("x", names(&["y", "xx"])), None);
    }

    #[test]
    fn bare_words_get_hints() {
        assert!(bare_word_hint("quit").unwrap().contains(":quit"));
        assert!(bare_word_hint(" exit; ").unwrap().contains(":quit"));
        assert!(bare_word_hint("help").unwrap().contains(":help"));
        assert_eq!(bare_word_hint("quit(1)"), None);
        assert_eq!(bare_word_hint("x"), None);
    }
}
