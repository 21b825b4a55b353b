// ANCHOR: head
//! The parser: tokens to AST items with chumsky, one item at a time.

use std::ops::Range;

use chumsky::error::{Rich, RichPattern, RichReason};
use chumsky::input::ValueInput;
use chumsky::prelude::*;

use crate::ast::{Expr, For, Item, Prototype};
use crate::lexer::{LexError, Spanned, Token};

// ANCHOR: mod_operators
mod operators;

pub use operators::Operators;
use operators::shape;
// ANCHOR_END: mod_operators
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
    /// A binary operator that is neither built in nor defined yet.
    #[error("unknown binary operator `{0}`")]
    UnknownOperator(char),
    // ANCHOR: operator_errors
    /// An operator definition whose number of parameters does not fit its kind.
    #[error("`{name}` takes {expected} parameter(s), not {found}")]
    OperatorArity {
        /// The operator's function name, e.g. `binary|`.
        name: String,
        /// 1 for `unary`, 2 for `binary`.
        expected: usize,
        /// How many the definition has.
        found: usize,
    },
    /// A definition of a binary operator that is built in.
    #[error("`{0}` is a built-in operator and cannot be defined")]
    Builtin(char),
    /// A precedence that is not a whole number from 1 to 100.
    #[error("precedence must be a whole number from 1 to 100, not {0}")]
    BadPrecedence(f64),
    // ANCHOR_END: operator_errors
    // ANCHOR: assign_error
    /// An assignment to something that is not a variable, such as `1 = 2`.
    #[error("the left side of `=` must be a variable")]
    NotAVariable,
    // ANCHOR_END: assign_error
}
// ANCHOR_END: error

// ANCHOR: extra
/// What our parsers carry besides their output: rich errors about our tokens, whose
/// custom errors (chumsky's word for errors we make ourselves) are `ParseError`s.
type Extra<'t, 's> = extra::Err<Rich<'t, Token<'s>, SimpleSpan, ParseError>>;
// ANCHOR_END: extra

// ANCHOR: expr
/// `expression ::= primary (op primary)*`, where a primary is a number, a variable, a
/// call or an expression in parentheses.
fn expr<'t, 's: 't, I>(ops: Operators) -> impl Parser<'t, I, Expr, Extra<'t, 's>> + Clone
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    recursive(move |expr| {
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
            .then(expr.clone())
            .map(|((((var, start), end), step), body)| {
                Expr::For(Box::new(For {
                    var,
                    start,
                    end,
                    step,
                    body,
                }))
            });
        // ANCHOR_END: if_for
        // ANCHOR: var_parser
        // `var a = 1, b in body`: a primary too, whose body extends as far as it can.
        let binding = name
            .labelled("variable name")
            .then(just(Token::Op('=')).ignore_then(expr.clone()).or_not());
        let var = just(Token::Var)
            .ignore_then(
                binding
                    .separated_by(just(Token::Comma))
                    .at_least(1)
                    .collect(),
            )
            .then_ignore(just(Token::In))
            .then(expr)
            .map(|(bindings, body)| Expr::Var(bindings, Box::new(body)));
        // ANCHOR_END: var_parser
        // ANCHOR: primary
        let primary = choice((number, call_or_variable, parenthesized, if_, for_, var))
            .labelled("expression");
        // ANCHOR_END: primary

        let op = select! { Token::Op(c) => c }.map_with(|c, e| (c, e.span()));
        // ANCHOR: unary
        // `unary ::= op unary | primary`: any operator character may prefix an
        // operand, and means a call of `unary<op>`, defined or not.
        let unary = recursive(|unary| {
            op.then(unary)
                .map(|((c, span), operand): ((char, SimpleSpan), Expr)| {
                    Expr::Call(format!("unary{c}"), vec![operand], span.into_range())
                })
                .or(primary)
        });
        // ANCHOR_END: unary
        unary
            .clone()
            .then(op.then(unary).repeated().collect::<Vec<_>>())
            // `validate`, not `try_map`: the error is reported where the operator is,
            // and the item fails; the placeholder is never seen.
            .validate(move |(first, rest), _, emitter| {
                // ANCHOR: shape_error
                shape(&ops, first, rest).unwrap_or_else(|(err, span)| {
                    emitter.emit(Rich::custom(span, err));
                    Expr::Number(0.0)
                })
                // ANCHOR_END: shape_error
            })
    })
}
// ANCHOR_END: expr

// ANCHOR: item
/// `name(param param ...)`: parameters are separated by spaces, as in the tutorial.
/// An operator's name is `unary` or `binary`, its character and, for a binary one, an
/// optional precedence; the prototype's name is then `unary!` or `binary|`.
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
    // ANCHOR: operator_name
    let op = select! { Token::Op(c) => c }.labelled("operator character");
    // `+` stays an instruction: a `binary+` would never be called.
    let new_binary = op.validate(|c, e, emitter| {
        if Operators::is_builtin(c) {
            emitter.emit(Rich::custom(e.span(), ParseError::Builtin(c)));
        }
        c
    });
    let precedence = select! { Token::Number(n) => n }.validate(|n, e, emitter| {
        if n.fract() != 0.0 || !(1.0..=100.0).contains(&n) {
            emitter.emit(Rich::custom(e.span(), ParseError::BadPrecedence(n)));
        }
        n
    });
    // The precedence is read here only to be checked: `parse_item` has already put it
    // into the table, before the body was parsed.
    let operator = choice((
        just(Token::Unary)
            .ignore_then(op)
            .map(|c| (format!("unary{c}"), Some(1))),
        just(Token::Binary)
            .ignore_then(new_binary)
            .then_ignore(precedence.or_not())
            .map(|c| (format!("binary{c}"), Some(2))),
    ));
    let named = choice((name.map(|name| (name, None)), operator)).labelled("function name");
    // ANCHOR_END: operator_name
    // ANCHOR: prototype_span
    named
        .map_with(|(name, arity), e| (name, arity, SimpleSpan::into_range(e.span())))
        .then(params)
        // ANCHOR_END: prototype_span
        // ANCHOR: operator_arity
        .validate(|((name, arity, span), params), _, emitter| {
            match arity {
                Some(expected) if expected != params.len() => {
                    let found = params.len();
                    let error = ParseError::OperatorArity {
                        name: name.clone(),
                        expected,
                        found,
                    };
                    emitter.emit(Rich::custom(SimpleSpan::from(span.clone()), error));
                }
                _ => {}
            }
            Prototype { name, params, span }
        })
    // ANCHOR_END: operator_arity
}

/// One whole item: a definition, an extern, or an expression, and nothing after it;
/// its expressions are shaped with the precedences of `ops`.
fn item<'t, 's: 't, I>(ops: Operators) -> impl Parser<'t, I, Item, Extra<'t, 's>>
where
    I: ValueInput<'t, Token = Token<'s>, Span = SimpleSpan>,
{
    let def = just(Token::Def)
        .ignore_then(prototype())
        .then(expr(ops.clone()))
        .map(|(proto, body)| Item::Def(proto, body));
    let ext = just(Token::Extern)
        .ignore_then(prototype())
        .map(Item::Extern);
    choice((def, ext, expr(ops).map(Item::Expr))).then_ignore(end())
}
// ANCHOR_END: item

// ANCHOR: parse
/// A parse error and the byte range of the text it is about.
pub type Located = (ParseError, Range<usize>);

/// Parses the program's items in order. An item ends before a `;`, a `def` or an
/// `extern` (no item contains one after its first token), so an error costs only the
/// item it is in: parsing goes on after it.
pub fn parse(text: &str, tokens: &[Spanned<'_>]) -> Vec<Result<Item, Located>> {
    // ANCHOR: parse_ops
    let mut ops = Operators::default();
    // ANCHOR_END: parse_ops
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
        // ANCHOR: parse_call
        let after = tokens.get(end);
        items.push(parse_item(&tokens[pos..end], after, text.len(), &mut ops));
        // ANCHOR_END: parse_call
        pos = end;
    }
    items
}
// ANCHOR_END: parse

// ANCHOR: parse_item
// ANCHOR: parse_item_head
/// Parses one item's tokens. `after` is the token that ended the item (a `;`, `def`
/// or `extern`), or `None` at the end of the text, which is `text_len` bytes long.
/// `ops` are the binary operators known before the item; a definition of one that
/// parses adds it, for the items after it.
fn parse_item(
    tokens: &[Spanned<'_>],
    after: Option<&Spanned<'_>>,
    text_len: usize,
    ops: &mut Operators,
) -> Result<Item, Located> {
    // ANCHOR_END: parse_item_head
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
    // ANCHOR: item_ops
    // The operator a definition defines is known in its own body (which may recurse
    // through it), so it joins the table before the item is parsed; the table is kept
    // only if the item parses.
    let item_ops = ops.with_definition(tokens);
    let result = item(item_ops.clone()).parse(input).into_result();
    if result.is_ok() {
        *ops = item_ops;
    }
    result.map_err(|errors| {
        // ANCHOR_END: item_ops
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

    // ANCHOR: var_tests
    #[test]
    fn var_binds_names_with_optional_initializers() {
        assert_eq!(
            parsed("var a = 1, b, c = a + b in a * c; var x in x = 2 + x; var in 1; var a 1"),
            [
                "(var ((a 1) b (c (+ a b))) (* a c))",
                "(var (x) (= x (+ 2 x)))",
                "error at `in`: expected variable name, found `in`",
                "error at `1`: expected operator `=` or `,` or `in`, found number",
            ]
        );
    }
    // ANCHOR_END: var_tests
}
// ANCHOR_END: tests
