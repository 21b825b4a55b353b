//! The line editor's helper: completion (names, commands, file paths), hints from
//! history, highlighting (keywords, numbers, operators, matching brackets, the
//! continuation prompt) and validation (the parser decides what is unfinished).

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use toy::frontend::lexer::{KEYWORDS, Token, lex};
use toy::frontend::parser::is_incomplete;
use toy::frontend::resolve::Operators;
use toy::frontend::source::SourceId;

/// Inserted after a newline in an unfinished item; shown as [`CONTINUATION`] (same
/// width, so that rustyline's cursor arithmetic stays right) and taken out again
/// before the text reaches the session, so that columns are those typed.
pub const INDENT: &str = "     ";
/// The continuation prompt.
pub const CONTINUATION: &str = "...> ";

/// SGR sequences of the highlighter.
const KEYWORD: &str = "\x1b[1;35m";
const NUMBER: &str = "\x1b[36m";
const OPERATOR: &str = "\x1b[33m";
const BRACKET: &str = "\x1b[1;4;34m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// What the session knows that the editor shows: defined names and operators.
#[derive(Default)]
pub struct Known {
    /// Functions, operators and externs (completion).
    pub names: Vec<String>,
    /// The operator table (highlighting user-defined operators).
    pub operators: Operators,
}

/// The REPL's rustyline helper.
pub struct ReplHelper {
    /// Shared with the REPL loop, which refreshes it after each entry.
    pub known: Arc<Mutex<Known>>,
    /// Whether to draw colours (a terminal, and no `NO_COLOR`); without them the
    /// helper writes no escape code at all, and shows no hints.
    pub color: bool,
    files: FilenameCompleter,
    history: HistoryHinter,
}

impl ReplHelper {
    /// A helper drawing colours if `color`.
    pub fn new(known: Arc<Mutex<Known>>, color: bool) -> Self {
        ReplHelper {
            known,
            color,
            files: FilenameCompleter::new(),
            history: HistoryHinter::new(),
        }
    }
}

impl Helper for ReplHelper {}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = line.trim_start();
        if [":load ", ":save ", ":save! "]
            .iter()
            .any(|command| head.starts_with(command))
        {
            return self.files.complete(line, pos, ctx);
        }
        let start = line[..pos]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '!'))
            .map_or(0, |i| i + 1);
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let mut candidates: Vec<Pair> = KEYWORDS
            .iter()
            .map(|s| s.to_string())
            .chain(
                toy::commands::names()
                    .filter(|_| start == 0)
                    .map(str::to_string),
            )
            .chain(known.names.iter().cloned())
            .filter(|candidate| candidate.starts_with(word))
            .map(|candidate| Pair {
                display: candidate.clone(),
                replacement: candidate,
            })
            .collect();
        candidates.sort_by(|a, b| a.display.cmp(&b.display));
        candidates.dedup_by(|a, b| a.display == b.display);
        Ok((start, candidates))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        // A hint without colour looks like typed text: none then.
        if !self.color || line.contains('\n') {
            return None;
        }
        self.history.hint(line, pos, ctx)
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        if unfinished(ctx.input()) {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

/// Whether the REPL should ask for another line: an item the parser finds incomplete
/// (commands are always one line).
pub fn unfinished(input: &str) -> bool {
    !input.trim_start().starts_with(':') && is_incomplete(input)
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        if !self.color && !line.contains('\n') {
            return Cow::Borrowed(line);
        }
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        Cow::Owned(paint(line, pos, &known.operators, self.color))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("{DIM}{hint}{RESET}"))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        // Brackets match around the cursor: redraw on every move.
        true
    }
}

/// `line` with the continuation prompt drawn over each [`INDENT`] after a newline,
/// and, if `color`, keywords, numbers, defined operators and the bracket pair at
/// the cursor (`pos`) coloured.
pub fn paint(line: &str, pos: usize, operators: &Operators, color: bool) -> String {
    let prompt = match color {
        true => format!("\n{DIM}{CONTINUATION}{RESET}"),
        false => format!("\n{CONTINUATION}"),
    };
    let gap = |text: &str| text.replace(&format!("\n{INDENT}"), &prompt);
    if !color || line.trim_start().starts_with(':') {
        return gap(line);
    }
    let pair = matching_bracket(line, pos);
    let mut out = String::with_capacity(line.len() * 2);
    let mut at = 0;
    for (token, span) in lex(line, SourceId(0), 0) {
        let style = match token {
            Token::Def
            | Token::Extern
            | Token::If
            | Token::Then
            | Token::Else
            | Token::For
            | Token::In
            | Token::Binary
            | Token::Unary
            | Token::Var => Some(KEYWORD),
            Token::Number(_) => Some(NUMBER),
            Token::Op(op) if operators.precedence(op).is_some() || operators.has_unary(op) => {
                Some(OPERATOR)
            }
            Token::LParen | Token::RParen
                if pair.is_some_and(|(a, b)| span.start == a || span.start == b) =>
            {
                Some(BRACKET)
            }
            _ => None,
        };
        let Some(style) = style else { continue };
        out.push_str(&gap(&line[at..span.start]));
        out.push_str(style);
        out.push_str(&line[span.range()]);
        out.push_str(RESET);
        at = span.end;
    }
    out.push_str(&gap(&line[at..]));
    out
}

/// The byte offsets of the bracket at or just before `pos` and its partner, if both
/// are there.
fn matching_bracket(line: &str, pos: usize) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    let at = [pos, pos.wrapping_sub(1)]
        .into_iter()
        .find(|&i| matches!(bytes.get(i), Some(b'(' | b')')))?;
    let forward = bytes[at] == b'(';
    let mut depth = 0usize;
    let mut i = at;
    loop {
        match bytes[i] {
            b'(' if forward => depth += 1,
            b')' if !forward => depth += 1,
            b'(' | b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((at.min(i), at.max(i)));
                }
            }
            _ => {}
        }
        if forward {
            i += 1;
            if i == bytes.len() {
                return None;
            }
        } else {
            i = i.checked_sub(1)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_match_around_the_cursor() {
        let line = "f((1) + 2)";
        assert_eq!(matching_bracket(line, 1), Some((1, 9)));
        assert_eq!(matching_bracket(line, 10), Some((1, 9)));
        assert_eq!(matching_bracket(line, 2), Some((2, 4)));
        assert_eq!(matching_bracket("(1", 0), None);
        assert_eq!(matching_bracket("1)", 2), None);
        assert_eq!(matching_bracket("abc", 1), None);
    }

    #[test]
    fn painting_colours_tokens_and_draws_the_continuation_prompt() {
        let ops = Operators::new();
        let line = format!("def f(x)\n{INDENT}x + 1");
        let plain = paint(&line, 0, &ops, false);
        assert_eq!(plain, "def f(x)\n...> x + 1");
        let coloured = paint(&line, 0, &ops, true);
        assert!(
            coloured.contains(&format!("{KEYWORD}def{RESET}")),
            "{coloured:?}"
        );
        assert!(
            coloured.contains(&format!("{NUMBER}1{RESET}")),
            "{coloured:?}"
        );
        assert!(
            coloured.contains(&format!("{OPERATOR}+{RESET}")),
            "{coloured:?}"
        );
        assert!(
            coloured.contains(&format!("{DIM}{CONTINUATION}{RESET}")),
            "{coloured:?}"
        );
        // An operator no definition introduced is not coloured as one.
        assert!(!paint("a | b", 0, &ops, true).contains(OPERATOR));
    }
}
