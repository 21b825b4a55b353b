//! Driving the grammar item by item over a window of tokens, recovering after an
//! error, and turning chumsky's errors into toy's.

use chumsky::error::{Rich, RichPattern, RichReason};
use chumsky::inspector::RollbackState;
use chumsky::prelude::*;

use super::{Extra, MAX_NESTING, item};
use crate::error::ProgramError;
use crate::frontend::lexer::{Token, lex, lex_error};
use crate::frontend::source::{SourceId, Span};
use crate::frontend::syntax::Item;

/// One step of parsing a chunk of text.
#[derive(Debug)]
pub enum Step<'s> {
    /// A complete item.
    Item {
        /// The parse tree.
        item: Item<'s>,
        /// Where it is.
        span: Span,
        /// It runs to the end of the text, so more text could still extend it.
        open: bool,
    },
    /// An error; the parser has skipped the rest of the failed item.
    Error(ProgramError),
}

/// The tokens of `text[start..]`, ready to be parsed into items.
pub struct Tokens<'s> {
    text: &'s str,
    source: SourceId,
    tokens: Vec<(Token<'s>, SimpleSpan)>,
}

impl<'s> Tokens<'s> {
    /// Lexes `text[start..]`, a part of `source`.
    pub fn lex(text: &'s str, source: SourceId, start: usize) -> Self {
        let tokens = lex(text, source, start)
            .into_iter()
            .map(|(token, span)| (token, SimpleSpan::from(span.range())))
            .collect();
        Tokens {
            text,
            source,
            tokens,
        }
    }

    /// The items, one after another.
    pub fn items(&self) -> Items<'_, 's> {
        Items {
            text: self.text,
            source: self.source,
            tokens: &self.tokens,
            pos: 0,
            // Built once and reused for every item: building costs as much as parsing
            // a small definition.
            parser: item(self.source)
                .map_with(|item, e| (item, e.span()))
                .lazy()
                .boxed(),
        }
    }
}

type TokenInput<'t, 's> =
    chumsky::input::MappedInput<'t, Token<'s>, SimpleSpan, &'t [(Token<'s>, SimpleSpan)]>;

/// Parses items one after another (see [`Tokens::items`]).
pub struct Items<'t, 's> {
    text: &'s str,
    source: SourceId,
    tokens: &'t [(Token<'s>, SimpleSpan)],
    pos: usize,
    parser: Boxed<'t, 't, TokenInput<'t, 's>, (Item<'s>, SimpleSpan), Extra<'t, 's>>,
}

impl<'t, 's> Items<'t, 's> {
    /// Byte offset just past what has been consumed so far.
    pub fn offset(&self) -> usize {
        match self.pos {
            0 => self.tokens.first().map_or(self.text.len(), |t| t.1.start),
            pos => self.tokens[pos - 1].1.end,
        }
    }

    fn span(&self, span: SimpleSpan) -> Span {
        Span::new(self.source, span.start, span.end)
    }

    /// Skips the rest of a failed item: up to and including the next `;`, or up to the
    /// next `def` or `extern`.
    fn recover(&mut self, from: usize) {
        let mut i = from.max(self.pos + 1);
        while i < self.tokens.len() {
            match self.tokens[i].0 {
                Token::Semi => {
                    i += 1;
                    break;
                }
                Token::Def | Token::Extern => break,
                _ => i += 1,
            }
        }
        self.pos = i.min(self.tokens.len());
    }

    /// End of the tokens the next item can use: no item contains `;`, `def` or
    /// `extern` after its start, so parsing stops at the first of them (included, so
    /// that errors name it). Without this bound, every item would cost as much as
    /// the rest of the input.
    fn window_end(&self) -> usize {
        let rest = &self.tokens[self.pos + 1..];
        let stop = rest
            .iter()
            .position(|(t, _)| matches!(t, Token::Semi | Token::Def | Token::Extern));
        match stop {
            Some(i) => self.pos + 1 + i + 1,
            None => self.tokens.len(),
        }
    }

    fn index_at(&self, offset: usize) -> usize {
        self.tokens.partition_point(|(_, span)| span.start < offset)
    }
}

impl<'s> Iterator for Items<'_, 's> {
    type Item = Step<'s>;

    fn next(&mut self) -> Option<Step<'s>> {
        while matches!(self.tokens.get(self.pos), Some((Token::Semi, _))) {
            self.pos += 1;
        }
        if self.pos >= self.tokens.len() {
            return None;
        }
        let eoi = SimpleSpan::from(self.text.len()..self.text.len());
        let window = &self.tokens[self.pos..self.window_end()];
        let input = window.split_token_span(eoi);
        let mut depth = RollbackState(0usize);
        let result = self
            .parser
            .parse_with_state(input, &mut depth)
            .into_result();
        let errors = match result {
            Ok((parsed, span)) => {
                let next = self.index_at(span.end);
                if !self.stopped_short(&parsed, next) {
                    self.pos = next;
                    return Some(Step::Item {
                        item: parsed,
                        span: self.span(span),
                        open: next >= self.tokens.len(),
                    });
                }
                // Parse again, this time insisting on the whole input, to get the
                // error of the continuation that failed (the furthest one).
                let input = window.split_token_span(eoi);
                let mut depth = RollbackState(0usize);
                match item(self.source)
                    .then_ignore(end())
                    .parse_with_state(input, &mut depth)
                    .into_result()
                {
                    Err(errors) => errors,
                    Ok(_) => Vec::new(),
                }
            }
            Err(errors) => errors,
        };
        let error = errors
            .into_iter()
            .next()
            .map(|e| self.convert(e))
            .unwrap_or_else(|| ProgramError::UnexpectedEnd {
                expected: "an item".into(),
                span: self.span(eoi),
            });
        if error.is_incomplete() {
            self.pos = self.tokens.len();
        } else {
            let at = self.index_at(error.span().start);
            self.recover(at);
        }
        Some(Step::Error(error))
    }
}

impl Items<'_, '_> {
    /// Whether an expression item stopped only because what followed it failed to
    /// parse: after an operand, an operator always continues the chain, and after a
    /// name, `(` always starts a call. (The C++ tutorial reports these as errors too.)
    /// A lexical error right after an expression also breaks its item.
    fn stopped_short(&self, item: &Item<'_>, next: usize) -> bool {
        if matches!(item, Item::Extern(_)) {
            return false;
        }
        match self.tokens.get(next) {
            // Text that is no token, right after an expression, breaks that item.
            Some((Token::Op(_) | Token::Error(_), _)) => true,
            Some((Token::LParen, _)) => {
                next > 0 && matches!(self.tokens[next - 1].0, Token::Ident(_))
            }
            _ => false,
        }
    }

    fn convert(&self, error: Rich<'_, Token<'_>>) -> ProgramError {
        let span = self.span(*error.span());
        match error.reason() {
            RichReason::Custom(_) => ProgramError::TooDeep {
                limit: MAX_NESTING,
                span,
            },
            RichReason::ExpectedFound { expected, found } => {
                let expected = describe_expected(expected);
                match found.as_deref() {
                    None => ProgramError::UnexpectedEnd { expected, span },
                    Some(Token::Error(err)) => lex_error(*err, self.text, span),
                    Some(token) => ProgramError::Syntax {
                        message: format!("expected {expected}, found {token}"),
                        label: hint(token, &expected),
                        span,
                    },
                }
            }
        }
    }
}

fn hint(found: &Token<'_>, expected: &str) -> String {
    match found {
        Token::Comma if expected.contains("parameter") => {
            "parameters are separated by spaces, not commas".into()
        }
        token => format!("unexpected {token}"),
    }
}

fn describe_expected(expected: &[RichPattern<'_, Token<'_>>]) -> String {
    let mut names: Vec<String> = expected
        .iter()
        .filter_map(|pattern| match pattern {
            RichPattern::Token(token) => Some(token.to_string()),
            RichPattern::Label(label) => Some(label.to_string()),
            RichPattern::Identifier(name) => Some(format!("`{name}`")),
            RichPattern::EndOfInput => Some("end of input".into()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    match names.len() {
        0 => "something else".into(),
        1 => names.remove(0),
        n => {
            let last = names.remove(n - 1);
            format!("{} or {last}", names.join(", "))
        }
    }
}
