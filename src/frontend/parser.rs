//! The parser: tokens to parse-tree items, with chumsky.
//!
//! Items are parsed one at a time so that a driver can run each as soon as it is
//! complete, and so that an error only discards the item it is in. This file is the
//! grammar; `items.rs` drives it item by item and turns chumsky's errors into toy's.

use chumsky::error::Rich;
use chumsky::input::ValueInput;
use chumsky::inspector::RollbackState;
use chumsky::prelude::*;

use super::lexer::Token;
use super::source::{SourceId, Span};
use super::syntax::{Expr, Item, Proto, ProtoKind};

mod items;

pub use items::{Items, Step, Tokens};

/// How deeply expressions may nest: parentheses, conditionals, loops, `var`, call
/// arguments and prefix operators in the parser, and every level of the resolved tree
/// (each operator application is one) in the resolver.
pub const MAX_NESTING: usize = 10_000;

type Extra<'t, 's> = extra::Full<Rich<'t, Token<'s>>, RollbackState<usize>, ()>;

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
