// ANCHOR: head
//! The parser: tokens to AST items with chumsky, one item at a time.

use std::ops::Range;

use chumsky::error::{Rich, RichPattern, RichReason};
use chumsky::input::ValueInput;
use chumsky::prelude::*;

use crate::ast::{Expr, For, Item, Prototype};
use crate::lexer::{LexError, Spanned, Token};
// ANCHOR_END: head

// ANCHOR: error
/// Why an item does not parse.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// The item contains text that is no token.
    #[error("{0}")]
    Lex(LexError),
    /// The grammar wanted something else here.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What would have been accepted, e.g. "expression".
        expected: String,
        /// What was there, e.g. "`;`".
        found: String,
    },
    /// A binary operator that is not `<`, `+`, `-` or `*`.
    #[error("unknown binary operator `{0}`")]
    UnknownOperator(char),
}
// ANCHOR_END: error

// ANCHOR: extra
/// What our parsers carry besides their output: rich errors about our tokens, whose
/// custom errors (chumsky's word for errors we make ourselves) are `ParseError`s.
type Extra<'t, 's> = extra::Err<Rich<'t, Token<'s>, SimpleSpan, ParseError>>;
// ANCHOR_END: extra

// ANCHOR: precedence
/// The precedence of a binary operator (higher binds tighter), as in LLVM's tutorial.
fn precedence(op: char) -> Option<u32> {
    match op {
        '<' => Some(10),
        '+' | '-' => Some(20),
        '*' => Some(40),
        _ => None,
    }
}
// ANCHOR_END: precedence

// ANCHOR: shape
/// Shapes the chain `first op operand op operand ...` into a tree by precedence, all
/// operators left-associative (the shunting-yard algorithm, with explicit stacks).
/// `Err` is an operator that has no precedence, and where it is.
fn shape(first: Expr, rest: Vec<((char, SimpleSpan), Expr)>) -> Result<Expr, (char, SimpleSpan)> {
    let mut operands = vec![first];
    let mut operators: Vec<(char, u32)> = Vec::new();
    for ((op, span), operand) in rest {
        let prec = precedence(op).ok_or((op, span))?;
        // Everything on the stack that binds at least as tightly is complete.
        while let Some(&(top, top_prec)) = operators.last() {
            if top_prec < prec {
                break;
            }
            operators.pop();
            reduce(&mut operands, top);
        }
        operators.push((op, prec));
        operands.push(operand);
    }
    while let Some((op, _)) = operators.pop() {
        reduce(&mut operands, op);
    }
    Ok(operands.pop().expect("a chain leaves one operand"))
}

/// Replaces the top two operands by `lhs op rhs`.
fn reduce(operands: &mut Vec<Expr>, op: char) {
    let rhs = operands.pop().expect("an operator has a right operand");
    let lhs = operands.pop().expect("an operator has a left operand");
    operands.push(Expr::Binary(op, Box::new(lhs), Box::new(rhs)));
}
// ANCHOR_END: shape

// ANCHOR: expr
/// `expression ::= primary (op primary)*`, where a primary is a number, a variable, a
/// call or an expression in parentheses.
fn expr<'t, 's: 't, I>() -> impl Parser<'t, I, Expr, Extra<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    recursive(|expr| {
        let number = select! { Token::Number(n) => Expr::Number(n) };
        let args = expr
            .clone()
            .separated_by(just(Token::Comma))
            .collect::<Vec<_>>()
            .delimited_by(just(Token::LParen), just(Token::RParen));
        let name = select! { Token::Ident(name) => name.to_string() };
        // ANCHOR: call_or_variable
        let call_or_variable = name.then(args.or_not()).map_with(|(name, args), e| {
            let span = SimpleSpan::into_range(e.span());
            match args {
                Some(args) => Expr::Call(name, args, span),
                None => Expr::Variable(name, span),
            }
        });
        // ANCHOR_END: call_or_variable
        // ANCHOR: if_for
        let parenthesized = expr
            .clone()
            .delimited_by(just(Token::LParen), just(Token::RParen));
        // `if` and `for` are primaries, as in the tutorial: their last expression
        // extends as far as it can, so `if a then b else c + 1` adds 1 to `c`.
        let if_ = just(Token::If)
            .ignore_then(expr.clone())
            .then_ignore(just(Token::Then))
            .then(expr.clone())
            .then_ignore(just(Token::Else))
            .then(expr.clone())
            .map(|((cond, yes), no)| Expr::If(Box::new(cond), Box::new(yes), Box::new(no)));
        let comma_expr = just(Token::Comma).ignore_then(expr.clone());
        let for_ = just(Token::For)
            .ignore_then(name)
            .then_ignore(just(Token::Op('=')))
            .then(expr.clone())
            .then(comma_expr.clone())
            .then(comma_expr.or_not())
            .then_ignore(just(Token::In))
            .then(expr)
            .map(|((((var, start), end), step), body)| {
                Expr::For(Box::new(For {
                    var,
                    start,
                    end,
                    step,
                    body,
                }))
            });
        let primary =
            choice((number, call_or_variable, parenthesized, if_, for_)).labelled("expression");
        // ANCHOR_END: if_for

        let op = select! { Token::Op(c) => c }.map_with(|c, e| (c, e.span()));
        primary
            .clone()
            .then(op.then(primary).repeated().collect::<Vec<_>>())
            // `validate`, not `try_map`: the error is reported where the operator is,
            // and the item fails; the placeholder is never seen.
            .validate(|(first, rest), _, emitter| {
                shape(first, rest).unwrap_or_else(|(op, span)| {
                    emitter.emit(Rich::custom(span, ParseError::UnknownOperator(op)));
                    Expr::Number(0.0)
                })
            })
    })
}
// ANCHOR_END: expr

// ANCHOR: item
/// `name(param param ...)`: parameters are separated by spaces, as in the tutorial.
fn prototype<'t, 's: 't, I>() -> impl Parser<'t, I, Prototype, Extra<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    let name = select! { Token::Ident(name) => name.to_string() };
    let params = name
        .labelled("parameter name")
        .repeated()
        .collect::<Vec<_>>()
        .delimited_by(just(Token::LParen), just(Token::RParen));
    // ANCHOR: prototype_span
    name.labelled("function name")
        .map_with(|name, e| (name, SimpleSpan::into_range(e.span())))
        .then(params)
        .map(|((name, span), params)| Prototype { name, params, span })
    // ANCHOR_END: prototype_span
}

/// One whole item: a definition, an extern, or an expression, and nothing after it.
fn item<'t, 's: 't, I>() -> impl Parser<'t, I, Item, Extra<'t, 's>>
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    let def = just(Token::Def)
        .ignore_then(prototype())
        .then(expr())
        .map(|(proto, body)| Item::Def(proto, body));
    let ext = just(Token::Extern)
        .ignore_then(prototype())
        .map(Item::Extern);
    choice((def, ext, expr().map(Item::Expr))).then_ignore(end())
}
// ANCHOR_END: item

// ANCHOR: parse
/// A parse error and the byte range of the text it is about.
pub type Located = (ParseError, Range<usize>);

/// Parses the program's items in order. An item ends before a `;`, a `def` or an
/// `extern` (no item contains one after its first token), so an error costs only the
/// item it is in: parsing goes on after it.
pub fn parse(text: &str, tokens: &[Spanned<'_>]) -> Vec<Result<Item, Located>> {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < tokens.len() {
        if tokens[pos].0 == Token::Semi {
            pos += 1;
            continue;
        }
        let stop =
            |(token, _): &Spanned<'_>| matches!(token, Token::Semi | Token::Def | Token::Extern);
        let end = tokens[pos + 1..]
            .iter()
            .position(stop)
            .map_or(tokens.len(), |i| pos + 1 + i);
        items.push(parse_item(&tokens[pos..end], tokens.get(end), text.len()));
        pos = end;
    }
    items
}
// ANCHOR_END: parse

// ANCHOR: parse_item
/// Parses one item's tokens. `after` is the token that ended the item (a `;`, `def`
/// or `extern`), or `None` at the end of the text, which is `text_len` bytes long.
fn parse_item(
    tokens: &[Spanned<'_>],
    after: Option<&Spanned<'_>>,
    text_len: usize,
) -> Result<Item, Located> {
    // Text that is no token is the first thing wrong with an item that has some.
    for (token, span) in tokens {
        if let Token::Error(err) = token {
            return Err((ParseError::Lex(*err), span.clone()));
        }
    }
    let input: Vec<_> = tokens
        .iter()
        .map(|(token, span)| (*token, SimpleSpan::from(span.clone())))
        .collect();
    // Where chumsky sees the end of its input: on the token that ended the item.
    let eoi = after.map_or(text_len..text_len, |(_, span)| span.clone());
    let input = input
        .as_slice()
        .split_token_span(SimpleSpan::from(eoi.clone()));
    item().parse(input).into_result().map_err(|errors| {
        let error = errors
            .into_iter()
            .next()
            .expect("a failed parse has an error");
        // An error at the end points at what ended the item.
        let span = match error.reason() {
            RichReason::ExpectedFound { found: None, .. } => eoi,
            _ => error.span().into_range(),
        };
        (convert(&error, after), span)
    })
}

/// Our error for chumsky's; "the end of input" is the token that ended the item.
fn convert(
    error: &Rich<'_, Token<'_>, SimpleSpan, ParseError>,
    after: Option<&Spanned<'_>>,
) -> ParseError {
    match error.reason() {
        RichReason::Custom(err) => err.clone(),
        RichReason::ExpectedFound { expected, found } => {
            let mut names: Vec<String> = Vec::new();
            for pattern in expected {
                let name = match pattern {
                    RichPattern::Token(token) => token.to_string(),
                    RichPattern::Label(label) => label.to_string(),
                    RichPattern::EndOfInput => "the end of the item".to_string(),
                    // Chumsky's "anything else would do too": says nothing to a user.
                    RichPattern::SomethingElse => continue,
                    other => other.to_string(),
                };
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            let found = match (found, after) {
                (Some(token), _) => token.to_string(),
                (None, Some((token, _))) => token.to_string(),
                (None, None) => "the end of the input".to_string(),
            };
            ParseError::Unexpected {
                expected: names.join(" or "),
                found,
            }
        }
    }
}
// ANCHOR_END: parse_item

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::lex;

    /// Each item printed, or its error with the text it points at.
    fn parsed(text: &str) -> Vec<String> {
        parse(text, &lex(text))
            .into_iter()
            .map(|result| match result {
                Ok(item) => item.to_string(),
                Err((err, span)) => format!("error at `{}`: {err}", &text[span]),
            })
            .collect()
    }

    #[test]
    fn precedence_and_left_associativity() {
        assert_eq!(parsed("a + b * 2 - 1"), ["(- (+ a (* b 2)) 1)"]);
        assert_eq!(parsed("a < b + 1"), ["(< a (+ b 1))"]);
        assert_eq!(parsed("a - b - c"), ["(- (- a b) c)"]);
        assert_eq!(parsed("(a - b) * c"), ["(* (- a b) c)"]);
    }

    #[test]
    fn definitions_externs_and_calls() {
        assert_eq!(
            parsed("extern sin(x); def f(a b) sin(a) * b; f(1, 2 + 3)"),
            [
                "(extern (sin x))",
                "(def (f a b) (* (call sin a) b))",
                "(call f 1 (+ 2 3))"
            ]
        );
    }

    #[test]
    fn items_need_no_semicolon() {
        assert_eq!(
            parsed("def f(x) x * 2\ndef g(x) f(x) + 1"),
            ["(def (f x) (* x 2))", "(def (g x) (+ (call f x) 1))"]
        );
    }

    #[test]
    fn an_error_costs_only_its_item() {
        assert_eq!(
            parsed("1 + ; 3; def (x) x; f(1 2); a | b; 1.2.3 + 1; 4"),
            [
                "error at `;`: expected expression, found `;`",
                "3",
                "error at `(`: expected function name, found `(`",
                "error at `2`: expected `,` or `)`, found number",
                "error at `|`: unknown binary operator `|`",
                "error at `1.2.3`: malformed number: a number has at most one `.`",
                "4",
            ]
        );
    }

    #[test]
    fn the_end_of_the_text_is_named() {
        assert_eq!(
            parsed("def f(x)"),
            ["error at ``: expected expression, found the end of the input"]
        );
    }
}
// ANCHOR_END: tests
