//! `toy fmt`: Kaleidoscope source in its canonical layout, comments kept.
//!
//! The formatter works on the parse tree (operators as flat chains), so it needs no
//! operator table and formats programs whose operators are defined elsewhere. Every
//! item ends with `;` on a line of its own (one empty line kept where the source had
//! some); an item or expression stays on one line if it fits in [`WIDTH`] columns
//! and holds no comment, else it is broken in its canonical shape; a long chain
//! breaks at its lowest-precedence operators. Parentheses are the ones the tree
//! needs: those around a chain inside a chain, and around an `if`, `for` or `var`
//! that an operator follows. Numbers keep their spelling. Comments stay before the
//! token they preceded, at the end of a line if they followed a token there.
//!
//! [`format()`] checks its own output: it must parse to the same items, with the same
//! comments, or the text is refused rather than changed.

mod flat;
mod layout;
mod printer;
mod same;
#[cfg(test)]
mod tests;

use thiserror::Error;

use crate::error::ProgramError;
use crate::frontend::lexer::{comments, lex};
use crate::frontend::parser::{Step, Tokens};
use crate::frontend::source::{SourceId, Span};
use crate::frontend::syntax::Item;
use layout::Layout;
use printer::{Comment, Printer};

/// The width lines are kept within, where the tokens allow it.
pub const WIDTH: usize = 80;

/// Indentation of each level.
pub const INDENT: usize = 2;

/// Why a text cannot be formatted.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The text is not a program: the parser's error.
    #[error(transparent)]
    Syntax(#[from] ProgramError),
    /// The formatted text would not be the same program: a bug in the formatter,
    /// caught before it could change anything.
    #[error("the formatted text would not be the same program (a bug in toy's formatter)")]
    Unfaithful {
        /// The first item that would change.
        span: Span,
    },
}

impl FormatError {
    /// Where the problem is, in the text given to [`format()`] (source 0) or
    /// [`format_source`].
    pub fn span(&self) -> Span {
        match self {
            FormatError::Syntax(err) => err.span(),
            FormatError::Unfaithful { span } => *span,
        }
    }
}

/// A parsed text: its items with their spans.
fn parse(text: &str, source: SourceId) -> Result<Vec<(Item<'_>, Span)>, ProgramError> {
    let tokens = Tokens::lex(text, source, 0);
    let mut items = Vec::new();
    for step in tokens.items() {
        match step {
            Step::Item { item, span, .. } => items.push((item, span)),
            Step::Error(err) => return Err(err),
        }
    }
    Ok(items)
}

/// `text` in canonical layout, or the first syntax error in it.
pub fn format(text: &str) -> Result<String, FormatError> {
    format_source(text, SourceId(0))
}

/// [`format()`] for the text of `source`, which errors point into.
pub fn format_source(text: &str, source: SourceId) -> Result<String, FormatError> {
    let items = parse(text, source)?;
    let out = render(text, &items);
    check(text, source, &items, &out)?;
    Ok(out)
}

/// The layout of `items`, the program `text`, unchecked.
fn render(text: &str, items: &[(Item, Span)]) -> String {
    let gaps = Gaps::new(text);
    let mut layout = Layout::new(Printer::new(text, gaps.comments(text)));
    for (item, span) in items {
        layout.p.comments_between_items(span.start);
        layout.p.start_item(gaps.blank_before(text, span.start));
        layout.item(item, *span);
        layout.p.token(";");
    }
    layout.p.comments_between_items(text.len() + 1);
    layout.p.finish()
}

/// Refuses `out` unless it is the program `items` of `text`, with the same comments.
fn check(
    text: &str,
    source: SourceId,
    items: &[(Item, Span)],
    out: &str,
) -> Result<(), FormatError> {
    let first = items
        .first()
        .map_or(Span::new(source, 0, 0), |(_, span)| *span);
    let formatted = parse(out, source).map_err(|_| FormatError::Unfaithful { span: first })?;
    if let Some((_, span)) = items
        .iter()
        .zip(formatted.iter().map(Some).chain(std::iter::repeat(None)))
        .find(|((a, _), b)| !b.is_some_and(|(b, _)| same::item(a, b)))
        .map(|(a, _)| a)
    {
        return Err(FormatError::Unfaithful { span: *span });
    }
    let texts = |t: &str| -> Vec<String> {
        comments(t)
            .into_iter()
            .map(|r| t[r].trim_end().to_string())
            .collect()
    };
    if formatted.len() != items.len() || texts(text) != texts(out) {
        return Err(FormatError::Unfaithful { span: first });
    }
    Ok(())
}

/// Where tokens and comments end, to tell what stood between them.
struct Gaps {
    tokens: Vec<usize>,
    comments: Vec<std::ops::Range<usize>>,
}

impl Gaps {
    fn new(text: &str) -> Self {
        let tokens = lex(text, SourceId(0), 0)
            .into_iter()
            .map(|(_, span)| span.end)
            .collect();
        Gaps {
            tokens,
            comments: comments(text),
        }
    }

    /// The end of the last token before `at`.
    fn token_before(&self, at: usize) -> Option<usize> {
        let i = self.tokens.partition_point(|&end| end <= at);
        i.checked_sub(1).map(|i| self.tokens[i])
    }

    /// The end of the last token or comment before `at`.
    fn anything_before(&self, at: usize) -> Option<usize> {
        let i = self.comments.partition_point(|c| c.end <= at);
        let comment = i.checked_sub(1).map(|i| self.comments[i].end);
        self.token_before(at).max(comment)
    }

    /// Whether an empty line separates what is at `at` from what came before.
    fn blank_before(&self, text: &str, at: usize) -> bool {
        self.anything_before(at)
            .is_some_and(|end| line_breaks(&text[end..at]) >= 2)
    }

    fn comments(&self, text: &str) -> Vec<Comment> {
        self.comments
            .iter()
            .map(|range| Comment {
                range: range.clone(),
                trailing: self
                    .token_before(range.start)
                    .is_some_and(|end| line_breaks(&text[end..range.start]) == 0),
                blank_before: self.blank_before(text, range.start),
            })
            .collect()
    }
}

/// Line ends in `s`: LF, CR LF or a bare CR.
fn line_breaks(s: &str) -> usize {
    let bytes = s.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}
