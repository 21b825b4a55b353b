//! The parser: tokens to parse-tree items, with chumsky.
//!
//! Items are parsed one at a time so that a driver can run each as soon as it is
//! complete, and so that an error only discards the item it is in.

use chumsky::error::{Rich, RichPattern, RichReason};
use chumsky::input::ValueInput;
use chumsky::inspector::RollbackState;
use chumsky::prelude::*;

use super::lexer::{Token, lex, lex_error};
use super::source::{SourceId, Span};
use super::syntax::{Expr, Item, Proto, ProtoKind};
use crate::error::ProgramError;

/// How deeply expressions may nest: parentheses, conditionals, loops, `var`, call
/// arguments and prefix operators in the parser, and every level of the resolved tree
/// (each operator application is one) in the resolver.
pub const MAX_NESTING: usize = 10_000;

type Extra<'t, 's> = extra::Full<Rich<'t, Token<'s>>, RollbackState<usize>, ()>;

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

fn sp(src: SourceId, span: SimpleSpan) -> Span {
    Span::new(src, span.start, span.end)
}

/// Entering a nested expression: counts the depth and refuses to go too deep.
fn enter<'t, 's: 't, I>() -> impl Parser<'t, I, (), Extra<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    custom(|inp| {
        let before = inp.cursor();
        let state: &mut RollbackState<usize> = inp.state();
        let depth = &mut state.0;
        *depth += 1;
        if *depth > MAX_NESTING {
            let span = inp.span_since(&before);
            Err(Rich::custom(span, "too deep"))
        } else {
            Ok(())
        }
    })
}

fn leave<'t, 's: 't, I>() -> impl Parser<'t, I, (), Extra<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    custom(|inp| {
        let state: &mut RollbackState<usize> = inp.state();
        let depth = &mut state.0;
        *depth = depth.saturating_sub(1);
        Ok(())
    })
}

// ANCHOR: expr
fn expr<'t, 's: 't, I>(src: SourceId) -> impl Parser<'t, I, Expr<'s>, Extra<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    recursive(move |expr| {
        // Every way back into `expr` goes through the depth guard.
        let nested = enter().ignore_then(expr).then_ignore(leave()).boxed();
        let ident = select! { Token::Ident(name) => name }
            .map_with(move |name, e| (name, sp(src, e.span())))
            .labelled("identifier");
        let op = select! { Token::Op(c) => c }.map_with(move |c, e| (c, sp(src, e.span())));

        let number = select! { Token::Number(n) => n }
            .map_with(move |n, e| Expr::Number(n, sp(src, e.span())));

        let args = nested
            .clone()
            .separated_by(just(Token::Comma))
            .collect::<Vec<_>>()
            .delimited_by(just(Token::LParen), just(Token::RParen));
        let call_or_var = ident
            .then(args.or_not())
            .map_with(move |(name, args), e| match args {
                Some(args) => Expr::Call(name, args, sp(src, e.span())),
                None => Expr::Ident(name.0, name.1),
            });

        let paren = nested
            .clone()
            .delimited_by(just(Token::LParen), just(Token::RParen));

        let if_ = just(Token::If)
            .ignore_then(nested.clone())
            .then_ignore(just(Token::Then))
            .then(nested.clone())
            .then_ignore(just(Token::Else))
            .then(nested.clone())
            .map_with(move |((c, t), f), e| Expr::If(Box::new([c, t, f]), sp(src, e.span())));

        let for_ = just(Token::For)
            .ignore_then(ident)
            .then_ignore(just(Token::Op('=')))
            .then(nested.clone())
            .then_ignore(just(Token::Comma))
            .then(nested.clone())
            .then(just(Token::Comma).ignore_then(nested.clone()).or_not())
            .then_ignore(just(Token::In))
            .then(nested.clone())
            .map_with(move |((((var, start), end), step), body), e| Expr::For {
                var,
                start: Box::new(start),
                end: Box::new(end),
                step: step.map(Box::new),
                body: Box::new(body),
                span: sp(src, e.span()),
            });

        let binding = ident.then(just(Token::Op('=')).ignore_then(nested.clone()).or_not());
        let var_ = just(Token::Var)
            .ignore_then(
                binding
                    .separated_by(just(Token::Comma))
                    .at_least(1)
                    .collect::<Vec<_>>(),
            )
            .then_ignore(just(Token::In))
            .then(nested.clone())
            .map_with(move |(bindings, body), e| Expr::Var {
                bindings,
                body: Box::new(body),
                span: sp(src, e.span()),
            });

        let primary = choice((number, call_or_var, paren, if_, for_, var_)).labelled("expression");

        // Prefix operators are collected in a loop, not by recursion, so that a long run
        // of them cannot exhaust the stack; each is a level of the tree, so each counts
        // towards the nesting limit until its operand is parsed.
        let unary = op
            .then_ignore(enter())
            .repeated()
            .collect::<Vec<_>>()
            .then(primary)
            // `try_map_with`, not `map_with`: it runs even where the output is not
            // needed, so the levels are always given back.
            .try_map_with(|(ops, operand), e| {
                let state: &mut RollbackState<usize> = e.state();
                state.0 = state.0.saturating_sub(ops.len());
                Ok(ops
                    .into_iter()
                    .rev()
                    .fold(operand, |operand, (c, op_span)| {
                        let span = op_span.to(operand.span());
                        Expr::Unary(c, op_span, Box::new(operand), span)
                    }))
            });

        unary
            .clone()
            .then(
                op.then(unary)
                    .map(|((c, span), operand)| (c, span, operand))
                    .repeated()
                    .collect::<Vec<_>>(),
            )
            .map(|(first, rest)| match rest.last() {
                None => first,
                Some((_, _, last)) => {
                    let span = first.span().to(last.span());
                    Expr::Chain(Box::new(first), rest, span)
                }
            })
    })
}
// ANCHOR_END: expr

fn proto<'t, 's: 't, I>(src: SourceId) -> impl Parser<'t, I, Proto<'s>, Extra<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    let op = select! { Token::Op(c) => c }.labelled("operator character");
    let precedence = select! { Token::Number(n) => n }
        .map_with(move |n, e| (n, sp(src, e.span())))
        .or_not();
    let kind = choice((
        select! { Token::Ident(name) => ProtoKind::Function(name) },
        just(Token::Unary)
            .ignore_then(op)
            .then(precedence)
            .map(|(c, p)| ProtoKind::Unary(c, p)),
        just(Token::Binary)
            .ignore_then(op)
            .then(precedence)
            .map(|(c, p)| ProtoKind::Binary(c, p)),
    ))
    .labelled("function name");
    let param = select! { Token::Ident(name) => name }
        .map_with(move |name, e| (name, sp(src, e.span())))
        .labelled("parameter name");
    kind.then(
        param
            .repeated()
            .collect::<Vec<_>>()
            .delimited_by(just(Token::LParen), just(Token::RParen)),
    )
    .map_with(move |(kind, params), e| Proto {
        kind,
        params,
        span: sp(src, e.span()),
    })
}

fn item<'t, 's: 't, I>(src: SourceId) -> impl Parser<'t, I, Item<'s>, Extra<'t, 's>>
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    // Built once per item: share one expression parser and one prototype parser.
    let expr = expr(src);
    let proto = proto(src);
    let def = just(Token::Def)
        .ignore_then(proto.clone())
        .then(expr.clone())
        .map(|(proto, body)| Item::Def(proto, body));
    let ext = just(Token::Extern).ignore_then(proto).map(Item::Extern);
    choice((def, ext, expr.map(Item::Expr)))
}

/// Whether `text` stops in the middle of an item, so that more lines could complete it
/// (the REPL then shows a continuation prompt instead of an error).
pub fn is_incomplete(text: &str) -> bool {
    Tokens::lex(text, SourceId(0), 0)
        .items()
        .any(|step| matches!(step, Step::Error(err) if err.is_incomplete()))
}
