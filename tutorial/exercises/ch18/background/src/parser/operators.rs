// ANCHOR: head
//! Binary operators' precedences, which definitions extend, and the shaping of an
//! operator chain into a tree by them.

use std::collections::HashMap;

use chumsky::span::SimpleSpan;

use super::ParseError;
use crate::ast::Expr;
use crate::lexer::{Spanned, Token};
// ANCHOR_END: head

// ANCHOR: precedence
/// Binary operators' precedences (higher binds tighter): the parser's state, which
/// every `def binary` extends for the items after it.
#[derive(Clone, Debug)]
pub struct Operators(HashMap<char, u32>);

/// A user-defined binary operator's precedence when its definition names none.
const DEFAULT_PRECEDENCE: u32 = 30;

impl Default for Operators {
    /// The built-in operators, with the precedences of LLVM's tutorial.
    fn default() -> Self {
        // ANCHOR: assign_precedence
        // `=` binds more loosely than every built-in, as in LLVM's tutorial.
        let builtins = [('=', 2), ('<', 10), ('+', 20), ('-', 20), ('*', 40)];
        Operators(HashMap::from(builtins))
        // ANCHOR_END: assign_precedence
    }
}

impl Operators {
    /// The precedence of `op`, if it is a binary operator.
    fn precedence(&self, op: char) -> Option<u32> {
        self.0.get(&op).copied()
    }

    // ANCHOR: is_builtin
    /// Whether `op` is built in: an instruction or an assignment, not a call.
    pub(super) fn is_builtin(op: char) -> bool {
        matches!(op, '=' | '<' | '+' | '-' | '*')
    }
    // ANCHOR_END: is_builtin
}
// ANCHOR_END: precedence

// ANCHOR: with_definition
impl Operators {
    /// These operators, and the one the tokens of a `def binary` item define.
    pub(super) fn with_definition(&self, tokens: &[Spanned<'_>]) -> Operators {
        let mut ops = self.clone();
        if let [
            (Token::Def, _),
            (Token::Binary, _),
            (Token::Op(op), _),
            rest @ ..,
        ] = tokens
        {
            let prec = match rest.first() {
                // A bad precedence makes the item fail, and then the table is dropped.
                Some((Token::Number(n), _)) => *n as u32,
                _ => DEFAULT_PRECEDENCE,
            };
            ops.0.insert(*op, prec);
        }
        ops
    }
}
// ANCHOR_END: with_definition

// ANCHOR: shape
// ANCHOR: shape_head
/// Shapes the chain `first op operand op operand ...` into a tree by the precedences
/// of `ops`, all operators left-associative (the shunting-yard algorithm, with
/// explicit stacks). `Err` is what is wrong (an operator that has no precedence, an
/// assignment to something that is not a variable), and where the operator is.
pub(super) fn shape(
    ops: &Operators,
    first: Expr,
    rest: Vec<((char, SimpleSpan), Expr)>,
) -> Result<Expr, (ParseError, SimpleSpan)> {
    // ANCHOR_END: shape_head
    let mut operands = vec![first];
    let mut operators: Vec<(char, SimpleSpan, u32)> = Vec::new();
    for ((op, span), operand) in rest {
        // ANCHOR: unknown_operator
        let unknown = (ParseError::UnknownOperator(op), span);
        let prec = ops.precedence(op).ok_or(unknown)?;
        // ANCHOR_END: unknown_operator
        // Everything on the stack that binds at least as tightly is complete.
        while let Some(&(top, top_span, top_prec)) = operators.last() {
            if top_prec < prec {
                break;
            }
            operators.pop();
            // ANCHOR: reduce_call
            reduce(&mut operands, top, top_span)?;
            // ANCHOR_END: reduce_call
        }
        operators.push((op, span, prec));
        operands.push(operand);
    }
    while let Some((op, span, _)) = operators.pop() {
        // ANCHOR: reduce_call_end
        reduce(&mut operands, op, span)?;
        // ANCHOR_END: reduce_call_end
    }
    Ok(operands.pop().expect("a chain leaves one operand"))
}

// ANCHOR: reduce
/// Replaces the top two operands by `lhs op rhs`: an assignment for `=`, an
/// instruction for another built-in operator, a call of the function `binary<op>` for
/// a user-defined one. `Err` if `=` has something else than a variable on its left.
fn reduce(
    operands: &mut Vec<Expr>,
    op: char,
    span: SimpleSpan,
) -> Result<(), (ParseError, SimpleSpan)> {
    let rhs = operands.pop().expect("an operator has a right operand");
    let lhs = operands.pop().expect("an operator has a left operand");
    operands.push(match (op, lhs) {
        ('=', Expr::Variable(name, at)) => Expr::Assign(name, at, Box::new(rhs)),
        ('=', _) => return Err((ParseError::NotAVariable, span)),
        (op, lhs) if Operators::is_builtin(op) => Expr::Binary(op, Box::new(lhs), Box::new(rhs)),
        (op, lhs) => Expr::Call(format!("binary{op}"), vec![lhs, rhs], span.into_range()),
    });
    Ok(())
}
// ANCHOR_END: reduce
// ANCHOR_END: shape

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use crate::lexer::lex;
    use crate::parser::parse;

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
    fn a_definition_extends_the_table_for_the_items_after_it() {
        assert_eq!(
            parsed(
                "a | b; def binary| 5 (a b) a; 1 + 2 | 3 * 4; def binary% 60 (a b) a; 1 + 2 % 3"
            ),
            [
                "error at `|`: unknown binary operator `|`",
                "(def (binary| a b) a)",
                "(call binary| (+ 1 2) (* 3 4))",
                "(def (binary% a b) a)",
                "(+ 1 (call binary% 2 3))",
            ]
        );
    }

    #[test]
    fn without_a_precedence_an_operator_binds_between_plus_and_times() {
        assert_eq!(
            parsed("def binary ^ (a b) a; 1 + 2 ^ 3 * 4"),
            ["(def (binary^ a b) a)", "(+ 1 (call binary^ 2 (* 3 4)))"]
        );
    }

    #[test]
    fn the_body_of_a_definition_may_use_its_operator() {
        assert_eq!(
            parsed("def binary| 5 (a b) if a then 1 else 0 | b"),
            ["(def (binary| a b) (if a 1 (call binary| 0 b)))"]
        );
    }

    #[test]
    fn a_rejected_definition_leaves_the_table_as_it_was() {
        assert_eq!(
            parsed("def binary| 0 (a b) a; 1 | 2; def binary& 6 (a) a; 1 & 2"),
            [
                "error at `0`: precedence must be a whole number from 1 to 100, not 0",
                "error at `|`: unknown binary operator `|`",
                "error at `binary& 6`: `binary&` takes 2 parameter(s), not 1",
                "error at `&`: unknown binary operator `&`",
            ]
        );
    }

    #[test]
    fn unary_operators_are_calls_and_nest() {
        assert_eq!(
            parsed("!!x; 1 - -2 * 3; def unary-(v) 0 - v; def unary!(a b) a; def binary+ (a b) a"),
            [
                "(call unary! (call unary! x))",
                "(- 1 (* (call unary- 2) 3))",
                "(def (unary- v) (- 0 v))",
                "error at `unary!`: `unary!` takes 1 parameter(s), not 2",
                "error at `+`: `+` is a built-in operator and cannot be defined",
            ]
        );
    }

    // ANCHOR: assign_tests
    #[test]
    fn assignment_binds_loosest_and_needs_a_variable_on_its_left() {
        assert_eq!(
            parsed("x = 1 + 2 < 4; def binary : 1 (a b) b; x = 1 : x; 1 = 2; f(x) = 3; x = y = 1"),
            [
                "(= x (< (+ 1 2) 4))",
                "(def (binary: a b) b)",
                "(call binary: (= x 1) x)",
                "error at `=`: the left side of `=` must be a variable",
                "error at `=`: the left side of `=` must be a variable",
                // Left-associative, as in the tutorial: `(x = y) = 1`.
                "error at `=`: the left side of `=` must be a variable",
            ]
        );
    }

    #[test]
    fn assignment_cannot_be_redefined() {
        assert_eq!(
            parsed("def binary= 9 (a b) a; def unary=(v) v"),
            [
                "error at `=`: `=` is a built-in operator and cannot be defined",
                "(def (unary= v) v)",
            ]
        );
    }
    // ANCHOR_END: assign_tests
}
// ANCHOR_END: tests
